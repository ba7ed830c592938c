import { serialize, deserialize } from "node:v8";
import { IntegrityError } from "../errors/index.js";
import type { PyObject, PyValue } from "../json/index.js";
import { compareLogicalKeys, externalSort } from "../sort/index.js";
import { successorProblem } from "./encode.js";
import { readManifestRecords, pyTruthy, type ReadOptions } from "./reader.js";
import type { DirMeta, ManifestEntry, ManifestRecord, ManifestSource } from "./types.js";

/** A manifest as quilt3 holds it after `Package.load`: what its re-dump and top hash are made of. */
export interface CanonicalManifest {
  readonly header: PyObject;
  /** Directory metadata that quilt3 would write back: truthy only, in tree-walk order. */
  readonly dirs: readonly DirMeta[];
  /** Entries in tree-walk order, each logical key once. Single use. */
  readonly entries: AsyncIterable<ManifestEntry>;
}

export interface CanonicalOptions extends ReadOptions {
  /** Where an out-of-order manifest is sorted; defaults to the OS temp folder. */
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
}

/** Thrown inside the fast path when the file is not laid out as quilt3 writes it. */
class NeedsSlowPath extends Error {}

/**
 * Give `consume` the manifest in canonical form. Manifests written by quilt3 (and by us) are
 * already in tree-walk order with directory metadata first, so one streaming pass suffices. Any
 * other layout is found mid-stream: then `consume` is called again, on a second read of the
 * source whose entries go through an external sort. So `consume` must be restartable: it may be
 * abandoned part-way (its side effects are its own to undo, e.g. by writing to a temp file).
 */
export async function withCanonicalManifest<T>(
  source: ManifestSource,
  consume: (manifest: CanonicalManifest) => Promise<T>,
  options: CanonicalOptions = {},
): Promise<T> {
  try {
    return await consume(await fastPath(source, options));
  } catch (error) {
    if (!(error instanceof NeedsSlowPath)) throw error;
  }
  return consume(await slowPath(source, options));
}

async function fastPath(source: ManifestSource, options: CanonicalOptions): Promise<CanonicalManifest> {
  const records = readManifestRecords(source(), options)[Symbol.asyncIterator]();
  const header = await nextHeader(records);
  const dirs = new Map<string, PyValue>();
  let next = await records.next();
  while (!next.done && next.value.kind === "dir") {
    dirs.set(dirPath(next.value.dir), next.value.dir.meta);
    next = await records.next();
  }
  const first = next.done ? undefined : next.value;
  async function* entries(): AsyncGenerator<ManifestEntry> {
    try {
      if (first === undefined) return;
      let previous: string | undefined;
      let record: ManifestRecord | undefined = first;
      while (record !== undefined) {
        if (record.kind !== "entry") throw new NeedsSlowPath();
        const key = record.entry.logicalKey;
        if (successorProblem(previous, key) === "unsorted") throw new NeedsSlowPath();
        options.signal?.throwIfAborted();
        yield record.entry;
        previous = key;
        const step = await records.next();
        record = step.done ? undefined : step.value;
      }
    } finally {
      // Stopped early (an error, a duplicate, a consumer that found what it wanted): close the source.
      await records.return?.(undefined);
    }
  }
  return { header, dirs: canonicalDirs(dirs), entries: entries() };
}

async function slowPath(source: ManifestSource, options: CanonicalOptions): Promise<CanonicalManifest> {
  const records = readManifestRecords(source(), options)[Symbol.asyncIterator]();
  const header = await nextHeader(records);
  const dirs = new Map<string, PyValue>();
  // Directory lines may come anywhere; they are few, so they are gathered in memory while the
  // entries stream into the external sort.
  async function* entryStream(): AsyncGenerator<ManifestEntry> {
    for (let step = await records.next(); !step.done; step = await records.next()) {
      const record = step.value;
      if (record.kind === "dir") dirs.set(dirPath(record.dir), record.dir.meta);
      else if (record.kind === "entry") yield record.entry;
    }
  }
  const sorted = externalSort(entryStream(), {
    compare: (a: ManifestEntry, b: ManifestEntry) => compareLogicalKeys(a.logicalKey, b.logicalKey),
    serialize: (entry: ManifestEntry) => serialize(entry),
    deserialize: (bytes: Buffer) => deserialize(bytes) as ManifestEntry,
    // Spilled 256 at a time: one V8 (de)serialization a group instead of one an entry.
    serializeGroup: (entries: readonly ManifestEntry[]) => serialize(entries),
    deserializeGroup: (bytes: Buffer) => deserialize(bytes) as ManifestEntry[],
    // A cheap estimate: the default sizes each record by serializing it a second time.
    sizeOf: (entry: ManifestEntry) => 2 * (entry.logicalKey.length + entry.physicalKey.length + entry.hash.value.length) + 64 * (entry.meta.size + 4),
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  })[Symbol.asyncIterator]();
  // The sort has consumed every record once its first output is ready, so `dirs` is complete.
  const firstSorted = await sorted.next();
  async function* entries(): AsyncGenerator<ManifestEntry> {
    try {
      let previous: string | undefined;
      for (let step = firstSorted; !step.done; step = await sorted.next()) {
        successorProblem(previous, step.value.logicalKey);
        previous = step.value.logicalKey;
        yield step.value;
      }
    } finally {
      await sorted.return?.(undefined);
    }
  }
  return { header, dirs: canonicalDirs(dirs), entries: entries() };
}

async function nextHeader(records: AsyncIterator<ManifestRecord>): Promise<PyObject> {
  const first = await records.next();
  if (first.done || first.value.kind !== "header") {
    throw new IntegrityError("MANIFEST_EMPTY", "The manifest has no header line.");
  }
  return first.value.header;
}

function dirPath(dir: DirMeta): string {
  return dir.logicalKey.endsWith("/") ? dir.logicalKey.slice(0, -1) : dir.logicalKey;
}

/** quilt3's `_walk_dir_meta`: a pre-order walk, names sorted per level, truthy metadata only. */
function canonicalDirs(dirs: Map<string, PyValue>): DirMeta[] {
  return [...dirs]
    .filter(([, meta]) => pyTruthy(meta))
    .sort(([a], [b]) => compareLogicalKeys(a, b))
    .map(([path, meta]) => ({ logicalKey: `${path}/`, meta }));
}

/**
 * The manifest read in one pass, for a source already known to be laid out as quilt3 writes it
 * (see `verifyManifest`): any disorder now is an error, not a reason to sort.
 */
export async function readCanonical(source: ManifestSource, options: CanonicalOptions = {}): Promise<CanonicalManifest> {
  const manifest = await fastPath(source, options);
  async function* entries(): AsyncGenerator<ManifestEntry> {
    try {
      yield* manifest.entries;
    } catch (error) {
      if (!(error instanceof NeedsSlowPath)) throw error;
      throw new IntegrityError("MANIFEST_NOT_CANONICAL", "The manifest is not in tree-walk order, or changed while being read.", {
        hint: "Read it through verifyManifest first, which sorts such a manifest into a canonical copy.",
      });
    }
  }
  return { ...manifest, entries: entries() };
}
