import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHA2_256_CHUNKED, SHA256 } from "../hash/index.js";
import { STAT_CACHE_FILE, StatCacheRun, statCacheFile, type FileStat, type StatCacheOptions } from "./index.js";

const NOW = 1_700_000_000_000; // ms
const OLD = BigInt(NOW - 60_000) * 1_000_000n; // a minute before the runs: not racy
const h = (value: string) => ({ type: SHA2_256_CHUNKED, value }) as const;
const st = (over: Partial<FileStat> = {}): FileStat => ({ size: 10, mtimeNs: OLD, ctimeNs: OLD, ino: 1n, dev: 7n, ...over });

let base = "";
let n = 0;
beforeAll(async () => void (base = await mkdtemp(join(tmpdir(), "quiltkit-statcache-"))));
afterAll(() => rm(base, { recursive: true, force: true }));

/** A folder and the options of a cache file beside it, with a fixed clock. */
async function folder(): Promise<{ dir: string; file: string; opts: (o?: StatCacheOptions) => StatCacheOptions }> {
  const dir = join(base, `f${n++}`);
  await mkdir(dir);
  const file = join(base, `f${n - 1}.cache`);
  return { dir, file, opts: (o = {}) => ({ file, now: () => NOW, ...o }) };
}

/** One run: visit the files in order, settle each with `hashOf(key)` (or its hit), commit. */
async function run(dir: string, options: StatCacheOptions, files: Record<string, FileStat>, hashOf: (key: string) => string = (k) => `H(${k})`) {
  const cache = await StatCacheRun.open(dir, options);
  if (cache === undefined) throw new Error("no cache");
  const hits: string[] = [];
  for (const [key, stat] of Object.entries(files)) {
    const visit = await cache.visit(key, stat);
    if (visit.hit !== undefined) hits.push(key);
    visit.settle(visit.hit ?? h(hashOf(key)));
  }
  return { hits, stats: await cache.commit() };
}

