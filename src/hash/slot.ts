/**
 * One worker thread of a HashPool and the tasks it has in flight. The thread is started on
 * first use, kept `unref`'d while idle (an idle pool never keeps the process alive), and
 * restarted if it dies after having worked; a thread that dies before its first reply is
 * considered unstartable and the slot is retired.
 */
import type { Worker } from "node:worker_threads";
import { QuiltError, StorageError } from "../errors/index.js";
import type { Task, WorkerInit, WorkerReply } from "./protocol.js";
import { spawnHashWorker } from "./spawn.js";

export interface TaskHandler {
  onReply(reply: WorkerReply): void;
  /** The task will never complete (thread died, pool closed). */
  onFail(error: QuiltError): void;
}

export class WorkerSlot {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, TaskHandler>();
  private replied = false;
  private lastError: unknown;
  private closing = false;
  alive = true;
  /** Why the slot was retired, if it was. */
  failure: QuiltError | undefined;

  constructor(
    private readonly init: WorkerInit,
    /** Called whenever a task completes or the slot's state changes, so the pool can dispatch. */
    private readonly onChange: () => void,
  ) {}

  get load(): number {
    return this.pending.size;
  }

  send(task: Task, handler: TaskHandler): void {
    let worker: Worker;
    try {
      worker = this.worker ??= this.start();
    } catch (err) {
      this.retire(err instanceof QuiltError ? err : workerFailed("Cannot start a hash worker thread", err));
      return handler.onFail(this.failure!);
    }
    this.pending.set(task.id, handler);
    if (this.pending.size === 1) worker.ref();
    worker.postMessage(task);
  }

  async terminate(error: QuiltError): Promise<void> {
    this.closing = true;
    this.alive = false;
    this.failPending(error);
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private start(): Worker {
    const worker = spawnHashWorker(this.init);
    this.replied = false;
    worker.unref();
    worker.on("message", (reply: WorkerReply) => this.onMessage(worker, reply));
    worker.on("error", (err) => (this.lastError = err));
    worker.on("exit", (code) => this.onExit(worker, code));
    return worker;
  }

  private onMessage(worker: Worker, reply: WorkerReply): void {
    this.replied = true;
    const handler = this.pending.get(reply.id);
    if (!handler) return;
    const done = reply.kind !== "progress" && reply.done;
    if (done) this.pending.delete(reply.id);
    handler.onReply(reply);
    if (done) {
      if (this.pending.size === 0) worker.unref();
      this.onChange();
    }
  }

  private onExit(worker: Worker, code: number): void {
    if (this.closing || worker !== this.worker) return;
    this.worker = undefined;
    const error = workerFailed(`Hash worker thread exited (code ${code})`, this.lastError, this.replied);
    if (!this.replied) this.retire(error);
    this.failPending(error);
    this.onChange();
  }

  private retire(error: QuiltError): void {
    this.alive = false;
    this.failure = error;
  }

  private failPending(error: QuiltError): void {
    const handlers = [...this.pending.values()];
    this.pending.clear();
    for (const h of handlers) h.onFail(error);
  }
}

function workerFailed(message: string, cause: unknown, hadWorked = false): StorageError {
  return new StorageError("HASH_WORKER_FAILED", message, {
    hint: hadWorked ? "A file in the batch may have crashed it; retry." : "The worker thread could not start.",
    cause,
  });
}
