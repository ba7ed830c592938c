import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, readFile, readdir, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { collect, rejectionOf } from "../../../test/helpers/expect.js";
import { CRC64NVME, SHA256, SHA2_256_CHUNKED, hashBuffer, type HashType } from "../../hash/index.js";
import type { EntryRef, ReadEntry } from "../../transfer/types.js";
import { useTempDirs } from "../../transfer/test-fixtures.js";
import { ObjectCache } from "./object-cache.js";
import { objectKeyOf } from "./layout.js";

const dirs = useTempDirs("quiltkit-objects-");

/** An entry for `bytes`, and a source that serves them and counts its reads. */
function sourceOf(bytes: Buffer, type: HashType = SHA2_256_CHUNKED, key = "a/file.bin"): { entry: EntryRef; read: ReadEntry; reads: () => number } {
  const value = hashBuffer(bytes, [type]).hashes[type] ?? "";
  let reads = 0;
  const read: ReadEntry = async function* () {
    reads++;
    await Promise.resolve();
    yield bytes.subarray(0, Math.floor(bytes.length / 2));
    yield bytes.subarray(Math.floor(bytes.length / 2));
  };
  return { entry: { logicalKey: key, physicalKey: `s3://bucket/${key}`, size: bytes.length, hash: { type, value } }, read, reads: () => reads };
}

async function filesUnder(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true, withFileTypes: true })).filter((d) => !d.isDirectory()).map((d) => join(d.parentPath, d.name));
}

describe("ObjectCache layout", () => {
  it("keys sha2-256-chunked by the hex of its base64 value and SHA256 by its hex; never CRC64NVME", () => {
    const bytes = Buffer.from("hello");
    const chunked = hashBuffer(bytes, [SHA2_256_CHUNKED]).hashes[SHA2_256_CHUNKED] ?? "";
    const cache = new ObjectCache("/c");
    const hex = Buffer.from(chunked, "base64").toString("hex");
    expect(cache.pathOf({ type: SHA2_256_CHUNKED, value: chunked })).toBe(`/c/v1/sha2-256-chunked/${hex.slice(0, 2)}/${hex.slice(2)}`);
    expect(cache.pathOf({ type: SHA256, value: "ab".repeat(32) })).toBe(`/c/v1/sha256/ab/${"ab".repeat(31)}`);
    expect(cache.accepts({ type: CRC64NVME, value: hashBuffer(bytes, [CRC64NVME]).hashes[CRC64NVME] ?? "" })).toBe(false);
  });

  it("refuses malformed and non-canonical values, so a manifest never chooses a path", () => {
    expect(objectKeyOf({ type: SHA256, value: "../../etc/passwd" })).toBeUndefined();
    expect(objectKeyOf({ type: SHA256, value: "AB".repeat(32) })).toBeUndefined();
    // 'B' in the last place sets bits that decoding drops: a second spelling of the same bytes.
    expect(objectKeyOf({ type: SHA2_256_CHUNKED, value: "A".repeat(42) + "B=" })).toBeUndefined();
    expect(objectKeyOf({ type: SHA2_256_CHUNKED, value: "A".repeat(43) + "=" })).toBeDefined();
  });
});

