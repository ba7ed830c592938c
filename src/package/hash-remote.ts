/**
 * Hashes of entries whose data is on S3 (quilt3 `_calculate_missing_hashes` for remote keys): the
 * sha2-256-chunked value comes from the checksum S3 keeps when it decides it (one HEAD, sometimes
 * one more for the part sizes), else from one ranged read of the data.
 */
import { NotFoundError, StorageError } from "../errors/index.js";
import { ChunkedSha256, SHA2_256_CHUNKED } from "../hash/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { formatPhysicalKey, parsePhysicalKey, type Remotes, type S3PhysicalKey } from "../storage/index.js";
import type { S3Storage } from "../storage/s3/index.js";
import { readRanged } from "../transfer/ranged-read.js";
import type { PendingEntry } from "./ops.js";

/**
 * The entry with its hash, and its physical key pinned to the version that was hashed: a key
 * without `versionId` gets the one HEAD reports (none on an unversioned bucket). The object must
 * still have the entry's size.
 */
export async function hashRemoteEntry(entry: PendingEntry, remotes: Remotes, signal?: AbortSignal): Promise<ManifestEntry> {
  const pk = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false });
  if (pk.kind !== "s3") throw new Error(`hashRemoteEntry got a local key: ${entry.physicalKey}`);
  const storage = await remotes.s3(pk.bucket);
  const head = await storage.head(pk.path, pk.versionId);
  if (head === undefined) {
    throw new NotFoundError("SOURCE_NOT_FOUND", `${entry.physicalKey} (logical key ${entry.logicalKey}) does not exist any more.`, {
      hint: "Add the object again from where it is now, or remove the entry (quilt rm).",
    });
  }
  if (head.size !== entry.size) throw sizeChanged(entry, head.size);
  const versionId = pk.versionId ?? head.versionId;
  const pinned: S3PhysicalKey = versionId === undefined ? { ...pk } : { ...pk, versionId };
  const value = (await fromChecksum(storage, pinned, head)) ?? (await hashByReading(storage, entry, pinned, signal));
  return { ...entry, physicalKey: formatPhysicalKey(pinned), hash: { type: SHA2_256_CHUNKED, value } };
}

/** The chunked value S3's stored checksum gives, without a second request when it is a single part. */
async function fromChecksum(storage: S3Storage, pk: S3PhysicalKey, head: { size: number; checksumSha256?: string }): Promise<string | undefined> {
  // Loaded with the SDK, which a bucket's storage has loaded already.
  const { chunkedFromChecksum } = await import("../storage/s3/index.js");
  const derived = chunkedFromChecksum(head.checksumSha256, head.size);
  if (derived === undefined) return undefined;
  if (derived.check !== true) return derived.value;
  // A multipart checksum: the part sizes decide, which chunkedChecksumOf asks S3 for.
  return storage.chunkedChecksumOf(pk.path, pk.versionId);
}

/** Read the object once (ranged, retried) and hash it; its length must be the entry's size. */
export async function hashByReading(storage: S3Storage, entry: PendingEntry, pk: S3PhysicalKey, signal?: AbortSignal): Promise<string> {
  const hasher = new ChunkedSha256(entry.size);
  let read = 0;
  for await (const chunk of readRanged(storage, pk.path, entry.size, {
    ...(pk.versionId === undefined ? {} : { versionId: pk.versionId }),
    ...(signal === undefined ? {} : { signal }),
  })) {
    read += chunk.length;
    if (read > entry.size) break;
    hasher.update(chunk);
  }
  if (read !== entry.size) throw sizeChanged(entry, read);
  return hasher.digest();
}

function sizeChanged(entry: PendingEntry, size: number): StorageError {
  return new StorageError("SOURCE_CHANGED", `${entry.physicalKey} (logical key ${entry.logicalKey}) holds ${size} bytes, not the ${entry.size} its entry says.`, {
    hint: "The object changed since it was added: add it again (quilt add / quilt set) and rebuild.",
  });
}

/** At most `limit` calls of `fn` running at once; the rest wait their turn in call order. */
export function limited<A extends unknown[], R>(limit: number, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (...args: A): Promise<R> => {
    // A finishing call hands its slot straight to the next waiter, so `running` never overshoots.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await fn(...args);
    } finally {
      const next = waiting.shift();
      if (next === undefined) running -= 1;
      else next();
    }
  };
}
