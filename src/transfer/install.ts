/**
 * Installing a package (or a sub-tree of it) into a folder, in two streaming passes:
 *
 * 1. `planInstall`: a cheap read-only pass over the entries that refuses the whole install
 *    before anything is written (unsafe keys, unknown hash types, portable-filesystem collisions,
 *    links or conflicting files under the destination, too little free space) and counts totals.
 *    The entries are spilled to a temp folder (or re-opened later, for a re-openable source).
 * 2. `executeInstall`: streams the entries again and writes each file through a verified temp
 *    file (see write-file.ts), with bounded concurrency. Files already in place with the right
 *    size and hash are skipped, so running an interrupted install again finishes the job. With
 *    the destination's stat cache, a file unchanged since an install recorded it is skipped
 *    without being read, and every file written is recorded (write-items.ts).
 */
import { mkdir, realpath, stat, statfs } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { StatCacheRun, type StatCacheOptions, type StatCacheStats } from "../cache/index.js";
import type { HashPool } from "../hash/index.js";
import { DestGuard } from "./dest-guard.js";
import { badOption, errnoOf, noSpace, pathConflict, pathNotFound, throwIfAborted, writeFailed } from "./errors.js";
import { pathKeyProblem } from "./keys.js";
import { scanEntries, type Item, type Scan } from "./scan.js";
import { SpillDir } from "./spill.js";
import type { EntrySource, ReadEntry } from "./types.js";
import type { FilePlacer } from "./write-file.js";
import { writeItems } from "./write-items.js";

export { writeItems, type WriteItemsOptions } from "./write-items.js";

/** Progress is reported after each file, and every this many bytes within big ones. */
const PROGRESS_BYTES = 8 * 1024 * 1024;

export interface PlanInstallOptions {
  /**
   * Install only this logical sub-tree: files keep their path relative to it. A key naming a
   * single file installs that file under its basename, as quilt3 does.
   */
  path?: string;
  /** Folder for the entry spill and sort runs (default `os.tmpdir()`); use a disk folder for large packages. */
  tmpDir?: string;
  /** Memory for the collision sort before it spills (default 64 MiB). */
  sortMemoryBytes?: number;
  /** Check free space (default true). */
  checkSpace?: boolean;
  signal?: AbortSignal;
  /** Planning progress: entries kept so far, with their bytes. */
  onPlanProgress?: (progress: { entries: number; bytes: number }) => void;
}

export interface InstallPlan {
  /** Absolute destination folder. */
  readonly dest: string;
  readonly path: string | undefined;
  readonly totalFiles: number;
  readonly totalBytes: number;
  /** Files found at their target with the expected size (re-hashed on execution). */
  readonly presentFiles: number;
  /** Bytes of the files not yet present: what the free-space check compared. */
  readonly bytesToWrite: number;
  /** Free bytes seen on the destination's filesystem, when checked. */
  readonly availableBytes: number | undefined;
  /** @internal The planned files, streamed again (from the spill or the re-opened source). */
  readonly items: (signal?: AbortSignal) => AsyncIterable<Item>;
  /** Removes the plan's temp folder; the plan cannot be executed afterwards. */
  dispose(): Promise<void>;
}

export interface InstallProgress {
  /** Files done: written or skipped. */
  files: number;
  /** Bytes done: written, or skipped as already in place. */
  bytes: number;
  skipped: number;
  totalFiles: number;
  totalBytes: number;
}

export interface ExecuteInstallOptions {
  /** Opens an entry's bytes; `readLocalEntry` serves `file://` keys. */
  readEntry: ReadEntry;
  /** Files in flight (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: InstallProgress) => void;
  /** Re-hash files already in place on this pool instead of the calling thread. */
  pool?: HashPool;
  /**
   * fsync each file before renaming it into place (default true). Off trades durability after a
   * power cut (a renamed file may then be empty) for speed; an interrupted process is safe either way.
   */
  fsync?: boolean;
  /** Tried first for each file: a clone, hard link or copy out of a local content cache. */
  placer?: FilePlacer;
  /**
   * The destination's stat cache (src/cache; Package.install gives `.quiltkit/stat-cache/`): files
   * unchanged since it recorded them are skipped unread, and each file written or proven is recorded.
   * Off when absent.
   */
  statCache?: StatCacheOptions;
}

export interface InstallResult {
  /** Files written. */
  files: number;
  /** Bytes written. */
  bytes: number;
  /** Files already in place with the right size and hash. */
  skipped: number;
  /** Of those, the files read and hashed to prove it; the stat cache proved the others. */
  rehashed: number;
  /** What the stat cache did, when one was used. */
  statCache?: StatCacheStats;
  seconds: number;
}

export type InstallOptions = PlanInstallOptions & ExecuteInstallOptions;

/** Plans and executes an install, then removes the plan's temp files. */
export async function install(entries: EntrySource, dest: string, options: InstallOptions): Promise<InstallResult> {
  const plan = await planInstall(entries, dest, options);
  try {
    return await executeInstall(plan, options);
  } finally {
    await plan.dispose();
  }
}

