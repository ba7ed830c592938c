/**
 * Differences between two packages, as quilt3's `Package.diff` (spec §8.1): an entry is modified
 * when its size, hash dict or `_meta` differ (Python `==`, so `1 == 1.0`); physical keys do not
 * count. A merge-join of two entry streams in tree-walk order: memory does not grow with the
 * package, only with the differences the caller asks to keep.
 */
import type { PyObject } from "../json/index.js";
import { pyEquals } from "../json/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import { orderedEntries } from "./compare-dir.js";
import { throwIfAborted } from "./errors.js";
import type { DifferenceKind } from "./types.js";

export type ChangedField = "size" | "hash" | "meta";

export interface DiffOptions {
  /** Keep the keys in the result's arrays (default true); off, only the callback sees them. */
  collect?: boolean;
  /** Each difference in tree-walk order; `fields` says what changed for `modified`. */
  onDifference?: (kind: DifferenceKind, key: string, fields?: readonly ChangedField[]) => void;
  signal?: AbortSignal;
}

export interface DiffResult {
  /** Keys in `b` and not in `a`. */
  added: string[];
  /** Keys in both whose size, hash or metadata differ. */
  modified: string[];
  /** Keys in `a` and not in `b`. */
  deleted: string[];
  unchanged: number;
}

type DiffEntry = Pick<ManifestEntry, "logicalKey" | "size" | "hash" | "meta">;

/** Compares package `a` (old) with package `b` (new); both streams in tree-walk order. */
export async function diffEntries(
  a: AsyncIterable<DiffEntry> | Iterable<DiffEntry>,
  b: AsyncIterable<DiffEntry> | Iterable<DiffEntry>,
  options: DiffOptions = {},
): Promise<DiffResult> {
  const collect = options.collect !== false;
  const result: DiffResult = { added: [], modified: [], deleted: [], unchanged: 0 };
  const note = (kind: DifferenceKind, key: string, fields?: ChangedField[]): void => {
    if (collect) result[kind].push(key);
    options.onDifference?.(kind, key, fields);
  };
  const ia = orderedEntries(a, "entries of the first package")[Symbol.asyncIterator]();
  const ib = orderedEntries(b, "entries of the second package")[Symbol.asyncIterator]();
  try {
    let x = await ia.next();
    let y = await ib.next();
    for (let steps = 0; x.done !== true || y.done !== true; steps++) {
      if ((steps & 1023) === 0) throwIfAborted(options.signal, "comparing packages");
      const order = x.done === true ? 1 : y.done === true ? -1 : compareLogicalKeys(x.value.logicalKey, y.value.logicalKey);
      if (order < 0 && x.done !== true) {
        note("deleted", x.value.logicalKey);
        x = await ia.next();
      } else if (order > 0 && y.done !== true) {
        note("added", y.value.logicalKey);
        y = await ib.next();
      } else if (x.done !== true && y.done !== true) {
        const fields = changedFields(x.value, y.value);
        if (fields.length > 0) note("modified", x.value.logicalKey, fields);
        else result.unchanged++;
        x = await ia.next();
        y = await ib.next();
      }
    }
  } finally {
    await ia.return(undefined);
    await ib.return(undefined);
  }
  return result;
}

/** What differs between two entries of the same key, as quilt3's `PackageEntry.__eq__` sees it. */
export function changedFields(a: DiffEntry, b: DiffEntry): ChangedField[] {
  const out: ChangedField[] = [];
  if (a.size !== b.size) out.push("size");
  if (!pyEquals(hashDict(a.hash), hashDict(b.hash))) out.push("hash");
  if (!pyEquals(a.meta, b.meta)) out.push("meta");
  return out;
}

/** The hash as the dict quilt3 compares: the stored dict when it had extra keys, else `{type, value}`. */
function hashDict(hash: ManifestEntry["hash"]): PyObject {
  return (
    hash.raw ??
    new Map([
      ["type", hash.type],
      ["value", hash.value],
    ])
  );
}
