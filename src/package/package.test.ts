/** The seed's library workflows on a local registry: build, push, browse, explore, change, fix a folder. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HashPool } from "../hash/index.js";
import { Registry } from "../registry/registry.js";
import { LocalStorage } from "../storage/index.js";
import { Package, PackageBuilder } from "./index.js";

let root = "";
let registry: Registry;
let pool: HashPool;

async function makeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "quiltkit-pkg-test-"));
  registry = new Registry(new LocalStorage(join(root, "registry")));
  pool = new HashPool({ size: 1 });
  await makeFiles(join(root, "src"), {
    "README.md": "# Dataset\n\nHere is some info.\n",
    "cats/file1.txt": "meow",
    "cats/tabby/a.txt": "tabby",
    "dogs/b.txt": "woof",
  });
});

/** Packages browsed by a test: closed after it, which removes their temp folders. */
let browsed: Package[] = [];
async function browse(...args: Parameters<typeof Package.browse>): Promise<Package> {
  const pkg = await Package.browse(...args);
  browsed.push(pkg);
  return pkg;
}

afterEach(async () => {
  await Promise.all(browsed.map((pkg) => pkg.close()));
  browsed = [];
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

async function published(): Promise<Package> {
  const builder = new PackageBuilder({ name: "user/dataset", pool });
  await builder.setDir(".", join(root, "src"), { meta: { source: "lab" } });
  await builder.setMeta("cats/file1.txt", { label: "cat", score: 0.5 });
  await builder.push({ registry, name: "user/dataset", message: "v0", tags: ["v0"] });
  await builder.dispose();
  return browse("user/dataset:v0", { registry, pool });
}

describe("publishing", () => {
  it("guards toPackage as the seed does, then pushes data before the manifest", async () => {
    const builder = new PackageBuilder({ name: "user/dataset", pool });
    await builder.add(join(root, "src", "README.md"), "README.md");
    await builder.add(join(root, "src", "cats"), "cats/");
    expect(String(builder)).toContain('tophash: "pre-manifest"');
    await expect(builder.toPackage()).rejects.toThrow("Manifest contains pointers to local files");
    await expect(builder.pushManifest({ registry, name: "user/dataset" })).rejects.toMatchObject({ code: "LOCAL_FILES_IN_MANIFEST" });
    const data = await builder.pushData({ registry, name: "user/dataset" });
    expect(data).toMatchObject({ copied: 3, exists: 0 });
    await expect(builder.toPackage()).rejects.toThrow("The manifest has not been pushed");
    const pushed = await builder.pushManifest({ registry, name: "user/dataset", tags: ["v0"] });
    const pkg = await builder.toPackage();
    expect(pkg.topHash).toBe(pushed.topHash);
    expect((await pkg.entry("cats/file1.txt")).physicalKey).toContain("/registry/user/dataset/cats/file1.txt");
    const again = await builder.pushData({ registry, name: "user/dataset" });
    expect(again).toMatchObject({ copied: 0, exists: 0, referenced: 3 });
    await builder.dispose();
  });

  it("never overwrites data an earlier revision points to", async () => {
    const first = await published();
    await writeFile(join(root, "src", "dogs", "b.txt"), "WOOF!");
    const builder = await first.toBuilder({ pool });
    await builder.set("dogs/b.txt", join(root, "src", "dogs", "b.txt"));
    const second = await builder.push({ registry, name: "user/dataset", message: "v1" });
    expect(second.data.copied).toBe(1);
    expect((await first.getText("dogs/b.txt"))).toBe("woof");
    const v1 = await browse(`user/dataset@${second.topHash}`, { registry, pool });
    expect(await v1.getText("dogs/b.txt")).toBe("WOOF!");
    expect((await v1.entry("dogs/b.txt")).physicalKey).toContain("/.versions/");
    await builder.dispose();
  });

  it("refuses a push whose latest moved, unless forced", async () => {
    const base = await published();
    const a = await base.toBuilder({ pool });
    const b = await base.toBuilder({ pool });
    await a.setMeta({ by: "a" });
    await b.setMeta({ by: "b" });
    await a.pushManifest({ registry, name: "user/dataset" });
    await expect(b.pushManifest({ registry, name: "user/dataset" })).rejects.toMatchObject({ code: "PACKAGE_LATEST_MOVED" });
    await b.pushManifest({ registry, name: "user/dataset", force: true });
    await a.dispose();
    await b.dispose();
  });
});

describe("exploring", () => {
  it("reads the readme, lists folders, gets contents and metadata", async () => {
    const pkg = await published();
    expect(await pkg.readme()).toContain("# Dataset");
    const top = await pkg.ls();
    expect(top.files.map((f) => f.logicalKey)).toEqual(["README.md"]);
    expect(top.dirs).toEqual(["cats/", "dogs/"]);
    const cats = await pkg.ls("cats/");
    expect(cats.files.map((f) => f.logicalKey)).toEqual(["cats/file1.txt"]);
    expect(cats.dirs).toEqual(["cats/tabby/"]);
    expect(await pkg.getText("cats/file1.txt")).toBe("meow");
    expect(await pkg.getMetadata("cats/file1.txt")).toEqual({ label: "cat", score: 0.5 });
    expect(pkg.meta).toEqual({ source: "lab" });
    const keys: string[] = [];
    for await (const entry of pkg.entries({ prefix: "cats/" })) keys.push(entry.logicalKey);
    expect(keys).toEqual(["cats/file1.txt", "cats/tabby/a.txt"]);
    await expect(pkg.entry("nope")).rejects.toMatchObject({ code: "ENTRY_NOT_FOUND" });
  });

  it("refuses data that no longer matches its hash", async () => {
    const pkg = await published();
    await writeFile(join(root, "registry", "user", "dataset", "dogs", "b.txt"), "tampered");
    await expect(pkg.getBytes("dogs/b.txt")).rejects.toMatchObject({ code: "HASH_MISMATCH" });
  });
});

describe("adding data and fixing folders", () => {
  it("adds a package, moves folders with the seed's collision rule, and diffs versions", async () => {
    const main = await published();
    await makeFiles(join(root, "new"), { "new_data/1.jpg": "one", "new_data/file1.txt": "purr" });
    const newData = new PackageBuilder({ pool });
    await newData.setDir("new_data", join(root, "new", "new_data"));
    const pushedNew = await newData.push({ registry, name: "user/new-data", tags: ["2019-10-30"] });
    const newPkg = await browse("user/new-data:2019-10-30", { registry });
    expect(pushedNew.topHash).toBe(newPkg.topHash);

    const builder = await main.toBuilder({ pool });
    await builder.add(newPkg);
    await expect(builder.add(newPkg)).resolves.toBe(builder); // recorded; the collision shows at build
    await expect(builder.build()).rejects.toMatchObject({ code: "LOGICAL_KEY_COLLISION" });

    const clean = await main.toBuilder({ pool });
    await clean.add(newPkg);
    await expect(clean.moveDirContents("new_data/", "cats/")).rejects.toThrow(
      'Collision detected. moving "new_data/file1.txt" to "cats/file1.txt", but "cats/file1.txt" already exists.',
    );
    await clean.moveDirContents("new_data/", "labelled/");
    const result = await clean.pushManifest({ registry, name: "user/dataset", tags: ["master"] });
    const v1 = await browse(`user/dataset@${result.topHash}`, { registry });
    const diff = await main.diff(v1);
    expect(diff).toEqual({ added: ["labelled/1.jpg", "labelled/file1.txt"], modified: [], deleted: [] });
    await Promise.all([newData.dispose(), builder.dispose(), clean.dispose()]);
  });

  it("installs, verifies and forces a folder to match with the least work", async () => {
    const pkg = await published();
    const dest = join(root, "dest");
    const installed = await pkg.install(dest);
    expect(installed.files).toBe(4);
    expect(await pkg.verify(dest)).toMatchObject({ added: [], modified: [], deleted: [] });
    expect(JSON.parse(await readFile(join(dest, ".quiltkit", "installed.json"), "utf8"))).toMatchObject({ version: 1, topHash: pkg.topHash });
    await writeFile(join(dest, "extra.txt"), "x");
    await writeFile(join(dest, "dogs", "b.txt"), "bark");
    await rm(join(dest, "README.md"));
    expect(await pkg.diff(dest)).toEqual({ added: ["extra.txt"], modified: ["dogs/b.txt"], deleted: ["README.md"] });
    const plan = await pkg.forceMatch(dest, { dryRun: true });
    expect(plan.changes.map((c) => `${c.kind} ${c.key}`).sort()).toEqual(["add README.md", "remove extra.txt", "replace dogs/b.txt"]);
    await pkg.forceMatch(dest);
    expect(await pkg.verify(dest)).toMatchObject({ added: [], modified: [], deleted: [] });
    const again = await pkg.install(dest);
    expect(again).toMatchObject({ files: 0, skipped: 4 });
  });

  it("verifies a folder installed with `path` against that sub-tree only, keys relative to it", async () => {
    const pkg = await published();
    const dest = join(root, "cats-only");
    expect(await pkg.install(dest, { path: "cats/" })).toMatchObject({ files: 2 });
    // Without `path` the whole package is compared, so every key reads as deleted.
    expect((await pkg.verify(dest)).deleted).toEqual(["README.md", "cats/file1.txt", "cats/tabby/a.txt", "dogs/b.txt"]);
    expect(await pkg.verify(dest, { path: "cats" })).toMatchObject({ added: [], modified: [], deleted: [], matches: true });
    await writeFile(join(dest, "tabby", "a.txt"), "not a tabby");
    await rm(join(dest, "file1.txt"));
    await writeFile(join(dest, "extra.txt"), "x");
    expect(await pkg.verify(dest, { path: "cats/" })).toMatchObject({ added: ["extra.txt"], modified: ["tabby/a.txt"], deleted: ["file1.txt"], matches: false });
    const single = join(root, "one-file");
    await pkg.install(single, { path: "dogs/b.txt" });
    expect(await pkg.verify(single, { path: "dogs/b.txt" })).toMatchObject({ added: [], modified: [], deleted: [], matches: true });
  });
});
