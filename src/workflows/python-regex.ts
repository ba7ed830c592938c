/**
 * Python `re` patterns (str patterns, as quilt3's `handle_pattern` and jsonschema's `pattern` use
 * them with `re.search`) rewritten as JS `u`-mode RegExp sources with the same meaning.
 *
 * The two dialects agree on most syntax but not on its meaning: Python's `\w`, `\d`, `\s` and `\b`
 * are Unicode-aware while JS's are ASCII; Python's `$` also matches before a final newline, its `.`
 * stops only at `\n`, `{` that starts no quantifier is a literal, and `(?P<name>…)` names groups.
 * Those are translated. Constructs JS cannot express in Node 20 (scoped flags `(?i:…)`, `(?x)`,
 * `(?a)`, `(?L)`, atomic groups, possessive quantifiers, conditionals, `\N{…}`) are refused with
 * the reason, rather than approximated.
 *
 * Known residual differences: the Unicode version of the two engines (CPython 3.11: Unicode 14;
 * Node 20: newer), `\w` is taken as letters, numbers and `_` (Python adds a handful of characters
 * with a numeric value outside the N categories), and JS accepts variable-width lookbehind that
 * Python refuses.
 */

/** Why a pattern could not be translated (invalid in Python, or not expressible here). */
export class PythonRegexError extends Error {
  override readonly name = "PythonRegexError";
}

export interface TranslatedRegex {
  readonly source: string;
  /** JS flags: always `u`, plus `i` for a leading `(?i)`. */
  readonly flags: string;
}

/** `re.compile(pattern)` as a JS RegExp; `test` then behaves as `re.search(...) is not None`. */
export function pythonRegExp(pattern: string): RegExp {
  const { source, flags } = translatePythonRegex(pattern);
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new PythonRegexError(`${(error as Error).message.replace(/^Invalid regular expression: /, "")}`);
  }
}

