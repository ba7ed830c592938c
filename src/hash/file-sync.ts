/**
 * Synchronous file hashing for the worker threads. A worker does nothing else, so blocking
 * reads are the cheapest option: no promise per read, which matters for thousands of small
 * files. Cancellation is a shared flag polled between reads.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { ChunkedSha256 } from "./chunked.js";
import { fsError, interrupted } from "./errors.js";
import { hashBuffer, MultiHasher } from "./multi.js";
import { assertUnchanged, OPEN_FLAGS, shrank, snapshot, type Snapshot } from "./snapshot.js";
import type { FileHashes, HashType } from "./types.js";

export interface SyncContext {
  /** Reused read buffer (allocUnsafeSlow: aligned for the CRC word loop). */
  buffer: Buffer;
  /** Non-zero at index 0 once the job was cancelled. */
  abort: Int32Array;
  /** Called with each read's byte count (progress reporting). */
  onBytes(n: number): void;
}

export type SyncFileResult = FileHashes | { split: Snapshot };

/**
 * Hashes `path`; if it is at least `splitAt` bytes, returns its snapshot instead so the caller
 * can spread its parts over several workers.
 */
export function hashFileSync(
  path: string,
  types: readonly HashType[],
  withParts: boolean,
  splitAt: number | null,
  ctx: SyncContext,
): SyncFileResult {
  return withFd(path, (fd) => {
    const before = snapshot(path, fstatSync(fd));
    if (splitAt !== null && before.size >= splitAt) return { split: before };
    let result: FileHashes;
    if (before.size <= ctx.buffer.length) {
      result = hashBuffer(readWhole(fd, path, before.size, ctx), types, withParts);
    } else {
      const hasher = new MultiHasher(types, before.size);
      readRange(fd, path, 0, before.size, hasher, ctx);
      result = hasher.result(withParts);
    }
    assertUnchanged(path, before, snapshot(path, fstatSync(fd)));
    return result;
  });
}

/**
 * Part digests (32 bytes each, concatenated) of bytes [start, end) of a file whose snapshot
 * was taken when it was split; `start` is a multiple of `chunk`.
 */
export function hashRangeSync(
  path: string,
  range: { start: number; end: number; chunk: number; expect: Snapshot },
  ctx: SyncContext,
): Buffer {
  return withFd(path, (fd) => {
    assertUnchanged(path, range.expect, snapshot(path, fstatSync(fd)));
    const hasher = new ChunkedSha256(range.end - range.start, range.chunk);
    readRange(fd, path, range.start, range.end, hasher, ctx);
    assertUnchanged(path, range.expect, snapshot(path, fstatSync(fd)));
    hasher.digest();
    return Buffer.concat(hasher.partDigests);
  });
}

/** A file that fits the buffer, read whole so it can be hashed in one shot (most files). */
function readWhole(fd: number, path: string, size: number, ctx: SyncContext): Buffer {
  for (let got = 0; got < size; ) {
    if (Atomics.load(ctx.abort, 0) !== 0) throw interrupted();
    const n = readSync(fd, ctx.buffer, got, size - got, got);
    if (n === 0) throw shrank(path, size, got);
    ctx.onBytes(n);
    got += n;
  }
  return ctx.buffer.subarray(0, size);
}

function withFd<R>(path: string, body: (fd: number) => R): R {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw fsError(path, err);
  }
  try {
    return body(fd);
  } catch (err) {
    throw fsError(path, err);
  } finally {
    closeSync(fd);
  }
}

function readRange(
  fd: number,
  path: string,
  start: number,
  end: number,
  hasher: { update(b: Uint8Array): unknown },
  ctx: SyncContext,
): void {
  const { buffer, abort } = ctx;
  for (let pos = start; pos < end; ) {
    if (Atomics.load(abort, 0) !== 0) throw interrupted();
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - pos), pos);
    if (n === 0) throw shrank(path, end - start, pos - start);
    hasher.update(buffer.subarray(0, n));
    ctx.onBytes(n);
    pos += n;
  }
}
