/**
 * Quiltkit's public API: Quilt data packages, byte-compatible with quilt3.
 * Each folder's index.ts is its public face; this file gathers what a library user needs.
 */
export { Package, PackageBuilder, PyMeta, py, openRegistry, readInstalledState, STATE_DIR } from "./package/index.js";
export type {
  BrowseOptions,
  BuilderOptions,
  BuildOptions,
  BuiltManifest,
  CompareOptions,
  EntryInput,
  ForceMatchOptions,
  InstallOptions,
  InstallResult,
  InstalledState,
  LsItem,
  LsResult,
  MetaInput,
  PushDataOptions,
  PushDataResult,
  PushManifestOptions,
  PushManifestResult,
  SetDirOptions,
} from "./package/index.js";
export { Registry } from "./registry/registry.js";
export { parseHandle, formatHandle } from "./registry/handle.js";
export { validatePackageName, validateTag } from "./registry/names.js";
export {
  QuiltError,
  UsageError,
  IntegrityError,
  NotFoundError,
  ConflictError,
  StorageError,
  InterruptedError,
  EXIT_CODES,
} from "./errors/index.js";
export { loadConfig, type QuiltConfig } from "./config/index.js";
export { parsePyJson, dumpsManifest, dumpsHash, fromPlain, toPlain, pyEquals, type PyValue, type PyObject } from "./json/index.js";
export {
  topHashOf,
  fileSource,
  bytesSource,
  readManifestRecords,
  withCanonicalManifest,
  encodeManifest,
  type ManifestEntry,
  type EntryHash,
  type DirMeta,
} from "./manifest/index.js";
export { hashFile, HashPool, chunkSize } from "./hash/index.js";
export { StatCacheRun, type StatCacheOptions, type StatCacheStats } from "./cache/index.js";
export { ObjectCache, LINK_MODES, type LinkMode, type ObjectCacheOptions, type CachedObject, type CacheTotals, type PruneResult, type PlaceStats } from "./cache/index.js";
export { parsePhysicalKey, formatPhysicalKey, LocalStorage, type PhysicalKey, type Storage } from "./storage/index.js";