const WORD = "\\p{L}\\p{N}_";
/** Python's `str.isspace()` characters (what `\s` matches in a str pattern). */
const SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WORD_BOUNDARY = `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;
const NOT_WORD_BOUNDARY = `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`;

/** Escapes that stand for a set: their text outside a class, and inside one (undefined: refused). */
const SET_ESCAPES: Record<string, { outside: string; inside: string | undefined }> = {
  d: { outside: "\\p{Nd}", inside: "\\p{Nd}" },
  D: { outside: "\\P{Nd}", inside: "\\P{Nd}" },
  w: { outside: `[${WORD}]`, inside: WORD },
  W: { outside: `[^${WORD}]`, inside: undefined },
  s: { outside: `[${SPACE}]`, inside: SPACE },
  S: { outside: `[^${SPACE}]`, inside: undefined },
};

const CHAR_ESCAPES: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
const HEX_ESCAPES: Record<string, number> = { x: 2, u: 4, U: 8 };

interface Flags {
  ignoreCase: boolean;
  multiline: boolean;
  dotAll: boolean;
}

/** The JS source and flags for a Python pattern; throws `PythonRegexError`. */
export function translatePythonRegex(pattern: string): TranslatedRegex {
  const chars = Array.from(pattern);
  const flags: Flags = { ignoreCase: false, multiline: false, dotAll: false };
  const start = leadingFlags(chars, flags);
  const out = new Translator(chars, start, flags).run();
  return { source: out, flags: flags.ignoreCase ? "iu" : "u" };
}

/** Global inline flags at the very start, e.g. `(?i)`; returns where the pattern proper starts. */
function leadingFlags(chars: string[], flags: Flags): number {
  let at = 0;
  while (chars[at] === "(" && chars[at + 1] === "?" && /[a-zA-Z]/.test(chars[at + 2] ?? "")) {
    let end = at + 2;
    while (/[a-zA-Z]/.test(chars[end] ?? "")) end++;
    if (chars[end] !== ")") return at; // a scoped group such as (?i:...): refused by the translator
    for (const flag of chars.slice(at + 2, end)) setFlag(flag, flags);
    at = end + 1;
  }
  return at;
}

function setFlag(flag: string, flags: Flags): void {
  if (flag === "i") flags.ignoreCase = true;
  else if (flag === "m") flags.multiline = true;
  else if (flag === "s") flags.dotAll = true;
  else if (flag !== "u") throw new PythonRegexError(`inline flag (?${flag}) is not supported`);
}

class Translator {
  private at: number;
  private groups = 0;
  private readonly closed = new Set<number>();
  private readonly open: number[] = [];

  constructor(
    private readonly chars: string[],
    start: number,
    private readonly flags: Flags,
  ) {
    this.at = start;
  }

  run(): string {
    let out = "";
    while (this.at < this.chars.length) out += this.next();
    if (this.open.length > 0) throw new PythonRegexError("missing ), unterminated subpattern");
    return out;
  }

  private peek(offset = 0): string | undefined {
    return this.chars[this.at + offset];
  }

  private next(): string {
    const c = this.chars[this.at++] as string;
    switch (c) {
      case "\\":
        return this.escape();
      case "[":
        return this.charClass();
      case "(":
        return this.group();
      case ")":
        return this.closeGroup();
      case "{":
        return this.brace();
      case ".":
        return this.flags.dotAll ? "[\\s\\S]" : "[^\\n]";
      case "^":
        return this.flags.multiline ? "(?<=^|\\n)" : "^";
      case "$":
        // Python: the end, or just before a newline that ends the string (every newline with (?m)).
        return this.flags.multiline ? "(?=\\n|$)" : "(?=\\n?$)";
      case "*":
      case "+":
      case "?":
        return c + this.lazyOrPossessive();
      case "|":
        return c;
      default:
        return literal(c);
    }
  }

  /** A `?` after a quantifier makes it lazy (same in JS); a `+` (possessive, Python 3.11) is refused. */
  private lazyOrPossessive(): string {
    if (this.peek() === "?") {
      this.at++;
      return "?";
    }
    if (this.peek() === "+") throw new PythonRegexError("possessive quantifiers are not supported");
    return "";
  }

  /** `{m,n}`-style quantifiers, with Python's defaults; any other `{` is a literal. */
  private brace(): string {
    const rest = this.chars.slice(this.at, this.at + 64).join("");
    const match = /^(\d*)(?:(,)(\d*))?\}/.exec(rest);
    if (this.peek() === "}" || match === null) return "\\{";
    this.at += Array.from(match[0]).length;
    const lo = match[1] === "" ? "0" : (match[1] as string);
    const hi = match[2] === undefined ? lo : (match[3] as string);
    if (hi !== "" && BigInt(lo) > BigInt(hi)) throw new PythonRegexError("min repeat greater than max repeat");
    return (match[2] === undefined ? `{${lo}}` : `{${lo},${hi}}`) + this.lazyOrPossessive();
  }

  private group(): string {
    if (this.peek() !== "?") return this.openGroup("(");
    const two = (this.peek(1) ?? "") + (this.peek(2) ?? "");
    if (this.peek(1) === ":") return this.skip(2, () => this.openGroup("(?:", false));
    if (this.peek(1) === "=" || this.peek(1) === "!") return this.skip(2, () => this.openGroup(`(?${this.chars[this.at - 1]}`, false));
    if (two === "<=" || two === "<!") return this.skip(3, () => this.openGroup(`(?${two}`, false));
    if (two === "P<") return this.namedGroup();
    if (two === "P=") return this.namedBackref();
    if (this.peek(1) === "#") return this.comment();
    if (this.peek(1) === ">") throw new PythonRegexError("atomic groups (?>...) are not supported");
    if (this.peek(1) === "(") throw new PythonRegexError("conditional groups (?(...)...) are not supported");
    if (/[a-zA-Z-]/.test(this.peek(1) ?? "")) {
      throw new PythonRegexError("inline flags are supported only as global flags at the start, e.g. (?i)");
    }
    throw new PythonRegexError(`unknown extension ?${this.peek(1) ?? ""}`);
  }

  private skip(count: number, then: () => string): string {
    this.at += count;
    return then();
  }

  private openGroup(text: string, capturing = true): string {
    if (capturing) this.open.push(++this.groups);
    else this.open.push(0);
    return text;
  }

  private closeGroup(): string {
    const group = this.open.pop();
    if (group === undefined) throw new PythonRegexError("unbalanced parenthesis");
    if (group > 0) this.closed.add(group);
    return ")";
  }

  private readName(end: string): string {
    const stop = this.chars.indexOf(end, this.at);
    if (stop < 0) throw new PythonRegexError(`missing ${end}, unterminated name`);
    const name = this.chars.slice(this.at, stop).join("");
    this.at = stop + 1;
    if (!/^[\p{ID_Start}_][\p{ID_Continue}]*$/u.test(name)) throw new PythonRegexError(`bad character in group name '${name}'`);
    return name;
  }

  private namedGroup(): string {
    this.at += 3;
    const name = this.readName(">");
    return this.openGroup(`(?<${name}>`);
  }

  private namedBackref(): string {
    this.at += 3;
    return `\\k<${this.readName(")")}>`;
  }

  private comment(): string {
    const stop = this.chars.indexOf(")", this.at);
    if (stop < 0) throw new PythonRegexError("missing ), unterminated comment");
    this.at = stop + 1;
    return "";
  }

  /** An escape outside a class (the backslash is consumed). */
  private escape(): string {
    const c = this.chars[this.at++];
    if (c === undefined) throw new PythonRegexError("bad escape (end of pattern)");
    const set = SET_ESCAPES[c];
    if (set !== undefined) return set.outside;
    if (c === "A") return "^";
    if (c === "Z") return "$";
    if (c === "b") return WORD_BOUNDARY;
    if (c === "B") return NOT_WORD_BOUNDARY;
    if (/[0-9]/.test(c)) return this.numericEscape(c);
    return literal(String.fromCodePoint(this.charEscape(c)));
  }

  /** `\0`, `\012` (octal) or `\1`..`\99` (a group reference), as sre_parse tells them apart. */
  private numericEscape(first: string): string {
    if (first === "0") return literal(String.fromCodePoint(this.octal("0", 2)));
    let digits = first;
    if (/[0-9]/.test(this.peek() ?? "")) {
      digits += this.chars[this.at++];
      if (/^[0-7]{2}$/.test(digits) && /[0-7]/.test(this.peek() ?? "")) {
        const code = parseInt(digits + this.chars[this.at++], 8);
        if (code > 0o377) throw new PythonRegexError(`octal escape value \\${code.toString(8)} outside of range 0-0o377`);
        return literal(String.fromCodePoint(code));
      }
    }
    const group = Number(digits);
    if (group > this.groups) throw new PythonRegexError(`invalid group reference ${group}`);
    if (!this.closed.has(group)) throw new PythonRegexError("cannot refer to an open group");
    return `(?:\\${group})`;
  }

  private octal(seed: string, more: number): number {
    let digits = seed;
    while (more-- > 0 && /[0-7]/.test(this.peek() ?? "")) digits += this.chars[this.at++];
    return parseInt(digits, 8);
  }

  /** The code point of a one-character escape (`\n`, `\x41`, `\.` …); ASCII letters must be known. */
  private charEscape(c: string): number {
    const simple = CHAR_ESCAPES[c];
    if (simple !== undefined) return simple;
    const width = HEX_ESCAPES[c];
    if (width !== undefined) return this.hex(c, width);
    if (c === "N") throw new PythonRegexError("named character escapes \\N{...} are not supported");
    if (/[a-zA-Z0-9]/.test(c)) throw new PythonRegexError(`bad escape \\${c}`);
    return c.codePointAt(0) as number;
  }

  private hex(c: string, width: number): number {
    const digits = this.chars.slice(this.at, this.at + width).join("");
    if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits)) throw new PythonRegexError(`incomplete escape \\${c}${digits}`);
    this.at += width;
    const code = parseInt(digits, 16);
    if (code > 0x10ffff) throw new PythonRegexError(`bad escape \\${c}${digits}`);
    return code;
  }

  /** `[...]` (the `[` is consumed): Python's rules, JS's syntax. */
  private charClass(): string {
    let out = "[";
    if (this.peek() === "^") {
      out += "^";
      this.at++;
    }
    const first = this.at;
    for (;;) {
      const c = this.chars[this.at];
      if (c === undefined) throw new PythonRegexError("unterminated character set");
      if (c === "]" && this.at !== first) break;
      out += this.classItem();
    }
    this.at++;
    return out + "]";
  }

  /** One literal, range or set escape inside a class. */
  private classItem(): string {
    const lo = this.classAtom();
    if (this.peek() !== "-" || this.peek(1) === "]" || this.peek(1) === undefined) return lo.text;
    this.at++;
    const hi = this.classAtom();
    if (lo.code === undefined || hi.code === undefined) throw new PythonRegexError("bad character range");
    if (hi.code < lo.code) throw new PythonRegexError("bad character range");
    return `${lo.text}-${hi.text}`;
  }

  private classAtom(): { text: string; code?: number } {
    const c = this.chars[this.at++] as string;
    if (c !== "\\") return classLiteral(c.codePointAt(0) as number);
    const e = this.chars[this.at++];
    if (e === undefined) throw new PythonRegexError("bad escape (end of pattern)");
    const set = SET_ESCAPES[e];
    if (set !== undefined) {
      if (set.inside === undefined) throw new PythonRegexError(`\\${e} inside a character class is not supported`);
      return { text: set.inside };
    }
    if (e === "b") return classLiteral(8);
    if (/[0-7]/.test(e)) return classLiteral(this.octal(e, 2));
    if (/[0-9]/.test(e) || e === "A" || e === "Z" || e === "B") throw new PythonRegexError(`bad escape \\${e}`);
    return classLiteral(this.charEscape(e));
  }
}

function classLiteral(code: number): { text: string; code: number } {
  return { text: literal(String.fromCodePoint(code)), code };
}

/** A JS-safe spelling of one literal character, valid in and out of classes in `u` mode. */
function literal(c: string): string {
  if (/^[\p{L}\p{N}_ ]$/u.test(c) && c !== "\u2028" && c !== "\u2029") return c;
  return `\\u{${(c.codePointAt(0) as number).toString(16)}}`;
}
