/**
 * The writing loop shared by install and force-match: each item goes through the destination
 * guard, then is skipped when already in place, else placed (object cache) or written from its
 * source through a verified temp file, with bounded concurrency.
 *
 * With the destination's stat cache (src/cache), "already in place" costs no read when the file's
 * stat is unchanged since an install recorded it; otherwise the file is hashed, as without one.
 * The cache is visited in item order (the sequential part of the loop), so items must come in
 * tree-walk order of their targets for it to help (out-of-order ones are simply not cached), and
 * every file written or proven is recorded for the next run.
 */
import { lstatSync, type BigIntStats } from "node:fs";
import { fileStatOf, type CachedHash, type FileStat, type StatCacheRun, type TargetVisit } from "../cache/index.js";
import { QuiltError } from "../errors/index.js";
import { hashFile, type HashPool } from "../hash/index.js";
import { forEachBounded } from "./bounded.js";
import { DestGuard } from "./dest-guard.js";
import { entryOf, type Item } from "./scan.js";
import type { ReadEntry } from "./types.js";
import { childPath, writeVerified, type FilePlacer } from "./write-file.js";

export interface WriteItemsOptions<I extends Item = Item> {
  readEntry: ReadEntry;
  concurrency: number;
  signal?: AbortSignal;
  pool?: HashPool;
  /** Skip a file already at the target with the right size and hash (proven by the stat cache, or re-hashed). */
  skipPresent: boolean;
  fsync?: boolean;
  placer?: FilePlacer;
  /** The destination's stat cache, opened with `ownWrites` (the caller commits it). */
  statCache?: StatCacheRun;
  /** `read`: whether the file was hashed to prove it (else the stat cache did). */
  onSkipped?: (item: I, read: boolean) => void;
  onWritten?: (item: I) => void;
  onBytes?: (n: number) => void;
}

/** What of a file's stat decides whether it may stay (plain or bigint `lstat`). */
interface TargetStat {
  readonly size: number | bigint;
  readonly nlink: number | bigint;
  readonly mode: number | bigint;
}

/** What is at a target now: its stat (`undefined`: no file, or not taken yet) and, with a stat cache, its visit. */
interface Found {
  readonly st: TargetStat | undefined;
  readonly visit: TargetVisit | undefined;
  /** The stat taken after the visit, for the cache to record with the hash. */
  readonly seen?: FileStat;
}

/** Not stat'ed yet (no record, or no cache): now, in the concurrent part. */
async function statInTask(guard: DestGuard, path: string, item: Item, visit: TargetVisit | undefined): Promise<Found> {
  if (visit === undefined) return { st: await guard.finalState(path, item.key), visit };
  const st = await guard.finalStateBig(path, item.key);
  return { st, visit, ...(st === undefined ? {} : { seen: fileStatOf(st) }) };
}

/** Places each item under `root` through the guarded, verified write path. */
export async function writeItems<I extends Item>(items: AsyncIterable<I>, root: string, o: WriteItemsOptions<I>): Promise<void> {
  const guard = new DestGuard(root, { create: true });
  const cache = o.statCache;
  await forEachBounded(items, o.concurrency, o.signal, `installing into ${root}`, async (item, signal) => {
    const path = guard.pathOf(item.target, item.key);
    const { dir } = await guard.folderOf(item.target, item.key);
    const found = cache === undefined ? undefined : await visitTarget(cache, guard, path, item);
    if (found?.st !== undefined && o.skipPresent && proven(found, item, o.placer)) {
      found.visit?.settle(found.visit.hit);
      o.onSkipped?.(item, false);
      return undefined;
    }
    return async () => {
      try {
        await placeItem(item, dir, path, found?.st === undefined ? await statInTask(guard, path, item, found?.visit) : found, signal, o);
      } finally {
        found?.visit?.settle(undefined); // a failed item leaves no record (a settled one keeps its own)
      }
    };
  });
}

/**
 * The target's stat cache visit, with its stat taken now when the cache has a record of it (a
 * synchronous lstat: cheap when nothing is being written, as on a reinstall); waits while the
 * cache's reorder queue is full. A fresh install's files have no record, so this costs no stat:
 * a synchronous one would wait on the folder's lock behind the writes in flight.
 */
async function visitTarget(cache: StatCacheRun, guard: DestGuard, path: string, item: Item): Promise<Found> {
  let st: BigIntStats | undefined;
  const visit = await cache.visitTarget(item.target, () => {
    st = guard.finalStateSync(path, item.key);
    return st === undefined ? undefined : fileStatOf(st);
  });
  await cache.room();
  return { st, visit };
}

/** The stat cache holds the item's hash for the file as it is now, and the file may stay. */
function proven(found: Found, item: Item, placer: FilePlacer | undefined): boolean {
  const { st, visit } = found;
  return st !== undefined && Number(st.size) === item.size && isItemHash(visit?.hit, item) && keeps(st, placer);
}

function isItemHash(hash: CachedHash | undefined, item: Item): boolean {
  return hash !== undefined && hash.type === item.type && hash.value === item.value;
}

function keeps(st: TargetStat, placer: FilePlacer | undefined): boolean {
  return placer?.keeps?.({ nlink: Number(st.nlink), mode: Number(st.mode) }) ?? true;
}

/** Skips the file when hashing proves it in place, else places or writes it; records the outcome. */
async function placeItem<I extends Item>(item: I, dir: string, path: string, found: Found, signal: AbortSignal, o: WriteItemsOptions<I>): Promise<void> {
  const { st, visit, seen } = found;
  const hit = visit?.hit;
  // A recorded hash of the same type that is not the item's: the file is an older version, unread.
  const stale = hit !== undefined && hit.type === item.type && hit.value !== item.value;
  const candidate = o.skipPresent && st !== undefined && Number(st.size) === item.size && !stale && keeps(st, o.placer);
  if (candidate && (await inPlace(path, item, signal, o.pool))) {
    visit?.settle({ type: item.type, value: item.value }, seen === undefined ? undefined : { stat: seen });
    o.onSkipped?.(item, true);
    return;
  }
  const name = item.target.slice(item.target.lastIndexOf("/") + 1);
  const placed = o.placer !== undefined && (await o.placer.place({ dir, name, entry: entryOf(item), type: item.type }, signal, o.onBytes));
  if (!placed) await writeVerified(dir, name, entryOf(item), item.type, { readEntry: o.readEntry, signal, onBytes: o.onBytes, fsync: o.fsync });
  if (visit !== undefined) {
    const after = writtenStat(childPath(dir, name));
    visit.settle(after === undefined ? undefined : { type: item.type, value: item.value }, after === undefined ? undefined : { stat: after, written: true });
  }
  o.onWritten?.(item);
}

/**
 * The stat of a file just put in place, taken once right after its rename: the stat cache then
 * knows it without reading it back (see src/cache/file-stat.ts for the one race it cannot see).
 */
function writtenStat(path: string): FileStat | undefined {
  try {
    const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    return st?.isFile() === true ? fileStatOf(st) : undefined;
  } catch {
    return undefined; // not recorded: the next run hashes it
  }
}

/** Whether the file at `path` has the item's hash; a file that cannot be hashed is rewritten. */
async function inPlace(path: string, item: Item, signal: AbortSignal, pool: HashPool | undefined): Promise<boolean> {
  try {
    const r = pool ? await pool.hashFile(path, { types: [item.type], signal }) : await hashFile(path, { types: [item.type], signal });
    return r.size === item.size && r.hashes[item.type] === item.value;
  } catch (error) {
    if (signal.aborted || (error instanceof QuiltError && error.kind === "interrupted")) throw error;
    return false;
  }
}
