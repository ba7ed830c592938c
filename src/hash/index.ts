/**
 * File hashing compatible with quilt3 (spec §3): sha2-256-chunked (default), SHA256 (legacy),
 * CRC64NVME; one file on the calling thread (`hashFile`) or many on all cores (`HashPool`).
 */
export {
  CRC64NVME,
  DEFAULT_HASH_TYPE,
  HASH_TYPES,
  SHA256,
  SHA2_256_CHUNKED,
  hashTypeOf,
  isHashType,
  normalizeTypes,
  type EntryHash,
  type FileHashes,
  type HashOptions,
  type HashType,
  type HashValues,
} from "./types.js";
export { ChunkedSha256, MAX_PARTS, MIN_CHUNK_SIZE, chunkSize, combineParts } from "./chunked.js";
export { Crc64Nvme, crc64nvme } from "./crc64nvme.js";
export { MultiHasher, hashBuffer } from "./multi.js";
export { hashFile, type HashFileOptions } from "./file.js";
export { verifyBytes, verifyFile, verifyHash, type VerifyResult } from "./verify.js";
export { HashPool, hashFiles, type HashPoolOptions } from "./pool.js";
export type { HashFilesOptions, HashInput, HashOutcome, HashProgress } from "./job.js";
