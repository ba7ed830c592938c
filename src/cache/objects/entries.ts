/**
 * The seed's `pkg.cache(key)` and `pkg.clear_cache()` over a stream of entries: fetch them into the
 * object cache ahead of use, or drop them from it. Entries whose bytes are local files already
 * (`file://` keys) are left alone: a cached copy would only double them on the same machine.
 */
import { forEachBounded } from "../../transfer/bounded.js";
import type { EntryRef, ReadEntry } from "../../transfer/types.js";
import type { CacheTotals } from "./maintenance.js";
import type { ObjectCache } from "./object-cache.js";

export interface CacheEntriesOptions {
  /** Objects fetched at once (default 8). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onBytes?: (n: number) => void;
}

export interface CacheEntriesResult {
  /** Entries now served from the cache. */
  entries: number;
  /** Of those, objects fetched by this call (the others were there). */
  fetched: number;
  /** Bytes of those entries. */
  bytes: number;
  /** Entries left out: local files, or hash types the cache does not take (CRC64NVME). */
  skipped: number;
}

/** Whether the cache serves this entry: a remote object with a hash that keys the cache. */
export function servesFromCache(cache: ObjectCache, entry: EntryRef): boolean {
  return !entry.physicalKey.startsWith("file:") && cache.accepts(entry.hash);
}

export async function cacheEntries(cache: ObjectCache, entries: AsyncIterable<EntryRef>, read: ReadEntry, options: CacheEntriesOptions = {}): Promise<CacheEntriesResult> {
  const result: CacheEntriesResult = { entries: 0, fetched: 0, bytes: 0, skipped: 0 };
  await forEachBounded(entries, options.concurrency ?? 8, options.signal, "filling the object cache", (entry, signal) => {
    if (!servesFromCache(cache, entry)) {
      result.skipped++;
      return Promise.resolve(undefined);
    }
    return Promise.resolve(async () => {
      const hit = await cache.fetch(entry, read, { signal, ...(options.onBytes === undefined ? {} : { onBytes: options.onBytes }) });
      result.entries++;
      result.bytes += entry.size;
      if (hit.fetched) result.fetched++;
    });
  });
  return result;
}

/** Removes the entries' objects; another package holding the same content fetches it again when needed. */
export async function uncacheEntries(cache: ObjectCache, entries: AsyncIterable<EntryRef>): Promise<CacheTotals> {
  const removed = { objects: 0, bytes: 0 };
  for await (const entry of entries) {
    if (!servesFromCache(cache, entry) || !(await cache.remove(entry.hash))) continue;
    removed.objects++;
    removed.bytes += entry.size;
  }
  return removed;
}
