import type { ManifestEntry } from "../manifest/index.js";

/**
 * What transfers need of a manifest entry; a `ManifestEntry` is one. Plans spill entries to disk
 * in this shape (no metadata), so `readEntry` receives exactly these fields.
 */
export type EntryRef = Pick<ManifestEntry, "logicalKey" | "physicalKey" | "size"> & {
  readonly hash: { readonly type: string; readonly value: string };
};

/**
 * Entries: iterated once (a plan then spills them to its temp folder), or a function that opens
 * them again on every call (e.g. re-reading a manifest file), which spares the spill. Such a
 * function must yield the same entries each time.
 */
export type EntrySource<E extends EntryRef = EntryRef> =
  | AsyncIterable<E>
  | Iterable<E>
  | (() => AsyncIterable<E> | Iterable<E>);

/** Opens an entry's bytes (a local file, S3 later). It must stop when `signal` aborts. */
export type ReadEntry = (entry: EntryRef, signal: AbortSignal) => AsyncIterable<Uint8Array>;

export type DifferenceKind = "added" | "modified" | "deleted";
