/**
 * The planning pass shared by install and force-match: read the entries once, refuse any unsafe
 * key, bad size or unknown hash type, map keys to target paths (sub-tree installs), check that
 * no two targets collide on a portable filesystem, and keep the entries for the writing pass:
 * in memory while they fit half the sort's memory (no second read at all), else in a spill file
 * or the caller's re-openable source.
 */
import type { HashType } from "../hash/index.js";
import { fileFolderConflict, interrupted, throwIfAborted } from "./errors.js";
import { assertPathKey, checkCollisions, checkedEntry, installTarget } from "./keys.js";
import { readSpill, SpillWriter, type SpillDir } from "./spill.js";
import type { EntryRef, EntrySource } from "./types.js";
import { join } from "node:path";
import { IntegrityError } from "../errors/index.js";

/** One file to place: its logical key, its path relative to the destination, and its source. */
export interface Item {
  readonly key: string;
  readonly target: string;
  readonly physicalKey: string;
  readonly size: number;
  readonly type: HashType;
  readonly value: string;
}

type ItemRecord = [key: string, target: string, physicalKey: string, size: number, type: HashType, value: string];

function toRecord(i: Item): ItemRecord {
  return [i.key, i.target, i.physicalKey, i.size, i.type, i.value];
}

function fromRecord(r: ItemRecord): Item {
  return { key: r[0], target: r[1], physicalKey: r[2], size: r[3], type: r[4], value: r[5] };
}

export function entryOf(item: Item): EntryRef {
  return { logicalKey: item.key, physicalKey: item.physicalKey, size: item.size, hash: { type: item.type, value: item.value } };
}

export interface ScanOptions {
  /** Logical sub-tree to keep (already validated). */
  prefix?: string;
  tmpDir?: string;
  signal?: AbortSignal;
  sortMemoryBytes?: number;
  /** Sees every kept item, in input order, before the pass ends. */
  onItem?: (item: Item) => Promise<void> | void;
}

export interface Scan {
  files: number;
  bytes: number;
  /** Reads the kept items again, in input order. */
  readonly items: (signal?: AbortSignal) => AsyncIterable<Item>;
}

export function iterate<E>(source: EntrySource<E & EntryRef>): AsyncIterable<E & EntryRef> | Iterable<E & EntryRef> {
  return typeof source === "function" ? source() : source;
}

/** The collision sort's default memory (keys.ts); the items kept in memory may use half as much again. */
const DEFAULT_SORT_MEMORY = 64 * 1024 * 1024;

/** Rough heap bytes of an item kept in memory: its strings (UTF-16) and the object. */
function heldBytes(item: Item): number {
  return 2 * (item.key.length + item.target.length + item.physicalKey.length + item.value.length) + 160;
}

/**
 * Runs the pass. Items are kept in memory while they fit; past that, a one-shot source's items
 * are spilled into `spillDir` and a re-openable source is read again.
 */
export async function scanEntries(source: EntrySource, spillDir: SpillDir, options: ScanOptions): Promise<Scan> {
  const reopen = typeof source === "function";
  const budget = (options.sortMemoryBytes ?? DEFAULT_SORT_MEMORY) / 2;
  let held: Item[] | undefined = [];
  let heldSize = 0;
  let spill: SpillWriter<ItemRecord> | undefined;
  /** Keeps the item in memory, or (past the budget) moves what is held to the spill. */
  const keep = async (item: Item): Promise<void> => {
    if (held === undefined) {
      await spill?.write(toRecord(item));
      return;
    }
    held.push(item);
    heldSize += heldBytes(item);
    if (heldSize <= budget) return;
    const moving = held;
    held = undefined;
    if (reopen) return;
    spill = await SpillWriter.create<ItemRecord>(join(spillDir.path, "entries.jsonl"));
    for (const h of moving) await spill.write(toRecord(h));
  };
  const prefix = options.prefix;
  let files = 0;
  let bytes = 0;
  let single: string | undefined;
  let inTree: string | undefined;
  const pairs = async function* (): AsyncGenerator<{ key: string; target: string }> {
    for await (const entry of iterate(source)) {
      throwIfAborted(options.signal, "planning");
      const item = itemOf(entry, prefix);
      if (item === undefined) continue;
      if (item.key === prefix) single = item.key;
      else if (prefix !== undefined) inTree ??= item.key;
      if (single !== undefined && inTree !== undefined) throw fileFolderConflict(single, inTree);
      files++;
      bytes += item.size;
      await keep(item);
      await options.onItem?.(item);
      yield { key: item.key, target: item.target };
    }
  };
  try {
    await checkCollisions(pairs(), { tmpDir: options.tmpDir, signal: options.signal, maxBytesInMemory: options.sortMemoryBytes });
    await spill?.close();
  } catch (error) {
    await spill?.abandon();
    throw error;
  }
  const kept = held;
  const spilled = spill;
  const items =
    kept !== undefined
      ? (signal?: AbortSignal) => fromMemory(kept, signal)
      : spilled !== undefined
        ? (signal?: AbortSignal) => mapSpill(spilled.path, signal)
        : (signal?: AbortSignal) => reread(source, prefix, files, signal);
  return { files, bytes, items };
}

/** Checks one entry (every entry, kept or not) and maps it to an item, or `undefined` outside the sub-tree. */
function itemOf(entry: EntryRef, prefix: string | undefined): Item | undefined {
  assertPathKey(entry.logicalKey);
  const type = checkedEntry(entry);
  const target = installTarget(entry.logicalKey, prefix);
  if (target === undefined) return undefined;
  return { key: entry.logicalKey, target, physicalKey: entry.physicalKey, size: entry.size, type, value: entry.hash.value };
}

function fromMemory(items: readonly Item[], signal: AbortSignal | undefined): AsyncIterable<Item> {
  return {
    [Symbol.asyncIterator]: () => {
      let i = 0;
      return {
        next: (): Promise<IteratorResult<Item>> => {
          if (i >= items.length) return Promise.resolve({ done: true, value: undefined });
          if (signal?.aborted === true) return Promise.reject(interrupted("reading entries", signal.reason));
          return Promise.resolve({ done: false, value: items[i++]! });
        },
      };
    },
  };
}

async function* mapSpill(path: string, signal: AbortSignal | undefined): AsyncGenerator<Item> {
  for await (const r of readSpill<ItemRecord>(path, signal)) yield fromRecord(r);
}

/** The re-opened source, checked again entry by entry; a source that grew is refused. */
async function* reread(source: EntrySource, prefix: string | undefined, planned: number, signal: AbortSignal | undefined): AsyncGenerator<Item> {
  let n = 0;
  for await (const entry of iterate(source)) {
    throwIfAborted(signal, "reading entries");
    const item = itemOf(entry, prefix);
    if (item === undefined) continue;
    if (++n > planned) {
      throw new IntegrityError("TRANSFER_SOURCE_CHANGED", `The entries changed since planning: ${n} files now, ${planned} planned.`, {
        hint: "A re-openable entry source must yield the same entries each time; plan again.",
      });
    }
    yield item;
  }
}
