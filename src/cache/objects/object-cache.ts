/**
 * A content-addressed cache of package files on this machine, shared by every package and registry:
 * an object is fetched once, checked against its hash, and then served from here.
 *
 * Trust rules (an object is never served unchecked):
 * - every serve checks that the file is a regular file of the entry's size;
 * - bytes read into memory (getBytes) or copied out are hashed as they pass, at no extra read;
 * - a file served without reading it (a hard link or a clone) is hashed in full the first time this
 *   process serves it, and again when its inode, size or mtime changed since (memo.ts);
 * - a file that fails any check is deleted and fetched again.
 * Objects are read-only (0444); the atime of each is its last use, stamped by us (files.ts).
 */
import { chmod, readFile } from "node:fs/promises";
import { hashFile, hashTypeOf, verifyBytes, type EntryHash } from "../../hash/index.js";
import { QuiltError } from "../../errors/index.js";
import { hashMismatch } from "../../transfer/errors.js";
import type { EntryRef, ReadEntry } from "../../transfer/types.js";
import { cacheReadFailed, errnoOf, isCacheWriteFailure, notCacheable } from "./errors.js";
import { removeFile, statOf, touch } from "./files.js";
import { objectKeyOf, objectPath } from "./layout.js";
import { isVerified, markVerified } from "./memo.js";
import { clearObjects, listObjects, pruneObjects, sizeOfObjects, type CachedObject, type CacheTotals, type PruneOptions, type PruneResult } from "./maintenance.js";
import { writeObject } from "./write.js";

export interface ObjectCacheOptions {
  /** fsync each object before it is published (default true), so a power cut never leaves a torn one. */
  readonly fsync?: boolean;
  /** The clock, in ms since the epoch (tests). */
  readonly now?: () => number;
}

export interface FetchOptions {
  readonly signal?: AbortSignal;
  /** Bytes as they arrive from the source (not called for an object already cached). */
  readonly onBytes?: (n: number) => void;
}

/** An intact object found in the cache. */
export interface CacheHit {
  readonly path: string;
  /** True when this call fetched it from the source. */
  readonly fetched: boolean;
}

export class ObjectCache {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly fsync: boolean;
  private readonly now: () => number;

  /** `dir` is the cache's own folder (the CLI's is `$QUILT_HOME/cache/objects`); objects go under `dir/v1/`. */
  constructor(
    readonly dir: string,
    options: ObjectCacheOptions = {},
  ) {
    this.fsync = options.fsync ?? true;
    this.now = options.now ?? Date.now;
  }

  /** Whether entries with this hash can be cached (sha2-256-chunked and SHA256; never CRC64NVME). */
  accepts(hash: EntryHash): boolean {
    return objectKeyOf(hash) !== undefined;
  }

  /** Where the object of this hash is (or would be) kept; undefined when the hash type is not cached. */
  pathOf(hash: EntryHash): string | undefined {
    const key = objectKeyOf(hash);
    return key === undefined ? undefined : objectPath(this.dir, key);
  }

  /**
   * The path of an intact copy of the entry's bytes, hashed in full unless this process already did
   * (see the trust rules), or undefined when absent. A corrupt copy is deleted on the way.
   */
  async lookup(entry: Pick<EntryRef, "hash" | "size">, signal?: AbortSignal): Promise<string | undefined> {
    const path = this.pathOf(entry.hash);
    if (path === undefined) return undefined;
    const st = await statOf(path);
    if (st === undefined) return undefined;
    if (!st.isFile() || st.size !== BigInt(entry.size)) return void (await removeFile(path));
    if (!isVerified(path, st)) {
      const intact = await this.hashMatches(path, entry, signal);
      if (intact === undefined) return undefined; // pruned meanwhile
      if (!intact) return void (await removeFile(path));
      markVerified(path, st);
    }
    // Objects are read-only; one made writable (by hand) is sealed again before anything links to it.
    if ((st.mode & 0o222n) !== 0n) await chmod(path, 0o444).catch(() => undefined);
    await touch(path, st, this.now());
    return path;
  }

  /**
   * The path of an intact copy, fetched from `read` (the entry's source) first when the cache has
   * none. Calls for one object in this process share one fetch. Throws the source's errors
   * (HASH_MISMATCH when it sent other bytes) and CACHE_WRITE_FAILED when the cache cannot be written.
   */
  async fetch(entry: EntryRef, read: ReadEntry, options: FetchOptions = {}): Promise<CacheHit> {
    const path = this.pathOf(entry.hash);
    if (path === undefined) throw notCacheable(entry);
    const found = await this.lookup(entry, options.signal);
    if (found !== undefined) return { path: found, fetched: false };
    await this.once(path, () => this.fill(path, entry, read, options).then(() => undefined));
    return { path, fetched: true };
  }

