/**
 * Push one entry's data into an S3 registry as quilt3 does (spec §5 "What is copied"): local files
 * are uploaded to `<prefix><logical key>` (quilt3: prefix `<name>/`), objects of other buckets are copied server-side there,
 * and objects already in the registry's bucket are referenced where they are. Every entry comes
 * out with a `sha2-256-chunked` hash taken from S3's own checksum (the upload computes it while it
 * reads the file, once), and a physical key pinned to the version written.
 */
import { IntegrityError } from "../errors/index.js";
import { hashFile, SHA2_256_CHUNKED } from "../hash/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { formatPhysicalKey, parsePhysicalKey, type S3PhysicalKey } from "../storage/index.js";
import type { S3Storage } from "../storage/s3/index.js";
import { forEachBounded } from "../transfer/bounded.js";
import { hashByReading } from "./hash-remote.js";
import type { PendingEntry } from "./ops.js";
import type { PushedEntry } from "./push-local.js";

export interface S3PushContext {
  /** The registry's bucket. */
  readonly storage: S3Storage;
  /** Where data goes in the bucket: `<prefix><logical key>` (`<name>/` by default, as quilt3). */
  readonly prefix: string;
  readonly signal?: AbortSignal;
  /** Bytes sent (or copied) so far, for a progress bar. */
  readonly onBytes?: (bytes: number) => void;
}

export async function pushEntryToS3(entry: PendingEntry, context: S3PushContext): Promise<PushedEntry> {
  const pk = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false });
  if (pk.kind === "s3" && pk.bucket === context.storage.bucket) {
    // quilt3 7+: data already in the registry's bucket stays where it is.
    return { entry: await withKnownHash(entry, pk, context), outcome: "referenced", source: entry.physicalKey };
  }
  const key = `${context.prefix}${entry.logicalKey}`;
  const existing = await existingCopy(entry, key, context);
  if (existing !== undefined) return { entry: existing, outcome: "exists", source: entry.physicalKey };
  const options = {
    size: entry.size,
    ...(context.signal === undefined ? {} : { signal: context.signal }),
    ...(context.onBytes === undefined ? {} : { onBytes: context.onBytes }),
  };
  const result =
    pk.kind === "file"
      ? await context.storage.uploadFile(key, pk.path, options)
      : await context.storage.copyFrom({ bucket: pk.bucket, key: pk.path, ...(pk.versionId === undefined ? {} : { versionId: pk.versionId }) }, key, options);
  if (entry.hash?.type === SHA2_256_CHUNKED && entry.hash.value !== result.chunked) throw changedSince(entry, result.chunked);
  const physicalKey = formatPhysicalKey(pinned(context.storage.bucket, key, result.versionId));
  return { entry: { ...entry, physicalKey, hash: { type: SHA2_256_CHUNKED, value: result.chunked } }, outcome: "copied", source: entry.physicalKey };
}

/**
 * The object already at the destination, when it holds this entry's data ("data exists,
 * skipping"): same size and the same chunked checksum, read from S3 without downloading.
 */
async function existingCopy(entry: PendingEntry, key: string, context: S3PushContext): Promise<ManifestEntry | undefined> {
  const head = await context.storage.head(key);
  if (head === undefined || head.size !== entry.size) return undefined;
  const remote = await context.storage.chunkedChecksumOf(key, head.versionId);
  if (remote === undefined) return undefined;
  const local = await knownOrLocalHash(entry, context.signal);
  if (local !== remote) return undefined;
  const physicalKey = formatPhysicalKey(pinned(context.storage.bucket, key, head.versionId));
  return { ...entry, physicalKey, hash: { type: SHA2_256_CHUNKED, value: remote } };
}

/** The entry's chunked hash: the one it has, or the local file's (one read); undefined for other cases. */
async function knownOrLocalHash(entry: PendingEntry, signal: AbortSignal | undefined): Promise<string | undefined> {
  if (entry.hash?.type === SHA2_256_CHUNKED) return entry.hash.value;
  const pk = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false });
  if (pk.kind !== "file") return undefined;
  const hashes = await hashFile(pk.path, { types: [SHA2_256_CHUNKED], ...(signal === undefined ? {} : { signal }) });
  return hashes.hashes[SHA2_256_CHUNKED];
}

/**
 * A referenced object keeps its hash; without one, S3's stored checksum gives it when the object
 * was uploaded in quilt3's parts, else the data is read once (quilt3 `_calculate_missing_hashes`).
 */
async function withKnownHash(entry: PendingEntry, pk: S3PhysicalKey, context: S3PushContext): Promise<ManifestEntry> {
  if (entry.hash !== undefined) return entry as ManifestEntry;
  const value = (await context.storage.chunkedChecksumOf(pk.path, pk.versionId)) ?? (await hashByReading(context.storage, entry, pk, context.signal));
  return { ...entry, hash: { type: SHA2_256_CHUNKED, value } };
}

function pinned(bucket: string, path: string, versionId: string | undefined): S3PhysicalKey {
  return versionId === undefined ? { kind: "s3", bucket, path } : { kind: "s3", bucket, path, versionId };
}

function changedSince(entry: PendingEntry, uploaded: string): IntegrityError {
  return new IntegrityError(
    "SOURCE_CHANGED",
    `${entry.physicalKey} (logical key ${entry.logicalKey}) changed since it was hashed: it was ${entry.hash?.value}, the uploaded copy is ${uploaded}.`,
    { hint: "Rebuild the package so its hashes match the data, then push again; the uploaded copy is an unreferenced version." },
  );
}

export interface PushAllOptions {
  /** Entries in flight at once. Default 16. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Files done and bytes sent so far. */
  readonly onProgress?: (progress: { files: number; bytes: number }) => void;
  /** Each entry once its data is in place (called one at a time). */
  readonly onPushed: (pushed: PushedEntry, before: PendingEntry) => Promise<void>;
}

/** Push every entry's data with bounded concurrency; the first failure stops the rest (multipart uploads aborted). */
export async function pushAllToS3(entries: AsyncIterable<PendingEntry>, storage: S3Storage, prefix: string, options: PushAllOptions): Promise<void> {
  const progress = { files: 0, bytes: 0 };
  let queue = Promise.resolve();
  await forEachBounded(entries, options.concurrency ?? 16, options.signal, `pushing data to ${storage.url}/${prefix}`, (entry, signal) =>
    Promise.resolve(async () => {
      const pushed = await pushEntryToS3(entry, {
        storage,
        prefix,
        signal,
        onBytes: (bytes) => {
          progress.bytes += bytes;
          options.onProgress?.({ ...progress });
        },
      });
      progress.files += 1;
      options.onProgress?.({ ...progress });
      // Results are recorded one at a time, in completion order.
      queue = queue.then(() => options.onPushed(pushed, entry));
      await queue;
    }),
  );
}
