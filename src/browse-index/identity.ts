/** Whether an index describes the manifest object as stored now (docs/design.md §4.2). */
import type { ObjectInfo } from "../storage/index.js";
import { indexStale } from "./errors.js";
import type { IndexHeader, ManifestIdentity } from "./format.js";

/** What `Storage.stat` says of a manifest, as an index records it. */
export type StoredIdentity = Pick<ManifestIdentity, "bytes" | "etag" | "versionId" | "mtimeMs">;

export function storedIdentityOf(info: ObjectInfo): StoredIdentity {
  return {
    bytes: info.size,
    ...(info.etag === undefined ? {} : { etag: info.etag }),
    ...(info.versionId === undefined ? {} : { versionId: info.versionId }),
    ...(info.lastModified === undefined ? {} : { mtimeMs: info.lastModified.getTime() }),
  };
}

/**
 * Throws `INDEX_STALE` unless the index was built for this top hash and for this very object:
 * same size, and the same ETag, version id and modification time, each compared when either side
 * has it (a re-push rewrites the manifest, and its physical keys may differ).
 */
export function checkIdentity(header: IndexHeader, topHash: string, stored: StoredIdentity): void {
  const m = header.manifest;
  if (m.topHash !== topHash) throw indexStale(`it describes manifest ${m.topHash}, not ${topHash}`);
  if (m.bytes !== stored.bytes) throw indexStale(`it describes a manifest of ${m.bytes} bytes, and the stored one has ${stored.bytes}`);
  if (m.etag !== stored.etag) throw indexStale(`the manifest's ETag is ${String(stored.etag)}, not ${String(m.etag)}`);
  if (m.versionId !== stored.versionId) throw indexStale(`the manifest's version is ${String(stored.versionId)}, not ${String(m.versionId)}`);
  if (m.mtimeMs !== stored.mtimeMs) throw indexStale("the manifest was rewritten after the index was made");
}