/** The read-only pass: every check that can refuse the install, before anything is written. */
export async function planInstall(entries: EntrySource, dest: string, options: PlanInstallOptions = {}): Promise<InstallPlan> {
  const prefix = options.path;
  if (prefix !== undefined) {
    const problem = pathKeyProblem(prefix);
    if (problem !== undefined) throw badOption("path", `${JSON.stringify(prefix)} is not a valid logical key: ${problem}`);
  }
  const root = await realDest(dest);
  const guard = new DestGuard(root, { create: false });
  const spillDir = await SpillDir.create(options.tmpDir);
  let present = 0;
  let toWrite = 0;
  let seen = 0;
  let seenBytes = 0;
  try {
    const scan: Scan = await scanEntries(entries, spillDir, {
      prefix,
      tmpDir: options.tmpDir,
      signal: options.signal,
      sortMemoryBytes: options.sortMemoryBytes,
      onItem: async (item) => {
        const path = guard.pathOf(item.target, item.key);
        const { state } = await guard.folderOf(item.target, item.key);
        // Synchronous: nothing is written while planning, and an awaited lstat per file costs more CPU.
        const st = state === "dir" ? guard.finalStateSync(path, item.key) : undefined;
        if (st !== undefined && Number(st.size) === item.size) present++;
        else toWrite += item.size;
        seen++;
        seenBytes += item.size;
        if (options.onPlanProgress !== undefined && (seen & 1023) === 0) options.onPlanProgress({ entries: seen, bytes: seenBytes });
      },
    });
    options.onPlanProgress?.({ entries: scan.files, bytes: scan.bytes });
    if (prefix !== undefined && scan.files === 0) throw pathNotFound(prefix);
    const available = options.checkSpace === false ? undefined : await freeBytes(root);
    if (available !== undefined && toWrite > available) throw noSpace(root, toWrite, available);
    return {
      dest: root,
      path: prefix,
      totalFiles: scan.files,
      totalBytes: scan.bytes,
      presentFiles: present,
      bytesToWrite: toWrite,
      availableBytes: available,
      items: scan.items,
      dispose: () => spillDir.remove(),
    };
  } catch (error) {
    await spillDir.remove();
    throw error;
  }
}

/** The writing pass: streams the plan's files into place. */
export async function executeInstall(plan: InstallPlan, options: ExecuteInstallOptions): Promise<InstallResult> {
  const concurrency = options.concurrency ?? 8;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw badOption("concurrency", `must be a positive integer, got ${concurrency}`);
  const started = performance.now();
  throwIfAborted(options.signal, `installing into ${plan.dest}`);
  try {
    await mkdir(plan.dest, { recursive: true });
  } catch (error) {
    throw writeFailed(plan.dest, "create the folder", error);
  }
  const progress: InstallProgress = { files: 0, bytes: 0, skipped: 0, totalFiles: plan.totalFiles, totalBytes: plan.totalBytes };
  const result: InstallResult = { files: 0, bytes: 0, skipped: 0, rehashed: 0, seconds: 0 };
  const report = (): void => options.onProgress?.({ ...progress });
  let unreported = 0;
  // Opened once the folder exists (the cache keys are relative to its real path); ownWrites: the
  // files written here are recorded as they land (src/cache/file-stat.ts).
  const cache = options.statCache === undefined ? undefined : await StatCacheRun.open(plan.dest, { ...options.statCache, ownWrites: true });
  try {
    const { readEntry, signal, pool, fsync, placer } = options;
    await writeItems(plan.items(signal), plan.dest, {
      readEntry,
      signal,
      pool,
      fsync,
      placer,
      concurrency,
      skipPresent: true,
      statCache: cache,
      onSkipped: (item, read) => {
        progress.files++;
        progress.skipped++;
        progress.bytes += item.size;
        result.skipped++;
        if (read) result.rehashed++;
        report();
      },
      onBytes: (n) => {
        progress.bytes += n;
        result.bytes += n;
        unreported += n;
        if (unreported >= PROGRESS_BYTES) {
          unreported = 0;
          report();
        }
      },
      onWritten: () => {
        progress.files++;
        result.files++;
        report();
      },
    });
  } finally {
    // Also after a failure: what landed is recorded, so a rerun skips it unread.
    const stats = await cache?.commit();
    if (stats !== undefined) result.statCache = stats;
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/**
 * `dest` made absolute, with links resolved when it exists (a linked destination is the caller's
 * choice; links below it are not). An existing destination must be a folder.
 */
export async function realDest(dest: string): Promise<string> {
  const abs = resolve(dest);
  let real: string;
  try {
    real = await realpath(abs);
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return abs;
    throw writeFailed(abs, "resolve", error);
  }
  if (!(await stat(real)).isDirectory()) throw pathConflict(abs, undefined, "is not a folder");
  return real;
}

/** Free bytes for unprivileged writers on the filesystem of `path` or its nearest existing parent. */
export async function freeBytes(path: string): Promise<number | undefined> {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = await statfs(p);
      return s.bavail * s.bsize;
    } catch (error) {
      const code = errnoOf(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") return undefined;
      if (dirname(p) === p) return undefined;
    }
  }
}
