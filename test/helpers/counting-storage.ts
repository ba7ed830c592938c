/**
 * Counts what a storage hands out through `read` (and so `readAll`), per key, by replacing the
 * method on the instance: the object stays what it was (`instanceof LocalStorage` still holds,
 * S3Storage keeps its client), so code that asks what kind of storage it has behaves the same.
 */
import type { ReadOptions, Storage } from "../../src/storage/index.js";

export interface ReadCounter {
  /** Bytes and read calls per key since the last `reset`. */
  bytesOf(key: string): number;
  readsOf(key: string): number;
  /** All keys read, with their bytes. */
  snapshot(): Record<string, { bytes: number; reads: number }>;
  reset(): void;
}

export function countReads(storage: Storage): ReadCounter {
  const counts = new Map<string, { bytes: number; reads: number }>();
  const original = storage.read.bind(storage);
  const tally = (key: string) => {
    let c = counts.get(key);
    if (c === undefined) counts.set(key, (c = { bytes: 0, reads: 0 }));
    return c;
  };
  (storage as { read: Storage["read"] }).read = (key: string, options?: ReadOptions) => {
    const c = tally(key);
    c.reads += 1;
    return (async function* () {
      for await (const chunk of original(key, options)) {
        c.bytes += chunk.length;
        yield chunk;
      }
    })();
  };
  return {
    bytesOf: (key) => counts.get(key)?.bytes ?? 0,
    readsOf: (key) => counts.get(key)?.reads ?? 0,
    snapshot: () => Object.fromEntries(counts),
    reset: () => counts.clear(),
  };
}
