import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareDir, forceMatch, planForceMatch, executeForceMatch, readLocalEntry, type ForceMatchChange } from "./index.js";
import { listTree, packageOf, stream, useTempDirs, writeTree } from "./test-fixtures.js";

const dirs = useTempDirs("quiltkit-force-", { pool: true });
const fresh = dirs.fresh;

const byKey = (a: ForceMatchChange, b: ForceMatchChange): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

describe("forceMatch", () => {
  async function setup(): Promise<{ src: string; dir: string; entries: Awaited<ReturnType<typeof packageOf>> }> {
    const src = await fresh("src");
    const entries = await packageOf(src, {
      "dataset/file2.txt": "two",
      "dataset/file3.txt": "new three",
      "dataset/file4.txt": "four",
      "keep.txt": "same",
      "x/y": "x is a folder now",
    });
    const dir = await fresh("dir");
    await writeTree(dir, {
      "dataset/file1.txt": "one",
      "dataset/file3.txt": "old three",
      "keep.txt": "same",
      "old/deep/er.txt": "emptied folders go",
      x: "x was a file",
      ".quiltkit/state.json": "{}",
    });
    return { src, dir, entries };
  }

  it("dry run lists the changes and touches nothing", async () => {
    const { dir, entries } = await setup();
    const before = await listTree(dir);
    const r = await forceMatch(stream(entries), dir, { dryRun: true, readEntry: readLocalEntry, pool: dirs.pool(), exclude: [".quiltkit"], tmpDir: dirs.base() });
    expect(r).toMatchObject({ dryRun: true, added: 3, replaced: 1, removed: 3, unchanged: 1, bytes: 0 });
    const pk = (key: string): string => entries.find((e) => e.logicalKey === key)!.physicalKey;
    expect([...r.changes].sort(byKey)).toEqual([
      { kind: "remove", key: "dataset/file1.txt" },
      { kind: "add", key: "dataset/file2.txt", physicalKey: pk("dataset/file2.txt"), size: 3 },
      { kind: "replace", key: "dataset/file3.txt", physicalKey: pk("dataset/file3.txt"), size: 9 },
      { kind: "add", key: "dataset/file4.txt", physicalKey: pk("dataset/file4.txt"), size: 4 },
      { kind: "remove", key: "old/deep/er.txt" },
      { kind: "remove", key: "x" },
      { kind: "add", key: "x/y", physicalKey: pk("x/y"), size: 17 },
    ]);
    expect(await listTree(dir)).toEqual(before);
  });

  it("applies the plan: fetches, replaces, removes, prunes emptied folders, spares exclusions", async () => {
    const { dir, entries } = await setup();
    const plan = await planForceMatch(stream(entries), dir, { pool: dirs.pool(), exclude: [".quiltkit"], tmpDir: dirs.base() });
    const applied: ForceMatchChange[] = [];
    const r = await executeForceMatch(plan, { readEntry: readLocalEntry, concurrency: 2, onChange: (c) => applied.push(c) });
    await plan.dispose();
    expect(r).toMatchObject({ added: 3, replaced: 1, removed: 3, foldersRemoved: 2, unchanged: 1, bytes: 3 + 9 + 4 + 17 });
    expect(applied).toHaveLength(7);
    expect(await listTree(dir)).toEqual([
      ".quiltkit/",
      ".quiltkit/state.json",
      "dataset/",
      "dataset/file2.txt",
      "dataset/file3.txt",
      "dataset/file4.txt",
      "keep.txt",
      "x/",
      "x/y",
    ]);
    expect(await readFile(join(dir, "dataset", "file3.txt"), "utf8")).toBe("new three");
    const check = await compareDir(stream(entries), dir, { pool: dirs.pool(), exclude: [".quiltkit"] });
    expect(check.matches).toBe(true);
    const again = await forceMatch(stream(entries), dir, { readEntry: readLocalEntry, pool: dirs.pool(), exclude: [".quiltkit"] });
    expect(again).toMatchObject({ added: 0, replaced: 0, removed: 0, unchanged: 5, changes: [] });
  });

  it("fills a missing folder, and refuses links and keys under exclusions", async () => {
    const src = await fresh("src");
    const entries = await packageOf(src, { "a/b.txt": "b", "c.txt": "c" });
    const target = join(await fresh("parent"), "new");
    const r = await forceMatch(entries, target, { readEntry: readLocalEntry, pool: dirs.pool() });
    expect(r).toMatchObject({ added: 2, removed: 0 });

    const outside = await fresh("outside");
    const dir = await fresh("dir");
    await symlink(outside, join(dir, "a"));
    await expect(forceMatch(entries, dir, { readEntry: readLocalEntry, pool: dirs.pool() })).rejects.toMatchObject({ code: "INSTALL_SYMLINK_IN_DEST" });
    expect(await listTree(outside)).toEqual([]);

    await expect(forceMatch(entries, await fresh("dir"), { readEntry: readLocalEntry, pool: dirs.pool(), exclude: ["a"] })).rejects.toMatchObject({
      code: "FORCE_MATCH_EXCLUDED_KEY",
    });
  });

  it("leaves nothing under a final name when a source changed", async () => {
    const src = await fresh("src");
    const entries = await packageOf(src, { "f.txt": "good" });
    await writeFile(join(src, "f.txt"), "evil");
    const dir = await fresh("dir");
    await expect(forceMatch(entries, dir, { readEntry: readLocalEntry, pool: dirs.pool() })).rejects.toMatchObject({ code: "HASH_MISMATCH" });
    expect(await listTree(dir)).toEqual([]);
  });
});
