/**
 * Comparing a folder with a package, as quilt3's `Package.verify` does (sizes must match, each
 * file is re-hashed with its entry's hash type, extra files fail unless allowed), in bounded
 * memory: the folder's files are sorted into tree-walk order by an external sort, merge-joined
 * with the entries (which come in tree-walk order), and only files whose size matches are hashed,
 * on the HashPool, with a bounded window of files in flight.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
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
      if (!excluded(f.relativePath)) yield { rel: f.relativePath, size: f.size };
    }
  })();
  yield* externalSort(files, {
    compare: (a, b) => compareLogicalKeys(a.rel, b.rel),
    serialize: (f) => `${f.size}\t${f.rel}`,
    deserialize: (bytes) => {
      const text = bytes.toString("utf8");
      const tab = text.indexOf("\t");
      return { size: Number(text.slice(0, tab)), rel: text.slice(tab + 1) };
    },
    sizeOf: (f) => 80 + 2 * f.rel.length,
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

/** The merge-join of package entries with the files of `dir`. */
export async function joinDir(
  entries: AsyncIterable<EntryRef> | Iterable<EntryRef>,
  dir: string,
  options: JoinOptions & { missingDirOk?: boolean },
  sink: JoinSink,
): Promise<void> {
  const progress: CompareProgress = { entries: 0, files: 0, hashedFiles: 0, hashedBytes: 0 };
  const report = (): void => options.onProgress?.({ ...progress });
  const lanes = new HashLanes(options, async (outcome) => {
    const { entry } = outcome.item;
    progress.hashedFiles++;
    if (outcome.ok) {
      progress.hashedBytes += outcome.size;
      if (outcome.size !== entry.size) await sink.changed(entry, "size");
      else if (outcome.hashes[outcome.item.type] === entry.hash.value) await sink.same(entry);
      else await sink.changed(entry, "hash");
    } else if (outcome.error instanceof NotFoundError) {
      await sink.onlyInPackage(entry); // deleted since the listing
    } else if (outcome.error instanceof ConflictError) {
      await sink.changed(entry, "hash"); // changing while we read it
    } else {
      throw outcome.error;
    }
    report();
  });
  const pkg = orderedEntries(entries, "package entries")[Symbol.asyncIterator]();
  const disk = sortedDirFiles(dir, { ...options, missingOk: options.missingDirOk })[Symbol.asyncIterator]();
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
      } else if (order > 0 && f.done !== true) {
        progress.files++;
        await sink.onlyInDir(f.value.rel, f.value.size);
        f = await disk.next();
      } else if (e.done !== true && f.done !== true) {
        const type = checkEntry(e.value);
        progress.entries++;
        progress.files++;
        if (f.value.size !== e.value.size) await sink.changed(e.value, "size");
        else await lanes.submit({ path: join(dir, ...f.value.rel.split("/")), entry: e.value, type });
        e = await pkg.next();
        f = await disk.next();
      }
      if ((++steps & 1023) === 0) report();
    }
    await lanes.finish();
    report();
  } catch (error) {
    await lanes.abandon();
    if (options.signal?.aborted === true && !(error instanceof QuiltError)) throw interrupted(`comparing ${dir}`, options.signal.reason);
    throw error;
  } finally {
    await pkg.return(undefined);
    await disk.return(undefined);
  }
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
  await joinDir(iterate(entries), dir, options, {
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
  result.matches = counts.modified === 0 && counts.deleted === 0 && (counts.added === 0 || options.extraFilesOk === true);
  return result;
}
