import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect } from "../../test/helpers/expect.js";
import { BrowseIndex, IndexBuilder, checkIdentity, isIndexProblem, readEntryRange, type IndexHeader, type RangeRead } from "./index.js";
import { foldersOf, lsTruth, manifestOf, randomKeys } from "./test-fixtures.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "qkbi-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TOP = "ab".repeat(32);
let built = 0;

/** Build an index of `manifest`, fed in chunks of `chunk` bytes. */
async function build(manifest: Buffer, options: { chunk?: number; blockBytes?: number; spoolBytes?: number; sortBytes?: number } = {}) {
  const builder = new IndexBuilder({ tmpDir: dir, ...options });
  const step = options.chunk ?? 1000;
  for (let at = 0; at < manifest.length; at += step) builder.write(manifest.subarray(at, at + step));
  const path = join(dir, `index-${built++}.qkbi`);
  try {
    const header = await builder.finish({ topHash: TOP, topHashChecked: true }, path);
    return { header, path, failure: builder.failure };
  } finally {
    await builder.dispose();
  }
}

async function open(path: string, options: { maxWholeBytes?: number; pageBytes?: number } = {}): Promise<BrowseIndex> {
  const file = await readFile(path);
  return BrowseIndex.open((start, end) => Promise.resolve(file.subarray(start, end)), options);
}

function rangeOf(manifest: Buffer): RangeRead {
  return (start, end) => Readable.from([manifest.subarray(start, end)]);
}

/** `ls` through the index: subfolders and own files, merged by position as the package does. */
async function ls(index: BrowseIndex, manifest: Buffer, folder: string): Promise<string[]> {
  const d = await index.lookup(folder);
  if (d === undefined) return [];
  const prefix = folder === "" ? "" : `${folder}/`;
  const items: { at: number; name: string }[] = [];
  for await (const child of index.children(d)) items.push({ at: child.start, name: `${prefix}${child.name}/` });
  for (const run of await index.runs(d)) {
    const range = { start: run.start, end: run.end, firstLine: 2 + run.firstOrdinal, under: prefix, direct: true, count: run.count };
    for await (const entry of readEntryRange(rangeOf(manifest), range)) items.push({ at: run.start, name: entry.logicalKey });
  }
  // Stable: lines of one run keep their order.
  return items.sort((a, b) => a.at - b.at).map((i) => i.name);
}

