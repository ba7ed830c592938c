/** Manifests: quilt3's JSONL format, read and written as streams, and the top hash (spec §1–2). */
export type { EntryHash, ManifestEntry, DirMeta, ManifestRecord, ManifestSource } from "./types.js";
export { readManifestRecords, parseRecordLine, pyTruthy, type ReadOptions } from "./reader.js";
export { withCanonicalManifest, readCanonical, type CanonicalManifest, type CanonicalOptions } from "./canonical.js";
export { encodeManifest, type WriteOptions, type WriteResult } from "./writer.js";
export {
  TopHasher,
  entryLine,
  dirLine,
  headerLine,
  headerHashPart,
  entryHashPart,
  checkRecordSize,
  assertOrdered,
  DEFAULT_MAX_RECORD_SIZE,
} from "./encode.js";
export { topHashOf, rewriteManifest, verifyManifest, type VerifiedManifest } from "./operations.js";
export { fileSource, bytesSource } from "./sources.js";
export type { BatchIndex, IndexFeed } from "./batch-index.js";
export { assertValidLogicalKey, assertSafeLoadedKey, logicalKeyProblem } from "./logical-key.js";
export { pyRepr } from "./py-repr.js";