describe("ObjectCache.getBytes", () => {
  it("fetches once, then serves from the cache without touching the source", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const bytes = randomBytes(1000);
    const { entry, read, reads } = sourceOf(bytes);
    expect(await cache.getBytes(entry, read)).toEqual(bytes);
    expect(await cache.getBytes(entry, read)).toEqual(bytes);
    expect(reads()).toBe(1);
    const path = cache.pathOf(entry.hash) ?? "";
    expect((await stat(path)).mode & 0o777).toBe(0o444);
    expect(await filesUnder(cache.dir)).toEqual([path]); // no temp file left behind
  });

  it("keeps nothing when the source sends other bytes, and says so", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const { entry } = sourceOf(Buffer.from("expected"));
    const wrong = sourceOf(Buffer.from("tampered")).read;
    const error = await rejectionOf(() => cache.getBytes(entry, wrong));
    expect(error.code).toBe("HASH_MISMATCH");
    expect(await filesUnder(cache.dir)).toEqual([]);
  });

  it("keeps nothing when the source fails midway", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const { entry } = sourceOf(randomBytes(100));
    const failing: ReadEntry = async function* () {
      yield Buffer.alloc(10);
      await Promise.resolve();
      throw new Error("connection reset");
    };
    await expect(cache.getBytes(entry, failing)).rejects.toThrow("connection reset");
    expect(await filesUnder(cache.dir)).toEqual([]);
  });

  it("detects a corrupt object of the right size, deletes it and fetches again", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const bytes = randomBytes(4096);
    const { entry, read, reads } = sourceOf(bytes);
    await cache.getBytes(entry, read);
    const path = cache.pathOf(entry.hash) ?? "";
    await chmod(path, 0o644);
    await writeFile(path, randomBytes(4096));
    expect(await cache.getBytes(entry, read)).toEqual(bytes);
    expect(reads()).toBe(2);
    expect(await readFile(path)).toEqual(bytes);
  });

  it("replaces a truncated object and a symbolic link in its place, never following the link", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const bytes = randomBytes(100);
    const { entry, read, reads } = sourceOf(bytes);
    const path = cache.pathOf(entry.hash) ?? "";
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes.subarray(0, 50));
    expect(await cache.getBytes(entry, read)).toEqual(bytes);
    const target = join(cache.dir, "elsewhere");
    await writeFile(target, bytes);
    await chmod(path, 0o644);
    await import("node:fs/promises").then((fs) => fs.unlink(path));
    await symlink(target, path);
    expect(await cache.lookup(entry)).toBeUndefined();
    expect(await lstat(path).catch(() => undefined)).toBeUndefined();
    expect(await readFile(target)).toEqual(bytes);
    expect(await cache.getBytes(entry, read)).toEqual(bytes);
    expect(reads()).toBe(2);
  });

  it("serves CRC64NVME entries straight from the source, uncached", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const { entry, read, reads } = sourceOf(Buffer.from("crc"), CRC64NVME);
    expect((await cache.getBytes(entry, read)).toString()).toBe("crc");
    expect((await cache.getBytes(entry, read)).toString()).toBe("crc");
    expect(reads()).toBe(2);
    expect(await filesUnder(cache.dir)).toEqual([]);
    expect((await rejectionOf(() => cache.fetch(entry, read))).code).toBe("CACHE_HASH_TYPE");
  });

  it("still serves verified bytes when the cache cannot be written", async () => {
    const root = await dirs.fresh("cache");
    await writeFile(join(root, "v1"), "a file where the layout needs a folder");
    const cache = new ObjectCache(root);
    const bytes = randomBytes(64);
    const { entry, read } = sourceOf(bytes);
    expect(await cache.getBytes(entry, read)).toEqual(bytes);
  });
});

describe("ObjectCache.fetch and lookup", () => {
  it("hashes a file in full when its mtime changed since this process verified it", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const bytes = randomBytes(2048);
    const { entry, read } = sourceOf(bytes);
    const { path } = await cache.fetch(entry, read);
    expect(await cache.lookup(entry)).toBe(path);
    await chmod(path, 0o644);
    await writeFile(path, randomBytes(2048)); // same size, new mtime: an edit through a hard link
    expect(await cache.lookup(entry)).toBeUndefined();
    expect(await lstat(path).catch(() => undefined)).toBeUndefined();
  });

  it("seals a cached object made writable by hand before serving it", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const { entry, read } = sourceOf(randomBytes(10));
    const { path } = await cache.fetch(entry, read);
    await chmod(path, 0o644);
    expect(await cache.lookup(entry)).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o444);
  });

  it("lets concurrent fetches in one process share one download", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const { entry, read, reads } = sourceOf(randomBytes(10_000));
    const hits = await Promise.all([cache.fetch(entry, read), cache.fetch(entry, read), cache.getBytes(entry, read)]);
    expect(reads()).toBe(1);
    expect(hits[0]).toEqual(hits[1]);
  });

  it("lets concurrent writers (two processes) race: one file wins, intact, no temp left", async () => {
    const dir = await dirs.fresh("cache");
    const bytes = randomBytes(200_000);
    const writers = Array.from({ length: 6 }, () => new ObjectCache(dir, { fsync: false }));
    const { entry, read } = sourceOf(bytes);
    const hits = await Promise.all(writers.map((w) => w.fetch(entry, read)));
    const path = hits[0]?.path ?? "";
    expect(new Set(hits.map((h) => h.path))).toEqual(new Set([path]));
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect(await filesUnder(dir)).toEqual([path]);
  });

  it("replaces a corrupt file that a racing writer finds in its way", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    const bytes = randomBytes(300);
    const { entry, read } = sourceOf(bytes);
    const path = cache.pathOf(entry.hash) ?? "";
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, randomBytes(300));
    // The stale file's stat says "verified" to nobody, so fetch hashes it, deletes it and fetches.
    const hit = await cache.fetch(entry, read);
    expect(hit.fetched).toBe(true);
    expect(await readFile(path)).toEqual(bytes);
  });
});

