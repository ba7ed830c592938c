/**
 * Hashing one file on the calling thread: one read pass computing every requested type.
 * Reads are double-buffered so the next read is in flight (libuv thread) while this thread
 * hashes the previous buffer. For many files or all cores use HashPool.
 */
import { open, type FileHandle } from "node:fs/promises";
import { fsError, interrupted, throwIfAborted } from "./errors.js";
import { hashBuffer, MultiHasher } from "./multi.js";
import { assertUnchanged, OPEN_FLAGS, READ_BUFFER_BYTES, shrank, snapshot, type Snapshot } from "./snapshot.js";
import { normalizeTypes, type FileHashes, type HashOptions } from "./types.js";

export interface HashFileOptions extends HashOptions {
  /** Bytes per read (default 1 MiB). */
  bufferSize?: number;
}

export async function hashFile(path: string, options: HashFileOptions = {}): Promise<FileHashes> {
  const types = normalizeTypes(options.types);
  throwIfAborted(options.signal);
  let fh: FileHandle;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw fsError(path, err);
  }
  try {
    const before = await stat(fh, path);
    const bufferSize = Math.max(1, options.bufferSize ?? READ_BUFFER_BYTES);
    const result =
      before.size <= bufferSize
        ? hashBuffer(await readWhole(fh, path, before.size, options.signal), types, options.withParts)
        : await hashStreaming(fh, path, new MultiHasher(types, before.size), bufferSize, options);
    assertUnchanged(path, before, await stat(fh, path));
    return result;
  } catch (err) {
    throw fsError(path, err);
  } finally {
    await fh.close();
  }
}

async function stat(fh: FileHandle, path: string): Promise<Snapshot> {
  return snapshot(path, await fh.stat());
}

/** A file that fits one buffer: read whole, hashed in one shot (most files). */
async function readWhole(fh: FileHandle, path: string, size: number, signal: AbortSignal | undefined): Promise<Buffer> {
  const buf = Buffer.allocUnsafeSlow(size); // own ArrayBuffer: aligned for the CRC word loop
  for (let got = 0; got < size; ) {
    const { bytesRead } = await fh.read(buf, got, size - got, got);
    if (bytesRead === 0) throw shrank(path, size, got);
    got += bytesRead;
    if (signal?.aborted) throw interrupted(signal.reason);
  }
  return buf;
}

/** Reads exactly `hasher.size` bytes into the hasher, keeping one read ahead of the hashing. */
async function hashStreaming(fh: FileHandle, path: string, hasher: MultiHasher, n: number, o: HashFileOptions): Promise<FileHashes> {
  const size = hasher.size;
  const bufs = [Buffer.allocUnsafeSlow(n), Buffer.allocUnsafeSlow(n)];
  let pos = 0;
  let turn = 0;
  let pending: Promise<{ bytesRead: number; buffer: Buffer }> | undefined = fh.read(bufs[0]!, 0, n, 0);
  while (pending) {
    const { bytesRead, buffer } = await pending;
    if (bytesRead === 0) throw shrank(path, size, pos);
    pos += bytesRead;
    // Checked only when no read is in flight, so the handle can be closed right away.
    if (o.signal?.aborted) throw interrupted(o.signal.reason);
    turn ^= 1;
    pending = pos < size ? fh.read(bufs[turn]!, 0, Math.min(n, size - pos), pos) : undefined;
    hasher.update(buffer.subarray(0, bytesRead));
  }
  return hasher.result(o.withParts);
}
