/**
 * Globs on logical keys (`--glob`), compiled once to an anchored RegExp over the whole key:
 * - `*` any run of characters except `/`; `?` one character except `/`;
 * - `**` any depth: `a/**\/b` matches `a/b` and `a/x/y/b`; `**\/*.csv` matches `t.csv` too;
 * - `[abc]`, `[a-z]`, `[!abc]` one character of (or not of) the set, never `/`;
 * - `{a,b}` either alternative (alternatives may hold globs, and nest).
 * A pattern without `/` is matched against the whole key, so `*.csv` is top-level files only.
 */
import { UsageError } from "../errors/index.js";

/** Compile a glob to a RegExp matching whole logical keys; throws UsageError GLOB_INVALID. */
export function compileGlob(pattern: string): RegExp {
  const state = { pattern, i: 0, depth: 0 };
  const body = translate(state);
  return new RegExp(`^${body}$`, "u");
}

/** A predicate on logical keys, true when any of the patterns matches (none given: all). */
export function globMatcher(patterns: readonly string[]): (key: string) => boolean {
  const regexps = patterns.map(compileGlob);
  return (key) => regexps.length === 0 || regexps.some((r) => r.test(key));
}

interface State {
  readonly pattern: string;
  i: number;
  depth: number;
}

function translate(s: State): string {
  let out = "";
  while (s.i < s.pattern.length) {
    const c = s.pattern[s.i] ?? "";
    if (s.depth > 0 && (c === "," || c === "}")) return out; // the caller's alternative ends
    out += piece(s, c);
  }
  return out;
}

function piece(s: State, c: string): string {
  if (c === "*") return star(s);
  if (c === "[") return charClass(s);
  if (c === "{") return braces(s);
  s.i++;
  return c === "?" ? "[^/]" : escape(c);
}

function star(s: State): string {
  const p = s.pattern;
  if (p[s.i + 1] !== "*") {
    s.i++;
    return "[^/]*";
  }
  const atStart = s.i === 0 || p[s.i - 1] === "/";
  s.i += 2;
  // `**/` is zero or more whole folders, so `**/x` also matches a top-level `x`.
  if (atStart && p[s.i] === "/") {
    s.i++;
    return "(?:[^/]*/)*";
  }
  return ".*";
}

function charClass(s: State): string {
  const start = s.i;
  const end = s.pattern.indexOf("]", s.i + 2);
  if (end < 0) throw invalid(s.pattern, start, "an unclosed `[`");
  let inner = s.pattern.slice(s.i + 1, end);
  s.i = end + 1;
  const negated = inner.startsWith("!") || inner.startsWith("^");
  if (negated) inner = inner.slice(1);
  // Escape all but `-`, so `[a-z]` keeps its range and `[\]` stays literal.
  const set = Array.from(inner, (ch) => (ch === "-" ? ch : /[\\\]^[]/u.test(ch) ? `\\${ch}` : ch)).join("");
  return negated ? `[^/${set}]` : `(?!/)[${set}]`;
}

function braces(s: State): string {
  const start = s.i;
  s.i++;
  s.depth++;
  const alternatives: string[] = [];
  for (;;) {
    alternatives.push(translate(s));
    const c = s.pattern[s.i];
    if (c === undefined) throw invalid(s.pattern, start, "an unclosed `{`");
    s.i++;
    if (c === "}") break;
  }
  s.depth--;
  return `(?:${alternatives.join("|")})`;
}

function escape(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/u.test(c) ? `\\${c}` : c;
}

function invalid(pattern: string, at: number, what: string): UsageError {
  return new UsageError("GLOB_INVALID", `Glob ${JSON.stringify(pattern)} has ${what} at column ${at + 1}.`, {
    hint: "Close it, or match the character itself with `[[]` or `[{]`.",
  });
}
