import { IntegrityError } from "../errors/index.js";

/**
 * Builds the error for malformed JSON with CPython's wording:
 * `<msg>: line L column C (char P)` (json.decoder.JSONDecodeError). Python counts positions in
 * code points while `offset` is a UTF-16 index, so the count is converted here; this runs only
 * when a parse fails, never on the hot path.
 */
export function jsonSyntaxError(text: string, msg: string, offset: number): IntegrityError {
  const pos = codePointIndex(text, offset);
  const lastNewline = offset === 0 ? -1 : text.lastIndexOf("\n", offset - 1);
  const line = countNewlines(text, offset) + 1;
  const column = lastNewline < 0 ? pos + 1 : pos - codePointIndex(text, lastNewline);
  return new IntegrityError("JSON_SYNTAX", `${msg}: line ${line} column ${column} (char ${pos})`, {
    hint: "The JSON text is malformed; positions count Unicode code points from 0.",
  });
}

/** Number of code points in `text[0, offset)`: a surrogate pair counts once, a lone half once. */
export function codePointIndex(text: string, offset: number): number {
  let pairs = 0;
  for (let i = 1; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) {
      const prev = text.charCodeAt(i - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) pairs++;
    }
  }
  return offset - pairs;
}

function countNewlines(text: string, offset: number): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
