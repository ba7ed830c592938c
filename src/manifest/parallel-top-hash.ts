/**
 * The top hash on every core. Parsing and re-encoding each line is nearly all of the cost, and
 * lines are independent; only SHA-256 must see the pre-images in order. So the main thread cuts
 * the manifest into batches of whole lines, workers turn each batch into its pre-image bytes, and
 * the main thread feeds those to one SHA-256 in batch order. A small manifest never starts a
 * worker: its first `inlineBytes` are done on the main thread with the same code.
 *
 * Only the common case is handled here: a manifest in tree-walk order whose every line reads
 * cleanly. Anything else (out of order, a bad line, a worker that cannot start) returns
 * `undefined`, and the caller runs the sequential reader, which sorts or reports the exact error.
 */
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { PyObject } from "../json/index.js";
import { spawnModuleWorker } from "../workers/spawn.js";
import { headerHashPart } from "./encode.js";
import type { IndexFeed } from "./batch-index.js";
import { BatchFallback, checkOrder, hashLines, type HashedLines, type IndexRequest } from "./hash-lines.js";
import type { LineReply, LineTask, LineWorkerData } from "./line-protocol.js";
import { DEFAULT_MAX_READ_LINE } from "./lines.js";
import { readManifestRecords, type ReadOptions } from "./reader.js";
import { bytesSource } from "./sources.js";
import type { ManifestSource } from "./types.js";

export interface ParallelOptions extends ReadOptions {
  readonly signal?: AbortSignal;
  /**
   * Worker threads once the manifest is big; default one fewer than the cores, at most 4 (the main
   * thread hashes a share of the batches too). 0: main thread only.
   */
  readonly workers?: number;
  /** Bytes hashed on the main thread before any worker starts (default 32 MiB). */
  readonly inlineBytes?: number;
  /**
   * A browse index built from this pass: it gets the header and each batch's runs and samples, in
   * order, from the lines the pass parses anyway. A pass that returns `undefined` fed it only part.
   */
  readonly indexFeed?: IndexFeed;
}

export interface TopHashSummary {
  readonly topHash: string;
  /** The header as read (without the obsolete `top_hash`). */
  readonly header: PyObject;
  readonly entries: number;
  /** Sum of the entries' sizes. */
  readonly bytes: number;
}

/**
 * A batch is cut at the last line end after this many bytes. Small batches and small worker heaps
 * keep the memory of the pass near that of one thread (measured at 1M entries: 4 MiB batches and
 * default heaps added ~160 MiB of RSS, these ~50 MiB, for the same CPU time).
 */
const BATCH_BYTES = 1 << 20;

/** The top hash of a manifest in tree-walk order, or `undefined` when the sequential path must decide. */
export async function parallelTopHash(source: ManifestSource, options: ParallelOptions = {}): Promise<TopHashSummary | undefined> {
  if (options.entryPrefix !== undefined) return undefined;
  const run = new Run(options);
  try {
    for await (const batch of lineBatches(source(), options.maxLineBytes ?? DEFAULT_MAX_READ_LINE)) {
      options.signal?.throwIfAborted();
      if (!(await run.add(batch))) return undefined;
    }
    return await run.finish();
  } catch (error) {
    if (error instanceof BatchFallback) return undefined;
    throw error;
  } finally {
    await run.close();
  }
}

/** One top-hash computation: the header, then batches in order, inline or through the pool. */
class Run {
  private readonly sha = createHash("sha256");
  private header: PyObject | undefined;
  private inline = 0;
  private pool: LinePool | undefined;
  /** Batches in flight, in order: a worker's reply to come, or the main thread's own result. */
  private readonly pending: (Promise<LineReply> | { readonly inline: HashedLines })[] = [];
  /** Batches handed out since the pool started: every (workers + 1)-th stays on this thread. */
  private turn = 0;
  private lastKey: string | undefined;
  private entries = 0;
  private bytes = 0;
  /** Where the next batch starts in the manifest. */
  private offset = 0;

  private workers: number;
  private readonly inlineBytes: number;
  private readonly checkKeys: boolean;
  private readonly feed: IndexFeed | undefined;

  constructor(options: ParallelOptions) {
    this.workers = options.workers ?? Math.max(0, Math.min(availableParallelism() - 1, 4));
    this.inlineBytes = options.inlineBytes ?? 32 << 20;
    this.checkKeys = options.checkKeys ?? true;
    this.feed = options.indexFeed;
  }

  /** False when the manifest must go the sequential way. */
  async add(batch: Buffer): Promise<boolean> {
    // A header that did not read ends the run (add is not called again), so none yet means first batch.
    if (this.header === undefined) return this.readHeader(batch);
    const base = this.offset;
    this.offset += batch.length;
    if (this.pool === undefined && this.workers >= 1 && this.inline >= this.inlineBytes) this.pool = this.startPool();
    const request: IndexRequest | undefined = this.feed === undefined ? undefined : { base, blockBytes: this.feed.blockBytes };
    if (this.pool === undefined) {
      this.inline += batch.length;
      this.apply(hashLines(batch, this.checkKeys, request));
      return true;
    }
    // This thread takes a share, so W workers and it keep W + 1 cores busy: a worker costs its own
    // start-up and compiled code (measured at 1M on 2 cores: 2 workers, main waiting, 6.5-7.0 CPU-s;
    // the same pass on one thread 3.7-5.5).
    if (this.turn++ % (this.workers + 1) === this.workers) {
      this.pending.push({ inline: hashLines(batch, this.checkKeys, request) });
    } else {
      const reply = this.pool.run(batch, base);
      // Marked handled now: after a fallback nobody awaits the batches still in flight.
      reply.catch(() => undefined);
      this.pending.push(reply);
    }
    // Two batches a worker in flight: enough to keep them busy, little memory.
    while (this.pending.length > 2 * (this.workers + 1)) if (!this.settle(await this.pending.shift())) return false;
    return true;
  }

