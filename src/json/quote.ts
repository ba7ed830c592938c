/**
 * String literals for the two Python encoders. Each string gets one regex test; only strings
 * that need escaping take the slow path, where the native `JSON.stringify` does the escaping
 * (it escapes exactly the set Python escapes with `ensure_ascii=False`: `"`, `\`, and
 * U+0000–U+001F, with the same short forms and lowercase `\u00XX`).
 */

// eslint-disable-next-line no-control-regex -- JSON string escaping is about control characters
const RAW_NEEDS_WORK = /["\\\u0000-\u001f\ud800-\udfff]/;
// eslint-disable-next-line no-control-regex -- as above
const ASCII_NEEDS_WORK = /["\\\u0000-\u001f\u007f-\uffff]/;
/** Code units Python's `ensure_ascii=True` escapes that `JSON.stringify` leaves raw. */
const NON_ASCII = /[\u007f-\uffff]/g;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Set by `quoteRaw` when a string holds a lone surrogate; reset and read by the encoder. */
export const rawState = { loneSurrogate: false };

/**
 * `ensure_ascii=False` form: raw UTF-8-able text. A lone surrogate is only recorded, because
 * Python's `dumps` succeeds and the failure comes when the text is encoded to UTF-8, after every
 * NaN check; the encoder throws once the whole value is written.
 */
export function quoteRaw(s: string): string {
  if (!RAW_NEEDS_WORK.test(s)) return '"' + s + '"';
  if (LONE_SURROGATE.test(s)) rawState.loneSurrogate = true;
  return JSON.stringify(s);
}

/** `ensure_ascii=True` form: pure ASCII, every unit >= 0x7F as lowercase `\uXXXX`. */
export function quoteAscii(s: string): string {
  if (!ASCII_NEEDS_WORK.test(s)) return '"' + s + '"';
  // JSON.stringify already writes lone surrogates as lowercase `\udXXX` (ES2019).
  return JSON.stringify(s).replace(NON_ASCII, escapeUnit);
}

function escapeUnit(unit: string): string {
  return "\\u" + unit.charCodeAt(0).toString(16).padStart(4, "0");
}

/**
 * Object keys repeat on every line (and the parser hands out one string per key), so their
 * quoted forms are memoized in a few slots: a hit is one `===`, usually a pointer comparison.
 */
const KEY_SLOTS = 64;
const asciiKeys: string[] = new Array<string>(KEY_SLOTS).fill("");
const asciiQuoted: string[] = new Array<string>(KEY_SLOTS).fill('""');
const rawKeys: string[] = new Array<string>(KEY_SLOTS).fill("");
const rawQuoted: string[] = new Array<string>(KEY_SLOTS).fill('""');

function keySlot(key: string): number {
  return (key.length * 31 + key.charCodeAt(key.length - 1)) & (KEY_SLOTS - 1);
}

export function quoteKeyAscii(key: string): string {
  const slot = keySlot(key);
  if (asciiKeys[slot] === key) return asciiQuoted[slot] as string;
  const quoted = quoteAscii(key);
  asciiKeys[slot] = key;
  asciiQuoted[slot] = quoted;
  return quoted;
}

/** Keys with a lone surrogate are never memoized: quoteRaw must see them to flag the error. */
export function quoteKeyRaw(key: string): string {
  const slot = keySlot(key);
  if (rawKeys[slot] === key) return rawQuoted[slot] as string;
  const quoted = quoteRaw(key);
  if (!LONE_SURROGATE.test(key)) {
    rawKeys[slot] = key;
    rawQuoted[slot] = quoted;
  }
  return quoted;
}
