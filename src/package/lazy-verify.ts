/**
 * The full pass: stream the manifest once, check it against its top hash, and build its browse
 * index from the same bytes on the way. The index goes to the local cache (`indexCacheDir`), where
 * it records that this very object (size, ETag, version, mtime) was checked; without a cache it
 * lives in the package's temp folder for this session only.
 */
import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  BrowseIndex,
  IndexBuilder,
  cachedIndexPath,
  fileByteReader,
  storedIdentityOf,
  type StoredIdentity,
} from "../browse-index/index.js";
import { IntegrityError, NotFoundError } from "../errors/index.js";
import type { PyObject } from "../json/index.js";
import {
  TopHasher,
  readCanonical,
  readManifestRecords,
  verifyManifest,
  type IndexFeed,
  type ManifestEntry,
  type ManifestSource,
  type VerifiedManifest,
} from "../manifest/index.js";
import type { ObjectInfo } from "../storage/index.js";
import { LazyManifest, type ManifestLocation } from "./lazy-manifest.js";

export interface FullPassOptions {
  /** The package's private temp folder (a sorted copy of an out-of-order manifest goes there). */
  readonly workDir: string;
  /** Where browse indexes built here are kept (`$QUILT_HOME/cache/index` for the CLI). */
  readonly indexCacheDir?: string;
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
  readonly onWarning?: (message: string) => void;
  /** How the whole manifest is streamed (e.g. resumed when the connection drops); default one plain read. */
  readonly readWhole?: WholeReader;
  /** The manifest's `stat`, when the caller has just made it. */
  readonly info?: ObjectInfo;
  /**
   * A browse index of this very object (checked against `info`) from the local cache, built by a
   * pass that checked the top hash: kept as it is, so the pass only checks the top hash again.
   */
  readonly checkedIndex?: LazyManifest;
  /**
   * With `checkedIndex`, for a whole read that wants every entry next: a manifest of at most
   * `HOLD_MAX_BYTES` is read once, its entries parsed, hashed and held until the top hash is checked,
   * then given back in `held` (no second parse to hand them out).
   */
  readonly hold?: boolean;
}

/** The largest manifest whose entries are held in memory (~4 times its size in heap) by `hold`. */
export const HOLD_MAX_BYTES = 16 * 1024 * 1024;

/** Streams the whole manifest object, at `versionId` when given. */
export type WholeReader = (versionId: string | undefined, signal: AbortSignal | undefined) => AsyncIterable<Uint8Array>;

export interface FullPass {
  readonly verified: VerifiedManifest;
  readonly header: PyObject;
  /** Ranged reads from now on, when the manifest could be indexed. */
  readonly lazy?: LazyManifest;
  /** Every entry, in manifest order, read by a `hold` pass (already checked against the top hash). */
  readonly held?: readonly ManifestEntry[];
}

/** Stat the manifest, then the pass; `topHash` must name it (else `TOP_HASH_MISMATCH`). */
export async function fullPass(at: Omit<ManifestLocation, "versionId">, topHash: string, options: FullPassOptions): Promise<FullPass> {
  const info = options.info ?? (await at.storage.stat(at.key));
  if (info === undefined) throw new NotFoundError("MANIFEST_NOT_FOUND", `The manifest ${at.key} is not in ${at.storage.url}.`);
  // Pinned to the version stat saw (S3): every later read is of the bytes checked now.
  const pinned: ManifestLocation = { ...at, ...(info.versionId === undefined ? {} : { versionId: info.versionId }) };
  const raw: ManifestSource = options.readWhole
    ? () => (options.readWhole as WholeReader)(pinned.versionId, options.signal)
    : () => at.storage.read(at.key, { ...versionOf(pinned), ...signalOf(options) });
  if (options.checkedIndex !== undefined) {
    const held = options.hold === true && info.size <= HOLD_MAX_BYTES ? await holdChecked(raw, topHash, options.checkedIndex, options) : undefined;
    return held ?? recheck(raw, topHash, options.checkedIndex, options);
  }
  // Fed by the top-hash pass's workers, which parse every line anyway; the tap only hashes the bytes.
  const builder = new IndexBuilder({ tmpDir: options.tmpDir ?? options.workDir, fed: true });
  try {
    let reads = 0;
    // Only the first read feeds the builder: a second one means the manifest was out of order.
    const source: ManifestSource = () => (++reads === 1 ? tap(raw(), builder) : raw());
    const { verified, header } = await check(source, raw, topHash, options, builder);
    const lazy = reads === 1 ? await keepIndex(builder, pinned, topHash, info, options) : undefined;
    return { verified, header, ...(lazy === undefined ? {} : { lazy }) };
  } finally {
    await builder.dispose();
  }
}

