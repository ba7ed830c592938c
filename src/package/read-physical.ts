import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
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
    if (entry.size <= SMALL_FILE) yield await readSmall(pk.path, entry.size);
    else yield* createReadStream(pk.path, options.signal === undefined ? {} : { signal: options.signal }) as AsyncIterable<Buffer>;
    return;
  }
  const storage = await remotes.s3(pk.bucket);
  yield* readRanged(storage, pk.path, entry.size, {
    ...(pk.versionId === undefined ? {} : { versionId: pk.versionId }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
}

/** Below this, a file is read in one call: a read stream costs more than the bytes (installs of many small files). */
const SMALL_FILE = 1 << 20;

/**
 * A small file whole: open, one read, close. One byte more than the entry's size is asked for, so a
 * file that grew is still caught by the caller's size check.
 */
async function readSmall(path: string, size: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, got, buffer.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buffer.length) break;
    }
    return buffer.subarray(0, got);
  } finally {
    await handle.close();
  }
}
