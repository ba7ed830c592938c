/**
 * The top-hash pre-image of a manifest line in quilt3's exact entry layout, written straight from
 * the line's bytes when the line is plain (printable ASCII without a backslash):
 * `{"logical_key": "K", "physical_keys": ["P"], "size": N, "hash": {"type": "T", "value": "V"}, "meta": M}`
 * becomes `{"hash":{"type":"T","value":"V"},"logical_key":"K","meta":M',"size":N}`, where only M
 * is re-encoded (hash-bytes.ts) and the rest is copied. No string is made but the logical key.
 *
 * It makes the checks the reader makes on such a line. Anything it is not sure of returns
 * undefined, having written nothing; the caller then reads the line the general way, which gives
 * the same pre-image or the exact error.
 */
import { ByteOut, hashBytesOfPlain } from "../json/index.js";
import { assertSafeLoadedKey } from "./logical-key.js";

const ascii = (text: string): Buffer => Buffer.from(text, "latin1");

const LINE_START = ascii('{"logical_key": "');
const AFTER_KEY = ascii('", "physical_keys": ["');
const AFTER_PHYSICAL = ascii('"], "size": ');
const AFTER_SIZE = ascii(', "hash": {"type": "');
const AFTER_TYPE = ascii('", "value": "');
const AFTER_VALUE = ascii('"}, "meta": ');

const HASH_TYPE = ascii('{"hash":{"type":"');
const HASH_VALUE = ascii('","value":"');
const LOGICAL_KEY = ascii('"},"logical_key":"');
const META = ascii('","meta":');
const SIZE = ascii(',"size":');
const CLOSE = ascii("}");

/** What a plain line held besides its pre-image. Reused: read it before the next call. */
export interface PlainEntry {
  logicalKey: string;
  size: number;
}
const entry: PlainEntry = { logicalKey: "", size: 0 };

/** Always a Buffer, never a plain Uint8Array: one kind of array keeps the element reads monomorphic. */
const EMPTY = Buffer.alloc(0);
let src: Buffer = EMPTY;
let pos = 0;

/** Append the pre-image of the line `bytes[start, end)` to `out`; undefined (nothing written) if it is not for this path. */
export function plainEntryPreimage(bytes: Buffer, start: number, end: number, out: ByteOut, checkKeys: boolean): PlainEntry | undefined {
  src = bytes;
  pos = start;
  try {
    return read(end, out, checkKeys);
  } finally {
    src = EMPTY;
  }
}

function read(end: number, out: ByteOut, checkKeys: boolean): PlainEntry | undefined {
  if (end - pos < 2 || src[end - 1] !== 0x7d || !match(LINE_START)) return undefined;
  const keyStart = pos;
  const keyEnd = quote(end);
  if (!match(AFTER_KEY) || !canonicalS3() || !match(AFTER_PHYSICAL)) return undefined;
  const sizeStart = pos;
  const size = digits(end);
  const sizeEnd = pos;
  if (size === undefined || !match(AFTER_SIZE)) return undefined;
  // From here the pre-image is written as the line is read; a failure takes it back.
  const lineStart = out.at;
  out.ensure(end - pos + 64);
  out.put(HASH_TYPE);
  copyToQuote(out, end);
  if (!match(AFTER_TYPE)) return undo(out, lineStart);
  out.put(HASH_VALUE);
  copyToQuote(out, end);
  if (!match(AFTER_VALUE) || src[pos] !== 0x7b) return undo(out, lineStart); // meta must be an object here
  out.put(LOGICAL_KEY);
  copy(out, keyStart, keyEnd);
  out.put(META);
  if (!hashBytesOfPlain(src, pos, end - 1, out)) return undo(out, lineStart);
  out.put(SIZE);
  copy(out, sizeStart, sizeEnd);
  out.put(CLOSE);
  entry.logicalKey = src.toString("latin1", keyStart, keyEnd);
  entry.size = size;
  if (checkKeys) assertSafeLoadedKey(entry.logicalKey, 0);
  return entry;
}

function undo(out: ByteOut, at: number): undefined {
  out.at = at;
  return undefined;
}

function match(expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (src[pos + i] !== expected[i]) return false;
  pos += expected.length;
  return true;
}

/** Move to the next `"` (no backslash: it ends the string) and return its index; `end` if none. */
function quote(end: number): number {
  while (pos < end && src[pos] !== 0x22) pos++;
  return pos;
}

/** quilt3's size: `0` or up to 15 digits without a leading zero (larger goes the general way). */
function digits(end: number): number | undefined {
  const start = pos;
  let n = 0;
  while (pos < end && (src[pos] as number) >= 0x30 && (src[pos] as number) <= 0x39) n = n * 10 + ((src[pos++] as number) - 0x30);
  const count = pos - start;
  if (count === 0 || count > 15 || (count > 1 && src[start] === 0x30)) return undefined;
  return n;
}

/** Copy up to the next `"` (or `end`), leaving `pos` on it; the caller has ensured room. */
function copyToQuote(out: ByteOut, end: number): void {
  const buf = out.buf;
  let at = out.at;
  for (let c = src[pos] as number; pos < end && c !== 0x22; c = src[++pos] as number) buf[at++] = c;
  out.at = at;
}

function copy(out: ByteOut, from: number, to: number): void {
  out.ensure(to - from);
  const buf = out.buf;
  let at = out.at;
  for (let i = from; i < to; i++) buf[at++] = src[i] as number;
  out.at = at;
}

/**
 * The reader's `CANONICAL_S3` test on bytes, read up to the closing `"`: `s3://bucket/seg/.../seg`
 * with an optional `?versionId=...`, of characters that parsing and printing leave unchanged. A
 * key it refuses may still be valid: the general path then normalizes it.
 */
function canonicalS3(): boolean {
  if (!match(S3_PREFIX) || !isBucketStart(src[pos++] as number)) return false;
  while (isBucketChar(src[pos] as number)) pos++;
  if (src[pos++] !== 0x2f) return false;
  let segment = 0;
  for (;; pos++) {
    const c = src[pos] as number;
    if (isKeyChar(c)) segment++;
    else if (c === 0x2f && segment > 0) segment = 0;
    else break;
  }
  if (segment === 0) return false;
  if (src[pos] === 0x3f) {
    if (!match(VERSION_ID)) return false;
    const versionStart = pos;
    while (isKeyChar(src[pos] as number)) pos++;
    if (pos === versionStart) return false;
  }
  return src[pos] === 0x22;
}

const S3_PREFIX = ascii("s3://");
const VERSION_ID = ascii("?versionId=");

const BUCKET_START = 1;
const BUCKET = 2;
const KEY = 4;
/** Character classes of the bytes, as bits: a table read beats a chain of comparisons. */
const CLASSES = (() => {
  const table = new Uint8Array(256);
  const mark = (chars: string, bit: number): void => {
    for (const c of chars) table[c.charCodeAt(0)] = (table[c.charCodeAt(0)] as number) | bit;
  };
  const lower = "abcdefghijklmnopqrstuvwxyz";
  const digits = "0123456789";
  mark(lower + digits, BUCKET_START | BUCKET);
  mark(".-", BUCKET);
  mark(lower + lower.toUpperCase() + digits + "_.~-", KEY); // what `quote` and `quote_plus` keep
  return table;
})();

function isBucketStart(c: number): boolean {
  return ((CLASSES[c] as number) & BUCKET_START) !== 0;
}

function isBucketChar(c: number): boolean {
  return ((CLASSES[c] as number) & BUCKET) !== 0;
}

function isKeyChar(c: number): boolean {
  return ((CLASSES[c] as number) & KEY) !== 0;
}
