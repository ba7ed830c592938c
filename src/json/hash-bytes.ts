/**
 * The top-hash encoding of a JSON text (`dumpsHash(parsePyJson(text))`), written byte by byte from
 * the text's own bytes, without building the value or any string: the manifest's hot path, where
 * most metadata is a few keys.
 *
 * Only plain text is taken: printable ASCII without the backslash, checked byte by byte as it is
 * read (outside strings, only exact bytes are accepted). There a string's bytes are exactly its
 * `ensure_ascii` encoding, and key order by code point is byte order. Whatever it cannot settle
 * for certain gives `false` (a repeated key, NaN or Infinity, deep nesting, a very long integer, a
 * large unsorted object, bad syntax): the caller then parses and encodes the value the general
 * way, which gives the same text or the exact error.
 */
import type { ByteOut } from "./byte-out.js";
import { anyFloatText } from "./encode-common.js";

/** Deeper values go the general way, which knows Python's recursion limit. */
const MAX_FAST_DEPTH = 64;
/** Longer integers go the general way, which knows CPython's 4300-digit limit. */
const MAX_FAST_INT_DIGITS = 1000;
/** Larger unsorted objects go the general way rather than through a quadratic sort. */
const MAX_FAST_UNSORTED = 64;
/** Python's repr of a double is at most this long (`-2.2250738585072014e-308`). */
const MAX_FLOAT_TEXT = 32;

const QUOTE = 0x22;
const SPACE = 0x20;

/** Always a Buffer, never a plain Uint8Array: one kind of array keeps the element reads monomorphic. */
const EMPTY = Buffer.alloc(0);
let src: Buffer = EMPTY;
let pos = 0;
let end = 0;
let out: ByteOut | undefined;
let dst: Buffer = Buffer.alloc(0);
let at = 0;

/**
 * Write the top-hash text of the one JSON value in `bytes[from, to)` to `sink`, or return false
 * (having written nothing that counts: `sink.at` is unchanged) when the general path must do it.
 */
export function hashBytesOfPlain(bytes: Buffer, from: number, to: number, sink: ByteOut): boolean {
  src = bytes;
  pos = from;
  end = to;
  out = sink;
  // The output of plain text is never longer than the text, except floats, which reserve more.
  sink.ensure(to - from);
  dst = sink.buf;
  at = sink.at;
  const startAt = sink.at;
  try {
    skipSpaces();
    const ok = value(0) && endsAt(to);
    sink.at = ok ? at : startAt; // a float may have moved it before a later failure
    return ok;
  } finally {
    src = EMPTY; // do not keep a large batch alive after the call
    out = undefined;
  }
}

function endsAt(to: number): boolean {
  skipSpaces();
  return pos === to;
}

// The hot functions copy the module state into locals and store it back at the end: V8 keeps
// locals in registers, while every touch of a module-level `let` is a load with a hole check.

function skipSpaces(): void {
  const s = src;
  let p = pos;
  while (s[p] === SPACE) p++;
  pos = p;
}

function value(depth: number): boolean {
  switch (src[pos]) {
    case QUOTE:
      return string();
    case 0x7b: // {
      return object(depth + 1);
    case 0x5b: // [
      return array(depth + 1);
    case 0x6e: // n
      return word(0x6e, 0x75, 0x6c, 0x6c, -1);
    case 0x74: // t
      return word(0x74, 0x72, 0x75, 0x65, -1);
    case 0x66: // f
      return word(0x66, 0x61, 0x6c, 0x73, 0x65);
    default:
      return number(); // NaN and Infinity too: not a number here, so false
  }
}

/** A string with its quotes, copied: plain, so it ends at the next `"`. */
function string(): boolean {
  const s = src;
  const d = dst;
  const n = s.length;
  let a = at;
  d[a++] = QUOTE;
  for (let i = pos + 1; i < n; i++) {
    const c = s[i] as number;
    d[a++] = c;
    if (c === QUOTE) {
      pos = i + 1;
      at = a;
      return true;
    }
    if (!isPlainByte(c)) return false; // the general way
  }
  return false;
}

/** Printable ASCII but the backslash: a byte that is its own `ensure_ascii` encoding in a string. */
export function isPlainByte(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 0x5c;
}

