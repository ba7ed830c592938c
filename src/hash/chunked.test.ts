import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadQuilt3Vectors, type VectorFile } from "../../test/helpers/shared.js";
import { ChunkedSha256, chunkSize, combineParts, hashBuffer, MIN_CHUNK_SIZE } from "./index.js";

const MiB = 1024 * 1024;
const ALL = ["sha2-256-chunked", "SHA256", "CRC64NVME"] as const;

/** Straightforward reference from the spec text, sharing no code with ChunkedSha256. */
function reference(data: Uint8Array, chunk: number): { value: string; parts: string[] } {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(createHash("sha256").update(data.subarray(i, i + chunk)).digest());
  const value = createHash("sha256").update(Buffer.concat(parts)).digest("base64");
  return { value, parts: parts.map((p) => p.toString("hex")) };
}

function feed(h: ChunkedSha256, data: Uint8Array, cuts: number[]): void {
  let prev = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    h.update(data.subarray(prev, cut));
    prev = cut;
  }
  h.update(data.subarray(prev));
}

describe("checksum_examples (quilt3 vectors)", () => {
  const examples = loadQuilt3Vectors().checksum_examples as Record<string, VectorFile>;
  for (const [text, want] of Object.entries(examples)) {
    it(JSON.stringify(text), () => {
      const data = Buffer.from(text, "utf8");
      const r = hashBuffer(data, ALL, true);
      expect(r.size).toBe(want.size);
      expect(r.hashes).toEqual({ "sha2-256-chunked": want["sha2-256-chunked"], SHA256: want.SHA256, CRC64NVME: want.CRC64NVME });
      expect(r.parts?.map((p) => p.toString("hex"))).toEqual(want.part_sha256_hex);
      expect(chunkSize(data.length)).toBe(want.chunksize);
    });
  }

  it("empty input is base64(sha256('')), not a hash of a hash", () => {
    expect(new ChunkedSha256(0).digest()).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    expect(combineParts([])).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  });
});

describe("chunkSize (spec §3.2 table)", () => {
  it.each([
    [0, 8 * MiB],
    [1, 8 * MiB],
    [8 * MiB + 1, 8 * MiB],
    [83_886_080_000, 8 * MiB],
    [83_886_080_001, 16 * MiB],
    [5 * 1024 **4, 1024 * MiB],
  ])("size %d -> %d", (size, chunk) => {
    expect(chunkSize(size)).toBe(chunk);
  });

  it("part counts at the doubling boundary", () => {
    expect(Math.ceil(83_886_080_000 / chunkSize(83_886_080_000))).toBe(10_000);
    expect(Math.ceil(83_886_080_001 / chunkSize(83_886_080_001))).toBe(5001);
    expect(Math.ceil(5 * 1024 ** 4 / chunkSize(5 * 1024 ** 4))).toBe(5120);
  });

  it.each([-1, 1.5, NaN, 2 ** 53])("rejects size %d", (size) => {
    expect(() => chunkSize(size)).toThrow(expect.objectContaining({ code: "INVALID_SIZE" }) as Error);
  });
});

describe("ChunkedSha256 streaming", () => {
  it("any update boundaries give the reference value and parts (small parts)", () => {
    // A small part size exercises part boundaries on small inputs; the split logic is size-agnostic.
    const arb = fc.record({
      data: fc.uint8Array({ maxLength: 700 }),
      chunk: fc.integer({ min: 1, max: 128 }),
      cuts: fc.array(fc.nat(), { maxLength: 12 }),
    });
    fc.assert(
      fc.property(arb, ({ data, chunk, cuts }) => {
        const h = new ChunkedSha256(data.length, chunk);
        feed(h, data, cuts.map((c) => c % (data.length + 1)));
        const want = reference(data, chunk);
        expect(h.digest()).toBe(want.value);
        expect(h.partDigests.map((p) => p.toString("hex"))).toEqual(want.parts);
      }),
      { numRuns: 300 },
    );
  });

  it("any update boundaries around the real 8 MiB part boundary", () => {
    const data = Buffer.alloc(MIN_CHUNK_SIZE + 4097);
    for (let i = 0; i < data.length; i += 4093) data[i] = i & 255;
    const want = reference(data, MIN_CHUNK_SIZE);
    const near = fc.integer({ min: MIN_CHUNK_SIZE - 5000, max: data.length });
    fc.assert(
      fc.property(fc.array(fc.oneof(near, fc.nat({ max: data.length })), { maxLength: 6 }), (cuts) => {
        const h = new ChunkedSha256(data.length);
        feed(h, data, cuts);
        expect(h.digest()).toBe(want.value);
        expect(h.partDigests).toHaveLength(2);
      }),
      { numRuns: 15 },
    );
  });

  it("refuses more or fewer bytes than declared", () => {
    expect(() => new ChunkedSha256(3).update(Buffer.from("abcd"))).toThrow(
      expect.objectContaining({ code: "HASH_SIZE_MISMATCH" }) as Error,
    );
    expect(() => new ChunkedSha256(3).update(Buffer.from("ab")).digest()).toThrow(
      expect.objectContaining({ code: "HASH_SIZE_MISMATCH" }) as Error,
    );
  });

  it("digest is idempotent and closes the hasher", () => {
    const h = new ChunkedSha256(3).update(Buffer.from("abc"));
    expect(h.digest()).toBe("T4tCwi3TcptRm6b2jS2nzFstYG0F2u1a1RKMwD5sY1g=");
    expect(h.digest()).toBe("T4tCwi3TcptRm6b2jS2nzFstYG0F2u1a1RKMwD5sY1g=");
    expect(() => h.update(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: "HASHER_MISUSE" }) as Error);
  });
});
