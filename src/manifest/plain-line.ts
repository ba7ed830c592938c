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
  if (!match(AFTER_KEY)) return undefined;
  const physicalStart = pos;
  const physicalEnd = quote(end);
  if (!match(AFTER_PHYSICAL) || !isCanonicalS3(physicalStart, physicalEnd)) return undefined;
  const sizeStart = pos;
  const size = digits(end);
  const sizeEnd = pos;
  if (size === undefined || !match(AFTER_SIZE)) return undefined;
  const typeStart = pos;
  const typeEnd = quote(end);
  if (!match(AFTER_TYPE)) return undefined;
  const valueStart = pos;
  const valueEnd = quote(end);
  if (!match(AFTER_VALUE) || src[pos] !== 0x7b) return undefined; // meta must be an object here
  const metaStart = pos;
  const lineStart = out.at;
  out.put(HASH_TYPE);
  copy(out, typeStart, typeEnd);
  out.put(HASH_VALUE);
  copy(out, valueStart, valueEnd);
  out.put(LOGICAL_KEY);
  copy(out, keyStart, keyEnd);
  out.put(META);
  if (!hashBytesOfPlain(src, metaStart, end - 1, out)) {
    out.at = lineStart;
    return undefined;
  }
  out.put(SIZE);
  copy(out, sizeStart, sizeEnd);
  out.put(CLOSE);
  entry.logicalKey = src.toString("latin1", keyStart, keyEnd);
  entry.size = size;
  if (checkKeys) assertSafeLoadedKey(entry.logicalKey, 0);
  return entry;
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

function copy(out: ByteOut, from: number, to: number): void {
  out.ensure(to - from);
  const buf = out.buf;
  let at = out.at;
  for (let i = from; i < to; i++) buf[at++] = src[i] as number;
  out.at = at;
}

/**
 * The reader's `CANONICAL_S3` test on bytes: `s3://bucket/seg/.../seg` with an optional
 * `?versionId=...`, of characters that parsing and printing leave unchanged. A key it refuses may
 * still be valid: the general path then normalizes it.
 */
function isCanonicalS3(start: number, end: number): boolean {
  if (end - start < 8 || src[start] !== 0x73 || src[start + 1] !== 0x33 || src[start + 2] !== 0x3a || src[start + 3] !== 0x2f || src[start + 4] !== 0x2f) return false;
  let i = start + 5;
  if (!isBucketStart(src[i] as number)) return false;
  for (i++; i < end && src[i] !== 0x2f; i++) if (!isBucketChar(src[i] as number)) return false;
  if (i >= end) return false;
  i++; // the slash after the bucket
  let segment = 0;
  for (; i < end && src[i] !== 0x3f; i++) {
    const c = src[i] as number;
    if (c === 0x2f) {
      if (segment === 0) return false;
      segment = 0;
    } else if (isKeyChar(c)) segment++;
    else return false;
  }
  if (segment === 0) return false;
  if (i === end) return true;
  const versionStart = i + VERSION_ID.length;
  for (let j = 0; j < VERSION_ID.length; j++) if (src[i + j] !== VERSION_ID[j]) return false;
  if (versionStart >= end) return false;
  for (i = versionStart; i < end; i++) if (!isKeyChar(src[i] as number)) return false;
  return true;
}

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
