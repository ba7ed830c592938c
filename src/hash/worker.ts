/**
 * Worker-thread entry of HashPool: runs tasks one at a time with blocking reads into a reused
 * buffer. Loaded as dist/hash/worker.js, or as worker.ts through the dev loader (spawn.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { serializeError } from "./errors.js";
import { hashFileSync, hashRangeSync, type SyncContext } from "./file-sync.js";
import { encodeResult, type FileResult, type FilesTask, type RangeTask, type Task, type WorkerInit, type WorkerReply } from "./protocol.js";

/** Long reads report progress this often. */
const PROGRESS_BYTES = 32 * 1024 * 1024;
/** A batch posts the results it has once this many bytes were hashed, so they are not held back. */
const FLUSH_BYTES = 16 * 1024 * 1024;

const port = parentPort;
if (!port) throw new Error("hash worker must run in a worker thread");
const buffer = Buffer.allocUnsafeSlow((workerData as WorkerInit).bufferSize);

port.on("message", (task: Task) => {
  if (task.op === "files") runFiles(task);
  else runRange(task);
});

function post(reply: WorkerReply): void {
  port?.postMessage(reply);
}

/** Counts bytes for progress: small reports are folded into the next result message. */
class Meter {
  unreported = 0;
  sinceFlush = 0;
  constructor(private readonly id: number) {}

  add(n: number): void {
    this.unreported += n;
    this.sinceFlush += n;
    if (this.unreported >= PROGRESS_BYTES) post({ id: this.id, kind: "progress", bytes: this.take() });
  }

  take(): number {
    const n = this.unreported;
    this.unreported = 0;
    return n;
  }
}

function context(task: Task, meter: Meter): SyncContext {
  return { buffer, abort: task.abort, onBytes: (n) => meter.add(n) };
}

function runFiles(task: FilesTask): void {
  const meter = new Meter(task.id);
  const ctx = context(task, meter);
  let from = 0;
  let results: Parameters<typeof encodeResult>[0] = [];
  task.paths.forEach((path, i) => {
    encodeResult(results, fileResult(path, task, ctx), task);
    if (meter.sinceFlush >= FLUSH_BYTES && i < task.paths.length - 1) {
      post({ id: task.id, kind: "files", from, results, bytes: meter.take(), done: false });
      from = i + 1;
      results = [];
      meter.sinceFlush = 0;
    }
  });
  post({ id: task.id, kind: "files", from, results, bytes: meter.take(), done: true });
}

function fileResult(path: string, task: FilesTask, ctx: SyncContext): FileResult {
  try {
    return hashFileSync(path, task.types, task.withParts, task.splitAt, ctx);
  } catch (err) {
    return { error: serializeError(err) };
  }
}

function runRange(task: RangeTask): void {
  const meter = new Meter(task.id);
  try {
    const parts = hashRangeSync(task.path, task, context(task, meter));
    // A copy with its own exact buffer (see encodeResult).
    post({ id: task.id, kind: "range", parts: new Uint8Array(parts), bytes: meter.take(), done: true });
  } catch (err) {
    post({ id: task.id, kind: "range", error: serializeError(err), bytes: meter.take(), done: true });
  }
}
