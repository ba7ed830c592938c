/**
 * Finding a browse index that still describes the stored manifest: first the local cache (built
 * here after a top-hash check, so trusted as checked), then the registry's sidecar (written by
 * whoever pushed; trusted only as far as the registry is). Each is checked against the manifest's
 * current size, ETag, version and mtime before use; a stale, foreign or damaged one is skipped.
 */
import {
  BrowseIndex,
  cachedIndexPath,
  checkIdentity,
  fileByteReader,
  isIndexProblem,
  storageByteReader,
  storedIdentityOf,
  type ByteReader,
} from "../browse-index/index.js";
import type { PyObject } from "../json/index.js";
import type { ObjectInfo } from "../storage/index.js";
import type { Registry } from "../registry/registry.js";
import { LazyManifest, type ManifestLocation } from "./lazy-manifest.js";

export interface Indexed {
  readonly lazy: LazyManifest;
  readonly header: PyObject;
  /** From the local cache, whose index was built in a pass that checked the top hash. */
  readonly verified: boolean;
}

export interface FindIndexOptions {
  readonly indexCacheDir?: string;
  readonly signal?: AbortSignal;
  /** Told why an index was passed over (stale, damaged); nothing is printed. */
  readonly onWarning?: (message: string) => void;
}

export async function findIndex(registry: Registry, topHash: string, info: ObjectInfo, options: FindIndexOptions): Promise<Indexed | undefined> {
  const at: ManifestLocation = {
    storage: registry.storage,
    key: registry.manifestKey(topHash),
    ...(info.versionId === undefined ? {} : { versionId: info.versionId }),
  };
  if (options.indexCacheDir !== undefined) {
    const found = await tryIndex(() => fileByteReader(cachedIndexPath(options.indexCacheDir as string, topHash)), at, topHash, info, options);
    if (found !== undefined) return { ...found, verified: found.lazy.index.header.topHashChecked };
  }
  const sidecar = await tryIndex(() => storageByteReader(registry.storage, registry.browseIndexKey(topHash), options.signal), at, topHash, info, options);
  return sidecar === undefined ? undefined : { ...sidecar, verified: false };
}

async function tryIndex(
  reader: () => Promise<ByteReader | undefined>,
  at: ManifestLocation,
  topHash: string,
  info: ObjectInfo,
  options: FindIndexOptions,
): Promise<Omit<Indexed, "verified"> | undefined> {
  try {
    const read = await reader();
    if (read === undefined) return undefined;
    const index = await BrowseIndex.open(read);
    checkIdentity(index.header, topHash, storedIdentityOf(info));
    const lazy = new LazyManifest(index, at);
    return { lazy, header: await lazy.header(options.signal) };
  } catch (error) {
    if (!isIndexProblem(error)) throw error;
    options.onWarning?.(`${error.message} (${at.key} in ${at.storage.url})`);
    return undefined;
  }
}
