/**
 * One run over a folder with its stat cache: each file is *visited* in tree-walk order with its
 * current stat; a visit finds the file's recorded hash when the stat is unchanged and not racy,
 * and is *settled* with the file's hash as now known (the hit, a fresh hash, or nothing). Visits
 * settle in any order (hashes finish out of order); a reorder queue writes the new cache file in
 * visit order as the earliest visits settle, so the file is rewritten in one streaming pass.
 * Files not visited (deleted, or outside the walk) drop out of the cache.
 *
 * The cache only ever saves work: every failure to read it means re-hashing, every failure to
 * write it is reported in `stats` and otherwise ignored.
 */
import { statSync, type BigIntStats } from "node:fs";
import { realpath } from "node:fs/promises";
import { dirname, isAbsolute, relative, sep } from "node:path";
import { compareLogicalKeys } from "../sort/index.js";
import { fileStatOf, isRacy, sameStat, type FileStat } from "./file-stat.js";
import type { CachedHash, CacheHeader, CacheRecord } from "./format.js";
import { statCacheFile, type LocationOptions } from "./location.js";
import { openCacheFile, type CacheCursor } from "./reader.js";
import { CacheWriter } from "./writer.js";

export interface StatCacheOptions extends LocationOptions {
  /** A record is trusted only if its file's mtime and ctime were this old when it was recorded (default 2000). */
  readonly racyMs?: number;
  /** The wall clock in ms (tests). */
  readonly now?: () => number;
  /** Use the cache, but leave its file as it is. */
  readonly readOnly?: boolean;
  /**
   * The caller writes files itself (install) and records them with `settle(hash, written)`: the
   * new file says so (format.ts `ownWrites`), and those records are kept though their times are new.
   */
  readonly ownWrites?: boolean;
}

export interface StatCacheStats {
  /** The cache file. */
  readonly file: string;
  /** Files whose hash came from the cache. */
  hits: number;
  /** Files visited without a usable record (new, changed, or racy). */
  misses: number;
  /** Of the misses: records refused because the file changed too close to when they were made. */
  racy: number;
  /** Records in the new file. */
  recorded: number;
  /** Whether the new file is in place. */
  written: boolean;
  /** Why the old file was not used: corrupt, another version, another folder. */
  ignored?: string;
  /** Why the new file was not written. */
  problem?: string;
}

/** A file met by the walk: what the cache knew, and what the caller now knows. */
export interface Visit {
  readonly key: string;
  readonly stat: FileStat;
  /** The recorded hash, when the file is provably unchanged since. */
  readonly hit: CachedHash | undefined;
  /**
   * The file's hash as now known (`undefined`: unknown, record dropped); once per visit. `stat`:
   * the file's stat, when the visit had none or the file changed since; `written`: the caller
   * wrote the file itself, with these bytes, and `stat` was taken just after.
   */
  settle(hash: CachedHash | undefined, then?: Settled): void;
}

export interface Settled {
  readonly stat: FileStat;
  readonly written?: boolean;
}

/**
 * A visit of an install's target: its stat is taken only when the cache has a record of it (the
 * caller's `statNow`), so a fresh install costs no extra stat; no stat, no hit.
 */
export interface TargetVisit extends Omit<Visit, "stat"> {
  readonly stat: FileStat | undefined;
}

/** Visits waiting behind an unsettled one, at most; beyond, `room()` waits (a slow big file at the head). */
const MAX_QUEUED = 65_536;
const DEFAULT_RACY_MS = 2000;

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // unreadable: the hashing that follows reports it
  }
}

class Slot implements TargetVisit {
  hash: CachedHash | undefined;
  then: Settled | undefined;
  settled = false;

  constructor(
    readonly key: string,
    readonly stat: FileStat | undefined,
    readonly hit: CachedHash | undefined,
    private readonly onSettle: (() => void) | undefined,
  ) {}

