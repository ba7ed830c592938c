/**
 * CRC-64/NVME (spec §3.3): reflected, poly 0xAD93D23594C93659, init = xorout = all ones.
 * Value = base64 of the 8-byte big-endian CRC.
 *
 * Why not `@aws-sdk/crc64-nvme`: its `digest()` is async, and its pure-JS path reads the input
 * byte by byte into interleaved tables, measured at 0.26 GB/s here. This slice-by-8 variant
 * reads two aligned 32-bit words per step and keeps the low and high halves in separate tables
 * (better cache use); measured at ~0.7 GB/s on the same machine. The AWS class stays the
 * independent reference in the tests.
 */

/** Reflected polynomial (bit-reversed 0xAD93D23594C93659). */
const POLY = 0x9a6c9329ac4bc9b5n;
const SLICES = 8;

/** Tables T0..T7, low and high 32 bits apart: Tk[i] = CRC of byte i followed by k zero bytes. */
function buildTables(): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(256 * SLICES);
  const hi = new Int32Array(256 * SLICES);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let bit = 0; bit < 8; bit++) c = c & 1n ? (c >> 1n) ^ POLY : c >> 1n;
    lo[i] = Number(c & 0xffffffffn) | 0;
    hi[i] = Number(c >> 32n) | 0;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let i = 0; i < 256; i++) {
      const p = (k - 1) * 256 + i;
      const l = lo[p]!;
      const h = hi[p]!;
      lo[k * 256 + i] = ((l >>> 8) | (h << 24)) ^ lo[l & 255]!;
      hi[k * 256 + i] = (h >>> 8) ^ hi[l & 255]!;
    }
  }
  return { lo, hi };
}

const { lo: L, hi: H } = buildTables();
// The word loop reinterprets bytes as native 32-bit integers, which is only right on little-endian.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class Crc64Nvme {
  // The running CRC (pre-xorout) as two signed 32-bit halves: JS has no fast 64-bit integers.
  private lo = -1;
  private hi = -1;

  update(data: Uint8Array): this {
    let i = 0;
    const len = data.length;
    // Bytes up to a 4-byte boundary, so the middle can be read as an Int32Array view.
    while (i < len && (!LITTLE_ENDIAN || ((data.byteOffset + i) & 3) !== 0)) this.byte(data[i++]!);
    const words = LITTLE_ENDIAN ? (len - i) >>> 3 : 0;
    if (words > 0) this.words(new Int32Array(data.buffer, data.byteOffset + i, words * 2));
    i += words * 8;
    while (i < len) this.byte(data[i++]!);
    return this;
  }

  /** The 8 big-endian CRC bytes. */
  digestBytes(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeInt32BE(~this.hi, 0);
    out.writeInt32BE(~this.lo, 4);
    return out;
  }

  /** base64 value, as stored in manifests. */
  digest(): string {
    return this.digestBytes().toString("base64");
  }

  private byte(b: number): void {
    const idx = (this.lo ^ b) & 255;
    this.lo = ((this.lo >>> 8) | (this.hi << 24)) ^ L[idx]!;
    this.hi = (this.hi >>> 8) ^ H[idx]!;
  }

  /** Slice-by-8 over pairs of little-endian words. Hot loop: kept flat on purpose. */
  private words(w: Int32Array): void {
    let lo = this.lo;
    let hi = this.hi;
    for (let j = 0; j < w.length; j += 2) {
      const a = lo ^ w[j]!;
      const b = hi ^ w[j + 1]!;
      const a0 = a & 255, a1 = (a >>> 8) & 255, a2 = (a >>> 16) & 255, a3 = a >>> 24;
      const b0 = b & 255, b1 = (b >>> 8) & 255, b2 = (b >>> 16) & 255, b3 = b >>> 24;
      lo = L[1792 + a0]! ^ L[1536 + a1]! ^ L[1280 + a2]! ^ L[1024 + a3]! ^
        L[768 + b0]! ^ L[512 + b1]! ^ L[256 + b2]! ^ L[b3]!;
      hi = H[1792 + a0]! ^ H[1536 + a1]! ^ H[1280 + a2]! ^ H[1024 + a3]! ^
        H[768 + b0]! ^ H[512 + b1]! ^ H[256 + b2]! ^ H[b3]!;
    }
    this.lo = lo;
    this.hi = hi;
  }
}

/** One-shot CRC64NVME value of a buffer. */
export function crc64nvme(data: Uint8Array): string {
  return new Crc64Nvme().update(data).digest();
}
