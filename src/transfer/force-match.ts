/**
 * Making a folder match a package with the least work: fetch only the files that are missing or
 * differ (same verified temp-file path as install), delete files the package does not have
 * (never under `exclude`), and remove the folders those deletions leave empty.
 *
 * `planForceMatch` is read-only: it validates the entries like `planInstall`, compares the folder
 * (merge-join, hashing same-size files on the HashPool), checks links and free space, and spills
 * the list of changes to its temp folder. `executeForceMatch` applies that list: removals first
 * (so a file can give way to a folder and back), then writes with bounded concurrency.
 */
import { mkdir, rmdir, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { ConflictError } from "../errors/index.js";
import { pyRepr } from "../manifest/index.js";
import { joinDir, type CompareProgress, type JoinOptions } from "./compare-dir.js";
import { DestGuard } from "./dest-guard.js";
import { badOption, errnoOf, noSpace, throwIfAborted, writeFailed } from "./errors.js";
import { freeBytes, realDest, writeItems } from "./install.js";
import { entryOf, scanEntries, type Item } from "./scan.js";
import { readSpill, SpillDir, SpillWriter } from "./spill.js";
import type { EntrySource, ReadEntry } from "./types.js";

export type ForceMatchKind = "add" | "replace" | "remove";

/** One change: `add`/`replace` carry the source; `remove` names a file of the folder. */
export interface ForceMatchChange {
  kind: ForceMatchKind;
  /** The logical key, or for `remove` the file's path relative to the folder. */
  key: string;
  physicalKey?: string;
  size?: number;
}

export interface PlanForceMatchOptions extends Omit<JoinOptions, "onProgress"> {
  /** Progress of the comparison. */
  onPlanProgress?: (progress: CompareProgress) => void;
  /** Check free space for the bytes to fetch (default true). */
  checkSpace?: boolean;
}

export interface ForceMatchPlan {
  /** Absolute folder. */
  readonly dir: string;
  readonly add: number;
  readonly replace: number;
  readonly remove: number;
  readonly unchanged: number;
  /** Bytes of the files to add or replace. */
  readonly bytesToFetch: number;
  readonly availableBytes: number | undefined;
  /** The changes: removals and additions in tree-walk order, replacements as hashing found them. */
  changes(signal?: AbortSignal): AsyncIterable<ForceMatchChange>;
  /** @internal The spilled changes, with their sources. */
  readonly records: (signal?: AbortSignal) => AsyncIterable<ForceMatchRecord>;
  /** Removes the plan's temp folder; the plan cannot be executed afterwards. */
  dispose(): Promise<void>;
}

export interface ForceMatchProgress {
  /** Files done: added, replaced or removed. */
  files: number;
  /** Bytes written. */
  bytes: number;
  totalFiles: number;
  totalBytes: number;
}

export interface ExecuteForceMatchOptions {
  readEntry: ReadEntry;
  /** Files written in parallel (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ForceMatchProgress) => void;
  /** Each change once applied (writes in completion order). */
  onChange?: (change: ForceMatchChange) => void;
  /** fsync each written file before its rename (default true). */
  fsync?: boolean;
}

export interface ForceMatchResult {
  added: number;
  replaced: number;
  removed: number;
  /** Folders removed because deletions left them empty. */
  foldersRemoved: number;
  unchanged: number;
  /** Bytes written. */
  bytes: number;
  seconds: number;
  dryRun: boolean;
  /** The changes (planned on a dry run, applied otherwise), unless `collect: false`. */
  changes: ForceMatchChange[];
}

/** A change as spilled: removals name a path, writes carry the whole source. */
export type ForceMatchRecord =
  | ["remove", string]
  | [kind: "add" | "replace", key: string, physicalKey: string, size: number, type: Item["type"], value: string];

function publicChange(r: ForceMatchRecord): ForceMatchChange {
  return r[0] === "remove" ? { kind: "remove", key: r[1] } : { kind: r[0], key: r[1], physicalKey: r[2], size: r[3] };
}

type ChangeItem = Item & { readonly kind: "add" | "replace" };

function itemOfChange(r: ForceMatchRecord): ChangeItem | undefined {
  if (r[0] === "remove") return undefined;
  return { kind: r[0], key: r[1], target: r[1], physicalKey: r[2], size: r[3], type: r[4], value: r[5] };
}

/**
 * The read-only pass: validates the entries (as `planInstall`), compares the folder, checks links
 * and free space, and lists the changes. Entries must come in tree-walk order (the merge-join).
 */
export async function planForceMatch(entries: EntrySource, dir: string, options: PlanForceMatchOptions = {}): Promise<ForceMatchPlan> {
  const root = await realDest(dir);
  const exclude = options.exclude ?? [];
  for (const x of exclude) if (x === "" || x.startsWith("/")) throw badOption("exclude", `entries must be relative paths, got ${JSON.stringify(x)}`);
  const spillDir = await SpillDir.create(options.tmpDir);
  try {
    const scan = await scanEntries(entries, spillDir, {
      tmpDir: options.tmpDir,
      signal: options.signal,
      sortMemoryBytes: options.sortMemoryBytes,
      onItem: (item) => {
        const x = exclude.find((p) => item.key === p || (item.key.startsWith(p) && item.key.charCodeAt(p.length) === 0x2f));
        if (x !== undefined) {
          throw new ConflictError("FORCE_MATCH_EXCLUDED_KEY", `Logical key ${pyRepr(item.key)} lies under the excluded path ${pyRepr(x)}.`, {
            hint: "The package would write into a folder that force-match leaves alone; install it elsewhere.",
          });
        }
      },
    });
    const writer = await SpillWriter.create<ForceMatchRecord>(join(spillDir.path, "changes.jsonl"));
    const counts = { add: 0, replace: 0, remove: 0, unchanged: 0, bytes: 0 };
    const guard = new DestGuard(root, { create: false, fileInTheWay: "missing" });
    // The guard caches a folder chain: one check at a time.
    let checking = Promise.resolve();
    const check = (key: string): Promise<void> =>
      (checking = checking.then(async () => {
        const { state } = await guard.folderOf(key, key);
        if (state === "dir") await guard.finalState(guard.pathOf(key, key), key, true);
      }));
    const fetch = async (kind: "add" | "replace", entry: { logicalKey: string; physicalKey: string; size: number; hash: { type: string; value: string } }): Promise<void> => {
      await check(entry.logicalKey);
      counts[kind]++;
      counts.bytes += entry.size;
      await writer.write([kind, entry.logicalKey, entry.physicalKey, entry.size, entry.hash.type as Item["type"], entry.hash.value]);
    };
    try {
      await joinDir(mapItems(scan.items(options.signal)), root, { ...options, onProgress: options.onPlanProgress, missingDirOk: true }, {
        onlyInPackage: (entry) => fetch("add", entry),
        onlyInDir: async (rel) => {
          counts.remove++;
          await writer.write(["remove", rel]);
        },
        changed: (entry) => fetch("replace", entry),
        same: () => {
          counts.unchanged++;
        },
      });
      await writer.close();
    } catch (error) {
      await writer.abandon();
      throw error;
    }
    const available = options.checkSpace === false ? undefined : await freeBytes(root);
    if (available !== undefined && counts.bytes > available) throw noSpace(root, counts.bytes, available);
    return {
      dir: root,
      add: counts.add,
      replace: counts.replace,
      remove: counts.remove,
      unchanged: counts.unchanged,
      bytesToFetch: counts.bytes,
      availableBytes: available,
      changes: (signal?: AbortSignal) => mapChanges(readSpill<ForceMatchRecord>(writer.path, signal)),
      records: (signal?: AbortSignal) => readSpill<ForceMatchRecord>(writer.path, signal),
      dispose: () => spillDir.remove(),
    };
  } catch (error) {
    await spillDir.remove();
    throw error;
  }
}

async function* mapItems(items: AsyncIterable<Item>): AsyncGenerator<ReturnType<typeof entryOf>> {
  for await (const item of items) yield entryOf(item);
}

async function* mapChanges(records: AsyncIterable<ForceMatchRecord>): AsyncGenerator<ForceMatchChange> {
  for await (const r of records) yield publicChange(r);
}

/** Applies a plan: removals (and the folders they empty), then verified writes. */
export async function executeForceMatch(plan: ForceMatchPlan, options: ExecuteForceMatchOptions): Promise<ForceMatchResult> {
  const concurrency = options.concurrency ?? 8;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw badOption("concurrency", `must be a positive integer, got ${concurrency}`);
  const started = performance.now();
  const root = plan.dir;
  const result: ForceMatchResult = {
    added: 0,
    replaced: 0,
    removed: 0,
    foldersRemoved: 0,
    unchanged: plan.unchanged,
    bytes: 0,
    seconds: 0,
    dryRun: false,
    changes: [],
  };
  const progress: ForceMatchProgress = { files: 0, bytes: 0, totalFiles: plan.add + plan.replace + plan.remove, totalBytes: plan.bytesToFetch };
  const report = (): void => options.onProgress?.({ ...progress });
  try {
    await mkdir(root, { recursive: true });
  } catch (error) {
    throw writeFailed(root, "create the folder", error);
  }
  if (plan.remove > 0) {
    const guard = new DestGuard(root, { create: false });
    for await (const r of plan.records(options.signal)) {
      if (r[0] !== "remove") continue;
      throwIfAborted(options.signal, `removing files from ${root}`);
      const rel = r[1];
      const path = guard.pathOf(rel, rel);
      const { state } = await guard.folderOf(rel, rel);
      if (state === "dir" && (await removeFile(path))) {
        result.removed++;
        const folders = await removeEmptyParents(path, root);
        if (folders > 0) guard.reset();
        result.foldersRemoved += folders;
      }
      progress.files++;
      report();
      options.onChange?.({ kind: "remove", key: rel });
    }
  }
  const writes = async function* (): AsyncGenerator<ChangeItem> {
    for await (const r of plan.records(options.signal)) {
      const item = itemOfChange(r);
      if (item !== undefined) yield item;
    }
  };
  await writeItems(writes(), root, {
    readEntry: options.readEntry,
    concurrency,
    signal: options.signal,
    skipPresent: false,
    fsync: options.fsync,
    onBytes: (n) => {
      progress.bytes += n;
      result.bytes += n;
    },
    onWritten: (item) => {
      const kind = item.kind;
      if (kind === "add") result.added++;
      else result.replaced++;
      progress.files++;
      report();
      options.onChange?.({ kind, key: item.key, physicalKey: item.physicalKey, size: item.size });
    },
  });
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** Unlinks a file (or a link: never its target); false when it was already gone. */
async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return false;
    throw writeFailed(path, "remove", error);
  }
}