  settle(hash: CachedHash | undefined, then?: Settled): void {
    if (this.settled) return;
    this.settled = true;
    this.hash = hash;
    this.then = then;
    this.onSettle?.();
  }
}

export class StatCacheRun {
  readonly stats: StatCacheStats;
  private readonly queue: Slot[] = [];
  private head = 0;
  private lastKey: string | undefined;
  private stopped = false;
  private wakeRoom: (() => void) | undefined;

  private constructor(
    /** The real path of the folder; keys are relative to it. */
    readonly root: string,
    file: string,
    private readonly old: { header: CacheHeader; cursor: CacheCursor } | undefined,
    private writer: CacheWriter | undefined,
    private readonly recordedNs: bigint,
    private readonly racyNs: bigint,
    private readonly ownWrites: boolean,
  ) {
    this.stats = { file, hits: 0, misses: 0, racy: 0, recorded: 0, written: false };
  }

  /**
   * The run for folder `dir`, or `undefined` when it has no cache location (no `.quiltkit/` and
   * no `home`) or does not exist. The clock is read before anything else, so that it precedes
   * every stat taken by the caller's walk.
   */
  static async open(dir: string, options: StatCacheOptions = {}): Promise<StatCacheRun | undefined> {
    const nowMs = (options.now ?? Date.now)();
    const root = await realpath(dir).catch(() => undefined);
    if (root === undefined) return undefined;
    const file = await statCacheFile(root, options);
    if (file === undefined) return undefined;
    const recordedNs = BigInt(Math.floor(nowMs)) * 1_000_000n;
    const opened = await openCacheFile(file, root);
    let writer: CacheWriter | undefined;
    let problem: string | undefined;
    if (options.readOnly !== true) {
      try {
        writer = await CacheWriter.create(file, { root, recordedNs, ownWrites: options.ownWrites === true });
      } catch (error) {
        problem = `it cannot be written (${(error as Error).message})`;
      }
    }
    const racyNs = BigInt(Math.round((options.racyMs ?? DEFAULT_RACY_MS) * 1e6));
    const old = opened.kind === "ok" ? { header: opened.header, cursor: opened.cursor } : undefined;
    const run = new StatCacheRun(root, file, old, writer, recordedNs, racyNs, options.ownWrites === true);
    if (opened.kind === "ignored") run.stats.ignored = opened.reason;
    if (problem !== undefined) run.stats.problem = problem;
    return run;
  }

  /** The cache's folder relative to the root when it lies inside it (a walk must leave it out), else undefined. */
  get folderInRoot(): string | undefined {
    const rel = relative(this.root, dirname(this.stats.file));
    if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
    return sep === "/" ? rel : rel.split(sep).join("/");
  }

  /** Visit the file `key` (relative to the root, `/`-separated); keys must strictly increase in tree-walk order. */
  async visit(key: string, stat: FileStat): Promise<Visit> {
    // Given a stat, the slot keeps it.
    return (await this.enter(key, stat)) as Slot & { readonly stat: FileStat };
  }

  /** As `visit`, for an install's target: `statNow` (undefined: no file) is called only if the cache has a record of `key`. */
  visitTarget(key: string, statNow: () => FileStat | undefined): Promise<TargetVisit> {
    return this.enter(key, statNow);
  }

  private async enter(key: string, stat: FileStat | (() => FileStat | undefined)): Promise<Slot> {
    if (this.stopped || (this.lastKey !== undefined && compareLogicalKeys(this.lastKey, key) >= 0)) {
      // Out of order (or after a stop): not part of the merge, so neither looked up nor recorded.
      return new Slot(key, typeof stat === "function" ? undefined : stat, undefined, undefined);
    }
    this.lastKey = key;
    const record = await this.recordOf(key);
    const now = typeof stat === "function" ? (record === undefined ? undefined : stat()) : stat;
    const hit = record === undefined || now === undefined ? undefined : this.trusted(record, now);
    if (hit === undefined) this.stats.misses++;
    else this.stats.hits++;
    const slot = new Slot(key, now, hit, () => this.flush());
    this.queue.push(slot);
    if (this.writer !== undefined) await this.writer.drained();
    return slot;
  }

