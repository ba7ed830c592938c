import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QuiltError } from "../errors/index.js";
import { CRC64NVME, SHA256 } from "../hash/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { executeInstall, install, planInstall, readLocalEntry, type EntryRef, type InstallProgress } from "./index.js";
import { entryFor, listTree, packageOf, stream, useTempDirs, writeTree, type Tree } from "./test-fixtures.js";

const dirs = useTempDirs("quiltkit-install-");
const fresh = dirs.fresh;

async function caught(p: Promise<unknown>): Promise<QuiltError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof QuiltError) return error;
    throw error;
  }
  throw new Error("expected a QuiltError");
}

const read = readLocalEntry;
const tempFiles = (paths: string[]): string[] => paths.filter((p) => p.includes(".quiltkit-"));

const TREE: Tree = {
  "README.md": "# hello\n",
  "data/a.csv": "x,y\n1,2\n",
  "data/sub/deep file.txt": "deep with space",
  "données/été ☃.txt": "unicode name",
  "data/empty": "",
};

describe("install", () => {
  it("installs a small tree with unicode and space names and a 20 MB file, then skips it all on rerun", async () => {
    const src = await fresh("src");
    const big = randomBytes(20 * 1024 * 1024);
    const entries = await packageOf(src, { ...TREE, "big/blob.bin": big });
    const dest = join(await fresh("dest"), "pkg");
    const progress: InstallProgress[] = [];
    const r = await install(stream(entries), dest, { readEntry: read, tmpDir: dirs.base(), onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ files: 6, skipped: 0, bytes: entries.reduce((s, e) => s + e.size, 0) });
    expect(r.seconds).toBeGreaterThanOrEqual(0);
    for (const [key, content] of Object.entries(TREE)) {
      expect(await readFile(join(dest, ...key.split("/")), "utf8")).toBe(content);
    }
    expect((await readFile(join(dest, "big", "blob.bin"))).equals(big)).toBe(true);
    expect(tempFiles(await listTree(dest))).toEqual([]);
    const last = progress.at(-1);
    expect(last).toMatchObject({ files: 6, totalFiles: 6, totalBytes: r.bytes, bytes: r.bytes });

    const again = await install(stream(entries), dest, { readEntry: read, tmpDir: dirs.base() });
    expect(again).toMatchObject({ files: 0, bytes: 0, skipped: 6 });
  });

  it("installs hash types SHA256 and CRC64NVME, and from a re-openable source", async () => {
    const src = await fresh("src");
    const a = await packageOf(join(src, "a"), { "x.txt": "sha", "y/z.txt": "zz" }, SHA256);
    const b = await packageOf(join(src, "b"), { "c.txt": "crc" }, CRC64NVME);
    const entries = [...a, ...b.map((e) => ({ ...e, logicalKey: "w/" + e.logicalKey }))];
    const dest = await fresh("dest");
    const plan = await planInstall(() => stream(entries), dest, { tmpDir: dirs.base() });
    expect(plan).toMatchObject({ totalFiles: 3, presentFiles: 0 });
    const r = await executeInstall(plan, { readEntry: read, concurrency: 1 });
    await plan.dispose();
    expect(r.files).toBe(3);
    expect(await readFile(join(dest, "w", "c.txt"), "utf8")).toBe("crc");
  });

  it("installs a sub-tree with `path`, and a single file under its basename", async () => {
    const src = await fresh("src");
    const entries = await packageOf(src, TREE);
    const dest = await fresh("dest");
    const r = await install(stream(entries), dest, { readEntry: read, path: "data", tmpDir: dirs.base() });
    expect(r.files).toBe(3);
    expect(await listTree(dest)).toEqual(["a.csv", "empty", "sub/", "sub/deep file.txt"]);

    const one = await fresh("dest");
    await install(stream(entries), one, { readEntry: read, path: "data/sub/deep file.txt", tmpDir: dirs.base() });
    expect(await listTree(one)).toEqual(["deep file.txt"]);

    const none = await caught(install(stream(entries), await fresh("dest"), { readEntry: read, path: "dat", tmpDir: dirs.base() }));
    expect(none.code).toBe("INSTALL_PATH_NOT_FOUND");
    const bad = await caught(install(stream(entries), await fresh("dest"), { readEntry: read, path: "data/", tmpDir: dirs.base() }));
    expect(bad.code).toBe("TRANSFER_BAD_OPTION");
  });

  it.each(["../x", "a/../../x", "/abs", "a//b", "./a", "a/./b", "a/"])("refuses the traversal key %j before writing anything", async (key) => {
    const src = await fresh("src");
    const entries = await packageOf(src, { "ok.txt": "fine" });
    const hostile = { ...entries[0]!, logicalKey: key };
    const sandbox = await fresh("sandbox");
    const dest = join(sandbox, "level1", "dest");
    const e = await caught(install(stream([...entries, hostile]), dest, { readEntry: read, tmpDir: dirs.base() }));
    expect(e.code).toBe("INSTALL_UNSAFE_KEY");
    expect(e.kind).toBe("integrity");
    expect(e.message).toContain(JSON.stringify(key).slice(1, -1));
    expect(await listTree(sandbox)).toEqual([]);
  });

  it("refuses a symlink inside dest, at planning and at execution, writing nothing outside", async () => {
    const src = await fresh("src");
    const entries = await packageOf(src, { "sub/x.txt": "x", "top.txt": "t" });
    const outside = await fresh("outside");
    const dest = await fresh("dest");
    await symlink(outside, join(dest, "sub"));
    const e = await caught(install(stream(entries), dest, { readEntry: read, tmpDir: dirs.base() }));
    expect(e.code).toBe("INSTALL_SYMLINK_IN_DEST");
    expect(e.message).toContain(join(dest, "sub"));
    expect(await listTree(outside)).toEqual([]);
    expect(await listTree(dest)).toEqual(["sub"]);

    // A link appearing between planning and writing is caught by the writer's own lstat.
    const dest2 = await fresh("dest");
    const plan = await planInstall(stream(entries), dest2, { tmpDir: dirs.base() });
    await symlink(outside, join(dest2, "sub"));
    const e2 = await caught(executeInstall(plan, { readEntry: read, concurrency: 1 }));
    await plan.dispose();
    expect(e2.code).toBe("INSTALL_SYMLINK_IN_DEST");
    expect(await listTree(outside)).toEqual([]);

    // A link at a file's final name is refused too.
    const dest3 = await fresh("dest");
    await writeFile(join(outside, "target"), "secret");
    await symlink(join(outside, "target"), join(dest3, "top.txt"));
    const e3 = await caught(install(stream(entries), dest3, { readEntry: read, tmpDir: dirs.base() }));
    expect(e3.code).toBe("INSTALL_SYMLINK_IN_DEST");
    expect(await readFile(join(outside, "target"), "utf8")).toBe("secret");
  });

  it("detects NFC/NFD and case collisions before writing, naming both keys", async () => {
    const src = await fresh("src");
    const [one] = await packageOf(src, { f: "content" });
    const as = (...keys: string[]): ManifestEntry[] => keys.map((logicalKey) => ({ ...one!, logicalKey }));
    const cases: [string[], string][] = [
      [["caf\u00e9.txt", "cafe\u0301.txt"], "INSTALL_KEY_COLLISION"],
      [["dir/README.md", "dir/readme.md"], "INSTALL_KEY_COLLISION"],
      [["Stra\u00dfe", "STRASSE"], "INSTALL_KEY_COLLISION"],
      [["a/X", "b", "A/x"], "INSTALL_KEY_COLLISION"],
      [["same", "same"], "INSTALL_DUPLICATE_KEY"],
    ];
    for (const [keys, code] of cases) {
      const dest = await fresh("dest");
      const e = await caught(install(stream(as(...keys)), dest, { readEntry: read, tmpDir: dirs.base(), sortMemoryBytes: 1024 }));
      expect(e.code, keys.join(" ")).toBe(code);
      if (code === "INSTALL_KEY_COLLISION") {
        const colliding = keys.filter((k) => k !== "b");
        for (const k of colliding) expect(e.message).toContain(k);
      }
      expect(await listTree(dest)).toEqual([]);
    }
  });

  it("refuses a file key that is also a folder of another key", async () => {
    const src = await fresh("src");
    const [one] = await packageOf(src, { f: "content" });
    const as = (...keys: string[]): ManifestEntry[] => keys.map((logicalKey) => ({ ...one!, logicalKey }));
    const dest = await fresh("dest");
    const e = await caught(install(stream(as("a/b", "a/b/c", "a/b!")), dest, { readEntry: read, tmpDir: dirs.base() }));
    expect(e.code).toBe("INSTALL_FILE_FOLDER_CONFLICT");
    expect(e.message).toContain("'a/b'");
    expect(e.message).toContain("'a/b/c'");
    const e2 = await caught(install(stream(as("Data", "data/x")), dest, { readEntry: read, tmpDir: dirs.base() }));
    expect(e2.code).toBe("INSTALL_KEY_COLLISION");
    expect(await listTree(dest)).toEqual([]);

    // A destination that is a file, or a file where the package needs a folder: conflicts found at planning.
    await writeFile(join(dest, "file"), "f");
    const e4 = await caught(install(stream(as("a/b")), join(dest, "file"), { readEntry: read, tmpDir: dirs.base() }));
    expect(e4.code).toBe("INSTALL_PATH_CONFLICT");
    await writeFile(join(dest, "a"), "in the way");
    const e3 = await caught(install(stream(as("a/b")), dest, { readEntry: read, tmpDir: dirs.base() }));
    expect(e3.code).toBe("INSTALL_PATH_CONFLICT");
  });

  it("refuses a changed source with HASH_MISMATCH, leaving nothing at the final name", async () => {
    const src = await fresh("src");
    const entries = await packageOf(src, { "a.txt": "aaaa", "b.txt": "bbbb", "c.txt": "cccc" });
    await writeFile(join(src, "b.txt"), "BBBB"); // same size, other bytes
    const dest = await fresh("dest");
    const e = await caught(install(stream(entries), dest, { readEntry: read, tmpDir: dirs.base(), concurrency: 1 }));
    expect(e.code).toBe("HASH_MISMATCH");
    const b = entries[1]!;
    expect(e.message).toContain("'b.txt'");
    expect(e.message).toContain(b.physicalKey);
    expect(e.message).toContain(b.hash.value);
    expect(existsSync(join(dest, "b.txt"))).toBe(false);
    expect(tempFiles(await listTree(dest))).toEqual([]);

    await writeFile(join(src, "b.txt"), "bbbbb"); // longer than the entry says
    const e2 = await caught(install(stream(entries), dest, { readEntry: read, tmpDir: dirs.base() }));
    expect(e2.code).toBe("HASH_MISMATCH");
    expect(e2.message).toContain("Expected 4 bytes");
    expect(existsSync(join(dest, "b.txt"))).toBe(false);
    expect(tempFiles(await listTree(dest))).toEqual([]);
  });

  it("refuses before writing when free space is short, or a hash type is unknown", async () => {
    const src = await fresh("src");
    const [one] = await packageOf(src, { f: "content" });
    const dest = await fresh("dest");
    const huge = { ...one!, logicalKey: "huge", size: 2 ** 52 };
    const e = await caught(install(stream([one!, huge]), dest, { readEntry: read, tmpDir: dirs.base() }));
    expect(e.code).toBe("INSTALL_NO_SPACE");
    expect(e.hint).toMatch(/Free at least/);
    const odd = { ...one!, hash: { type: "MD5", value: "x" } };
    const e2 = await caught(install(stream([odd]), dest, { readEntry: read, tmpDir: dirs.base() }));
    expect(e2.code).toBe("UNSUPPORTED_HASH_TYPE");
    expect(await listTree(dest)).toEqual([]);
  });

  it("stops cleanly on abort, and a rerun finishes the job with skipped counts", async () => {
    const src = await fresh("src");
    const files: Tree = {};
    for (let i = 0; i < 24; i++) files[`d${i % 3}/f${String(i).padStart(2, "0")}.bin`] = randomBytes(256 * 1024);
    const entries = await packageOf(src, files);
    const dest = await fresh("dest");
    const controller = new AbortController();
    let started = 0;
    const slow = async function* (entry: EntryRef, signal: AbortSignal): AsyncGenerator<Uint8Array> {
      if (++started === 7) setTimeout(() => controller.abort(), 5);
      for await (const chunk of readLocalEntry(entry, signal)) {
        // Hand the bytes over in small pieces, slowly, so the abort lands mid-file.
        for (let off = 0; off < chunk.length; off += 32 * 1024) {
          await new Promise((r) => setTimeout(r, 1));
          yield chunk.subarray(off, off + 32 * 1024);
        }
      }
    };
    const e = await caught(install(stream(entries), dest, { readEntry: slow, signal: controller.signal, concurrency: 3, tmpDir: dirs.base() }));
    expect(e.code).toBe("INTERRUPTED");
    const after = await listTree(dest);
    expect(tempFiles(after)).toEqual([]);
    const done = after.filter((p) => !p.endsWith("/"));
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(24);
    for (const rel of done) expect((await readFile(join(dest, rel))).equals(files[rel] as Buffer)).toBe(true);

    const r = await install(stream(entries), dest, { readEntry: read, tmpDir: dirs.base() });
    expect(r.skipped).toBe(done.length);
    expect(r.files).toBe(24 - done.length);
    for (const [rel, content] of Object.entries(files)) expect((await readFile(join(dest, rel))).equals(content as Buffer)).toBe(true);
  });

  it("rewrites a file in place whose size matches but bytes differ", async () => {
    const src = await fresh("src");
    const entries = await packageOf(src, { "a.txt": "right" });
    const dest = await fresh("dest");
    await writeTree(dest, { "a.txt": "wrong" });
    const plan = await planInstall(stream(entries), dest, { tmpDir: dirs.base() });
    expect(plan.presentFiles).toBe(1);
    const r = await executeInstall(plan, { readEntry: read });
    await plan.dispose();
    expect(r).toMatchObject({ files: 1, skipped: 0 });
    expect(await readFile(join(dest, "a.txt"), "utf8")).toBe("right");
  });

  it("keeps memory flat: the plan spills entries, collision sort included", async () => {
    const src = await fresh("src");
    await writeFile(join(src, "x"), "x");
    const e = await entryFor("x", join(src, "x"));
    const many = Array.from({ length: 250 }, (_, i) => ({ ...e, logicalKey: `k/${i % 7}/${i}` }));
    const dest = await fresh("dest");
    const plan = await planInstall(stream(many), dest, { tmpDir: dirs.base(), sortMemoryBytes: 4096 });
    expect(plan.totalFiles).toBe(250);
    const r = await executeInstall(plan, { readEntry: read, concurrency: 16, fsync: false });
    await plan.dispose();
    expect(r.files).toBe(250);
  });
});
