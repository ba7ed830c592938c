/**
 * The stat cache: per folder, relative path → (size, mtime, ctime, inode, device) → hash, so that
 * verify, diff, status and `quilt hash` of an unchanged folder do not read its data again.
 * A sorted, checksummed file merge-joined with the folder walk: memory does not grow with the
 * number of files. Format and trust rules: format.ts and file-stat.ts.
 */
export { fileStatOf, isRacy, sameStat, type FileStat } from "./file-stat.js";
export { STAT_CACHE_FORMAT, STAT_CACHE_VERSION, type CachedHash } from "./format.js";
export { STAT_CACHE_FILE, statCacheFile, type LocationOptions } from "./location.js";
export { provenUnchanged, type CacheIdentity, type UnchangedResult } from "./unchanged.js";
export { StatCacheRun, type Settled, type StatCacheOptions, type StatCacheStats, type TargetVisit, type Visit } from "./stat-cache.js";
export * from "./objects/index.js";
