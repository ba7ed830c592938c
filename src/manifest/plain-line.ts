/**
 * The top-hash pre-image of a manifest line in quilt3's exact entry layout, written straight from
 * the line's bytes when the line is plain (printable ASCII without a backslash, which every loop
 * here checks byte by byte as it reads):
 * `{"logical_key": "K", "physical_keys": ["P"], "size": N, "hash": {"type": "T", "value": "V"}, "meta": M}`
 * (P an s3:// or file:// key the reader would keep as it is)
 * becomes `{"hash":{"type":"T","value":"V"},"logical_key":"K","meta":M',"size":N}`, where only M
 * is re-encoded (hash-bytes.ts) and the rest is copied. No string is made but the logical key.
 *
 * It makes the checks the reader makes on such a line. Anything it is not sure of returns
 * undefined, having written nothing; the caller then reads the line the general way, which gives
 * the same pre-image or the exact error.
 */
import { ByteOut, hashBytesOfPlain, isPlainByte } from "../json/index.js";
import { isCanonicalFileUrl } from "../storage/physical-key.js";
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

/**
 * Append the pre-image of the line `bytes[start, end)` to `out`; undefined (nothing written) if it
 * is not for this path. The helpers below take the bytes and a position and return the position
 * after what they read, or -1: locals, not module state, which V8 keeps in registers.
 */
export function plainEntryPreimage(bytes: Buffer, start: number, end: number, out: ByteOut, checkKeys: boolean): PlainEntry | undefined {
  const s = bytes;
  if (end - start < 2 || s[end - 1] !== 0x7d) return undefined;
  let p = match(s, start, LINE_START);
  const keyStart = p;
  const keyEnd = (p = quote(s, p, end));
  p = match(s, p, AFTER_KEY);
  p = s[p] === 0x73 ? canonicalS3(s, p) : canonicalFile(s, p, end);
  p = match(s, p, AFTER_PHYSICAL);
  if (p < 0) return undefined;
  const sizeStart = p;
  const sizeEnd = (p = digits(s, p, end));
  p = match(s, p, AFTER_SIZE);
  if (p < 0) return undefined;
  // From here the pre-image is written as the line is read; a failure takes it back.
  const lineStart = out.at;
  out.ensure(end - p + 64);
  out.put(HASH_TYPE);
  p = match(s, copyToQuote(s, p, end, out), AFTER_TYPE);
  if (p < 0) return undo(out, lineStart);
  out.put(HASH_VALUE);
  p = match(s, copyToQuote(s, p, end, out), AFTER_VALUE);
  if (p < 0 || s[p] !== 0x7b) return undo(out, lineStart); // meta must be an object here
  out.put(LOGICAL_KEY);
  out.put(s, keyStart, keyEnd);
  out.put(META);
  if (!hashBytesOfPlain(s, p, end - 1, out)) return undo(out, lineStart);
  out.put(SIZE);
  out.put(s, sizeStart, sizeEnd);
  out.put(CLOSE);
  entry.logicalKey = s.toString("latin1", keyStart, keyEnd);
  entry.size = sizeOf(s, sizeStart, sizeEnd);
  if (checkKeys) assertSafeLoadedKey(entry.logicalKey, 0);
  return entry;
}

function undo(out: ByteOut, at: number): undefined {
  out.at = at;
  return undefined;
}

/** The position after `expected` if the bytes at `p` are it, else -1 (as for every helper given -1). */
function match(s: Buffer, p: number, expected: Buffer): number {
  if (p < 0) return -1;
  for (let i = 0; i < expected.length; i++) if (s[p + i] !== expected[i]) return -1;
  return p + expected.length;
}

/** The position of the next `"`, or -1 if a byte before it is not plain (a backslash above all). */
function quote(s: Buffer, p: number, end: number): number {
  if (p < 0) return -1;
  for (; p < end; p++) {
    const c = s[p] as number;
    if (c === 0x22) return p;
    if (!isPlainByte(c)) return -1;
  }
  return -1;
}

/** After quilt3's size: `0` or up to 15 digits without a leading zero (larger goes the general way). */
function digits(s: Buffer, p: number, end: number): number {
  const start = p;
  while (p < end && (s[p] as number) >= 0x30 && (s[p] as number) <= 0x39) p++;
  const count = p - start;
  return count === 0 || count > 15 || (count > 1 && s[start] === 0x30) ? -1 : p;
}

function sizeOf(s: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + ((s[i] as number) - 0x30);
  return n;
}

/** Copy up to the next `"` and return its position (-1 as `quote`); the caller has ensured room. */
function copyToQuote(s: Buffer, p: number, end: number, out: ByteOut): number {
  const buf = out.buf;
  let at = out.at;
  for (; p < end; p++) {
    const c = s[p] as number;
    if (c === 0x22) break;
    if (!isPlainByte(c)) return -1;
    buf[at++] = c;
  }
  out.at = at;
  return p < end ? p : -1;
}

/**
 * The reader's `CANONICAL_S3` test on bytes, read up to the closing `"` (whose position it
 * returns, or -1): `s3://bucket/seg/.../seg` with an optional `?versionId=...`, of characters
 * that parsing and printing leave unchanged. A key it refuses may still be valid: the general
 * path then normalizes it.
 */
function canonicalS3(s: Buffer, p: number): number {
  p = match(s, p, S3_PREFIX);
  if (p < 0 || !isBucketStart(s[p++] as number)) return -1;
  while (isBucketChar(s[p] as number)) p++;
  if (s[p++] !== 0x2f) return -1;
  let segment = 0;
  for (;; p++) {
    const c = s[p] as number;
    if (isKeyChar(c)) segment++;
    else if (c === 0x2f && segment > 0) segment = 0;
    else break;
  }
  if (segment === 0) return -1;
  if (s[p] === 0x3f) {
    p = match(s, p, VERSION_ID);
    if (p < 0) return -1;
    const versionStart = p;
    while (isKeyChar(s[p] as number)) p++;
    if (p === versionStart) return -1;
  }
  return s[p] === 0x22 ? p : -1;
}

/** A `file://` key that the reader keeps as it is (`isCanonicalFileUrl`): its closing `"`, or -1. */
function canonicalFile(s: Buffer, p: number, end: number): number {
  if (p < 0 || s[p] !== 0x66) return -1; // f
  const close = quote(s, p, end);
  return close >= 0 && isCanonicalFileUrl(s.toString("latin1", p, close)) ? close : -1;
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
