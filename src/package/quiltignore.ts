/**
 * `.quiltignore`, exactly as quilt3's `quiltignore_filter` (util.py) applies it, because the
 * files it keeps decide the top hash of `quilt push --dir`:
 * - every non-empty line is a rule (no comments, no trimming), matched as the rule with `*` and `/` in front;
 * - rules are Python `fnmatch` patterns matched against ABSOLUTE paths, where `*` also matches
 *   `/` (so a rule can match part of the folder's own path above it, as in quilt3);
 * - a directory matching `rule` (as `dir` or `dir/`) drops every file below it;
 * - a file matching `rule` is dropped.
 */
export class QuiltIgnore {
  private constructor(private readonly rules: readonly RegExp[]) {}

  static parse(text: string): QuiltIgnore {
    const rules = text.split("\n").filter((rule) => rule !== "").map((rule) => fnmatchRegExp("*/" + rule));
    return new QuiltIgnore(rules);
  }

  /** Whether a directory (absolute path, no trailing `/`) is ignored with all below it. */
  ignoresDir(absPath: string): boolean {
    return this.rules.some((rule) => rule.test(absPath + "/") || rule.test(absPath));
  }

  ignoresFile(absPath: string): boolean {
    return this.rules.some((rule) => rule.test(absPath));
  }
}

/** Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`; the whole string must match. */
export function fnmatchRegExp(pattern: string): RegExp {
  let out = "";
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    i += 1;
    if (ch === "*") {
      out += "[\\s\\S]*";
      while (pattern[i] === "*") i += 1;
    } else if (ch === "?") {
      out += "[\\s\\S]";
    } else if (ch === "[") {
      const end = classEnd(pattern, i);
      if (end < 0) {
        out += "\\[";
      } else {
        out += charClass(pattern.slice(i, end));
        i = end + 1;
      }
    } else {
      out += escapeRegExp(ch);
    }
  }
  return new RegExp(`^(?:${out})$`, "u");
}

/** Index of the `]` closing a class that starts at `start` (after `[`), or -1 (then `[` is literal). */
function classEnd(pattern: string, start: number): number {
  let j = start;
  if (pattern[j] === "!") j += 1;
  if (pattern[j] === "]") j += 1; // a leading `]` is a member, as in Python
  while (j < pattern.length && pattern[j] !== "]") j += 1;
  return j < pattern.length ? j : -1;
}

function charClass(body: string): string {
  let negate = false;
  if (body.startsWith("!")) {
    negate = true;
    body = body.slice(1);
  }
  // Inside a class only `\`, `]` and `^` need care; ranges `a-z` keep their meaning.
  const members = body.replace(/[\\\]^[]/g, (c) => "\\" + c);
  if (members === "") return negate ? "[\\s\\S]" : "(?!)";
  return negate ? `[^${members}]` : `[${members}]`;
}

function escapeRegExp(ch: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(ch) ? "\\" + ch : ch;
}
