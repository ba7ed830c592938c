/**
 * Download one object as bounded, retried pieces: a small object in one GET, a big one as ranged
 * GETs of `partSize` bytes with up to `concurrency` in flight, handed on in order. A piece whose
 * body breaks off is fetched again (the S3 client retries only until the headers arrive), so a
 * dropped connection costs one piece, not the file.
 */
import type { Storage } from "../storage/index.js";
import { isRetryable, withRetries, type RetryOptions } from "./retry.js";

export interface RangedReadOptions {
  readonly versionId?: string;
  readonly signal?: AbortSignal;
  /** Bytes per GET. Default 8 MiB. */
  readonly partSize?: number;
  /** GETs in flight for one object. Default 4. */
  readonly concurrency?: number;
  readonly retry?: Omit<RetryOptions, "signal">;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

export async function* readRanged(storage: Storage, key: string, size: number, options: RangedReadOptions = {}): AsyncGenerator<Uint8Array> {
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const what = `reading ${storage.url}/${key}`;
  const piece = (start: number, end: number): Promise<Buffer> =>
    withRetries(what, () => storage.readAll(key, readOptions(options, size <= partSize ? undefined : { start, end })), {
      ...options.retry,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  if (size <= partSize) {
    // One GET of the whole object (its real size, even if the manifest's is wrong: the hash decides).
    yield await piece(0, size);
    return;
  }
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const fill = (): void => {
    while (pending.length < concurrency && next < size) {
      const start = next;
      next = Math.min(size, start + partSize);
      const p = piece(start, next);
      p.catch(() => undefined); // awaited in order below
      pending.push(p);
    }
  };
  fill();
  while (pending.length > 0) {
    const part = await (pending.shift() as Promise<Buffer>);
    fill();
    yield part;
  }
}

function readOptions(options: RangedReadOptions, range: { start: number; end: number } | undefined): Parameters<Storage["readAll"]>[1] {
  return {
    ...(options.versionId === undefined ? {} : { versionId: options.versionId }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(range === undefined ? {} : { range }),
  };
}

/**
 * Stream one object from start to end in a single GET, resuming from the byte reached when the
 * body breaks off (a range request for the rest), for streams too long to fetch in pieces up
 * front, such as a manifest read once line by line. Give `versionId` so a resumed read cannot
 * splice two versions together.
 */
export async function* readResumable(storage: Storage, key: string, options: Omit<RangedReadOptions, "partSize" | "concurrency"> = {}): AsyncGenerator<Uint8Array> {
  let offset = 0;
  const attempts = options.retry?.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      const range = offset === 0 ? undefined : { start: offset, end: Number.MAX_SAFE_INTEGER };
      for await (const chunk of storage.read(key, readOptions(options, range))) {
        offset += chunk.length;
        yield chunk;
      }
      return;
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error) || options.signal?.aborted === true) throw error;
      options.retry?.onRetry?.(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
