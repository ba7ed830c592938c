/**
 * One run over a folder with its stat cache: each file is *visited* in tree-walk order with its
 * current stat; a visit finds the file's recorded hash when the stat is unchanged and not racy,
 * and is *settled* with the file's hash as now known (the hit, a fresh hash, or nothing). Visits
 * settle in any order (hashes finish out of order); a reorder queue writes the new cache file in
 * visit order as the earliest visits settle, so the file is rewritten in one streaming pass.
 * Files not visited (deleted, or outside the walk) drop out of the cache.
 *
 * A run that changes nothing (every record visited in order, each a hit and kept as it was, under
 * the same kind of header) writes nothing: the file in place already says all the new one would.
 * Until a visit departs from the old file, no new file is even started; then one is, and the old
 * records matched so far are copied into it first (read again from the old file, still open).
 *
 * The cache only ever saves work: every failure to read it means re-hashing, every failure to
 * write it is reported in `stats` and otherwise ignored.
 */
import { statSync, type BigIntStats } from "node:fs";
import { realpath } from "node:fs/promises";
import { dirname, isAbsolute, relative, sep } from "node:path";
import { compareLogicalKeys } from "../sort/index.js";
import { DEFAULT_RACY_MS, fileStatOf, isRacy, sameStat, type FileStat } from "./file-stat.js";
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
  /** The SHA-256 in the trailer of the file in place, once written: it names exactly these records. */
  checksum?: string;
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
    /** The index of the old record that gave `hit`. */
    readonly oldIndex = -1,
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
  /**
   * While nothing departed from the old file: the number of its records the new one would start
   * with, unchanged (no writer yet). `undefined` once a new file is being written (or never will be).
   */
  private same: number | undefined;
  /** Records settled while the new file is being started; appended once it is. */
  private backlog: CacheRecord[] | undefined;
  private starting: Promise<void> | undefined;

  private constructor(
    /** The real path of the folder; keys are relative to it. */
    readonly root: string,
    file: string,
    private readonly old: { header: CacheHeader; cursor: CacheCursor; records: number; checksum: string } | undefined,
    private writer: CacheWriter | undefined,
    private readonly recordedNs: bigint,
    private readonly racyNs: bigint,
    private readonly ownWrites: boolean,
    /** Starts the new file; set while the run may still write nothing. */
    private readonly create?: () => Promise<CacheWriter>,
  ) {
    this.stats = { file, hits: 0, misses: 0, racy: 0, recorded: 0, written: false };
    if (create !== undefined) this.same = 0;
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
    const ownWrites = options.ownWrites === true;
    const create = (): Promise<CacheWriter> => CacheWriter.create(file, { root, recordedNs, ownWrites });
    const old = opened.kind === "ok" ? { header: opened.header, cursor: opened.cursor, records: opened.records, checksum: opened.checksum } : undefined;
    // With an old file of the same kind, the new one is started only if the run departs from it.
    const lazy = options.readOnly !== true && old !== undefined && (old.header.ownWrites === true) === ownWrites;
    let writer: CacheWriter | undefined;
    let problem: string | undefined;
    if (options.readOnly !== true && !lazy) {
      try {
        writer = await create();
      } catch (error) {
        problem = `it cannot be written (${(error as Error).message})`;
      }
    }
    const racyNs = BigInt(Math.round((options.racyMs ?? DEFAULT_RACY_MS) * 1e6));
    const run = new StatCacheRun(root, file, old, writer, recordedNs, racyNs, ownWrites, lazy ? create : undefined);
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
    const slot = new Slot(key, now, hit, () => this.flush(), hit === undefined ? -1 : (this.old?.cursor.index ?? -1));
    this.queue.push(slot);
    if (this.starting !== undefined) await this.starting;
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
    if (this.stopped) return this.abandon();
    this.flush(true);
    if (this.same !== undefined && this.same === this.old?.records) {
      // Nothing departed from the old file: it stays, as the new one would have been.
      this.same = undefined;
      await this.old.cursor.close();
      this.stats.written = true;
      this.stats.checksum = this.old.checksum;
      return this.stats;
    }
    if (this.same !== undefined) this.depart(); // old records left unvisited drop out
    await this.starting;
    await this.old?.cursor.close();
    const writer = this.writer;
    this.writer = undefined;
    if (writer === undefined) return this.stats;
    try {
      this.stats.checksum = await writer.commit();
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
    this.same = undefined;
    await this.starting;
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
      if (slot.settled && slot.hash !== undefined && stat !== undefined && this.keeps(slot, stat)) {
        const record = { key: slot.key, stat, hash: slot.hash };
        if (this.same !== undefined && this.unchanged(slot, stat)) {
          this.same++;
          this.stats.recorded++;
          continue;
        }
        if (this.same !== undefined) this.depart();
        if (this.backlog !== undefined) this.backlog.push(record);
        else if (this.writer !== undefined) this.writer.append(record);
        else continue;
        this.stats.recorded++;
      }
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.queue.length - this.head <= MAX_QUEUED) this.wake();
  }

  /** The slot's record is the old file's next one, as it was: a hit, settled with that hash and no new stat. */
  private unchanged(slot: Slot, stat: FileStat): boolean {
    const hit = slot.hit;
    return (
      hit !== undefined &&
      slot.oldIndex === this.same &&
      slot.hash !== undefined &&
      slot.hash.type === hit.type &&
      slot.hash.value === hit.value &&
      slot.then?.written !== true &&
      (slot.stat === undefined ? false : sameStat(stat, slot.stat))
    );
  }

  /**
   * The run departs from the old file: start the new one, with the old records matched so far
   * copied first; records settled meanwhile wait in the backlog (and visits wait for it).
   */
  private depart(): void {
    const copy = this.same ?? 0;
    const create = this.create;
    const old = this.old;
    this.same = undefined;
    if (create === undefined || old === undefined) return;
    const backlog: CacheRecord[] = [];
    this.backlog = backlog;
    this.starting = (async () => {
      let writer: CacheWriter | undefined;
      try {
        writer = await create();
        const replay = old.cursor.replica();
        for (let i = 0; i < copy; i++) {
          const record = await replay.nextRecord();
          if (record === undefined) throw new Error(`its old records ended early (${replay.problem ?? "cut"})`);
          writer.append(record);
        }
      } catch (error) {
        await writer?.abandon();
        writer = undefined;
        this.stats.problem = `it cannot be written (${(error as Error).message})`;
      }
      if (writer !== undefined) for (const record of backlog) writer.append(record);
      this.writer = writer;
      this.backlog = undefined;
      this.starting = undefined;
    })();
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
