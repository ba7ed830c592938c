import { stat } from "node:fs/promises";
import { NotFoundError, UsageError } from "../errors/index.js";
import { SHA2_256_CHUNKED } from "../hash/index.js";
import type { EntryHash } from "../manifest/index.js";
import type { Remotes } from "../storage/index.js";
import { fileKeyFromPath, formatPhysicalKey, parsePhysicalKey, type PhysicalKey, type S3PhysicalKey } from "../storage/physical-key.js";

/** quilt3 `fix_url`: a URL is taken as is, anything else is a local path made absolute (realpath). */
export function toPhysicalKey(source: string): PhysicalKey {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(source)) return parsePhysicalKey(source);
  return fileKeyFromPath(source);
}

/** A local file's physical key URL and size, or a clear error when it is not a file. */
export async function localFile(path: string): Promise<{ physicalKey: string; size: number }> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new NotFoundError("FILE_NOT_FOUND", `${path} does not exist.`, { hint: "Check the path of the file to add.", cause: error });
  }
  if (!info.isFile()) {
    throw new UsageError("NOT_A_FILE", `${path} is not a file.`, { hint: "To add a folder, use setDir or add with a folder path." });
  }
  return { physicalKey: formatPhysicalKey({ kind: "file", path }), size: info.size };
}

/** An S3 object as an entry's data: its physical key (pinned to the version HEAD saw), size and, when S3's checksum decides it, hash. */
export interface S3Source {
  readonly physicalKey: string;
  readonly size: number;
  readonly hash?: EntryHash;
}

/**
 * One object, by HEAD: `undefined` when there is none. A key without `versionId` is pinned to the
 * version HEAD reports (the data the hash will describe); the hash is taken from S3's checksum
 * when that needs no further request (single-part objects), else left to the build.
 */
export async function s3Object(remotes: Remotes, pk: S3PhysicalKey, signal?: AbortSignal): Promise<S3Source | undefined> {
  const storage = await remotes.s3(pk.bucket);
  const head = await storage.head(pk.path, pk.versionId);
  if (head === undefined) return undefined;
  const versionId = pk.versionId ?? head.versionId;
  const physicalKey = formatPhysicalKey(versionId === undefined ? { ...pk } : { ...pk, versionId });
  const { chunkedFromChecksum } = await import("../storage/s3/index.js");
  const derived = chunkedFromChecksum(head.checksumSha256, head.size);
  signal?.throwIfAborted();
  if (derived === undefined || derived.check === true) return { physicalKey, size: head.size };
  return { physicalKey, size: head.size, hash: { type: SHA2_256_CHUNKED, value: derived.value } };
}

/**
 * Every object under an S3 prefix, streamed from the listing (1,000 keys a request), with its key
 * relative to the prefix. Listings carry no version ids and no checksums: the build pins each
 * object's version and takes its hash (S3's checksum, else one read). "Folder" marker objects
 * (keys ending in `/`) are skipped, as quilt3's listing skips them.
 */
export async function* s3Prefix(remotes: Remotes, bucket: string, prefix: string, signal?: AbortSignal): AsyncGenerator<{ relativePath: string } & S3Source> {
  const storage = await remotes.s3(bucket);
  for await (const item of storage.list(prefix)) {
    signal?.throwIfAborted();
    if (item.kind !== "object" || item.key.endsWith("/")) continue;
    yield { relativePath: item.key.slice(prefix.length), physicalKey: formatPhysicalKey({ kind: "s3", bucket, path: item.key }), size: item.size };
  }
}

/** A `Remotes`, or the error that says an S3 source needs one. */
export function needRemotes(remotes: Remotes | undefined, source: string): Remotes {
  if (remotes !== undefined) return remotes;
  throw new UsageError("REMOTE_SOURCE_NEEDS_REMOTES", `Cannot read ${source}: this builder was given no S3 access.`, {
    hint: "Create the builder with a `remotes` option (new PackageBuilder({remotes})), or use setEntry with the size and hash.",
  });
}