/** The pass over a manifest whose checked index is kept: the top hash alone, no index built. */
async function recheck(raw: ManifestSource, topHash: string, index: LazyManifest, options: FullPassOptions): Promise<FullPass> {
  const { verified, header } = await check(raw, raw, topHash, options);
  // An indexed manifest was in order; a sorted copy would mean the object is not the one indexed.
  return verified.copyPath === undefined ? { verified, header, lazy: index } : { verified, header };
}

/**
 * One read that parses the entries and hashes them on the way, handing out nothing before the
 * digest matches. `undefined` when it does not, or when the read fails: `recheck` then reads the
 * manifest the usual way, for the usual outcome (its exact error, or a sorted copy).
 */
async function holdChecked(raw: ManifestSource, topHash: string, index: LazyManifest, options: FullPassOptions): Promise<FullPass | undefined> {
  const held: ManifestEntry[] = [];
  let bytes = 0;
  let header: PyObject;
  let digest: string;
  try {
    const manifest = await readCanonical(raw, signalOf(options));
    header = manifest.header;
    const hasher = new TopHasher(header);
    for await (const entry of manifest.entries) {
      hasher.add(entry);
      bytes += entry.size;
      held.push(entry);
    }
    digest = hasher.digest();
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    return undefined;
  }
  if (digest !== topHash) return undefined;
  return { verified: { topHash, source: raw, entries: held.length, bytes, header }, header, lazy: index, held };
}

/** Check `source` against `topHash`; later reads go to `raw` (or to the sorted copy, if one was made). */
async function check(source: ManifestSource, raw: ManifestSource, topHash: string, options: FullPassOptions, indexFeed?: IndexFeed): Promise<Omit<FullPass, "lazy">> {
  const checked = await verifyManifest(source, topHash, join(options.workDir, "manifest.jsonl"), {
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    ...signalOf(options),
    ...(indexFeed === undefined ? {} : { indexFeed }),
  });
  const verified = checked.copyPath === undefined ? { ...checked, source: raw } : checked;
  // The pass read the header already, except on the sorted-copy path: then read it again.
  const header = checked.header ?? (await readHeader(verified.source));
  return { verified, header };
}

/** Write the built index (cache or temp) and open it; a failure here only costs laziness. */
async function keepIndex(builder: IndexBuilder, at: ManifestLocation, topHash: string, info: ObjectInfo, options: FullPassOptions): Promise<LazyManifest | undefined> {
  if (builder.failure !== undefined) return undefined;
  const stored: StoredIdentity = storedIdentityOf(info);
  const path = options.indexCacheDir === undefined ? join(options.workDir, "index.qkbi") : cachedIndexPath(options.indexCacheDir, topHash);
  try {
    await mkdir(dirname(path), { recursive: true });
    const header = await builder.finish({ ...stored, topHash, topHashChecked: true }, path, options.signal);
    if (header === undefined) return undefined;
    if (header.manifest.bytes !== info.size) {
      // The object changed between the stat and the read: this index describes neither.
      await rm(path, { force: true });
      return undefined;
    }
    const read = await fileByteReader(path);
    return read === undefined ? undefined : new LazyManifest(await BrowseIndex.open(read), at);
  } catch (error) {
    options.onWarning?.(`Could not keep a browse index of ${topHash} in ${path}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

async function* tap(chunks: AsyncIterable<Uint8Array>, builder: IndexBuilder): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    builder.write(chunk);
    yield chunk;
  }
}

async function readHeader(source: ManifestSource): Promise<PyObject> {
  for await (const record of readManifestRecords(source())) {
    if (record.kind === "header") return record.header;
  }
  throw new IntegrityError("MANIFEST_EMPTY", "The manifest has no header line.");
}

function versionOf(at: ManifestLocation): { versionId?: string } {
  return at.versionId === undefined ? {} : { versionId: at.versionId };
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}
