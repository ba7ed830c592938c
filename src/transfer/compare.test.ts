import { unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QuiltError } from "../errors/index.js";
import { SHA256 } from "../hash/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { compareDir, diffEntries, type DifferenceKind } from "./index.js";
import { packageOf, stream, useTempDirs, writeTree } from "./test-fixtures.js";

const dirs = useTempDirs("quiltkit-compare-", { pool: true });
const fresh = dirs.fresh;

describe("compareDir", () => {
  it("finds added, modified (size and same-size content), deleted and unchanged files", async () => {
    const dir = await fresh("dir");
    const entries = await packageOf(dir, {
      "a.txt": "same",
      "b/size.txt": "short",
      "b/content.txt": "abcd",
      "c/gone.txt": "bye",
      "c/kept.txt": "kept",
      "z.txt": "zzz",
    });
    await writeFile(join(dir, "b", "size.txt"), "much longer now");
    await writeFile(join(dir, "b", "content.txt"), "abce"); // same size, other bytes
    await unlink(join(dir, "c", "gone.txt"));
    await writeTree(dir, { "new.txt": "new", "b/sub/extra.bin": "x", ".quiltkit/state": "s" });
    const seen: [DifferenceKind, string][] = [];
    const r = await compareDir(stream(entries), dir, { pool: dirs.pool(), exclude: [".quiltkit"], tmpDir: dirs.base(), onDifference: (k, key) => seen.push([k, key]) });
    expect(r).toEqual({
      added: ["b/sub/extra.bin", "new.txt"],
      modified: ["b/content.txt", "b/size.txt"],
      deleted: ["c/gone.txt"],
      unchanged: 3,
      matches: false,
    });
    expect(seen).toHaveLength(5);

    const uncollected = await compareDir(stream(entries), dir, { pool: dirs.pool(), extraFilesOk: true, collect: false, tmpDir: dirs.base() });
    expect(uncollected).toMatchObject({ added: [], modified: [], deleted: [], unchanged: 3, matches: false });
  });

  it("matches an identical folder; extra files fail unless extraFilesOk", async () => {
    const dir = await fresh("dir");
    const entries = await packageOf(dir, { "x/1": "1", "x/2": "22", "x y/ü": "ü" }, SHA256);
    expect((await compareDir(stream(entries), dir, { pool: dirs.pool() })).matches).toBe(true);
    await writeFile(join(dir, "extra"), "e");
    expect((await compareDir(stream(entries), dir, { pool: dirs.pool() })).matches).toBe(false);
    const ok = await compareDir(stream(entries), dir, { pool: dirs.pool(), extraFilesOk: true });
    expect(ok).toMatchObject({ matches: true, added: ["extra"], unchanged: 3 });
  });

  it("streams many files through a small hashing window and a spilling sort", async () => {
    const dir = await fresh("dir");
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`d${i % 5}/f${i}`] = `file ${i}`;
    const entries = await packageOf(dir, files);
    await writeFile(join(dir, "d1", "f1"), "FILE 1");
    const r = await compareDir(stream(entries), dir, { pool: dirs.pool(), window: 4, sortMemoryBytes: 2048, tmpDir: dirs.base() });
    expect(r).toMatchObject({ added: [], modified: ["d1/f1"], deleted: [], unchanged: 299 });
  });

  it("refuses entries out of tree-walk order and unsafe keys", async () => {
    const dir = await fresh("dir");
    const entries = await packageOf(dir, { "a/b": "1", "a!": "2" });
    const reversed = [...entries].reverse();
    await expect(compareDir(stream(reversed), dir, { pool: dirs.pool() })).rejects.toMatchObject({ code: "ENTRIES_NOT_SORTED" });
    const hostile = [{ ...entries[0]!, logicalKey: "../etc/passwd" }];
    await expect(compareDir(stream(hostile), dir, { pool: dirs.pool() })).rejects.toMatchObject({ code: "INSTALL_UNSAFE_KEY" });
  });

  it("stops with INTERRUPTED on abort", async () => {
    const dir = await fresh("dir");
    const entries = await packageOf(dir, { a: "1", "b/c": "2" });
    const controller = new AbortController();
    controller.abort();
    await expect(compareDir(stream(entries), dir, { pool: dirs.pool(), signal: controller.signal })).rejects.toMatchObject({ code: "INTERRUPTED" });
    const late = new AbortController();
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`f${i}`] = String(i);
    const manyDir = await fresh("dir");
    const many = await packageOf(manyDir, files);
    const running = compareDir(stream(many), manyDir, {
      pool: dirs.pool(),
      window: 2,
      signal: late.signal,
      onProgress: (p) => {
        if (p.hashedFiles === 3) late.abort();
      },
    });
    await expect(running).rejects.toMatchObject({ code: "INTERRUPTED" });
  });

  it("reports a missing folder as DIR_NOT_FOUND", async () => {
    const e = await compareDir([], join(dirs.base(), "nope"), { pool: dirs.pool() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QuiltError);
    expect((e as QuiltError).code).toBe("DIR_NOT_FOUND");
  });
});

describe("diffEntries", () => {
  const entry = (logicalKey: string, over: Partial<ManifestEntry> = {}): ManifestEntry => ({
    logicalKey,
    physicalKey: `s3://bucket/${logicalKey}`,
    size: 3,
    hash: { type: "sha2-256-chunked", value: `h-${logicalKey}` },
    meta: new Map(),
    ...over,
  });

  it("finds added, modified (size, hash, meta) and deleted keys, ignoring physical keys", async () => {
    const meta = (v: bigint | number | string): ManifestEntry["meta"] => new Map([["user_meta", new Map([["n", v]])]]);
    const a = [
      entry("a/x"),
      entry("a/y", { meta: meta(1n) }),
      entry("b"),
      entry("c", { meta: meta(1n) }),
      entry("d"),
      entry("gone"),
      entry("s"),
    ];
    const b = [
      entry("a/x", { physicalKey: "s3://other/place" }),
      entry("a/y", { meta: meta(1.0) }), // Python: 1 == 1.0
      entry("b", { hash: { type: "sha2-256-chunked", value: "other" } }),
      entry("c", { meta: meta("1") }), // meta-only change
      entry("d", { size: 4 }),
      entry("new"),
      entry("s"),
    ];
    const fields = new Map<string, readonly string[] | undefined>();
    const r = await diffEntries(stream(a), stream(b), { onDifference: (_k, key, f) => fields.set(key, f) });
    expect(r).toEqual({ added: ["new"], modified: ["b", "c", "d"], deleted: ["gone"], unchanged: 3 });
    expect(fields.get("b")).toEqual(["hash"]);
    expect(fields.get("c")).toEqual(["meta"]);
    expect(fields.get("d")).toEqual(["size"]);
    expect(fields.get("gone")).toBeUndefined();
  });

  it("compares hash dicts as stored and refuses unsorted input", async () => {
    const raw = new Map<string, string>([
      ["value", "h-k"],
      ["type", "sha2-256-chunked"],
    ]);
    const same = await diffEntries([entry("k")], [entry("k", { hash: { type: "sha2-256-chunked", value: "h-k", raw } })]);
    expect(same.modified).toEqual([]);
    await expect(diffEntries([entry("b"), entry("a")], [])).rejects.toMatchObject({ code: "ENTRIES_NOT_SORTED" });
    await expect(diffEntries([], [entry("a"), entry("a")])).rejects.toMatchObject({ code: "ENTRIES_NOT_SORTED" });
  });
});