  /**
   * The entry's bytes, checked against its hash: from the cache when it holds them intact, else
   * from `read`, kept for next time. A cache that cannot be written is skipped, not an error.
   */
  async getBytes(entry: EntryRef, read: ReadEntry, options: FetchOptions = {}): Promise<Buffer> {
    const path = this.pathOf(entry.hash);
    if (path === undefined) return readVerified(entry, read, options);
    const cached = await this.readCached(path, entry);
    if (cached !== undefined) return cached;
    const running = this.inflight.get(path);
    if (running !== undefined) {
      await running.catch(() => undefined);
      return (await this.readCached(path, entry)) ?? this.getBytes(entry, read, options);
    }
    let bytes: Buffer | undefined;
    try {
      await this.once(path, async () => void (bytes = await this.fill(path, entry, read, options, true)));
    } catch (error) {
      if (!isCacheWriteFailure(error)) throw error;
      return readVerified(entry, read, options);
    }
    return bytes ?? readVerified(entry, read, options);
  }

  /** Records a use of the object (prune removes the least recently used first). */
  async touch(hash: EntryHash): Promise<void> {
    const path = this.pathOf(hash);
    const st = path === undefined ? undefined : await statOf(path);
    if (path !== undefined && st !== undefined) await touch(path, st, this.now());
  }

  /** Removes the object of this hash; false when the cache did not hold it. */
  async remove(hash: EntryHash): Promise<boolean> {
    const path = this.pathOf(hash);
    return path === undefined ? false : removeFile(path);
  }

  /** Every object, streamed: hash, size, last use, hard-link count; shards in order, then names. */
  list(options: { signal?: AbortSignal } = {}): AsyncGenerator<CachedObject> {
    return listObjects(this.dir, options.signal);
  }

  /** Objects and their bytes (apparent sizes: a hard-linked or cloned object may share its blocks). */
  size(options: { signal?: AbortSignal } = {}): Promise<CacheTotals> {
    return sizeOfObjects(this.dir, options.signal);
  }

  /** Removes every object (and temp files left by crashed writers); returns what was removed. */
  clear(options: { signal?: AbortSignal } = {}): Promise<CacheTotals> {
    return clearObjects(this.dir, this.now(), options.signal);
  }

  /** Removes the least recently used objects until the cache holds at most `maxBytes`. */
  prune(maxBytes: number, options: PruneOptions = {}): Promise<PruneResult> {
    return pruneObjects(this.dir, maxBytes, this.now(), options);
  }

  /** Whether the file has the entry's hash; undefined when it vanished while being read. */
  private async hashMatches(path: string, entry: Pick<EntryRef, "hash" | "size">, signal: AbortSignal | undefined): Promise<boolean | undefined> {
    const type = hashTypeOf(entry.hash.type);
    try {
      const r = await hashFile(path, { types: [type], ...(signal === undefined ? {} : { signal }) });
      return r.size === entry.size && r.hashes[type] === entry.hash.value;
    } catch (error) {
      if (error instanceof QuiltError && error.kind === "interrupted") throw error;
      if ((await statOf(path)) === undefined) return undefined;
      throw cacheReadFailed(path, error);
    }
  }

  /** The bytes of the cached copy, hashed in memory; undefined (and deleted) when missing or corrupt. */
  private async readCached(path: string, entry: EntryRef): Promise<Buffer | undefined> {
    const st = await statOf(path);
    if (st === undefined) return undefined;
    if (!st.isFile() || st.size !== BigInt(entry.size)) return void (await removeFile(path));
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return undefined; // pruned meanwhile
      throw cacheReadFailed(path, error);
    }
    if (!verifyBytes(bytes, entry.hash).ok) return void (await removeFile(path));
    markVerified(path, st);
    await touch(path, st, this.now());
    return bytes;
  }

  private async fill(path: string, entry: EntryRef, read: ReadEntry, options: FetchOptions, keep = false): Promise<Buffer | undefined> {
    const signal = options.signal ?? new AbortController().signal;
    const type = hashTypeOf(entry.hash.type);
    return writeObject(path, entry, type, {
      read,
      signal,
      fsync: this.fsync,
      now: this.now(),
      onBytes: options.onBytes,
      keep,
      intact: async (p) => (await this.lookup(entry, signal)) === p,
    });
  }

  /** Runs `job` unless a job for the same path is running here, in which case its outcome is shared. */
  private async once(path: string, job: () => Promise<void>): Promise<void> {
    const running = this.inflight.get(path);
    if (running !== undefined) return running;
    const p = job().finally(() => this.inflight.delete(path));
    this.inflight.set(path, p);
    return p;
  }
}

/** The entry's bytes straight from its source, checked in memory (uncached hash types, an unwritable cache). */
async function readVerified(entry: EntryRef, read: ReadEntry, options: FetchOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of read(entry, options.signal ?? new AbortController().signal)) chunks.push(Buffer.from(chunk));
  const bytes = Buffer.concat(chunks);
  const check = verifyBytes(bytes, entry.hash);
  if (!check.ok) {
    throw hashMismatch({
      key: entry.logicalKey,
      physicalKey: entry.physicalKey,
      type: check.type,
      expected: check.expected,
      actual: check.actual,
      expectedSize: entry.size,
      actualSize: bytes.length,
    });
  }
  return bytes;
}
