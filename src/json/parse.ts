/**
 * A JSON parser with exactly CPython 3.11 `json.loads` semantics (C scanner, strict mode), written
 * for the manifest hot path: recursive descent over `charCodeAt`; when the text has no backslash
 * and no control character (one regex test), strings are found with `indexOf` and taken with one
 * `slice`; small ints are built without going through a string.
 *
 * The scanner state lives in module variables rather than an object because parsing is
 * synchronous and never re-entered, and plain variables are the cheapest state V8 has.
 */
import { IntegrityError } from "../errors/index.js";
import type { PyObject, PyValue } from "./index.js";
import { jsonSyntaxError } from "./parse-error.js";

/** CPython 3.11 refuses `int()` of more than 4300 digits (`sys.get_int_max_str_digits()`). */
export const MAX_INT_DIGITS = 4300;

/**
 * Deepest nesting accepted. CPython has no fixed limit: its recursion limit of 1000 minus the
 * caller's frames (995 from a top-level script, fewer inside quilt3). Accepting a little more
 * than Python never rejects a manifest Python reads, and it keeps our stack safe.
 */
export const MAX_DEPTH = 1000;

/** Digits that fit a double exactly, so `BigInt(number)` is exact and cheaper than a string. */
const SMALL_INT_DIGITS = 15;

let src = "";
let pos = 0;
/** True when the text holds no backslash and no control character: no string needs decoding. */
let plain = false;

// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const ESCAPE_OR_CONTROL = /[\\\u0000-\u001f]/;

/** Whether `text` holds a backslash or a control character: the only texts whose strings need decoding. */
export function hasEscapeOrControl(text: string): boolean {
  return ESCAPE_OR_CONTROL.test(text);
}

/**
 * Parses one JSON text as Python's `json.loads(text)` would; throws `IntegrityError` `JSON_SYNTAX`.
 * `knownPlain`: the caller has already checked that the text holds no backslash and no control
 * character, so that scan is skipped (a wrong claim gives wrong strings: only for checked text).
 */
