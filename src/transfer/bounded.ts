/**
 * Small concurrency tools: a bounded executor over a stream of items, and a push-fed async
 * iterable for feeding a HashPool job.
 */
import { setMaxListeners } from "node:events";
import { interrupted } from "./errors.js";

/**
 * Runs the items of a stream with at most `concurrency` tasks in flight. `dispatch` runs one item
 * at a time, in order (for work that must be sequential, such as creating folders), and returns
 * the concurrent part, or `undefined` when nothing else is to be done. The first failure aborts
 * the tasks still running (through the signal handed to `dispatch`), waits for them to clean up,
 * and is thrown; an abort of `signal` throws INTERRUPTED once every task has stopped.
 */
export async function forEachBounded<T>(
  items: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  signal: AbortSignal | undefined,
  what: string,
  dispatch: (item: T, signal: AbortSignal) => Promise<(() => Promise<void>) | undefined>,
): Promise<void> {
  const inner = new AbortController();
  // Every task (and each of its requests) listens to this one signal: many listeners is normal.
  setMaxListeners(0, inner.signal);
  const onAbort = (): void => inner.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted === true) inner.abort(signal.reason);
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
    inner.abort(error);
  };
  try {
    for await (const item of items) {
      if (inner.signal.aborted) break;
      while (running.size >= concurrency && !inner.signal.aborted) await Promise.race(running);
      if (inner.signal.aborted) break;
      const task = await dispatch(item, inner.signal);
      if (task === undefined) continue;
      const p: Promise<void> = task()
        .catch(fail)
        .finally(() => running.delete(p));
      running.add(p);
    }
  } catch (error) {
    fail(error);
  } finally {
    await Promise.all(running);
    signal?.removeEventListener("abort", onAbort);
  }
  if (signal?.aborted === true) throw interrupted(what, signal.reason);
  if (failure !== undefined) throw failure.error;
}

/** A single-consumer async iterable that producers push into; `close()` ends it. */
export class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private waiting: ((r: IteratorResult<T>) => void) | undefined;
  private closed = false;

  push(item: T): void {
    if (this.closed) return;
    const wake = this.waiting;
    if (wake !== undefined) {
      this.waiting = undefined;
      wake({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  close(): void {
    this.closed = true;
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: (): Promise<IteratorResult<T>> => {
        if (this.head < this.items.length) {
          const value = this.items[this.head] as T;
          this.items[this.head++] = undefined as T;
          if (this.head > 1024 && this.head * 2 > this.items.length) {
            this.items = this.items.slice(this.head);
            this.head = 0;
          }
          return Promise.resolve({ value, done: false });
        }
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: (): Promise<IteratorResult<T>> => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
