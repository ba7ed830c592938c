/**
 * An index fed by the top-hash pass (runs and samples from the lines it parses) must be the very
 * bytes the builder writes when it scans the manifest itself, and must give up where that one does.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parallelTopHash } from "../manifest/parallel-top-hash.js";
import type { ManifestSource } from "../manifest/index.js";
import { IndexBuilder } from "./index.js";
import { manifestOf, randomKeys } from "./test-fixtures.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "qkbi-fed-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TOP = "cd".repeat(32);
let built = 0;

function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/** The index file's bytes, or the failure; `fed`: through `parallelTopHash` with these workers. */
async function indexOf(manifest: Buffer, blockBytes: number, fed?: { workers: number }): Promise<Buffer | string> {
  const builder = new IndexBuilder({ tmpDir: dir, blockBytes, fed: fed !== undefined });
  const pieces = chunks(manifest, 7001);
  try {
    if (fed === undefined) {
      for (const piece of pieces) builder.write(piece);
    } else {
      const source: ManifestSource = () => Readable.from((function* () {
        for (const piece of pieces) {
          builder.write(piece);
          yield piece;
        }
      })(), { objectMode: true });
      await parallelTopHash(source, { workers: fed.workers, inlineBytes: 0, indexFeed: builder });
    }
    const path = join(dir, `fed-${built++}.qkbi`);
    const header = await builder.finish({ topHash: TOP, topHashChecked: true }, path);
    return header === undefined ? `failed: ${builder.failure}` : await readFile(path);
  } finally {
    await builder.dispose();
  }
}

describe("IndexBuilder fed by the top-hash pass", () => {
  // Several 1 MiB batches; escaped, non-ASCII and root keys; directory lines before the entries.
  const keys = randomKeys(7, 12000, 5);
  const dirs = [{ logicalKey: "a/", meta: new Map([["x", 1n]]) }, { logicalKey: "b/c/", meta: new Map() }];

  it("writes the same index as the scanning builder, on the main thread and on workers", async () => {
    const manifest = await manifestOf(keys, dirs);
    expect(manifest.length).toBeGreaterThan(2 << 20);
    for (const blockBytes of [997, 64 * 1024]) {
      const scanned = await indexOf(manifest, blockBytes);
      expect(Buffer.isBuffer(scanned)).toBe(true);
      expect(await indexOf(manifest, blockBytes, { workers: 0 })).toEqual(scanned);
    }
    // Two workers and this thread (every third batch), then one worker and this thread in turn.
    const scanned = await indexOf(manifest, 4096);
    expect(await indexOf(manifest, 4096, { workers: 2 })).toEqual(scanned);
    expect(await indexOf(manifest, 4096, { workers: 1 })).toEqual(scanned);
  }, 60_000);

  it("agrees on a package without entries, and on one with directory lines only", async () => {
    for (const manifest of [await manifestOf([]), await manifestOf([], dirs)]) {
      const scanned = await indexOf(manifest, 4096);
      expect(Buffer.isBuffer(scanned)).toBe(true);
      expect(await indexOf(manifest, 4096, { workers: 0 })).toEqual(scanned);
    }
  });

  it("gives up where the scanning builder gives up", async () => {
    const manifest = await manifestOf(keys.slice(0, 50));
    const lines = manifest.toString("utf8").split("\n");
    const dirAfter = Buffer.from([...lines.slice(0, 10), '{"logical_key": "zz/", "meta": {}}', ...lines.slice(10)].join("\n"));
    const noNewline = manifest.subarray(0, manifest.length - 1);
    for (const bad of [dirAfter, noNewline]) {
      expect(await indexOf(bad, 4096)).toMatch(/^failed: /);
      expect(await indexOf(bad, 4096, { workers: 0 })).toMatch(/^failed: /);
    }
  });

  it("gives up when the pass did not describe every line", async () => {
    const builder = new IndexBuilder({ tmpDir: dir, fed: true });
    try {
      builder.write(await manifestOf(keys.slice(0, 5)));
      expect(await builder.finish({ topHash: TOP, topHashChecked: true }, join(dir, "never.qkbi"))).toBeUndefined();
      expect(builder.failure).toMatch(/did not describe every line/);
    } finally {
      await builder.dispose();
    }
  });
});
