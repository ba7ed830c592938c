import { createReadStream } from "node:fs";
import type { ManifestEntry } from "../manifest/index.js";
import { parsePhysicalKey, type Remotes } from "../storage/index.js";
import { readRanged } from "../transfer/ranged-read.js";

/**
 * The bytes a physical key names, unverified (callers check them against the entry's hash): a
 * local file streamed, or an S3 object at its pinned version, in retried ranged pieces.
 */
export async function* readPhysical(
  remotes: Remotes,
  entry: Pick<ManifestEntry, "physicalKey" | "size">,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<Uint8Array> {
  const pk = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false });
  if (pk.kind === "file") {
    yield* createReadStream(pk.path, options.signal === undefined ? {} : { signal: options.signal }) as AsyncIterable<Buffer>;
    return;
  }
  const storage = await remotes.s3(pk.bucket);
  yield* readRanged(storage, pk.path, entry.size, {
    ...(pk.versionId === undefined ? {} : { versionId: pk.versionId }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}
