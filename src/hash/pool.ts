/**
 * Hashing on all cores. `hash.update` is synchronous on the calling thread, so the main thread
 * alone gives at most one core; N worker threads give N.
 *
 * Scheduling: one queue of units (whole files, or ranges of split files) shared by every
 * `hashFiles` call on the pool. Each worker gets up to PIPELINE tasks in flight, so it never
 * idles during a reply round trip. Consecutive small files of one job travel in one message;
 * the batch grows with the backlog (up to `maxBatch`), so per-message overhead is amortized
 * when there is much to do and latency stays low when there is little.
 *
 * Big files: sha2-256-chunked parts are independent, so a file of at least `splitAt` bytes is
 * cut into segments of whole parts hashed on several workers and combined here. Only when
 * sha2-256-chunked is the sole requested type: SHA256 and CRC64NVME are sequential.
 */
import { availableParallelism } from "node:os";
import { StorageError, UsageError, type QuiltError } from "../errors/index.js";
import { HashJob, type HashFilesOptions, type HashInput, type HashOutcome, type PoolLink, type Unit } from "./job.js";
import { WorkerSlot } from "./slot.js";
import { READ_BUFFER_BYTES } from "./snapshot.js";
import type { FileHashes, HashOptions } from "./types.js";

export interface HashPoolOptions {
  /** Worker threads (default `os.availableParallelism()`). */
  size?: number;
  /** Read buffer per worker (default 1 MiB); files up to this size are hashed in one shot. */
  bufferSize?: number;
  /** Files this large or larger are split across workers (default 128 MiB). */
  splitAt?: number;
  /** Bytes per split segment, rounded down to whole parts (default 64 MiB). */
  segmentBytes?: number;
  /** Most files in one worker message (default 64). */
  maxBatch?: number;
}

/** Tasks in flight per worker: one running, one waiting, so the thread never idles. */
const PIPELINE = 2;
const MiB = 1024 * 1024;

export class HashPool implements PoolLink {
  readonly size: number;
  readonly splitAt: number;
  readonly segmentBytes: number;
  private readonly maxBatch: number;
  private readonly slots: WorkerSlot[];
  private queue: Unit[] = [];
  private lastId = 0;
  private closed = false;

  constructor(options: HashPoolOptions = {}) {
    this.size = positive("size", options.size ?? availableParallelism());
    this.splitAt = positive("splitAt", options.splitAt ?? 128 * MiB);
    this.segmentBytes = positive("segmentBytes", options.segmentBytes ?? 64 * MiB);
    this.maxBatch = positive("maxBatch", options.maxBatch ?? 64);
    const init = { bufferSize: positive("bufferSize", options.bufferSize ?? READ_BUFFER_BYTES) };
    this.slots = Array.from({ length: this.size }, () => new WorkerSlot(init, () => this.dispatch()));
  }

  /**
   * Hashes every file of `files` (read lazily); yields one outcome per file in completion
   * order. A file's failure is an outcome with `ok: false`; only abort (INTERRUPTED), a
   * throwing input iterable or `onProgress` end the iteration with an exception.
   */
  hashFiles<T extends HashInput>(
    files: AsyncIterable<T> | Iterable<T>,
    options: HashFilesOptions = {},
  ): AsyncGenerator<HashOutcome<T>, void, undefined> {
    if (this.closed) throw poolClosed();
    return new HashJob<T>(this, files, options).run();
  }

  /** One file on the pool: a big file is spread over all workers. Throws the file's error. */
  async hashFile(path: string, options: HashOptions = {}): Promise<FileHashes> {
    for await (const r of this.hashFiles([{ path }], options)) {
      if (!r.ok) throw r.error;
      const out: FileHashes = { size: r.size, hashes: r.hashes };
      if (r.parts) out.parts = r.parts;
      return out;
    }
    throw new StorageError("HASH_FAILED", `No result for ${path}`);
  }

  /** Stops the workers; unfinished work fails with HASH_POOL_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = poolClosed();
    this.abandon(this.queue, error);
    this.queue = [];
    await Promise.all(this.slots.map((s) => s.terminate(error)));
  }

  /** @internal Called by jobs. */
  submit(units: Unit[], front: boolean): void {
    if (this.closed) return this.abandon(units, poolClosed());
    if (front) this.queue.unshift(...units);
    else for (const u of units) this.queue.push(u);
    this.dispatch();
  }

  /** @internal Drops a finished or cancelled job's queued units. */
  withdraw(job: HashJob): void {
    this.queue = this.queue.filter((u) => u.job !== job);
  }

  private dispatch(): void {
    for (let slot = this.idlest(); slot && this.queue.length > 0; slot = this.idlest()) {
      const units = this.takeBatch();
      const { task, handler } = units[0]!.job.makeTask(units, ++this.lastId);
      slot.send(task, handler);
    }
    if (this.queue.length > 0 && !this.slots.some((s) => s.alive)) {
      const units = this.queue;
      this.queue = [];
      const cause = this.slots.find((s) => s.failure)?.failure;
      this.abandon(units, cause ?? new StorageError("HASH_WORKER_FAILED", "No hash worker thread could be started"));
    }
  }

  private idlest(): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const s of this.slots) if (s.alive && s.load < PIPELINE && (!best || s.load < best.load)) best = s;
    return best;
  }

  /** A range alone, or consecutive files of one job, more of them when the backlog is long. */
  private takeBatch(): Unit[] {
    const head = this.queue[0]!;
    if (head.kind === "range") return this.queue.splice(0, 1);
    const want = Math.ceil(this.queue.length / (this.size * PIPELINE));
    const limit = Math.min(this.maxBatch, Math.max(1, want), this.queue.length);
    let n = 1;
    while (n < limit && this.queue[n]!.kind === "file" && this.queue[n]!.job === head.job) n++;
    return this.queue.splice(0, n);
  }

  private abandon(units: Unit[], error: QuiltError): void {
    for (const u of units) u.job.abandon([u], error);
  }
}

/** Convenience: a pool for one run, closed when the iteration ends. */
export async function* hashFiles<T extends HashInput>(
  files: AsyncIterable<T> | Iterable<T>,
  options: HashFilesOptions & { pool?: HashPoolOptions } = {},
): AsyncGenerator<HashOutcome<T>, void, undefined> {
  const pool = new HashPool(options.pool);
  try {
    yield* pool.hashFiles(files, options);
  } finally {
    await pool.close();
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError("INVALID_OPTION", `HashPool option ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function poolClosed(): StorageError {
  return new StorageError("HASH_POOL_CLOSED", "The hash pool was closed", {
    hint: "Create a new HashPool, or close it only after iterating all results.",
  });
}