describe("QKBI v1", () => {
  it("lists every folder of random trees exactly, whole and paged, with spills", async () => {
    for (const seed of [1, 2, 3]) {
      const keys = randomKeys(seed, 400);
      const manifest = await manifestOf(keys);
      const { header, path } = await build(manifest, { chunk: 97, blockBytes: 512, spoolBytes: 256, sortBytes: 1024 });
      expect(header?.entries).toBe(keys.length);
      expect(header?.manifest.bytes).toBe(manifest.length);
      for (const index of [await open(path), await open(path, { maxWholeBytes: 100, pageBytes: 128 })]) {
        for (const folder of foldersOf(keys)) expect(await ls(index, manifest, folder), folder).toEqual(lsTruth(keys, folder).items);
        expect(await index.lookup("no/such/folder")).toBeUndefined();
      }
    }
  });

  it("counts and subtree ranges of a folder hold exactly its keys", async () => {
    const keys = randomKeys(7, 300);
    const manifest = await manifestOf(keys);
    const { path } = await build(manifest, { blockBytes: 300 });
    const index = await open(path);
    for (const folder of foldersOf(keys)) {
      const d = await index.lookup(folder);
      const prefix = folder === "" ? "" : `${folder}/`;
      const expected = keys.filter((k) => k.startsWith(prefix));
      const range = { start: d!.start, end: d!.end, firstLine: 2 + d!.firstOrdinal, under: prefix, count: d!.subtreeFiles };
      const got = await collect(readEntryRange(rangeOf(manifest), range));
      expect(got.map((e) => e.logicalKey)).toEqual(expected);
      expect(d!.subtreeBytes).toBe(got.reduce((sum, e) => sum + e.size, 0));
    }
  });

  it("finds every key's block by its samples", async () => {
    const keys = randomKeys(11, 500);
    const manifest = await manifestOf(keys);
    const { header, path } = await build(manifest, { blockBytes: 700 });
    expect(header!.samples).toBeGreaterThan(10);
    const index = await open(path);
    for (const key of keys) {
      const block = await index.block(key);
      const range = { start: block!.start, end: block!.end, firstLine: 2 + block!.ordinal, under: "", firstKey: block!.firstKey, ...(block!.nextKey === undefined ? {} : { before: block!.nextKey }) };
      const lines = await collect(readEntryRange(rangeOf(manifest), range));
      expect(lines.map((e) => e.logicalKey)).toContain(key);
    }
    expect(await index.block("")).toBeUndefined();
  });

  it("skips directory metadata lines and records where entries start", async () => {
    const keys = ["a/1", "a/2", "b"];
    const manifest = await manifestOf(keys, [{ logicalKey: "a/", meta: new Map([["k", "v"]]) }]);
    const { header } = await build(manifest);
    const firstLine = manifest.indexOf("\n") + 1;
    expect(header!.headerEnd).toBe(firstLine);
    expect(header!.entriesStart).toBe(manifest.indexOf("\n", firstLine) + 1);
    expect(header!.entriesLine).toBe(3);
  });

  it("gives up on manifests it cannot describe", async () => {
    const sorted = await manifestOf(["a", "b"]);
    const text = sorted.toString("utf8").split("\n");
    const unsorted = Buffer.from([text[0], text[2], text[1], ""].join("\n"));
    expect((await build(unsorted)).failure).toMatch(/tree-walk order/);
    expect((await build(sorted.subarray(0, sorted.length - 1))).failure).toMatch(/newline/);
    const garbage = Buffer.concat([sorted, Buffer.from("not json\n")]);
    expect((await build(garbage)).failure).toMatch(/not a manifest line/);
    for (const key of ["a//x", "/etc/x", "../x", "a/./b"]) expect((await build(await manifestOf([key]))).failure).toMatch(/unsafe/);
  });

  it("an empty package has a root and nothing else", async () => {
    const manifest = await manifestOf([]);
    const { header, path } = await build(manifest);
    expect(header).toMatchObject({ entries: 0, dirs: 1, samples: 0, runs: 0 });
    const index = await open(path);
    expect(await ls(index, manifest, "")).toEqual([]);
    expect(await index.block("a")).toBeUndefined();
  });

  it("refuses a damaged file and a stale identity", async () => {
    const manifest = await manifestOf(randomKeys(5, 50));
    const { header, path } = await build(manifest);
    const file = await readFile(path);
    file.writeUInt8(file.readUInt8(file.length - 1) ^ 1, file.length - 1);
    await writeFile(path, file);
    await expect(open(path)).rejects.toMatchObject({ code: "INDEX_CORRUPT" });
    const h = header as IndexHeader;
    expect(() => checkIdentity(h, TOP, { bytes: manifest.length })).not.toThrow();
    const cases = [{ bytes: manifest.length + 1 }, { bytes: manifest.length, etag: '"x"' }, { bytes: manifest.length, mtimeMs: 5 }];
    for (const stored of cases) expect(isIndexProblem(errorOf(() => checkIdentity(h, TOP, stored)))).toBe(true);
    expect(isIndexProblem(errorOf(() => checkIdentity(h, "cd".repeat(32), { bytes: manifest.length })))).toBe(true);
  });

  it("a range that the manifest does not match is stale", async () => {
    const keys = randomKeys(9, 100);
    const manifest = await manifestOf(keys);
    const { path } = await build(manifest);
    const index = await open(path);
    const d = (await index.lookup(foldersOf(keys)[1] as string))!;
    // The same index over a manifest shifted by one byte: a re-push with another physical key length.
    const shifted = Buffer.concat([Buffer.from(" "), manifest]);
    const range = { start: d.start, end: d.end, firstLine: 2, under: "", count: d.subtreeFiles };
    await expect(collect(readEntryRange(rangeOf(shifted), range))).rejects.toMatchObject({ code: "INDEX_STALE" });
    await expect(collect(readEntryRange(rangeOf(manifest), { ...range, under: "zzz/" }))).rejects.toMatchObject({ code: "INDEX_STALE" });
    await expect(collect(readEntryRange(rangeOf(manifest), { ...range, count: 1 + d.subtreeFiles }))).rejects.toMatchObject({ code: "INDEX_STALE" });
  });
});

function errorOf(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
