import { randomBytes } from "node:crypto";
import { readFile, stat, truncate, unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { StatCacheOptions } from "../cache/index.js";
import { hashFile, type HashPool } from "../hash/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { compareDir, install, readLocalEntry, type EntryRef, type ReadEntry } from "./index.js";
import { packageOf, stream, useTempDirs, type Tree } from "./test-fixtures.js";

const dirs = useTempDirs("quiltkit-install-statcache-");

/** Runs after the install by more than the racy margin, without waiting for it. */
const later = (): number => Date.now() + 5_000;

/** A stand-in hash pool that counts the installed files read to prove them in place. */
function countingPool(): { pool: HashPool; reads: string[] } {
  const reads: string[] = [];
  const pool = {
    hashFile: (path: string, options: Parameters<HashPool["hashFile"]>[1]) => {
      reads.push(path);
      return hashFile(path, options);
    },
  } as unknown as HashPool;
  return { pool, reads };
}

/** A package of `n` files in two folders, and an empty destination with its stat cache file. */
async function setup(n = 12): Promise<{ entries: ManifestEntry[]; files: Tree; dest: string; cacheFile: string }> {
  const files: Tree = {};
  for (let i = 0; i < n; i++) files[`d${i % 2}/f${String(i).padStart(2, "0")}.bin`] = randomBytes(1000 + i);
  const entries = await packageOf(await dirs.fresh("src"), files);
  const dest = await dirs.fresh("dest");
  return { entries, files, dest, cacheFile: join(dest, ".quiltkit", "stat-cache", "stat-cache.v1.jsonl") };
}

async function run(entries: ManifestEntry[], dest: string, statCache: StatCacheOptions, more: { pool?: HashPool; readEntry?: ReadEntry } = {}) {
  return install(stream(entries), dest, { readEntry: more.readEntry ?? readLocalEntry, tmpDir: dirs.base(), statCache, ...(more.pool ? { pool: more.pool } : {}) });
}

async function sameFiles(dest: string, files: Tree): Promise<void> {
  for (const [rel, content] of Object.entries(files)) expect((await readFile(join(dest, rel))).equals(content as Buffer)).toBe(true);
}

/** Lets the timestamp clock tick past the install's renames: a change within one tick is the case no stat can see. */
const nextTick = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

describe("install with the destination's stat cache", () => {
  it("records what it writes, so a reinstall past the racy margin reads no file", async () => {
    const { entries, dest, cacheFile } = await setup();
    const first = await run(entries, dest, { file: cacheFile });
    expect(first).toMatchObject({ files: 12, skipped: 0, statCache: { recorded: 12, written: true } });

    const { pool, reads } = countingPool();
    const fetched: string[] = [];
    const readEntry = (entry: EntryRef, signal: AbortSignal) => (fetched.push(entry.logicalKey), readLocalEntry(entry, signal));
    const again = await run(entries, dest, { file: cacheFile, now: later }, { pool, readEntry });
    expect(again).toMatchObject({ files: 0, bytes: 0, skipped: 12, rehashed: 0, statCache: { hits: 12, misses: 0, recorded: 12 } });
    expect(reads).toEqual([]);
    expect(fetched).toEqual([]);
  });

  it("does not trust its own fresh writes within the racy margin: they are hashed", async () => {
    const { entries, dest, cacheFile } = await setup();
    await run(entries, dest, { file: cacheFile });
    const { pool, reads } = countingPool();
    const again = await run(entries, dest, { file: cacheFile }, { pool });
    expect(again).toMatchObject({ files: 0, skipped: 12, rehashed: 12, statCache: { hits: 0, racy: 12 } });
    expect(reads).toHaveLength(12);
  });

  it("repairs a file changed to the same size with its mtime restored, a truncated file and a deleted one", async () => {
    const { entries, files, dest, cacheFile } = await setup();
    await run(entries, dest, { file: cacheFile });
    await nextTick();
    const edited = join(dest, "d0", "f00.bin");
    const before = await stat(edited);
    await writeFile(edited, randomBytes(before.size));
    await utimes(edited, before.atime, before.mtime); // ctime still moves
    await truncate(join(dest, "d1", "f01.bin"), 10);
    await unlink(join(dest, "d0", "f02.bin"));

    const { pool, reads } = countingPool();
    const again = await run(entries, dest, { file: cacheFile, now: later }, { pool });
    expect(again).toMatchObject({ files: 3, skipped: 9, rehashed: 0, statCache: { hits: 9 } });
    // Only the edited file had the right size, so only it was read before being replaced.
    expect(reads).toEqual([edited]);
    await sameFiles(dest, files);
    const third = await run(entries, dest, { file: cacheFile, now: later });
    expect(third).toMatchObject({ files: 0, skipped: 12, rehashed: 0, statCache: { hits: 12 } });
  });

  it("writes a file whose record says it holds another version, without reading it", async () => {
    const { entries, dest, cacheFile } = await setup(2);
    await run(entries, dest, { file: cacheFile });
    const newer = await packageOf(await dirs.fresh("src2"), { "d0/f00.bin": randomBytes(1000), "d1/f01.bin": randomBytes(1001) });
    const { pool, reads } = countingPool();
    const r = await run(newer, dest, { file: cacheFile, now: later }, { pool });
    expect(r).toMatchObject({ files: 2, skipped: 0, statCache: { hits: 2 } });
    expect(reads).toEqual([]);
  });

  it("ignores a corrupt stat cache: every file is hashed, none rewritten, and the cache made anew", async () => {
    const { entries, dest, cacheFile } = await setup();
    await run(entries, dest, { file: cacheFile });
    const text = await readFile(cacheFile, "utf8");
    await writeFile(cacheFile, text.replace('"d0/f00.bin",1000', '"d0/f00.bin",1001'));
    const { pool, reads } = countingPool();
    const again = await run(entries, dest, { file: cacheFile, now: later }, { pool });
    expect(again).toMatchObject({ files: 0, skipped: 12, rehashed: 12, statCache: { hits: 0, ignored: "its checksum does not match", written: true } });
    expect(reads).toHaveLength(12);
  });

  it("records what landed before an interruption, so the rerun reads none of it", async () => {
    const { entries, files, dest, cacheFile } = await setup();
    const controller = new AbortController();
    let opened = 0;
    const stopping = (entry: EntryRef, signal: AbortSignal) => {
      if (++opened === 6) controller.abort();
      return readLocalEntry(entry, signal);
    };
    const stopped = install(stream(entries), dest, { readEntry: stopping, signal: controller.signal, concurrency: 1, tmpDir: dirs.base(), statCache: { file: cacheFile } });
    await expect(stopped).rejects.toMatchObject({ code: "INTERRUPTED" });
    const { pool, reads } = countingPool();
    const rerun = await run(entries, dest, { file: cacheFile, now: later }, { pool });
    expect(rerun.skipped).toBe(5);
    expect(rerun).toMatchObject({ files: 7, rehashed: 0, statCache: { hits: 5 } });
    expect(reads).toEqual([]);
    await sameFiles(dest, files);
  });

  it("hashes files found without a record once, and records them for the next run", async () => {
    const { entries, dest, cacheFile } = await setup();
    await install(stream(entries), dest, { readEntry: readLocalEntry, tmpDir: dirs.base() }); // no stat cache
    const second = await run(entries, dest, { file: cacheFile, now: later });
    expect(second).toMatchObject({ files: 0, skipped: 12, rehashed: 12, statCache: { hits: 0, recorded: 12 } });
    const third = await run(entries, dest, { file: cacheFile, now: later });
    expect(third).toMatchObject({ files: 0, skipped: 12, rehashed: 0, statCache: { hits: 12 } });
  });

  it("leaves a cache that verify (compareDir) uses: no file read", async () => {
    const { entries, dest, cacheFile } = await setup();
    await run(entries, dest, { file: cacheFile });
    const r = await compareDir(entries, dest, { statCache: { file: cacheFile, now: later }, exclude: [".quiltkit"] });
    expect(r).toMatchObject({ matches: true, unchanged: 12, statCache: { hits: 12, misses: 0 } });
  });
});
