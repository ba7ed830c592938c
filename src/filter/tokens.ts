/** The tokenizer of filter expressions (expr.ts): every token keeps its 0-based position for errors. */
import { filterError } from "./errors.js";

export type Token =
  | { readonly kind: "ident"; readonly text: string; readonly pos: number }
  | { readonly kind: "string"; readonly value: string; readonly text: string; readonly pos: number }
  | { readonly kind: "number"; readonly value: number; readonly text: string; readonly pos: number }
  | { readonly kind: "op"; readonly text: string; readonly pos: number }
  | { readonly kind: "end"; readonly text: ""; readonly pos: number };

// Longest first, so `<=` is not read as `<` then `=`.
const OPERATORS = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".", "-"];
const NUMBER = /\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] ?? "";
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    const token = readToken(source, i, c);
    tokens.push(token);
    i += token.text.length;
  }
  tokens.push({ kind: "end", text: "", pos: source.length });
  return tokens;
}

function readToken(source: string, i: number, c: string): Token {
  if (c === '"' || c === "'") return readString(source, i, c);
  const number = sticky(NUMBER, source, i);
  if (number !== undefined) return { kind: "number", value: Number(number), text: number, pos: i };
  const ident = sticky(IDENT, source, i);
  if (ident !== undefined) return { kind: "ident", text: ident, pos: i };
  const op = OPERATORS.find((o) => source.startsWith(o, i));
  if (op !== undefined) return { kind: "op", text: op, pos: i };
  throw filterError(source, i, `unexpected character ${JSON.stringify(c)}`);
}

function sticky(re: RegExp, source: string, i: number): string | undefined {
  re.lastIndex = i;
  return re.exec(source)?.[0];
}

/** A quoted string; `\` escapes the next character (`\n`, `\t` mean newline and tab). */
function readString(source: string, start: number, quote: string): Token {
  let value = "";
  for (let i = start + 1; i < source.length; i++) {
    const c = source[i] ?? "";
    if (c === quote) return { kind: "string", value, text: source.slice(start, i + 1), pos: start };
    if (c === "\\") {
      i++;
      const next = source[i] ?? "";
      value += next === "n" ? "\n" : next === "t" ? "\t" : next;
    } else value += c;
  }
  throw filterError(source, start, `an unclosed string (missing ${quote})`);
}
