/**
 * Installs out of the object cache. The clone (reflink) cases run where the temp folder's filesystem
 * clones: run `TMPDIR=<a Btrfs or XFS-with-reflink mount> npx vitest run src/cache/objects` to cover them.
 */
import { spawnSync } from "node:child_process";
import { constants, existsSync, statSync } from "node:fs";
import { chmod, chown, copyFile, mkdtemp, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rejectionOf } from "../../../test/helpers/expect.js";
import type { ManifestEntry } from "../../manifest/index.js";
import { install, readLocalEntry, type ReadEntry } from "../../transfer/index.js";
import { listTree, packageOf, useTempDirs, type Tree } from "../../transfer/test-fixtures.js";
import { ObjectCache } from "./object-cache.js";
import { CachePlacer, type LinkMode } from "./place.js";

const dirs = useTempDirs("quiltkit-place-");

const TREE: Tree = { "labels/a.json": '{"label": "cat"}', "labels/b.json": '{"label": "dog"}', "img/1.bin": "\u0001\u0002\u0003" };
const KEYS = Object.keys(TREE);

interface Setup {
  entries: ManifestEntry[];
  cache: ObjectCache;
  readEntry: ReadEntry;
  reads: () => number;
}

async function setup(cacheDir?: string): Promise<Setup> {
  const entries = await packageOf(await dirs.fresh("src"), TREE);
  let reads = 0;
  const readEntry: ReadEntry = (entry, signal) => {
    reads++;
    return readLocalEntry(entry, signal);
  };
  return { entries, cache: new ObjectCache(cacheDir ?? (await dirs.fresh("cache")), { fsync: false }), readEntry, reads: () => reads };
}

async function installWith(s: Setup, dest: string, mode: LinkMode): Promise<CachePlacer> {
  const placer = new CachePlacer(s.cache, { mode, readEntry: s.readEntry });
  await install(s.entries, dest, { readEntry: s.readEntry, placer });
  return placer;
}

const inode = (path: string): number => statSync(path).ino;
const objectOf = (s: Setup, key: string): string => s.cache.pathOf(s.entries.find((e) => e.logicalKey === key)?.hash ?? { type: "", value: "" }) ?? "";

/** Whether this machine's temp folder clones files (Btrfs, XFS with reflink, APFS). */
async function reflinkWorks(): Promise<boolean> {
  const dir = await dirs.fresh("probe");
  await writeFile(join(dir, "a"), "x");
  return copyFile(join(dir, "a"), join(dir, "b"), constants.COPYFILE_FICLONE_FORCE).then(
    () => true,
    () => false,
  );
}

