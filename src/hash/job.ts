/**
 * One `HashPool.hashFiles` call: pulls input lazily (at most `maxQueue` files admitted and not
 * yet consumed, which bounds memory whatever the input size), turns worker replies into
 * outcomes, and reassembles files that were split into ranges.
 *
 * Outcomes come in completion order, not input order: one slow big file must not hold back
 * thousands of finished small ones (head-of-line blocking), and re-ordering would need a
 * buffer as large as the gap. Each outcome carries the caller's input `item` to correlate;
 * manifest building sorts entries anyway (tree walk, spec §1.5).
 */
import { UsageError, type QuiltError } from "../errors/index.js";
import { chunkSize, combineParts } from "./chunked.js";
import { deserializeError, interrupted, throwIfAborted } from "./errors.js";
import { decodeResults, splitDigests, type FileResult, type RangeTask, type Task, type WorkerReply } from "./protocol.js";
import type { TaskHandler } from "./slot.js";
import type { Snapshot } from "./snapshot.js";
import { normalizeTypes, SHA2_256_CHUNKED, type FileHashes, type HashOptions, type HashType } from "./types.js";

export interface HashInput {
  path: string;
}

export type HashOutcome<T extends HashInput = HashInput> =
  | ({ ok: true; item: T } & FileHashes)
  | { ok: false; item: T; error: QuiltError };

export interface HashProgress {
  /** Files finished (hashed or failed). */
  files: number;
  /** Bytes hashed so far. */
  bytes: number;
}

export interface HashFilesOptions extends HashOptions {
  /** Files admitted but not yet consumed (default 1024). */
  maxQueue?: number;
  onProgress?: (progress: HashProgress) => void;
}

/** What the job needs from the pool. */
export interface PoolLink {
  submit(units: Unit[], front: boolean): void;
  withdraw(job: HashJob): void;
  readonly splitAt: number;
  readonly segmentBytes: number;
}

/** A queued piece of work: one whole file, or one range of a split file. */
export type Unit = { job: HashJob; kind: "file"; item: HashInput } | { job: HashJob; kind: "range"; split: Split; index: number };

interface Split {
  item: HashInput;
  snap: Snapshot;
  chunk: number;
  segment: number;
  parts: (Buffer | undefined)[];
  remaining: number;
  error?: QuiltError;
}

export class HashJob<T extends HashInput = HashInput> {
  readonly abort = new Int32Array(new SharedArrayBuffer(4));
  private readonly types: HashType[];
  private readonly maxQueue: number;
  private readonly ready: HashOutcome<T>[] = [];
  private readonly progress: HashProgress = { files: 0, bytes: 0 };
  private open = 0;
  private inputDone = false;
  private stopped = false;
  private failure: Error | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeFeeder: (() => void) | undefined;

  constructor(
    private readonly pool: PoolLink,
    private readonly files: AsyncIterable<T> | Iterable<T>,
    private readonly options: HashFilesOptions,
  ) {
    this.types = normalizeTypes(options.types);
    this.maxQueue = options.maxQueue ?? 1024;
    if (!Number.isSafeInteger(this.maxQueue) || this.maxQueue < 1) {
      throw new UsageError("INVALID_OPTION", `hashFiles option maxQueue must be a positive integer, got ${this.maxQueue}`);
    }
  }

