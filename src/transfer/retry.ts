/**
 * Retries for whole operations the S3 client cannot retry itself: a download whose body broke
 * off after the headers arrived. Exponential backoff with full jitter (AWS's recommendation), so
 * many workers that failed together do not come back together.
 */
import { QuiltError } from "../errors/index.js";
import { interrupted } from "./errors.js";

export interface RetryOptions {
  /** Attempts including the first. Default 4. */
  readonly attempts?: number;
  /** The first backoff's ceiling; doubles each time. Default 200 ms. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly signal?: AbortSignal;
  /** Told before each retry (for a warning line or a count). */
  readonly onRetry?: (error: unknown, attempt: number) => void;
  /** Random source in [0, 1) for the jitter (tests make it fixed). */
  readonly random?: () => number;
}

/** Network failures are worth another try; a missing object, a denial or a bad hash are not. */
export function isRetryable(error: unknown): boolean {
  return error instanceof QuiltError && (error.code === "STORAGE_NETWORK" || error.code === "STORAGE_IO_ERROR");
}

export async function withRetries<T>(what: string, fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted === true) throw interrupted(what, options.signal.reason);
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error) || isAborted(options.signal)) throw error;
      options.onRetry?.(error, attempt);
      await sleep(random() * Math.min(max, base * 2 ** (attempt - 1)), options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Read through a function: TypeScript narrows `signal.aborted` once and forgets it can change. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