describe("installing from the object cache", () => {
  it("hardlink: two installs share the cache's inodes, read-only, fetched once", async () => {
    const s = await setup();
    const [one, two] = [await dirs.fresh("one"), await dirs.fresh("two")];
    const first = await installWith(s, one, "hardlink");
    const second = await installWith(s, two, "hardlink");
    expect(first.stats).toEqual({ reflink: 0, hardlink: 3, copy: 0, fetched: 3 });
    expect(second.stats).toEqual({ reflink: 0, hardlink: 3, copy: 0, fetched: 0 });
    expect(s.reads()).toBe(3);
    for (const key of KEYS) {
      const object = objectOf(s, key);
      expect(inode(join(one, key))).toBe(inode(object));
      expect(inode(join(two, key))).toBe(inode(object));
      expect(statSync(join(two, key)).mode & 0o222).toBe(0); // no write bit: an editor must chmod first
      expect(await readFile(join(two, key), "utf8")).toBe(TREE[key]);
    }
  });

  it("hardlink: writing to an installed file fails for its owner (root is exempt, so the test runs as nobody)", async () => {
    const s = await setup();
    const dest = await dirs.fresh("ro");
    await installWith(s, dest, "hardlink");
    const label = join(dest, "labels/a.json");
    const write = `require("fs").writeFileSync(${JSON.stringify(label)}, "edited")`;
    let result: { status: number | null; stderr: string };
    if (process.getuid?.() === 0) {
      await chmod(dirs.base(), 0o755); // let nobody reach the file
      await chmod(dest, 0o755);
      await chmod(dirname(label), 0o755);
      await chown(label, 65534, 65534); // nobody owns the shared inode, still 0444
      result = spawnSync(process.execPath, ["-e", write], { uid: 65534, gid: 65534, encoding: "utf8" });
      // The control: nobody reaches and reads the file, so the refusal is the file's mode.
      const read = spawnSync(process.execPath, ["-e", `require("fs").readFileSync(${JSON.stringify(label)})`], { uid: 65534, gid: 65534 });
      expect(read.status).toBe(0);
    } else {
      result = spawnSync(process.execPath, ["-e", write], { encoding: "utf8" });
    }
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("EACCES");
    expect(await readFile(objectOf(s, "labels/a.json"), "utf8")).toBe(TREE["labels/a.json"]);
  });

  it("hardlink: an edit forced through a link is detected; the cache fetches the object again", async () => {
    const s = await setup();
    const one = await dirs.fresh("one");
    await installWith(s, one, "hardlink");
    const label = join(one, "labels/a.json");
    await chmod(label, 0o644);
    await writeFile(label, '{"label": "cow"}'); // same size, through the shared inode
    const two = await dirs.fresh("two");
    const again = await installWith(s, two, "hardlink");
    expect(again.stats.fetched).toBe(1);
    expect(await readFile(join(two, "labels/a.json"), "utf8")).toBe(TREE["labels/a.json"]);
    expect(await readFile(objectOf(s, "labels/a.json"), "utf8")).toBe(TREE["labels/a.json"]);
  });

  it("auto: writable files of their own; editing one never changes the cache", async () => {
    const s = await setup();
    const clones = await reflinkWorks();
    await installWith(s, await dirs.fresh("warm"), "hardlink"); // fills the cache
    const dest = await dirs.fresh("auto");
    const placer = await installWith(s, dest, "auto");
    expect(placer.stats).toEqual({ reflink: clones ? 3 : 0, hardlink: 0, copy: clones ? 0 : 3, fetched: 0 });
    expect(s.reads()).toBe(3); // the copies came from the cache, not the source
    const label = join(dest, "labels/a.json");
    expect(inode(label)).not.toBe(inode(objectOf(s, "labels/a.json")));
    expect(statSync(label).mode & 0o200).toBe(0o200);
    await writeFile(label, '{"label": "cow"}');
    expect(await readFile(objectOf(s, "labels/a.json"), "utf8")).toBe(TREE["labels/a.json"]);
    expect(await s.cache.lookup(s.entries[0] as ManifestEntry)).toBeDefined();
  });

  it("copies out of the cache count as a use of the object for prune", async () => {
    const s = await setup();
    await installWith(s, await dirs.fresh("warm"), "hardlink");
    const before = statSync(objectOf(s, "img/1.bin")).atimeMs;
    const later = new ObjectCache(s.cache.dir, { now: () => Date.now() + 3_600_000 });
    await installWith({ ...s, cache: later }, await dirs.fresh("copy"), "copy");
    expect(statSync(objectOf(s, "img/1.bin")).atimeMs).toBeGreaterThan(before + 3_000_000);
  });

  it("auto without clones does not fill the cache (it would only double the disk used)", async () => {
    if (await reflinkWorks()) return;
    const s = await setup();
    const placer = await installWith(s, await dirs.fresh("dest"), "auto");
    expect(placer.stats).toEqual({ reflink: 0, hardlink: 0, copy: 0, fetched: 0 });
    expect(await s.cache.size()).toEqual({ objects: 0, bytes: 0 });
  });

  it("auto replaces the read-only links of an earlier hardlink install with files of its own", async () => {
    const s = await setup();
    const dest = await dirs.fresh("dest");
    await installWith(s, dest, "hardlink");
    await installWith(s, dest, "auto");
    for (const key of KEYS) {
      expect(inode(join(dest, key))).not.toBe(inode(objectOf(s, key)));
      expect(statSync(join(dest, key)).mode & 0o200).toBe(0o200);
    }
  });

  it("copy: a corrupt cached object is not copied; it is removed and the source read instead", async () => {
    const s = await setup();
    await installWith(s, await dirs.fresh("warm"), "hardlink");
    const object = objectOf(s, "labels/b.json");
    await chmod(object, 0o644);
    await writeFile(object, '{"label": "cow"}');
    const dest = await dirs.fresh("copy");
    const placer = await installWith(s, dest, "copy");
    expect(placer.stats.copy).toBe(2);
    expect(await readFile(join(dest, "labels/b.json"), "utf8")).toBe(TREE["labels/b.json"]);
    expect(existsSync(object)).toBe(false);
  });

  it("reflink: clones of the cache's objects, writable, each its own inode", async () => {
    if (!(await reflinkWorks())) return;
    const s = await setup();
    const dest = await dirs.fresh("clones");
    const placer = await installWith(s, dest, "reflink");
    expect(placer.stats).toEqual({ reflink: 3, hardlink: 0, copy: 0, fetched: 3 });
    for (const key of KEYS) {
      expect(inode(join(dest, key))).not.toBe(inode(objectOf(s, key)));
      expect(statSync(join(dest, key)).mode & 0o200).toBe(0o200);
      await writeFile(join(dest, key), "edited in place");
      expect(await readFile(objectOf(s, key), "utf8")).toBe(TREE[key]);
    }
  });

  it("reflink: refused before any file is written where the filesystem cannot clone", async () => {
    if (await reflinkWorks()) return;
    const s = await setup();
    const dest = await dirs.fresh("dest");
    const error = await rejectionOf(() => installWith(s, dest, "reflink"));
    expect(error.code).toBe("CACHE_LINK_UNSUPPORTED");
    expect((await listTree(dest)).filter((p) => !p.endsWith("/"))).toEqual([]);
  });

  describe("with the cache on another filesystem (/dev/shm)", () => {
    const shm = "/dev/shm";
    const apart = existsSync(shm) && statSync(shm).dev !== statSync(tmpdir()).dev;
    let cacheDir = "";
    afterAll(async () => {
      if (cacheDir !== "") await rm(cacheDir, { recursive: true, force: true });
    });

    it.runIf(apart)("hardlink is refused; auto copies", async () => {
      cacheDir = await mkdtemp(join(shm, "quiltkit-cache-"));
      const s = await setup(cacheDir);
      const hard = await dirs.fresh("hard");
      const error = await rejectionOf(() => installWith(s, hard, "hardlink"));
      expect(error.code).toBe("CACHE_LINK_UNSUPPORTED");
      const dest = await dirs.fresh("auto");
      await installWith(s, dest, "auto");
      expect(await readFile(join(dest, "img/1.bin"), "utf8")).toBe(TREE["img/1.bin"]);
      await unlink(join(dest, "img/1.bin"));
      expect((await stat(dest)).isDirectory()).toBe(true);
    });
  });
});