/** `null`, `true` (e === -1) or `false`, copied. */
function word(a: number, b: number, c: number, d: number, e: number): boolean {
  if (src[pos] !== a || src[pos + 1] !== b || src[pos + 2] !== c || src[pos + 3] !== d) return false;
  if (e !== -1 && src[pos + 4] !== e) return false;
  const length = e === -1 ? 4 : 5;
  for (let i = 0; i < length; i++) dst[at++] = src[pos + i] as number;
  pos += length;
  return true;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Python's number grammar `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`; ints print as read, floats as `repr`. */
function number(): boolean {
  const s = src;
  const start = pos;
  let i = s[start] === 0x2d ? start + 1 : start;
  const first = s[i];
  if (!isDigit(first)) return false;
  i++;
  if (first !== 0x30) while (isDigit(s[i])) i++;
  const intEnd = i;
  let fracEnd = i;
  if (s[i] === 0x2e && isDigit(s[i + 1])) {
    i += 2;
    while (isDigit(s[i])) i++;
    fracEnd = i;
  }
  const e = s[i];
  let exponent = false;
  if (e === 0x65 || e === 0x45) {
    let j = i + 1;
    const sign = s[j];
    if (sign === 0x2b || sign === 0x2d) j++;
    if (isDigit(s[j])) {
      while (isDigit(s[j])) j++;
      i = j;
      exponent = true;
    }
  }
  pos = i;
  if (!exponent && fracEnd === intEnd) return integer(start, i);
  if (!exponent && isOwnRepr(start, intEnd, fracEnd)) return copy(start, i);
  // Both sides round a decimal to the nearest double and overflow to ±inf.
  const text = anyFloatText(Number(src.toString("latin1", start, i)));
  if (out === undefined) return false;
  out.at = at;
  out.ensure(MAX_FLOAT_TEXT + (end - pos)); // room for this float and all the text after it
  out.ascii(text);
  dst = out.buf;
  at = out.at;
  return true;
}

function integer(start: number, end: number): boolean {
  if (end - start > MAX_FAST_INT_DIGITS) return false;
  if (end - start === 2 && src[start] === 0x2d && src[start + 1] === 0x30) {
    dst[at++] = 0x30; // Python's int("-0") prints 0
    return true;
  }
  return copy(start, end);
}

/**
 * Whether a float written without exponent, `-?I.F`, is already Python's repr of its value: at
 * most 15 significant digits (so it is the only decimal that short to reach that double, and
 * repr's shortest round trip gives exactly it), no trailing zero but a lone ".0", and
 * 1e-4 <= |x| < 1e16, where repr uses fixed notation.
 */
function isOwnRepr(start: number, intEnd: number, fracEnd: number): boolean {
  const intStart = src[start] === 0x2d ? start + 1 : start;
  const fracStart = intEnd + 1;
  const fracDigits = fracEnd - fracStart;
  if (src[fracEnd - 1] === 0x30) return fracDigits === 1 && intEnd - intStart <= 15; // "N.0"
  if (src[intStart] !== 0x30) return intEnd - intStart + fracDigits <= 15;
  // "0.000ddd": at most three zeros before the first digit keeps it at or above 1e-4.
  let zeros = 0;
  while (src[fracStart + zeros] === 0x30) zeros++;
  return zeros <= 3 && fracDigits - zeros <= 15;
}

function copy(start: number, end: number): boolean {
  const s = src;
  const d = dst;
  let a = at;
  for (let i = start; i < end; i++) d[a++] = s[i] as number;
  at = a;
  return true;
}

function array(depth: number): boolean {
  if (depth > MAX_FAST_DEPTH) return false;
  pos++;
  dst[at++] = 0x5b;
  skipSpaces();
  if (src[pos] === 0x5d) {
    pos++;
    dst[at++] = 0x5d;
    return true;
  }
  for (;;) {
    if (!value(depth)) return false;
    skipSpaces();
    const c = src[pos++];
    if (c === 0x5d) {
      dst[at++] = 0x5d;
      return true;
    }
    if (c !== 0x2c) return false;
    dst[at++] = 0x2c;
    skipSpaces();
  }
}

/**
 * Members of the objects being read, innermost last, four numbers each: the key's start and end
 * in the text (without quotes), and the member's start and end in the output (`"key":value`).
 */
let members = new Int32Array(256);
let memberCount = 0;

function object(depth: number): boolean {
  if (depth > MAX_FAST_DEPTH) return false;
  pos++;
  const open = at;
  dst[at++] = 0x7b;
  skipSpaces();
  if (src[pos] === 0x7d) {
    pos++;
    dst[at++] = 0x7d;
    return true;
  }
  const base = memberCount;
  try {
    return objectMembers(depth, base, open);
  } finally {
    memberCount = base;
  }
}

function objectMembers(depth: number, base: number, open: number): boolean {
  let sorted = true;
  for (;;) {
    if (src[pos] !== QUOTE) return false;
    const keyStart = pos + 1;
    const memberStart = at;
    if (!string()) return false;
    const keyEnd = pos - 1;
    skipSpaces();
    if (src[pos] !== 0x3a) return false;
    pos++;
    dst[at++] = 0x3a;
    skipSpaces();
    if (!value(depth)) return false;
    if (memberCount > base && compareKeys(members[4 * memberCount - 4] as number, members[4 * memberCount - 3] as number, keyStart, keyEnd) >= 0) sorted = false;
    pushMember(keyStart, keyEnd, memberStart, at);
    skipSpaces();
    const c = src[pos++];
    if (c === 0x7d) break;
    if (c !== 0x2c) return false;
    dst[at++] = 0x2c;
    skipSpaces();
  }
  dst[at++] = 0x7d;
  if (sorted) return true;
  const count = memberCount - base;
  return count <= MAX_FAST_UNSORTED && sortMembers(base) && rewriteSorted(base, open);
}

function pushMember(keyStart: number, keyEnd: number, memberStart: number, memberEnd: number): void {
  if (4 * memberCount + 4 > members.length) {
    const bigger = new Int32Array(2 * members.length);
    bigger.set(members);
    members = bigger;
  }
  const m = 4 * memberCount++;
  members[m] = keyStart;
  members[m + 1] = keyEnd;
  members[m + 2] = memberStart;
  members[m + 3] = memberEnd;
}

/** Byte order of two keys in the text: code point order, since they are ASCII. */
function compareKeys(aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const s = src;
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const d = (s[aStart + i] as number) - (s[bStart + i] as number);
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}

/** Insertion sort of the members from `base` by key; false for a repeated key (Python keeps the last one). */
function sortMembers(base: number): boolean {
  for (let i = base + 1; i < memberCount; i++) {
    const m = 4 * i;
    const k0 = members[m] as number;
    const k1 = members[m + 1] as number;
    const o0 = members[m + 2] as number;
    const o1 = members[m + 3] as number;
    let j = i - 1;
    let order = 0;
    for (; j >= base; j--) {
      order = compareKeys(members[4 * j] as number, members[4 * j + 1] as number, k0, k1);
      if (order <= 0) break;
      members.copyWithin(4 * j + 4, 4 * j, 4 * j + 4);
    }
    if (j >= base && order === 0) return false;
    const n = 4 * (j + 1);
    members[n] = k0;
    members[n + 1] = k1;
    members[n + 2] = o0;
    members[n + 3] = o1;
  }
  return true;
}

let scratch = Buffer.allocUnsafeSlow(4096);

/** Lay the object written at `open` out again with its members in sorted order. */
function rewriteSorted(base: number, open: number): boolean {
  // The members move within dst, so they are read from a copy (loops: the pieces are short).
  const d = dst;
  const m = members;
  const length = at - open;
  if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(2 * length);
  const written = scratch;
  for (let i = 0; i < length; i++) written[i] = d[open + i] as number;
  let w = open + 1;
  for (let i = base; i < memberCount; i++) {
    if (i > base) d[w++] = 0x2c;
    const to = (m[4 * i + 3] as number) - open;
    for (let j = (m[4 * i + 2] as number) - open; j < to; j++) d[w++] = written[j] as number;
  }
  d[w++] = 0x7d;
  return w === at;
}
