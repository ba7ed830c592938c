/**
 * Comparing a folder with a package, as quilt3's `Package.verify` does (sizes must match, each
 * file is re-hashed with its entry's hash type, extra files fail unless allowed), in bounded
 * memory: the folder's files are sorted into tree-walk order by an external sort, merge-joined
 * with the entries (which come in tree-walk order), and only files whose size matches are hashed,
 * on the HashPool, with a bounded window of files in flight. With a stat cache (src/cache), a
 * file whose stat is unchanged since its hash was recorded is not read at all.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { fileStatOf, StatCacheRun, type FileStat, type StatCacheOptions, type StatCacheStats, type Visit } from "../cache/index.js";
import { ConflictError, NotFoundError, QuiltError } from "../errors/index.js";
import { HashPool, type HashOutcome, type HashType } from "../hash/index.js";
import { walkDir } from "../package/walk-dir.js";
import { compareLogicalKeys, externalSort } from "../sort/index.js";
import { Channel } from "./bounded.js";
import { errnoOf, interrupted, notSorted, throwIfAborted } from "./errors.js";
import { assertPathKey, checkedEntry } from "./keys.js";
import { iterate } from "./scan.js";
import type { DifferenceKind, EntryRef, EntrySource } from "./types.js";

export interface CompareProgress {
  /** Package entries compared so far. */
  entries: number;
  /** Files of the folder reached by the merge. */
  files: number;
  hashedFiles: number;
  hashedBytes: number;
  /** Files whose hash came from the stat cache, not read. */
  cachedFiles: number;
}

export interface JoinOptions {
  /** Folders (or files) relative to the folder to leave out, e.g. `['.quiltkit']`. */
  exclude?: readonly string[];
  /** Hash on this pool (default: a pool made for the call, closed after). */
  pool?: HashPool;
  signal?: AbortSignal;
  /** Folder for the sort's runs (default `os.tmpdir()`). */
  tmpDir?: string;
  /** Memory for the folder listing sort before it spills (default 64 MiB). */
  sortMemoryBytes?: number;
  /** Files being hashed or waiting to be, at most (default 4096). */
  window?: number;
  /** Reuse the hashes of files unchanged since the last run, and record new ones (src/cache); off when absent. */
  statCache?: StatCacheOptions;
  onProgress?: (progress: CompareProgress) => void;
}

/** What the merge-join finds, delivered as it goes (hash results in completion order). */
export interface JoinSink {
  onlyInPackage(entry: EntryRef): void | Promise<void>;
  onlyInDir(relativePath: string, size: number): void | Promise<void>;
  changed(entry: EntryRef, reason: "size" | "hash"): void | Promise<void>;
  same(entry: EntryRef): void | Promise<void>;
}

interface DirFile {
  rel: string;
  size: number;
  stat: FileStat;
}

/** The files of `dir` in tree-walk order (nothing when `dir` is missing and `missingOk`). */
export async function* sortedDirFiles(
  dir: string,
  o: { exclude?: readonly string[]; tmpDir?: string; sortMemoryBytes?: number; signal?: AbortSignal; missingOk?: boolean },
): AsyncGenerator<DirFile> {
  if (o.missingOk === true) {
    try {
      await stat(dir);
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return;
    }
  }
  const exclude = o.exclude ?? [];
  const excluded = (rel: string): boolean => exclude.some((x) => rel === x || (rel.startsWith(x) && rel.charCodeAt(x.length) === 0x2f));
  const files = (async function* (): AsyncGenerator<DirFile> {
    for await (const f of walkDir(dir, { quiltignore: false, exclude, signal: o.signal })) {
      if (!excluded(f.relativePath)) yield { rel: f.relativePath, size: f.size, stat: fileStatOf(f.stats) };
    }
  })();
  yield* externalSort(files, {
    compare: (a, b) => compareLogicalKeys(a.rel, b.rel),
    serialize: (f) => `${f.size}\t${f.stat.mtimeNs}\t${f.stat.ctimeNs}\t${f.stat.ino}\t${f.stat.dev}\t${f.rel}`,
    deserialize: (bytes) => {
      const [size, mtime, ctime, ino, dev] = bytes.toString("latin1", 0, Math.min(bytes.length, 200)).split("\t", 5) as [string, string, string, string, string];
      const head = size.length + mtime.length + ctime.length + ino.length + dev.length + 5;
      const stat = { size: Number(size), mtimeNs: BigInt(mtime), ctimeNs: BigInt(ctime), ino: BigInt(ino), dev: BigInt(dev) };
      return { size: stat.size, stat, rel: bytes.toString("utf8", head) };
    },
    sizeOf: (f) => 240 + 2 * f.rel.length,
    tmpDir: o.tmpDir,
    signal: o.signal,
    maxBytesInMemory: o.sortMemoryBytes ?? 64 * 1024 * 1024,
  });
}