/** Removes the folders above `path` that are now empty, up to (not including) `root`. */
async function removeEmptyParents(path: string, root: string): Promise<number> {
  let removed = 0;
  for (let dir = dirname(path); dir !== root && dir.startsWith(root); dir = dirname(dir)) {
    try {
      await rmdir(dir);
      removed++;
    } catch {
      break; // not empty (ENOTEMPTY/EEXIST), or not ours to remove
    }
  }
  return removed;
}

export interface ForceMatchOptions extends PlanForceMatchOptions, Omit<ExecuteForceMatchOptions, "signal"> {
  /** Plan only: return the changes without touching the folder. */
  dryRun?: boolean;
  /** Keep the changes in the result (default true); off, only `onChange` sees them. */
  collect?: boolean;
}

/** Plans, then applies unless `dryRun`; the plan's temp files are removed either way. */
export async function forceMatch(entries: EntrySource, dir: string, options: ForceMatchOptions): Promise<ForceMatchResult> {
  const started = performance.now();
  const plan = await planForceMatch(entries, dir, options);
  try {
    const collect = options.collect !== false;
    if (options.dryRun === true) {
      const result: ForceMatchResult = {
        added: plan.add,
        replaced: plan.replace,
        removed: plan.remove,
        foldersRemoved: 0,
        unchanged: plan.unchanged,
        bytes: 0,
        seconds: 0,
        dryRun: true,
        changes: [],
      };
      for await (const change of plan.changes(options.signal)) {
        if (collect) result.changes.push(change);
        options.onChange?.(change);
      }
      result.seconds = (performance.now() - started) / 1000;
      return result;
    }
    const changes: ForceMatchChange[] = [];
    const result = await executeForceMatch(plan, {
      ...options,
      onChange: (change) => {
        if (collect) changes.push(change);
        options.onChange?.(change);
      },
    });
    result.changes = changes;
    result.seconds = (performance.now() - started) / 1000;
    return result;
  } finally {
    await plan.dispose();
  }
}