  async *run(): AsyncGenerator<HashOutcome<T>, void, undefined> {
    const signal = this.options.signal;
    throwIfAborted(signal);
    const onAbort = (): void => this.fail(interrupted(signal?.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    void this.feed();
    try {
      for (;;) {
        if (this.failure !== undefined) throw this.failure;
        const next = this.ready.shift();
        if (next) {
          this.open--;
          wake(this.wakeFeeder);
          yield next;
        } else if (this.inputDone && this.open === 0) return;
        else await new Promise<void>((r) => (this.wakeConsumer = r));
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.stop();
    }
  }

  /**
   * Pulls input while fewer than `maxQueue` files are open. A sync iterable is drained in
   * bursts without a promise per item, and each burst goes to the pool in one `submit`, so
   * the first worker messages are already full batches.
   */
  private async feed(): Promise<void> {
    const it = iteratorOf(this.files);
    let burst: Unit[] = [];
    const flush = (): void => {
      if (burst.length > 0 && !this.stopped) this.pool.submit(burst, false);
      burst = [];
    };
    try {
      while (!this.stopped) {
        if (this.open >= this.maxQueue) {
          flush();
          await new Promise<void>((r) => (this.wakeFeeder = r));
          continue;
        }
        let n = it.next();
        if (isPromiseLike(n)) {
          flush(); // hand over what we have before waiting on a slow source
          n = await n;
        }
        if (n.done || this.stopped) break;
        this.admit(n.value, burst);
      }
      flush();
    } catch (err) {
      this.fail(err);
    } finally {
      this.inputDone = true;
      wake(this.wakeConsumer);
      if (this.stopped) await Promise.resolve(it.return?.()).catch(() => undefined);
    }
  }

  private admit(item: T, burst: Unit[]): void {
    this.open++;
    if (typeof (item as Partial<HashInput> | null)?.path === "string") {
      burst.push({ job: this, kind: "file", item });
    } else {
      const error = new UsageError("INVALID_HASH_INPUT", "hashFiles input item has no string `path`");
      this.deliver({ ok: false, item, error });
    }
  }

  /** Builds the worker task for `units` (consecutive units of this job) and its reply handler. */
  makeTask(units: Unit[], id: number): { task: Task; handler: TaskHandler } {
    const first = units[0];
    if (first?.kind === "range") return this.rangeTask(first.split, first.index, id);
    const items = units.map((u) => (u as Extract<Unit, { kind: "file" }>).item as T);
    const splitAt = this.types.length === 1 && this.types[0] === SHA2_256_CHUNKED ? this.pool.splitAt : null;
    const withParts = this.options.withParts ?? false;
    const task: Task = { op: "files", id, paths: items.map((i) => i.path), types: this.types, withParts, splitAt, abort: this.abort };
    return { task, handler: this.filesHandler(items, withParts) };
  }

  /** Work that will never run (pool closed, no live worker). */
  abandon(units: Unit[], error: QuiltError): void {
    for (const u of units) {
      if (u.kind === "file") this.deliver({ ok: false, item: u.item as T, error });
      else this.rangeDone(u.split, u.index, undefined, error);
    }
  }

  private filesHandler(items: T[], withParts: boolean): TaskHandler {
    let answered = 0;
    return {
      onReply: (reply: WorkerReply) => {
        this.addBytes(reply.bytes);
        if (reply.kind !== "files" || this.stopped) return;
        const results = decodeResults(reply.results, this.types, withParts);
        results.forEach((r, k) => this.fileDone(items[reply.from + k]!, r));
        answered = reply.from + results.length;
      },
      onFail: (error) => items.slice(answered).forEach((item) => this.deliver({ ok: false, item, error })),
    };
  }

  private fileDone(item: T, r: FileResult): void {
    if ("split" in r) this.split(item, r.split);
    else if ("error" in r) this.deliver({ ok: false, item, error: deserializeError(r.error) });
    else this.deliver({ ok: true, item, ...r });
  }

  /** Spreads a big file's parts over the workers, in segments of whole parts. */
  private split(item: T, snap: Snapshot): void {
    const chunk = chunkSize(snap.size);
    const segment = Math.max(1, Math.floor(this.pool.segmentBytes / chunk)) * chunk;
    const count = Math.ceil(snap.size / segment);
    const split: Split = { item, snap, chunk, segment, parts: new Array<Buffer | undefined>(count), remaining: count };
    const units: Unit[] = [];
    for (let index = 0; index < count; index++) units.push({ job: this, kind: "range", split, index });
    // To the front: finishing a started file soon keeps the number of half-done files small.
    this.pool.submit(units, true);
  }

  private rangeTask(split: Split, index: number, id: number): { task: Task; handler: TaskHandler } {
    const start = index * split.segment;
    const end = Math.min(start + split.segment, split.snap.size);
    const { path } = split.item;
    const task: RangeTask = { op: "range", id, path, start, end, chunk: split.chunk, expect: split.snap, abort: this.abort };
    const handler: TaskHandler = {
      onReply: (reply) => {
        this.addBytes(reply.bytes);
        if (reply.kind !== "range" || this.stopped) return;
        const error = reply.error && deserializeError(reply.error);
        this.rangeDone(split, index, reply.parts && Buffer.from(reply.parts.buffer, reply.parts.byteOffset, reply.parts.length), error);
      },
      onFail: (error) => this.rangeDone(split, index, undefined, error),
    };
    return { task, handler };
  }

  private rangeDone(split: Split, index: number, parts: Buffer | undefined, error: QuiltError | undefined): void {
    split.parts[index] = parts;
    split.error ??= error;
    if (--split.remaining > 0) return;
    const item = split.item as T;
    if (split.error) return this.deliver({ ok: false, item, error: split.error });
    const digests = split.parts.flatMap((p) => splitDigests(p!));
    const out: HashOutcome<T> = { ok: true, item, size: split.snap.size, hashes: { [SHA2_256_CHUNKED]: combineParts(digests) } };
    if (this.options.withParts) out.parts = digests;
    this.deliver(out);
  }

  private deliver(outcome: HashOutcome<T>): void {
    if (this.stopped) return;
    this.ready.push(outcome);
    this.progress.files++;
    this.report();
    wake(this.wakeConsumer);
  }

  private addBytes(n: number): void {
    if (this.stopped || n === 0) return;
    this.progress.bytes += n;
    this.report();
  }

  private report(): void {
    const onProgress = this.options.onProgress;
    if (!onProgress) return;
    try {
      onProgress({ ...this.progress });
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new Error(`hashFiles failed: ${String(err)}`, { cause: err });
    this.stop();
    wake(this.wakeConsumer);
  }

  /** Stops pulling input, withdraws queued work, and tells in-flight tasks to give up. */
  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.abort, 0, 1);
    this.pool.withdraw(this);
    wake(this.wakeFeeder);
  }
}

function iteratorOf<T>(files: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> | Iterator<T> {
  return Symbol.asyncIterator in files ? files[Symbol.asyncIterator]() : files[Symbol.iterator]();
}

function isPromiseLike<V>(x: V | PromiseLike<V>): x is PromiseLike<V> {
  return typeof (x as Partial<PromiseLike<V>>).then === "function";
}

function wake(resolve: (() => void) | undefined): void {
  resolve?.();
}