  /**
   * Visit a file by absolute path, stat taken now; `undefined` outside the root. The stat is
   * synchronous: a few µs, where an awaited one costs a thread-pool round trip (~25 µs) per file.
   */
  async visitFile(path: string): Promise<Visit | undefined> {
    const rel = relative(this.root, path);
    if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
    const info = statOrUndefined(path);
    if (info === undefined || !info.isFile()) return undefined;
    return this.visit(sep === "/" ? rel : rel.split(sep).join("/"), fileStatOf(info));
  }

  /** Resolves when the reorder queue has room (or the run stopped). */
  async room(): Promise<void> {
    while (!this.stopped && this.queue.length - this.head > MAX_QUEUED) await new Promise<void>((r) => (this.wakeRoom = r));
  }

  /** Stop: no more lookups or records, nothing written; wakes a waiting `room()`. */
  interrupt(): void {
    this.stopped = true;
    this.wake();
  }

  /** Writes the new cache file (unsettled visits are left out); never throws. */
  async commit(): Promise<StatCacheStats> {
    await this.old?.cursor.close();
    if (this.stopped) return this.abandon();
    this.flush(true);
    const writer = this.writer;
    this.writer = undefined;
    if (writer === undefined) return this.stats;
    try {
      await writer.commit();
      this.stats.written = true;
    } catch (error) {
      this.stats.problem = `it cannot be written (${(error as Error).message})`;
      await writer.abandon();
    }
    return this.stats;
  }

  /** Ends the run without writing. */
  async abandon(): Promise<StatCacheStats> {
    this.interrupt();
    await this.old?.cursor.close();
    await this.writer?.abandon();
    this.writer = undefined;
    return this.stats;
  }

  private async recordOf(key: string): Promise<CacheRecord | undefined> {
    const old = this.old;
    if (old === undefined) return undefined;
    const record = await old.cursor.find(key);
    if (old.cursor.problem !== undefined) this.stats.ignored ??= old.cursor.problem;
    return record;
  }

  /** The record's hash if the file's stat now proves it. */
  private trusted(record: CacheRecord, stat: FileStat): CachedHash | undefined {
    const header = this.old?.header;
    if (header === undefined || !sameStat(record.stat, stat)) return undefined;
    // Files an install wrote are newer than its start: judged by this run's clock (file-stat.ts).
    const since = header.ownWrites === true ? this.recordedNs : header.recordedNs;
    if (isRacy(record.stat, since, this.racyNs)) {
      this.stats.racy++;
      return undefined;
    }
    return record.hash;
  }

  /** Writes settled visits from the head of the queue; with `all`, skips unsettled ones too. */
  private flush(all = false): void {
    while (this.head < this.queue.length) {
      const slot = this.queue[this.head]!;
      if (!slot.settled && !all) break;
      this.head++;
      const stat = slot.then?.stat ?? slot.stat;
      if (slot.settled && slot.hash !== undefined && stat !== undefined && this.writer !== undefined && this.keeps(slot, stat)) {
        this.writer.append({ key: slot.key, stat, hash: slot.hash });
        this.stats.recorded++;
      }
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.queue.length - this.head <= MAX_QUEUED) this.wake();
  }

  /** A record made from racy times would never be trusted, so it is left out; our own writes are judged later. */
  private keeps(slot: Slot, stat: FileStat): boolean {
    return (slot.then?.written === true && this.ownWrites) || !isRacy(stat, this.recordedNs, this.racyNs);
  }

  private wake(): void {
    const wake = this.wakeRoom;
    this.wakeRoom = undefined;
    wake?.();
  }
}
