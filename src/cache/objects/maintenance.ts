/**
 * Looking after the cache folder: list, size, clear and prune, each one streaming walk over the
 * shard folders, so memory does not grow with the number of objects. Prune orders objects by last
 * use with the external sort (src/sort), which spills to disk past its budget.
 */
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { HashType } from "../../hash/index.js";
import { externalSort } from "../../sort/index.js";
import { throwIfAborted } from "../../transfer/errors.js";
import { badMaxSize, cacheReadFailed, errnoOf } from "./errors.js";
import { removeFile } from "./files.js";
import { CACHEABLE_TYPES, hashOfKey, keyOfName, typeFolder, type ObjectKey } from "./layout.js";

/** Temp files older than this belong to a writer that died; younger ones may still be written. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Memory for prune's sort before it spills. */
const PRUNE_SORT_BYTES = 64 * 1024 * 1024;

export interface CachedObject {
  readonly type: HashType;
  /** The hash value as manifests write it (base64 for sha2-256-chunked, hex for SHA256). */
  readonly hash: string;
  readonly size: number;
  /** Last served (the file's atime, which the cache stamps on use). */
  readonly lastUsed: Date;
  /** Hard links to the file: above 1, installs share it, and removing it frees no space until they go. */
  readonly links: number;
  readonly path: string;
}

export interface CacheTotals {
  objects: number;
  bytes: number;
}

export interface PruneOptions {
  /** Folder for the sort's spill files (default the OS temp folder). */
  readonly tmpDir?: string;
  /** Memory for the sort by last use before it spills (default 64 MiB). */
  readonly sortMemoryBytes?: number;
  readonly signal?: AbortSignal;
}

export interface PruneResult {
  readonly removed: CacheTotals;
  readonly kept: CacheTotals;
}

interface Found {
  readonly key: ObjectKey | undefined;
  readonly path: string;
  readonly st: Stats;
}

export async function* listObjects(dir: string, signal?: AbortSignal): AsyncGenerator<CachedObject> {
  for await (const { key, path, st } of walk(dir, signal)) {
    if (key === undefined) continue;
    const { type, value } = hashOfKey(key);
    yield { type, hash: value, size: st.size, lastUsed: st.atime, links: st.nlink, path };
  }
}

export async function sizeOfObjects(dir: string, signal?: AbortSignal): Promise<CacheTotals> {
  const totals = { objects: 0, bytes: 0 };
  for await (const object of listObjects(dir, signal)) add(totals, object.size);
  return totals;
}

export async function clearObjects(dir: string, now: number, signal?: AbortSignal): Promise<CacheTotals> {
  const removed = { objects: 0, bytes: 0 };
  for await (const found of walk(dir, signal)) {
    if (found.key === undefined) await removeStaleTemp(found, now);
    else if (await removeFile(found.path)) add(removed, found.st.size);
  }
  return removed;
}

/** Sorted by last use, oldest first, objects go until at most `maxBytes` remain. */
export async function pruneObjects(dir: string, maxBytes: number, now: number, options: PruneOptions): Promise<PruneResult> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw badMaxSize(maxBytes);
  const kept = { objects: 0, bytes: 0 };
  const removed = { objects: 0, bytes: 0 };
  const records = async function* (): AsyncGenerator<UseRecord> {
    for await (const found of walk(dir, options.signal)) {
      if (found.key === undefined) await removeStaleTemp(found, now);
      else {
        add(kept, found.st.size);
        yield { t: found.st.atimeMs, p: found.path, s: found.st.size };
      }
    }
  };
  // The sort reads every record before it hands out the first, so `kept` is the full total by then.
  for await (const record of externalSort(records(), sortOptions(options))) {
    if (kept.bytes <= maxBytes) break;
    const st = await lstat(record.p).catch(() => undefined);
    if (st !== undefined && st.atimeMs > record.t) continue; // used since the walk: no longer the oldest
    // Gone already (another prune or clear) or removed now: either way the cache no longer holds it.
    const ours = st !== undefined && (await removeFile(record.p));
    kept.objects--;
    kept.bytes -= record.s;
    if (ours) add(removed, record.s);
  }
  return { removed, kept };
}

/** One object in prune's sort: last use (ms), path, size. */
interface UseRecord {
  t: number;
  p: string;
  s: number;
}

function sortOptions(options: PruneOptions): Parameters<typeof externalSort<UseRecord>>[1] {
  return {
    compare: (a, b) => a.t - b.t || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0),
    serialize: (r) => JSON.stringify(r),
    deserialize: (bytes) => JSON.parse(bytes.toString("utf8")) as UseRecord,
    maxBytesInMemory: options.sortMemoryBytes ?? PRUNE_SORT_BYTES,
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}

/** Every regular file under the type folders: objects (with their key) and anything else (key undefined). */
async function* walk(dir: string, signal: AbortSignal | undefined): AsyncGenerator<Found> {
  for (const type of CACHEABLE_TYPES) {
    const folder = typeFolder(dir, type);
    for (const shard of await namesIn(folder)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await namesIn(join(folder, shard))) {
        throwIfAborted(signal, `walking the cache ${dir}`);
        const path = join(folder, shard, name);
        const st = await lstat(path).catch(() => undefined); // removed meanwhile
        if (st?.isFile() === true) yield { key: keyOfName(type, shard, name), path, st };
      }
    }
  }
}

/** A folder's names in order; none when it does not exist. */
async function namesIn(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).sort();
  } catch (error) {
    const code = errnoOf(error);
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw cacheReadFailed(folder, error);
  }
}

async function removeStaleTemp(found: Found, now: number): Promise<void> {
  if (found.path.endsWith(".tmp") && now - found.st.mtimeMs > STALE_TEMP_MS) await removeFile(found.path);
}

function add(totals: CacheTotals, bytes: number): void {
  totals.objects++;
  totals.bytes += bytes;
}