/** Entries checked to be in strict tree-walk order, with safe keys. */
export async function* orderedEntries<E extends { readonly logicalKey: string }>(entries: AsyncIterable<E> | Iterable<E>, what: string): AsyncGenerator<E> {
  let prev: string | undefined;
  for await (const entry of entries) {
    if (prev !== undefined && compareLogicalKeys(prev, entry.logicalKey) >= 0) throw notSorted(prev, entry.logicalKey, what);
    prev = entry.logicalKey;
    yield entry;
  }
}

interface HashItem {
  path: string;
  entry: EntryRef;
  type: HashType;
  visit: Visit | undefined;
}

/**
 * One HashPool job per hash type in use, fed through channels; `window` bounds the files
 * submitted and not yet reported, across all types.
 */
class HashLanes {
  private readonly lanes = new Map<HashType, { channel: Channel<HashItem>; done: Promise<void> }>();
  private inflight = 0;
  private wake: (() => void) | undefined;
  private failure: { error: unknown } | undefined;
  private pool: HashPool | undefined;
  private readonly stop = new AbortController();
  private readonly onAbort = (): void => this.stop.abort(this.options.signal?.reason);

  constructor(
    private readonly options: JoinOptions,
    private readonly handle: (outcome: HashOutcome<HashItem>) => Promise<void>,
    private readonly onFailure: () => void,
  ) {
    if (options.signal?.aborted === true) this.onAbort();
    else options.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  async submit(item: HashItem): Promise<void> {
    const window = this.options.window ?? 4096;
    while (this.inflight >= window && this.failure === undefined) await new Promise<void>((r) => (this.wake = r));
    if (this.failure !== undefined) throw this.failure.error;
    this.inflight++;
    this.laneFor(item.type).channel.push(item);
  }

  /** Waits for every submitted file; throws the first failure. */
  async finish(): Promise<void> {
    for (const lane of this.lanes.values()) lane.channel.close();
    await Promise.all([...this.lanes.values()].map((l) => l.done));
    await this.close();
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Stops everything after a failure elsewhere. */
  async abandon(): Promise<void> {
    this.stop.abort();
    for (const lane of this.lanes.values()) lane.channel.close();
    await Promise.all([...this.lanes.values()].map((l) => l.done));
    await this.close();
  }

  private async close(): Promise<void> {
    this.options.signal?.removeEventListener("abort", this.onAbort);
    if (this.options.pool === undefined) await this.pool?.close();
  }

  private laneFor(type: HashType): { channel: Channel<HashItem>; done: Promise<void> } {
    let lane = this.lanes.get(type);
    if (lane === undefined) {
      this.pool ??= this.options.pool ?? new HashPool();
      const channel = new Channel<HashItem>();
      const outcomes = this.pool.hashFiles(channel, { types: [type], signal: this.stop.signal, maxQueue: this.options.window ?? 4096 });
      const done = (async () => {
        try {
          for await (const outcome of outcomes) {
            await this.handle(outcome);
            this.inflight--;
            this.release();
          }
        } catch (error) {
          this.failure ??= { error };
          this.stop.abort();
          this.release();
          this.onFailure();
        }
      })();
      lane = { channel, done };
      this.lanes.set(type, lane);
    }
    return lane;
  }

  private release(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** The merge-join of package entries with the files of `dir`; returns what the stat cache did, when used. */
export async function joinDir(
  entries: AsyncIterable<EntryRef> | Iterable<EntryRef>,
  dir: string,
  options: JoinOptions & { missingDirOk?: boolean },
  sink: JoinSink,
): Promise<StatCacheStats | undefined> {
  const progress: CompareProgress = { entries: 0, files: 0, hashedFiles: 0, hashedBytes: 0, cachedFiles: 0 };
  const report = (): void => options.onProgress?.({ ...progress });
  // Opened before the walk starts: its clock must precede every stat the walk takes.
  const cache = options.statCache === undefined ? undefined : await StatCacheRun.open(dir, options.statCache);
  const lanes = new HashLanes(options, async (outcome) => {
    progress.hashedFiles++;
    if (outcome.ok) progress.hashedBytes += outcome.size;
    await hashed(outcome, sink);
    report();
  }, () => cache?.interrupt());
  const exclude = [...(options.exclude ?? []), ...(cache?.folderInRoot === undefined ? [] : [cache.folderInRoot])];
  const pkg = orderedEntries(entries, "package entries")[Symbol.asyncIterator]();
  const disk = sortedDirFiles(dir, { ...options, exclude, missingOk: options.missingDirOk })[Symbol.asyncIterator]();
  try {
    let e = await pkg.next();
    let f = await disk.next();
    let steps = 0;
    while (e.done !== true || f.done !== true) {
      throwIfAborted(options.signal, `comparing ${dir}`);
      const order = e.done === true ? 1 : f.done === true ? -1 : compareLogicalKeys(e.value.logicalKey, f.value.rel);
      if (order < 0 && e.done !== true) {
        checkEntry(e.value);
        progress.entries++;
        await sink.onlyInPackage(e.value);
        e = await pkg.next();
      } else if (f.done !== true) {
        progress.files++;
        const visit = await cache?.visit(f.value.rel, f.value.stat);
        if (order > 0) {
          visit?.settle(visit.hit); // not compared: keep what the cache knew, for the next run
          await sink.onlyInDir(f.value.rel, f.value.size);
        } else if (e.done !== true) {
          progress.entries++;
          const item = { path: join(dir, ...f.value.rel.split("/")), entry: e.value, type: checkEntry(e.value), visit };
          const decided = await compareKnown(item, f.value.size, sink);
          if (decided === "cache") progress.cachedFiles++;
          else if (decided === undefined) await lanes.submit(item);
          e = await pkg.next();
        }
        f = await disk.next();
        await cache?.room();
      }
      if ((++steps & 1023) === 0) report();
    }
    await lanes.finish();
    report();
    return await cache?.commit();
  } catch (error) {
    await lanes.abandon();
    await cache?.abandon();
    if (options.signal?.aborted === true && !(error instanceof QuiltError)) throw interrupted(`comparing ${dir}`, options.signal.reason);
    throw error;
  } finally {
    await pkg.return(undefined);
    await disk.return(undefined);
  }
}

/**
 * A pair decided without reading the file, because the sizes differ or the stat cache holds the
 * file's hash of the entry's type: says which, once reported; `undefined` when it must be hashed.
 */
async function compareKnown(item: HashItem, size: number, sink: JoinSink): Promise<"size" | "cache" | undefined> {
  const { entry, visit } = item;
  const hit = visit?.hit;
  if (size !== entry.size) {
    visit?.settle(hit);
    await sink.changed(entry, "size");
    return "size";
  }
  if (hit === undefined || hit.type !== item.type) return undefined;
  visit?.settle(hit);
  if (hit.value === entry.hash.value) await sink.same(entry);
  else await sink.changed(entry, "hash");
  return "cache";
}

/** A hash outcome: reported to the sink, and recorded in the stat cache when it describes the stat seen. */
async function hashed(outcome: HashOutcome<HashItem>, sink: JoinSink): Promise<void> {
  const { entry, visit, type } = outcome.item;
  if (outcome.ok) {
    const value = outcome.hashes[type];
    visit?.settle(value !== undefined && outcome.size === visit.stat.size ? { type, value } : undefined);
    if (outcome.size !== entry.size) await sink.changed(entry, "size");
    else if (value === entry.hash.value) await sink.same(entry);
    else await sink.changed(entry, "hash");
    return;
  }
  visit?.settle(undefined);
  if (outcome.error instanceof NotFoundError) await sink.onlyInPackage(entry); // deleted since the listing
  else if (outcome.error instanceof ConflictError) await sink.changed(entry, "hash"); // changing while we read it
  else throw outcome.error;
}

function checkEntry(entry: EntryRef): HashType {
  assertPathKey(entry.logicalKey);
  return checkedEntry(entry);
}

export interface CompareDirOptions extends JoinOptions {
  /** Files in the folder but not in the package do not make `matches` false (quilt3 `extra_files_ok`). */
  extraFilesOk?: boolean;
  /** Keep the differences in the result's arrays (default true); off, only the callback sees them. */
  collect?: boolean;
  /** Each difference as found; `modified` ones come in hashing completion order. */
  onDifference?: (kind: DifferenceKind, key: string) => void;
}

export interface CompareDirResult {
  /** In the folder, not in the package (tree-walk order). */
  added: string[];
  /** In both, different size or hash (tree-walk order). */
  modified: string[];
  /** In the package, not in the folder (tree-walk order). */
  deleted: string[];
  unchanged: number;
  /** What the stat cache did (hits, misses, whether it was rewritten), when one was used. */
  statCache?: StatCacheStats;
  /** quilt3 `verify`: nothing modified or deleted, and no extra file unless `extraFilesOk`. */
  matches: boolean;
}

/** Compares `dir` with the package's entries (in tree-walk order). */
export async function compareDir(entries: EntrySource, dir: string, options: CompareDirOptions = {}): Promise<CompareDirResult> {
  const collect = options.collect !== false;
  const result: CompareDirResult = { added: [], modified: [], deleted: [], unchanged: 0, matches: true };
  const counts = { added: 0, modified: 0, deleted: 0 };
  const note = (kind: DifferenceKind, key: string): void => {
    counts[kind]++;
    if (collect) result[kind].push(key);
    options.onDifference?.(kind, key);
  };
  const cacheStats = await joinDir(iterate(entries), dir, options, {
    onlyInPackage: (entry) => note("deleted", entry.logicalKey),
    onlyInDir: (rel) => note("added", rel),
    changed: (entry) => note("modified", entry.logicalKey),
    same: () => {
      result.unchanged++;
    },
  });
  // A vanished file is reported when its hash job fails, out of order; so are modified files.
  result.modified.sort(compareLogicalKeys);
  result.deleted.sort(compareLogicalKeys);
  if (cacheStats !== undefined) result.statCache = cacheStats;
  result.matches = counts.modified === 0 && counts.deleted === 0 && (counts.added === 0 || options.extraFilesOk === true);
  return result;
}
