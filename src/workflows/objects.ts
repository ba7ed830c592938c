/**
 * Reading the config and schemas with the version that was read, as quilt3's
 * `get_bytes_and_effective_pk` does: it stores `s3://…?versionId=<the version read>` in the header.
 * S3 gives the version of a GET in its answer; our `Storage` does not, so the version is asked
 * first (HEAD) and then exactly that version is read: never the bytes of one version with the id
 * of another.
 */
import { readFile } from "node:fs/promises";
import { NotFoundError } from "../errors/index.js";
import { loadConfig } from "../config/index.js";
import { remotesOf } from "../package/registries.js";
import type { Registry } from "../registry/registry.js";
import { DEFAULT_REGION, isS3Storage, type Remotes, type S3PhysicalKey, type Storage } from "../storage/index.js";

export interface VersionedBytes {
  readonly bytes: Buffer;
  /** The S3 version read; absent for local files and unversioned buckets. */
  readonly versionId?: string;
}

/** The object's bytes and version, or `undefined` if there is none (`versionId`: that version, which must exist). */
export async function readVersioned(storage: Storage, key: string, versionId?: string): Promise<VersionedBytes | undefined> {
  try {
    if (versionId !== undefined) return { bytes: await storage.readAll(key, { versionId }), versionId };
    const info = isS3Storage(storage) ? await storage.stat(key) : undefined;
    if (isS3Storage(storage) && info === undefined) return undefined;
    const version = info?.versionId;
    const bytes = await storage.readAll(key, version === undefined ? {} : { versionId: version });
    return version === undefined ? { bytes } : { bytes, versionId: version };
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** Where an S3 schema is read from: the registry's own bucket, else a bucket of `remotes`. */
export async function bucketStorage(pk: S3PhysicalKey, registry: Registry, remotes: Remotes | undefined): Promise<Storage> {
  const own = registry.storage;
  if (isS3Storage(own) && own.bucket === pk.bucket) return own;
  if (isS3Storage(own) && remotes === undefined) {
    // Share the registry's client (endpoint, credentials, sockets) rather than reading the environment.
    const { S3Storage } = await import("../storage/s3/index.js");
    // The region is the shared client's; this one is not used when a client is given.
    return new S3Storage({ bucket: pk.bucket, client: own.client, region: DEFAULT_REGION });
  }
  return (remotes ?? remotesOf(loadConfig())).s3(pk.bucket);
}

/** A local file's bytes, or `undefined` when it cannot be read (quilt3 treats every `OSError` alike). */
export async function readLocalFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}
