/**
 * Several hash types fed from one stream, so a file is read once whatever was requested.
 */
import * as nodeCrypto from "node:crypto";
import { createHash, type Hash } from "node:crypto";
import { ChunkedSha256, MIN_CHUNK_SIZE } from "./chunked.js";
import { Crc64Nvme, crc64nvme } from "./crc64nvme.js";
import { CRC64NVME, SHA256, SHA2_256_CHUNKED, type FileHashes, type HashType, type HashValues } from "./types.js";

export class MultiHasher {
  private readonly chunked: ChunkedSha256 | undefined;
  private readonly sha: Hash | undefined;
  private readonly crc: Crc64Nvme | undefined;

  constructor(
    types: readonly HashType[],
    readonly size: number,
  ) {
    if (types.includes(SHA2_256_CHUNKED)) this.chunked = new ChunkedSha256(size);
    if (types.includes(SHA256)) this.sha = createHash("sha256");
    if (types.includes(CRC64NVME)) this.crc = new Crc64Nvme();
  }

  update(data: Uint8Array): void {
    this.chunked?.update(data);
    this.sha?.update(data);
    this.crc?.update(data);
  }

  digest(): HashValues {
    const out: HashValues = {};
    if (this.chunked) out[SHA2_256_CHUNKED] = this.chunked.digest();
    if (this.sha) out[SHA256] = this.sha.digest("hex");
    if (this.crc) out[CRC64NVME] = this.crc.digest();
    return out;
  }

  /** Digests everything into a FileHashes; parts only when asked (they cost 32 B each to keep). */
  result(withParts: boolean | undefined): FileHashes {
    const out: FileHashes = { size: this.size, hashes: this.digest() };
    if (withParts && this.chunked) out.parts = [...this.chunked.partDigests];
    return out;
  }
}

/** Hashes an in-memory buffer with the requested types. */
export function hashBuffer(data: Uint8Array, types: readonly HashType[], withParts?: boolean): FileHashes {
  if (data.length <= MIN_CHUNK_SIZE) return hashSinglePart(data, types, withParts);
  const h = new MultiHasher(types, data.length);
  h.update(data);
  return h.result(withParts);
}

/**
 * Up to one part (the vast majority of files): the part digest is also the SHA256 value, so
 * one SHA-256 pass serves both types, and one-shot hashing skips a Hash object per file.
 */
function hashSinglePart(data: Uint8Array, types: readonly HashType[], withParts?: boolean): FileHashes {
  const chunked = types.includes(SHA2_256_CHUNKED);
  const digest = chunked || types.includes(SHA256) ? sha256(data) : undefined;
  const hashes: HashValues = {};
  const parts = data.length > 0 && digest ? [digest] : [];
  if (chunked) hashes[SHA2_256_CHUNKED] = sha256(parts[0] ?? new Uint8Array(0)).toString("base64");
  if (digest && types.includes(SHA256)) hashes[SHA256] = digest.toString("hex");
  if (types.includes(CRC64NVME)) hashes[CRC64NVME] = crc64nvme(data);
  const out: FileHashes = { size: data.length, hashes };
  if (withParts && chunked) out.parts = parts;
  return out;
}

/** `crypto.hash` (Node >= 20.12) when present: no Hash object to allocate for small inputs. */
const oneShot = typeof nodeCrypto.hash === "function" ? nodeCrypto.hash : undefined;

function sha256(data: Uint8Array): Buffer {
  return oneShot ? oneShot("sha256", data, "buffer") : createHash("sha256").update(data).digest();
}
