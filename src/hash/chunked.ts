/**
 * sha2-256-chunked (spec §3.2, quilt3 `checksums.py`): the file is cut into parts of
 * `chunkSize(size)` bytes, each part is SHA-256'd, and the value is
 * base64(sha256(concat of the raw part digests)). These parts are exactly S3's multipart parts,
 * so the part digests double as the `ChecksumSHA256` of each uploaded part.
 */
import { createHash, type Hash } from "node:crypto";
import { UsageError } from "../errors/index.js";

/** S3's default multipart part size, which quilt3 hard-codes. */
export const MIN_CHUNK_SIZE = 8 * 1024 * 1024;
/** S3's maximum number of parts. */
export const MAX_PARTS = 10_000;

function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new UsageError("INVALID_SIZE", `Invalid file size: ${size}`);
  }
}

/** 8 MiB, doubled while the part count would exceed 10,000 (same as quilt3). */
export function chunkSize(size: number): number {
  assertSize(size);
  let chunk = MIN_CHUNK_SIZE;
  while (Math.ceil(size / chunk) > MAX_PARTS) chunk *= 2;
  return chunk;
}

/** The sha2-256-chunked value from part digests. No parts (empty file) gives base64(sha256("")). */
export function combineParts(parts: readonly Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("base64");
}

/**
 * Streaming sha2-256-chunked. The total size is needed up front because it decides the part
 * size; `update` accepts any buffer boundaries, and `digest` refuses if the byte count differs.
 */
export class ChunkedSha256 {
  readonly chunkSize: number;
  private readonly parts: Buffer[] = [];
  private part: Hash | undefined;
  private partFill = 0;
  private received = 0;
  private value: string | undefined;

  /** `chunk` overrides the part size; used to hash one slice of a bigger file (worker ranges). */
  constructor(
    readonly size: number,
    chunk?: number,
  ) {
    this.chunkSize = chunk ?? chunkSize(size);
    assertSize(size);
  }

  update(data: Uint8Array): this {
    if (this.value !== undefined) throw misuse("update() after digest()");
    if (this.received + data.length > this.size) throw sizeMismatch(this.size, this.received + data.length);
    let off = 0;
    while (off < data.length) {
      const take = Math.min(this.chunkSize - this.partFill, data.length - off);
      this.part ??= createHash("sha256");
      this.part.update(take === data.length ? data : data.subarray(off, off + take));
      this.partFill += take;
      off += take;
      if (this.partFill === this.chunkSize) this.closePart();
    }
    this.received += data.length;
    return this;
  }

  /** base64 value; idempotent. */
  digest(): string {
    if (this.value === undefined) {
      if (this.received !== this.size) throw sizeMismatch(this.size, this.received);
      if (this.part) this.closePart();
      this.value = combineParts(this.parts);
    }
    return this.value;
  }

  /** Raw 32-byte digests of the parts completed so far (all of them after `digest()`). */
  get partDigests(): readonly Buffer[] {
    return this.parts;
  }

  private closePart(): void {
    this.parts.push(this.part?.digest() ?? createHash("sha256").digest());
    this.part = undefined;
    this.partFill = 0;
  }
}

function sizeMismatch(declared: number, got: number): UsageError {
  return new UsageError("HASH_SIZE_MISMATCH", `Hasher declared ${declared} bytes but received ${got}`, {
    hint: "sha2-256-chunked needs the exact total size before hashing starts.",
  });
}

function misuse(what: string): UsageError {
  return new UsageError("HASHER_MISUSE", `Hasher misuse: ${what}`);
}
