import { describe, expect, it } from "vitest";
import { StorageError } from "../errors/index.js";
import type { ReadOptions, Storage } from "../storage/index.js";
import { readRanged, readResumable } from "./ranged-read.js";

/** A storage of one object whose reads break off after `cut` bytes, `failures` times. */
function flaky(data: Buffer, cut: number, failures: number): Storage & { reads: ReadOptions[] } {
  const reads: ReadOptions[] = [];
  let left = failures;
  async function* read(_key: string, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    reads.push(options);
    const start = options.range?.start ?? 0;
    const end = Math.min(options.range?.end ?? data.length, data.length);
    const slice = data.subarray(start, end);
    if (left > 0 && slice.length > cut) {
      left--;
      yield await Promise.resolve(slice.subarray(0, cut));
      throw new StorageError("STORAGE_NETWORK", "the download broke off");
    }
    yield slice;
  }
  return {
    url: "mem://",
    reads,
    read,
    readAll: async (key, options) => Buffer.concat(await all(read(key, options))),
    stat: () => Promise.resolve(undefined),
    write: () => Promise.reject(new Error("read-only")),
    list: () => (async function* () {})(),
    delete: () => Promise.resolve(),
  };
}

async function all(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

describe("readResumable", () => {
  it("resumes from the byte reached, pinned to the version, and yields every byte once", async () => {
    const storage = flaky(data, 300, 2);
    const out = Buffer.concat(await all(readResumable(storage, "k", { versionId: "v1" })));
    expect(out.equals(data)).toBe(true);
    expect(storage.reads.map((r) => r.range?.start ?? 0)).toEqual([0, 300, 600]);
    expect(storage.reads.every((r) => r.versionId === "v1")).toBe(true);
  });

  it("gives up after its attempts with the storage's error", async () => {
    const storage = flaky(data, 10, 10);
    await expect(all(readResumable(storage, "k", { retry: { attempts: 3 } }))).rejects.toMatchObject({ code: "STORAGE_NETWORK" });
  });
});

describe("readRanged", () => {
  it("refetches a piece whose body broke off, in order", async () => {
    const storage = flaky(data, 50, 1);
    const out = Buffer.concat(await all(readRanged(storage, "k", data.length, { partSize: 256, concurrency: 2, retry: { baseDelayMs: 1 } })));
    expect(out.equals(data)).toBe(true);
  });
});
