/** Bounded concurrency for the parts of one transfer. */
import { setMaxListeners } from "node:events";

/**
 * Runs `task(i)` for `i` in `[0, count)` with at most `limit` in flight, results in index order.
 * `prepare(i)` runs one at a time, in order, while up to `limit` tasks run: reading the next file
 * part overlaps the uploads, and at most `limit + 1` prepared parts exist at once.
 * The first failure aborts `controller` (so the tasks in flight stop), no task starts after it,
 * and it is rethrown once every task has settled. An abort of `controller` from outside ends the
 * run the same way, rethrowing the abort's reason.
 */
export async function pooled<P, R>(
  count: number,
  limit: number,
  controller: AbortController,
  prepare: (index: number) => Promise<P>,
  task: (index: number, prepared: P) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
    controller.abort(error);
  };
  for (let i = 0; i < count && !controller.signal.aborted; i++) {
    try {
      const prepared = await prepare(i);
      while (running.size >= limit) await Promise.race(running);
      if (controller.signal.aborted) break;
      const run: Promise<void> = task(i, prepared)
        .then((result) => void (results[i] = result), fail)
        .finally(() => running.delete(run));
      running.add(run);
    } catch (error) {
      fail(error);
    }
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure.error;
  if (controller.signal.aborted) throw controller.signal.reason;
  return results;
}

/** A controller that also aborts when `signal` does; `dispose` unhooks it. */
export function linkedController(signal: AbortSignal | undefined): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  // Each part request of a transfer listens to it: many listeners is normal here.
  setMaxListeners(0, controller.signal);
  if (signal === undefined) return { controller, dispose: () => undefined };
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return { controller, dispose: () => signal.removeEventListener("abort", onAbort) };
}