describe("stat cache", () => {
  it("records on the first run and hits on the second", async () => {
    const { dir, opts } = await folder();
    const files = { "a.txt": st({ ino: 1n }), "b/c.txt": st({ ino: 2n }), "b/d.txt": st({ ino: 3n }) };
    const first = await run(dir, opts(), files);
    expect(first.hits).toEqual([]);
    expect(first.stats).toMatchObject({ hits: 0, misses: 3, recorded: 3, written: true });
    expect(first.stats.ignored).toBeUndefined();
    const second = await run(dir, opts(), files, () => "never");
    expect(second.hits).toEqual(["a.txt", "b/c.txt", "b/d.txt"]);
    expect(second.stats).toMatchObject({ hits: 3, misses: 0, recorded: 3 });
  });

  it("leaves the file alone when a run changes nothing, and rewrites it, old records first, when one does", async () => {
    const { dir, file, opts } = await folder();
    const files: Record<string, FileStat> = {};
    for (let i = 0; i < 50; i++) files[`k${String(i).padStart(3, "0")}`] = st({ ino: BigInt(i + 1) });
    await run(dir, opts(), files);
    const before = await readFile(file, "utf8");
    // A later clock: a rewrite would change the header's recordedNs.
    const later = () => NOW + 5_000;
    const same = await run(dir, opts({ now: later }), files, () => "never");
    expect(same.stats).toMatchObject({ hits: 50, misses: 0, recorded: 50, written: true });
    expect(await readFile(file, "utf8")).toBe(before);

    // One file changed in the middle: the records before it are copied, the rest follow.
    const changed = { ...files, k025: st({ ino: 999n }) };
    const third = await run(dir, opts({ now: later }), changed, (k) => `new ${k}`);
    expect(third.stats).toMatchObject({ hits: 49, misses: 1, recorded: 50, written: true });
    const text = await readFile(file, "utf8");
    expect(text).not.toBe(before);
    expect(text).toContain(`"recordedNs":"${BigInt(NOW + 5_000) * 1_000_000n}"`);
    const fourth = await run(dir, opts({ now: later }), changed, () => "never");
    expect(fourth.hits).toHaveLength(50);
    const cache = (await StatCacheRun.open(dir, opts({ now: later })))!;
    expect((await cache.visit("k025", st({ ino: 999n }))).hit).toEqual(h("new k025"));
    await cache.abandon();

    // A file no longer visited drops out: the file is rewritten without it.
    const fewer = Object.fromEntries(Object.entries(changed).filter(([k]) => k !== "k049"));
    const fifth = await run(dir, opts({ now: later }), fewer, () => "never");
    expect(fifth.stats).toMatchObject({ hits: 49, recorded: 49, written: true });
    expect(await readFile(file, "utf8")).not.toContain("k049");
  });

  it("hands back the recorded hash, type included", async () => {
    const { dir, opts } = await folder();
    const cache = (await StatCacheRun.open(dir, opts()))!;
    (await cache.visit("x", st())).settle({ type: SHA256, value: "abc" });
    await cache.commit();
    const again = (await StatCacheRun.open(dir, opts()))!;
    expect((await again.visit("x", st())).hit).toEqual({ type: SHA256, value: "abc" });
    await again.abandon();
  });

  it.each([
    ["size", { size: 11 }],
    ["mtime", { mtimeNs: OLD + 1n }],
    ["ctime", { ctimeNs: OLD + 1n }],
    ["inode", { ino: 99n }],
    ["device", { dev: 8n }],
  ])("misses when the %s changed", async (_what, change) => {
    const { dir, opts } = await folder();
    await run(dir, opts(), { a: st(), b: st({ ino: 2n }) });
    const second = await run(dir, opts(), { a: st(change), b: st({ ino: 2n }) });
    expect(second.hits).toEqual(["b"]);
    expect(second.stats).toMatchObject({ hits: 1, misses: 1, recorded: 2 });
  });

  it("re-hashes a file whose times were within the racy margin of the recording run", async () => {
    const { dir, file, opts } = await folder();
    const fresh = BigInt(NOW - 500) * 1_000_000n; // changed half a second before the run
    const first = await run(dir, opts(), { "a-old": st(), "b-fresh": st({ mtimeNs: fresh, ctimeNs: fresh, ino: 2n }) });
    // The fresh record would never be trusted, so it is not even written.
    expect(first.stats.recorded).toBe(1);
    expect(await readFile(file, "utf8")).not.toContain('"b-fresh"');
    const second = await run(dir, opts(), { "a-old": st(), "b-fresh": st({ mtimeNs: fresh, ctimeNs: fresh, ino: 2n }) });
    expect(second.hits).toEqual(["a-old"]);
    // Recorded now, by a run that started long after the change: trusted from then on.
    const third = await run(dir, opts({ now: () => NOW + 10_000 }), { "a-old": st(), "b-fresh": st({ mtimeNs: fresh, ctimeNs: fresh, ino: 2n }) });
    expect(third.hits).toEqual(["a-old"]);
    const fourth = await run(dir, opts({ now: () => NOW + 20_000 }), { "a-old": st(), "b-fresh": st({ mtimeNs: fresh, ctimeNs: fresh, ino: 2n }) });
    expect(fourth.hits).toEqual(["a-old", "b-fresh"]);
  });

  it("does not trust a record whose ctime is racy even when its mtime is old (mtime restored after a write)", async () => {
    const { dir, opts } = await folder();
    const recent = BigInt(NOW - 100) * 1_000_000n;
    // The record is written by a run whose clock says the ctime was fine, then read with a clock
    // just after it: the racy check uses the recording run's start.
    await run(dir, opts({ now: () => NOW + 60_000 }), { a: st({ ctimeNs: recent }) });
    const again = await run(dir, opts({ now: () => NOW + 120_000 }), { a: st({ ctimeNs: recent }) });
    expect(again.hits).toEqual(["a"]);
    const { dir: dir2, opts: opts2 } = await folder();
    const first = await run(dir2, opts2(), { a: st({ ctimeNs: recent }) });
    expect(first.stats.recorded).toBe(0);
  });

  it("ignores a record that is racy against its own header (written by a clock that was behind)", async () => {
    const { dir, file, opts } = await folder();
    await run(dir, opts(), { a: st() });
    // Rewrite nothing but the clock: the record stays, the header says it was made earlier.
    const text = await readFile(file, "utf8");
    expect(text).toContain(`"recordedNs":"${BigInt(NOW) * 1_000_000n}"`);
    const second = await run(dir, opts({ racyMs: 120_000 }), { a: st() });
    expect(second.hits).toEqual([]);
    expect(second.stats.racy).toBe(1);
  });

  it.each([
    ["a flipped byte", (t: string) => t.replace("H(b)", "H(c)"), /checksum/],
    ["a truncated file", (t: string) => t.slice(0, t.length - 20), /truncated/],
    ["a cut last line", (t: string) => t.slice(0, t.length - 1), /truncated/],
    ["an empty file", () => "", /header/],
    ["garbage", () => "\u0000\u0001garbage\n", /header is not JSON|not a quiltkit/],
    ["another version", (t: string) => t.replace('"version":1', '"version":2'), /version 2/],
    ["another format", (t: string) => t.replace("quiltkit-stat-cache", "something-else"), /not a quiltkit stat cache/],
  ])("ignores %s and rebuilds the cache", async (_what, damage, reason) => {
    const { dir, file, opts } = await folder();
    const files = { a: st(), b: st({ ino: 2n }) };
    await run(dir, opts(), files);
    await writeFile(file, damage(await readFile(file, "utf8")));
    const second = await run(dir, opts(), files);
    expect(second.hits).toEqual([]);
    expect(second.stats.ignored).toMatch(reason);
    expect(second.stats.written).toBe(true);
    const third = await run(dir, opts(), files);
    expect(third.hits).toEqual(["a", "b"]);
    expect(third.stats.ignored).toBeUndefined();
  });

  it("ignores a well-formed cache of another folder", async () => {
    const { dir, file, opts } = await folder();
    const { dir: other } = await folder();
    await run(dir, opts(), { a: st() });
    const second = await run(other, opts(), { a: st() });
    expect(second.hits).toEqual([]);
    expect(second.stats.ignored).toContain(await realpath(dir));
    expect(file).toBeTruthy();
  });

  it("writes the file in visit order whatever order visits settle in, and drops unsettled ones", async () => {
    const { dir, file, opts } = await folder();
    const cache = (await StatCacheRun.open(dir, opts()))!;
    const keys = ["a", "a/b", "a/c", "a-b", "z"];
    const visits = [];
    for (const [i, key] of keys.entries()) visits.push(await cache.visit(key, st({ ino: BigInt(i) })));
    visits[4]!.settle(h("z"));
    visits[2]!.settle(h("a/c"));
    visits[0]!.settle(h("a"));
    visits[3]!.settle(undefined);
    const stats = await cache.commit(); // a/b never settled
    expect(stats.recorded).toBe(3);
    const keysInFile = (await readFile(file, "utf8"))
      .split("\n")
      .filter((l) => l.startsWith("["))
      .map((l) => (JSON.parse(l) as string[])[0]);
    expect(keysInFile).toEqual(["a", "a/c", "z"]);
  });

  it("leaves out-of-order visits alone instead of corrupting the merge", async () => {
    const { dir, opts } = await folder();
    await run(dir, opts(), { a: st(), b: st({ ino: 2n }) });
    const cache = (await StatCacheRun.open(dir, opts()))!;
    const b = await cache.visit("b", st({ ino: 2n }));
    const a = await cache.visit("a", st());
    expect(b.hit).toBeDefined();
    expect(a.hit).toBeUndefined();
    b.settle(b.hit);
    a.settle(h("a"));
    expect((await cache.commit()).recorded).toBe(1);
  });

  it("does not touch the file when read-only, or when abandoned", async () => {
    const { dir, file, opts } = await folder();
    await run(dir, opts(), { a: st() });
    const before = await readFile(file, "utf8");
    const ro = await run(dir, opts({ readOnly: true }), { a: st(), b: st({ ino: 2n }) });
    expect(ro.stats.written).toBe(false);
    const cache = (await StatCacheRun.open(dir, opts()))!;
    (await cache.visit("c", st({ ino: 3n }))).settle(h("c"));
    await cache.abandon();
    expect(await readFile(file, "utf8")).toBe(before);
  });

  it("visits files by path, stat taken now, and skips paths outside the folder", async () => {
    const { dir, opts } = await folder();
    await mkdir(join(dir, "sub"));
    await writeFile(join(dir, "sub", "f.txt"), "hello");
    const cache = (await StatCacheRun.open(dir, opts({ now: () => Date.now() + 60_000 })))!;
    const visit = await cache.visitFile(join(dir, "sub", "f.txt"));
    expect(visit?.key).toBe("sub/f.txt");
    expect(visit?.stat.size).toBe(5);
    expect(await cache.visitFile(join(base, "elsewhere.txt"))).toBeUndefined();
    expect(await cache.visitFile(join(dir, "sub", "missing.txt"))).toBeUndefined();
    await cache.abandon();
  });
});

