/** Where indexes are kept, and how their bytes are read. */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { NotFoundError } from "../errors/index.js";
import type { Storage } from "../storage/index.js";
import { FIRST_READ, type ByteReader } from "./pages.js";

/** `<dir>/v1/<top hash>.qkbi` (the CLI's dir: `$QUILT_HOME/cache/index`): indexes built here after a top-hash check. */
export function cachedIndexPath(dir: string, topHash: string): string {
  return join(dir, "v1", `${topHash}.qkbi`);
}

/** Positioned reads of a local file; `undefined` when there is no such file. */
export async function fileByteReader(path: string): Promise<ByteReader | undefined> {
  try {
    await (await open(path, "r")).close();
  } catch {
    return undefined;
  }
  return async (start, end) => {
    const handle = await open(path, "r");
    try {
      const buf = Buffer.alloc(end - start);
      const { bytesRead } = await handle.read(buf, 0, buf.length, start);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  };
}

/** Ranged reads of an object; `undefined` when there is no such object (found on the first read). */
export async function storageByteReader(storage: Storage, key: string, signal?: AbortSignal): Promise<ByteReader | undefined> {
  const read: ByteReader = (start, end) => storage.readAll(key, { range: { start, end }, ...(signal === undefined ? {} : { signal }) });
  let first: Buffer;
  try {
    first = await read(0, FIRST_READ);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  // The opener's first read is this one: hand it back instead of reading it twice.
  return (start, end) => (start === 0 && end === FIRST_READ ? Promise.resolve(first) : read(start, end));
}
