/**
 * QKBI v1, the browse index beside a manifest (docs/design.md §4): a streaming builder, a reader
 * that holds a small index whole or pages a big one, the checks that an index still describes the
 * stored manifest, and checked reads of the manifest ranges it points at.
 */
export {
  BLOCK_BYTES,
  DIR_BYTES,
  INDEX_FORMAT,
  INDEX_VERSION,
  RUN_BYTES,
  SAMPLE_BYTES,
  type DirRecord,
  type IndexHeader,
  type ManifestIdentity,
  type RunRecord,
} from "./format.js";
export { IndexBuilder, type IdentityInput, type IndexBuilderOptions } from "./builder.js";
export { scanLine, type ScannedLine } from "./scan-line.js";
export { BrowseIndex, type Block, type NamedDir, type OpenIndexOptions } from "./reader.js";
export type { ByteReader } from "./pages.js";
export { readEntryRange, type EntryRange, type RangeRead } from "./ranges.js";
export { checkIdentity, storedIdentityOf, type StoredIdentity } from "./identity.js";
export { cachedIndexPath, fileByteReader, storageByteReader } from "./location.js";
export { indexStale, isIndexProblem } from "./errors.js";