export function parsePyJson(text: string, knownPlain = false): PyValue {
  if (text.charCodeAt(0) === 0xfeff) {
    throw jsonSyntaxError(text, "Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
  }
  src = text;
  // One native scan of the line lets every string be found with indexOf (manifest lines
  // rarely contain escapes), instead of a charCodeAt loop over each character.
  plain = knownPlain || !hasEscapeOrControl(text);
  try {
    pos = skipWhitespace(0);
    const value = parseValue(0);
    const end = skipWhitespace(pos);
    if (end !== text.length) throw fail("Extra data", end);
    return value;
  } finally {
    src = ""; // do not keep a large text alive after the call
  }
}

function fail(msg: string, offset: number): IntegrityError {
  return jsonSyntaxError(src, msg, offset);
}

/** JSON whitespace is exactly space, tab, LF and CR (Python's `IS_WHITESPACE`). */
function skipWhitespace(i: number): number {
  for (;; i++) {
    const c = src.charCodeAt(i);
    // Most calls land on a token at once; one comparison settles those (NaN, the end, too).
    if (c > 0x20 || (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) return i;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Reads the value at `pos` (already past whitespace) and leaves `pos` just after it. */
function parseValue(depth: number): PyValue {
  switch (src.charCodeAt(pos)) {
    case 0x22: // "
      pos++;
      return parseString(pos - 1);
    case 0x7b: // {
      return parseObject(depth + 1);
    case 0x5b: // [
      return parseArray(depth + 1);
    case 0x6e:
      return literal("null", null);
    case 0x74:
      return literal("true", true);
    case 0x66:
      return literal("false", false);
    case 0x4e:
      return literal("NaN", NaN);
    case 0x49:
      return literal("Infinity", Infinity);
    case 0x2d: // -
      return src.startsWith("-Infinity", pos) ? literal("-Infinity", -Infinity) : parseNumber();
    default:
      return parseNumber();
  }
}

function literal<T extends PyValue>(word: string, value: T): T {
  if (!src.startsWith(word, pos)) throw fail("Expecting value", pos);
  pos += word.length;
  return value;
}

/**
 * Python's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`, where a `.` or an
 * exponent without digits is simply not part of the number (`1.` reads `1`, then "Extra data").
 */
function parseNumber(): PyValue {
  const start = pos;
  const negative = src.charCodeAt(pos) === 0x2d;
  let i = negative ? pos + 1 : pos;
  const from = i;
  let c = src.charCodeAt(i);
  if (!isDigit(c)) throw fail("Expecting value", start);
  // The integer part's value, exact while it has at most SMALL_INT_DIGITS digits.
  let n = c - 0x30;
  i++;
  if (n !== 0) {
    // A leading 0 is the whole integer part; "01" is 0 followed by extra data.
    for (c = src.charCodeAt(i); isDigit(c); c = src.charCodeAt(++i)) n = n * 10 + (c - 0x30);
  }
  const intEnd = i;
  if (src.charCodeAt(i) === 0x2e && isDigit(src.charCodeAt(i + 1))) {
    i += 2;
    while (isDigit(src.charCodeAt(i))) i++;
  }
  const e = src.charCodeAt(i);
  if (e === 0x65 || e === 0x45) i = scanExponent(i);
  pos = i;
  if (i !== intEnd) return Number(src.slice(start, i)); // both round correctly, both overflow to ±inf
  if (i - from <= SMALL_INT_DIGITS) return BigInt(negative ? -n : n); // BigInt(-0) is 0n, like int("-0")
  return bigInt(start, i - from);
}

/** Returns the end of the exponent starting at `i` (the `e`), or `i` when it has no digits. */
function scanExponent(i: number): number {
  let j = i + 1;
  const sign = src.charCodeAt(j);
  if (sign === 0x2b || sign === 0x2d) j++;
  if (!isDigit(src.charCodeAt(j))) return i;
  while (isDigit(src.charCodeAt(++j)));
  return j;
}

function bigInt(start: number, digits: number): bigint {
  if (digits > MAX_INT_DIGITS) {
    throw fail(
      `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion: value has ` +
        `${digits} digits; use sys.set_int_max_str_digits() to increase the limit`,
      start,
    );
  }
  return BigInt(src.slice(start, pos));
}

/** `quote` is the offset of the opening `"`; `pos` is just after it. */
function parseString(quote: number): string {
  const text = src; // a local: the loop below is the hottest code of the parser
  const start = pos;
  if (plain) {
    const end = text.indexOf('"', start);
    if (end >= 0) {
      pos = end + 1;
      return text.slice(start, end);
    }
  }
  let i = start;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      pos = i + 1;
      return text.slice(start, i);
    }
    // `!(c >= 0x20)` also catches NaN, i.e. the end of the text.
    if (c === 0x5c || !(c >= 0x20)) return parseEscapedString(quote, i);
    i++;
  }
}

/** Single-character escapes, indexed by the char code after the backslash. */
const SHORT_ESCAPES: (string | undefined)[] = [];
for (const [ch, decoded] of Object.entries({ '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" })) {
  SHORT_ESCAPES[ch.charCodeAt(0)] = decoded;
}

/** The slow path, from the first backslash or control character at `i`. */
function parseEscapedString(quote: number, i: number): string {
  let out = "";
  let chunk = quote + 1;
  for (;;) {
    const c = src.charCodeAt(i);
    if (c === 0x22) {
      pos = i + 1;
      return out + src.slice(chunk, i);
    }
    if (c === 0x5c) {
      out += src.slice(chunk, i) + decodeEscape(quote, i);
      i += src.charCodeAt(i + 1) === 0x75 ? 6 : 2;
      chunk = i;
    } else if (c >= 0x20) {
      i++;
    } else if (i >= src.length) {
      throw fail("Unterminated string starting at", quote);
    } else {
      throw fail("Invalid control character at", i);
    }
  }
}

/**
 * Decodes the escape whose backslash is at `i`. Each `\uXXXX` becomes one UTF-16 unit: a high
 * and a low surrogate in a row then form the pair Python would join, and a lone one stays lone,
 * as Python keeps it.
 */
function decodeEscape(quote: number, i: number): string {
  const e = src.charCodeAt(i + 1);
  if (e !== 0x75) {
    const short = SHORT_ESCAPES[e];
    if (short !== undefined) return short;
    throw i + 1 >= src.length ? fail("Unterminated string starting at", quote) : fail("Invalid \\escape", i);
  }
  // CPython wants one more character after the four hex digits before it reads them.
  if (i + 6 >= src.length) throw fail("Invalid \\uXXXX escape", i + 1);
  let unit = 0;
  for (let k = i + 2; k < i + 6; k++) {
    const h = hexValue(src.charCodeAt(k));
    if (h < 0) throw fail("Invalid \\uXXXX escape", i + 1);
    unit = (unit << 4) | h;
  }
  return String.fromCharCode(unit);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function tooDeep(kind: string): IntegrityError {
  return fail(`maximum nesting depth (${MAX_DEPTH}) exceeded while decoding a JSON ${kind}`, pos);
}

/**
 * Manifests repeat the same few keys on every line. Handing `Map.set` the string it saw before
 * (its hash already computed) is cheaper than hashing a fresh slice, and 10 million entries
 * then share their key strings instead of each keeping its own.
 */
const keyCache: string[] = new Array<string>(64).fill("");

function internKey(key: string): string {
  const slot = (key.length * 31 + key.charCodeAt(0)) & 63;
  const cached = keyCache[slot] as string;
  if (cached === key) return cached;
  keyCache[slot] = key;
  return key;
}

/** `pos` is at the `{`. Duplicate keys: `Map.set` keeps the first position and the last value, as a dict does. */
function parseObject(depth: number): PyObject {
  if (depth > MAX_DEPTH) throw tooDeep("object");
  const obj: PyObject = new Map();
  let i = skipWhitespace(pos + 1);
  if (src.charCodeAt(i) === 0x7d) {
    pos = i + 1;
    return obj;
  }
  for (;;) {
    if (src.charCodeAt(i) !== 0x22) throw fail("Expecting property name enclosed in double quotes", i);
    pos = i + 1;
    const key = internKey(parseString(i));
    i = skipWhitespace(pos);
    if (src.charCodeAt(i) !== 0x3a) throw fail("Expecting ':' delimiter", i);
    pos = skipWhitespace(i + 1);
    obj.set(key, parseValue(depth));
    i = skipWhitespace(pos);
    const c = src.charCodeAt(i);
    if (c === 0x7d) {
      pos = i + 1;
      return obj;
    }
    if (c !== 0x2c) throw fail("Expecting ',' delimiter", i);
    i = skipWhitespace(i + 1);
  }
}

/** `pos` is at the `[`. */
function parseArray(depth: number): PyValue[] {
  if (depth > MAX_DEPTH) throw tooDeep("array");
  const arr: PyValue[] = [];
  pos = skipWhitespace(pos + 1);
  if (src.charCodeAt(pos) === 0x5d) {
    pos++;
    return arr;
  }
  for (;;) {
    arr.push(parseValue(depth));
    const i = skipWhitespace(pos);
    const c = src.charCodeAt(i);
    if (c === 0x5d) {
      pos = i + 1;
      return arr;
    }
    if (c !== 0x2c) throw fail("Expecting ',' delimiter", i);
    pos = skipWhitespace(i + 1);
  }
}