describe("stat cache: records of files the caller wrote (install)", () => {
  const fresh = BigInt(NOW - 500) * 1_000_000n; // written half a second before the run ends

  /** One run that wrote `a` itself (no file before) and hashed `b` (an old file). */
  async function writer(dir: string, options: StatCacheOptions) {
    const cache = (await StatCacheRun.open(dir, options))!;
    (await cache.visitTarget("a", () => undefined)).settle(h("A"), { stat: st({ mtimeNs: fresh, ctimeNs: fresh }), written: true });
    (await cache.visit("b", st({ ino: 2n }))).settle(h("B"));
    return cache.commit();
  }

  it("keeps them though their times are fresh, and readers trust them once their own clock is past the margin", async () => {
    const { dir, file, opts } = await folder();
    expect(await writer(dir, opts({ ownWrites: true }))).toMatchObject({ recorded: 2, written: true });
    expect((await readFile(file, "utf8")).split("\n", 1)[0]).toContain('"ownWrites":true');
    const files = { a: st({ mtimeNs: fresh, ctimeNs: fresh }), b: st({ ino: 2n }) };
    const soon = await run(dir, opts({ readOnly: true }), files);
    expect(soon.hits).toEqual(["b"]);
    expect(soon.stats).toMatchObject({ racy: 1 });
    const past = await run(dir, opts({ now: () => NOW + 2_000 }), files);
    expect(past.hits).toEqual(["a", "b"]);
  });

  it("stats an install's target only when it has a record", async () => {
    const { dir, opts } = await folder();
    await writer(dir, opts({ ownWrites: true }));
    const cache = (await StatCacheRun.open(dir, opts({ readOnly: true })))!;
    const asked: string[] = [];
    const statOf = (key: string, stat: FileStat | undefined) => () => (asked.push(key), stat);
    expect((await cache.visitTarget("a", statOf("a", undefined))).hit).toBeUndefined();
    expect((await cache.visitTarget("ab", statOf("ab", st()))).hit).toBeUndefined();
    expect((await cache.visitTarget("b", statOf("b", st({ ino: 2n })))).hit).toEqual(h("B"));
    expect(asked).toEqual(["a", "b"]);
    await cache.abandon();
  });

  it("drops them in a run not opened for its own writes", async () => {
    const { dir, opts } = await folder();
    expect(await writer(dir, opts())).toMatchObject({ recorded: 1 });
    const past = await run(dir, opts({ now: () => NOW + 5_000 }), { a: st({ mtimeNs: fresh, ctimeNs: fresh }), b: st({ ino: 2n }) });
    expect(past.hits).toEqual(["b"]);
  });

  it("judges a strict cache by its own recording time, not the reader's clock", async () => {
    const { dir, opts } = await folder();
    const files = { a: st({ mtimeNs: fresh, ctimeNs: fresh }), b: st({ ino: 2n }) };
    // Written without a margin, so `a` is recorded though racy by the default rule.
    expect((await run(dir, opts({ racyMs: 0 }), files)).stats).toMatchObject({ recorded: 2 });
    const past = await run(dir, opts({ now: () => NOW + 5_000 }), files);
    expect(past.hits).toEqual(["b"]);
    expect(past.stats).toMatchObject({ racy: 1 });
  });
});

describe("stat cache location", () => {
  it("is inside a folder that has .quiltkit/, under QUILT_HOME otherwise, and nowhere without a home", async () => {
    const { dir } = await folder();
    const real = await realpath(dir);
    expect(await statCacheFile(real, {})).toBeUndefined();
    const home = join(base, "home");
    const inHome = await statCacheFile(real, { home });
    expect(inHome).toMatch(new RegExp(`^${home}/cache/stat/[0-9a-f]{64}/${STAT_CACHE_FILE.replace(/\./g, "\\.")}$`));
    await mkdir(join(dir, ".quiltkit"));
    expect(await statCacheFile(real, { home })).toBe(join(real, ".quiltkit", "stat-cache", STAT_CACHE_FILE));
  });

  it("gives no run for a missing folder", async () => {
    expect(await StatCacheRun.open(join(base, "missing"), { home: base })).toBeUndefined();
  });
});
