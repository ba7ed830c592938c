import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HashPool } from "../hash/index.js";
import { Package, PackageBuilder } from "../package/index.js";
import { Registry } from "../registry/registry.js";
import { LocalStorage } from "../storage/index.js";
import { installedFolderStatus } from "./installed-status.js";

let root = "";
let registry: Registry;
let pool: HashPool;
let topHash = "";
let n = 0;
/** Runs as if a minute had passed since the files were written: their times are not racy. */
const later = { statCache: { now: () => Date.now() + 60_000 } };

const FILES: Record<string, string> = {
  "README.md": "# Dataset\n",
  "cats/a.txt": "meow",
  "cats/b.txt": "purr",
  "dogs/c.txt": "woof",
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiltkit-installed-status-"));
  registry = new Registry(new LocalStorage(join(root, "registry")));
  pool = new HashPool({ size: 1 });
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(join(root, "src", path, ".."), { recursive: true });
    await writeFile(join(root, "src", path), text);
  }
  const builder = new PackageBuilder({ name: "bucket/dataset", pool });
  await builder.setDir(".", join(root, "src"));
  topHash = (await builder.push({ registry, name: "bucket/dataset", message: "v0", tags: ["v0"] })).topHash;
  await builder.dispose();
});

afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

async function installed(path?: string): Promise<string> {
  const dest = join(root, `dest-${n++}`);
  const pkg = await Package.browse("bucket/dataset:v0", { registry, pool });
  await pkg.install(dest, path === undefined ? {} : { path });
  await pkg.close();
  return dest;
}

describe("installedFolderStatus", () => {
  it("says where an unchanged folder came from, and that it matches", async () => {
    const dest = await installed();
    const status = await installedFolderStatus(dest, { pool, ...later });
    expect(status).toMatchObject({
      dir: dest,
      registry: registry.url,
      name: "bucket/dataset",
      topHash,
      tag: "v0",
      path: "",
      added: [],
      modified: [],
      deleted: [],
      counts: { added: 0, modified: 0, deleted: 0, unchanged: 4 },
      truncated: false,
      matches: true,
    });
    // The install recorded each file's stat (judged with a clock past the racy margin): no file is read.
    expect(status.statCache).toMatchObject({ hits: 4, misses: 0, recorded: 4 });
    // Nor the second time: every hash comes from the stat cache in .quiltkit/.
    let hashedBytes = -1;
    const again = await installedFolderStatus(dest, { pool, ...later, onProgress: (p) => (hashedBytes = p.hashedBytes) });
    expect(again.matches).toBe(true);
    expect(again.statCache).toMatchObject({ hits: 4, misses: 0 });
    expect(hashedBytes).toBe(0);
    expect(again.statCache?.file).toBe(join(dest, ".quiltkit", "stat-cache", "stat-cache.v1.jsonl"));
    // Without the cache every file is hashed once and recorded again.
    await rm(join(dest, ".quiltkit", "stat-cache"), { recursive: true, force: true });
    const fresh = await installedFolderStatus(dest, { pool, ...later });
    expect(fresh.matches).toBe(true);
    expect(fresh.statCache).toMatchObject({ hits: 0, misses: 4, recorded: 4, written: true });
  });

  it("lists what was added, modified and deleted, by path in the folder", async () => {
    const dest = await installed();
    await installedFolderStatus(dest, { pool, ...later });
    await writeFile(join(dest, "cats", "a.txt"), "MEOW"); // same size, new content
    await writeFile(join(dest, "dogs", "new.txt"), "new");
    await unlink(join(dest, "cats", "b.txt"));
    const seen: string[] = [];
    let hashedFiles = -1;
    const status = await installedFolderStatus(dest, {
      pool,
      ...later,
      onDifference: (kind, path) => seen.push(`${kind} ${path}`),
      onProgress: (p) => (hashedFiles = p.hashedFiles),
    });
    expect(status).toMatchObject({
      added: ["dogs/new.txt"],
      modified: ["cats/a.txt"],
      deleted: ["cats/b.txt"],
      counts: { added: 1, modified: 1, deleted: 1, unchanged: 2 },
      matches: false,
    });
    expect(seen.sort()).toEqual(["added dogs/new.txt", "deleted cats/b.txt", "modified cats/a.txt"]);
    // Only the changed file was read again (the new one needs no hash: it is not in the package).
    expect(status.statCache).toMatchObject({ hits: 2 });
    expect(hashedFiles).toBe(1);
  });

  it("compares a --path install with that folder of the package only", async () => {
    const dest = await installed("cats/");
    expect(await readFile(join(dest, "a.txt"), "utf8")).toBe("meow");
    const status = await installedFolderStatus(dest, { pool, ...later });
    expect(status).toMatchObject({ path: "cats/", matches: true, counts: { unchanged: 2 } });
    await writeFile(join(dest, "b.txt"), "hiss!");
    await writeFile(join(dest, "c.txt"), "new");
    const changed = await installedFolderStatus(dest, { pool, ...later });
    expect(changed).toMatchObject({ added: ["c.txt"], modified: ["b.txt"], deleted: [], matches: false });
  });

  it("caps the lists at maxListed, first paths in tree-walk order, with exact counts", async () => {
    const dest = await installed();
    for (const name of ["e", "a", "d", "b", "c"]) await writeFile(join(dest, `extra-${name}.txt`), name);
    for (const key of Object.keys(FILES)) await unlink(join(dest, key));
    const status = await installedFolderStatus(dest, { pool, maxListed: 2 });
    expect(status.added).toEqual(["extra-a.txt", "extra-b.txt"]);
    expect(status.deleted).toEqual(["README.md", "cats/a.txt"]);
    expect(status.counts).toEqual({ added: 5, modified: 0, deleted: 4, unchanged: 0 });
    expect(status.truncated).toBe(true);
  });

  it("names latest when no other tag points at the revision, and no tag when none does", async () => {
    const dest = await installed();
    await registry.untag("bucket/dataset", "v0");
    try {
      expect((await installedFolderStatus(dest, { pool })).tag).toBe("latest");
      expect((await installedFolderStatus(dest, { pool, findTag: false })).tag).toBeUndefined();
    } finally {
      await registry.tag("bucket/dataset", "v0", topHash);
    }
  });

  it("refuses a folder that was not installed", async () => {
    const plain = join(root, "plain");
    await mkdir(plain, { recursive: true });
    await expect(installedFolderStatus(plain)).rejects.toMatchObject({ code: "NOT_INSTALLED", kind: "not-found" });
  });
});