  /** The workers; none (the rest runs on this thread) when they cannot start. */
  private startPool(): LinePool | undefined {
    try {
      return new LinePool({ checkKeys: this.checkKeys, ...(this.feed === undefined ? {} : { indexBlockBytes: this.feed.blockBytes }) }, this.workers);
    } catch {
      this.workers = 0;
      return undefined;
    }
  }

  async finish(): Promise<TopHashSummary | undefined> {
    if (this.header === undefined) return undefined; // empty: the sequential reader has the message
    while (this.pending.length > 0) if (!this.settle(await this.pending.shift())) return undefined;
    return { topHash: this.sha.digest("hex"), header: this.header, entries: this.entries, bytes: this.bytes };
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  /** The first batch is the header line alone (lineBatches cuts it so); read by the sequential rules. */
  private async readHeader(batch: Buffer): Promise<boolean> {
    try {
      for await (const record of readManifestRecords(bytesSource(batch)())) {
        if (record.kind !== "header") return false;
        this.header = record.header;
        this.sha.update(headerHashPart(record.header), "utf8");
      }
      if (this.header === undefined) return false;
      this.offset = batch.length;
      this.feed?.header(batch.length);
      return true;
    } catch {
      return false;
    }
  }

  private settle(reply: LineReply | { readonly inline: HashedLines } | undefined): boolean {
    if (reply !== undefined && "inline" in reply) {
      this.apply(reply.inline);
      return true;
    }
    if (reply === undefined || !reply.ok) return false;
    this.apply({ ...reply, preimage: Buffer.from(reply.preimage, 0, reply.preimageLength) });
    return true;
  }

  private apply(result: HashedLines): void {
    if (result.firstKey !== undefined) {
      // Within a batch the worker checked the order; across batches it is checked here.
      checkOrder(this.lastKey, result.firstKey);
      this.lastKey = result.lastKey;
    }
    this.sha.update(result.preimage);
    this.entries += result.entries;
    this.bytes += result.bytes;
    if (result.index !== undefined) this.feed?.batch(result.index);
  }
}

/**
 * Whole lines in batches of about BATCH_BYTES, each in its own ArrayBuffer so it can be
 * transferred; the header line comes alone first. A line longer than `maxLine` ends it (the
 * sequential reader then refuses it with its message).
 */
async function* lineBatches(chunks: AsyncIterable<Uint8Array>, maxLine: number): AsyncGenerator<Buffer> {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let headerDone = false;
  const take = (chunk: Uint8Array, end: number): Buffer => {
    const out = Buffer.allocUnsafeSlow(heldBytes + end);
    let at = 0;
    for (const piece of held) {
      out.set(piece, at);
      at += piece.length;
    }
    out.set(chunk.subarray(0, end), at);
    held = [];
    heldBytes = 0;
    return out;
  };
  for await (let chunk of chunks) {
    if (!headerDone) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes > maxLine) throw new BatchFallback("invalid");
        continue;
      }
      headerDone = true;
      yield take(chunk, nl + 1);
      chunk = chunk.subarray(nl + 1);
    }
    if (heldBytes + chunk.length >= BATCH_BYTES) {
      const nl = chunk.lastIndexOf(10);
      if (nl !== -1) {
        yield take(chunk, nl + 1);
        chunk = chunk.subarray(nl + 1);
      }
    }
    if (chunk.length > 0) {
      held.push(chunk);
      heldBytes += chunk.length;
    }
    if (heldBytes > maxLine + BATCH_BYTES) throw new BatchFallback("invalid");
  }
  if (heldBytes > 0) yield take(new Uint8Array(0), 0);
}

/**
 * Each worker's heap: a batch's lines and their parsed entries die young. A line over this (quilt3
 * writes at most 1 MB a line) makes the worker run out of memory, and the sequential path takes over.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 };

/** Worker threads running `hashLines`, fed in turn; replies are matched to tasks by id. */
class LinePool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve: (reply: LineReply) => void; reject: (error: unknown) => void }>();
  private nextId = 0;
  private turn = 0;

  constructor(data: LineWorkerData, count: number) {
    for (let i = 0; i < count; i++) {
      let worker: Worker;
      try {
        // `../manifest/`, not `./`: the same URL from dist/manifest/ and from the CLI bundle in dist/bin/.
        worker = spawnModuleWorker(new URL("../manifest/line-worker.js", import.meta.url), data, "MANIFEST_WORKER_MISSING", WORKER_LIMITS);
      } catch (error) {
        void this.close();
        throw error;
      }
      worker.on("message", (reply: LineReply) => {
        const waiter = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        waiter?.resolve(reply);
      });
      // A worker that dies fails every batch in flight; the caller falls back to one thread.
      worker.on("error", (error) => this.failAll(error));
      worker.on("exit", (code) => this.failAll(new Error(`manifest line worker exited with code ${code}`)));
      this.workers.push(worker);
    }
  }

  run(batch: Buffer, base: number): Promise<LineReply> {
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length] as Worker;
    const task: LineTask = { id, bytes: batch.buffer as ArrayBuffer, base };
    return new Promise<LineReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage(task, [task.bytes]);
    }).catch((error: unknown) => {
      throw new BatchFallback("invalid", { cause: error });
    });
  }

  private failAll(error: unknown): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    this.workers.forEach((worker) => worker.removeAllListeners("exit"));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
