/**
 * The object cache: package files on this machine, content-addressed by hash and shared by every
 * package and registry. `getBytes` and installs fetch an object once and then serve it from here;
 * installs clone or hard-link it where they can (place.ts). Layout, trust rules and eviction:
 * layout.ts, object-cache.ts and maintenance.ts.
 */
export { ObjectCache, type CacheHit, type FetchOptions, type ObjectCacheOptions } from "./object-cache.js";
export { CachePlacer, LINK_MODES, type LinkMode, type PlaceStats, type PlacerOptions } from "./place.js";
export type { CachedObject, CacheTotals, PruneOptions, PruneResult } from "./maintenance.js";
export { CACHEABLE_TYPES, LAYOUT_VERSION, objectKeyOf, type ObjectKey } from "./layout.js";
export { cacheEntries, servesFromCache, uncacheEntries, type CacheEntriesOptions, type CacheEntriesResult } from "./entries.js";
