/**
 * Whether `bytes[from, to)` is plain: printable ASCII other than the backslash, and `\n`. In such
 * text no string needs decoding and every string is its own `ensure_ascii` encoding, so the
 * top-hash encoder can copy it byte for byte (hash-bytes.ts).
 *
 * Four bytes at a time: a word is looked at byte by byte only when a bit trick flags one of its
 * bytes as maybe not plain (high bit, below 0x20, 0x5c or 0x7f); the `\n` of each line is one.
 */
export function isPlainAscii(bytes: Uint8Array, from = 0, to = bytes.length): boolean {
  let i = from;
  for (; i < to && ((bytes.byteOffset + i) & 3) !== 0; i++) if (!plainByte(bytes[i] as number)) return false;
  const highBits = -0x7f7f7f80; // 0x80808080 as an Int32; a local, which V8 keeps in a register
  const count = (to - i) >>> 2;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, count);
  for (let w = 0; w < count; w++) {
    const x = words[w] as number;
    const backslash = x ^ 0x5c5c5c5c;
    const del = x ^ 0x7f7f7f7f;
    // The classic "has a byte below n" test, for n = 0x20 and for zero bytes of the XORs.
    const below = (x - 0x20202020) | 0;
    const zeroBackslash = (backslash - 0x01010101) | 0;
    const zeroDel = (del - 0x01010101) | 0;
    if (((x | (below & ~x) | (zeroBackslash & ~backslash) | (zeroDel & ~del)) & highBits) !== 0) {
      const at = i + 4 * w;
      if (!plainByte(bytes[at] as number) || !plainByte(bytes[at + 1] as number) || !plainByte(bytes[at + 2] as number) || !plainByte(bytes[at + 3] as number)) {
        return false;
      }
    }
  }
  for (i += 4 * count; i < to; i++) if (!plainByte(bytes[i] as number)) return false;
  return true;
}

function plainByte(b: number): boolean {
  return b === 0x0a || (b >= 0x20 && b <= 0x7e && b !== 0x5c);
}