describe("ObjectCache maintenance", () => {
  const DAY = 86_400_000;

  async function filled(n: number): Promise<{ cache: ObjectCache; entries: EntryRef[]; clock: { now: number } }> {
    const clock = { now: Date.UTC(2030, 0, 1) };
    const cache = new ObjectCache(await dirs.fresh("cache"), { now: () => clock.now, fsync: false });
    const entries: EntryRef[] = [];
    for (let i = 0; i < n; i++) {
      const { entry, read } = sourceOf(Buffer.alloc(100 * (i + 1), i), i % 2 === 0 ? SHA2_256_CHUNKED : SHA256, `f${i}`);
      await cache.fetch(entry, read);
      entries.push(entry);
      clock.now += DAY;
    }
    return { cache, entries, clock };
  }

  it("lists objects with their hash as manifests write it, and sizes the cache", async () => {
    const { cache, entries } = await filled(3);
    const listed = await collect(cache.list());
    expect(listed.map((o) => `${o.type} ${o.hash} ${o.size}`).sort()).toEqual(entries.map((e) => `${e.hash.type} ${e.hash.value} ${e.size}`).sort());
    expect(listed.every((o) => o.links === 1)).toBe(true);
    expect(await cache.size()).toEqual({ objects: 3, bytes: 600 });
  });

  it("prunes the least recently used first, counting a later use", async () => {
    const { cache, entries, clock } = await filled(4); // sizes 100..400, used on days 0..3
    const first = entries[0] as EntryRef;
    clock.now += DAY;
    expect(await cache.lookup(first)).toBeDefined(); // day 4: the oldest becomes the newest
    const result = await cache.prune(750);
    expect(result).toEqual({ removed: { objects: 2, bytes: 500 }, kept: { objects: 2, bytes: 500 } });
    const left = (await collect(cache.list())).map((o) => o.hash).sort();
    expect(left).toEqual([first.hash.value, entries[3]?.hash.value].sort());
  });

  it("prune to 0 and clear empty the cache; stale temp files go, fresh ones stay", async () => {
    const { cache, entries, clock } = await filled(2);
    const shard = dirname(cache.pathOf(entries[0]?.hash ?? { type: "", value: "" }) ?? "");
    const stale = join(shard, ".x.quiltkit-0000000000000000.tmp");
    const fresh = join(shard, ".y.quiltkit-0000000000000001.tmp");
    await writeFile(stale, "half");
    await writeFile(fresh, "half");
    await utimes(stale, (clock.now - DAY) / 1000, (clock.now - DAY) / 1000);
    await utimes(fresh, clock.now / 1000, clock.now / 1000);
    expect(await cache.prune(0)).toEqual({ removed: { objects: 2, bytes: 300 }, kept: { objects: 0, bytes: 0 } });
    expect(await filesUnder(cache.dir)).toEqual([fresh]);
    const { read, entry } = sourceOf(Buffer.from("again"));
    await cache.fetch(entry, read);
    expect(await cache.clear()).toEqual({ objects: 1, bytes: 5 });
    expect(await cache.size()).toEqual({ objects: 0, bytes: 0 });
  });

  it("refuses a negative or fractional maximum size", async () => {
    const cache = new ObjectCache(await dirs.fresh("cache"));
    expect((await rejectionOf(() => cache.prune(-1))).code).toBe("CACHE_BAD_MAX_SIZE");
    expect((await rejectionOf(() => cache.prune(1.5))).code).toBe("CACHE_BAD_MAX_SIZE");
  });

  it("prunes through the external sort when there are more objects than its memory holds", async () => {
    const { cache } = await filled(5);
    const result = await cache.prune(1000, { tmpDir: await dirs.fresh("spill"), sortMemoryBytes: 1 });
    expect(result.kept.bytes).toBeLessThanOrEqual(1000);
    expect(result.removed.objects + result.kept.objects).toBe(5);
  });
});
