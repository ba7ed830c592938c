/** A reinstall with nothing changed: proven by the last install's receipt and the files' stat alone. */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
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
let browsed: Package[] = [];

const FILES: Record<string, string> = { "README.md": "# Data\n", "cats/a.txt": "meow", "cats/b.txt": "purr", "dogs/c.txt": "woof" };
/** A clock past the racy margin of files written just now. */
const later = (): number => Date.now() + 10_000;
const receiptOf = (dest: string): string => join(dest, ".quiltkit", "reinstall.json");

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "quiltkit-reinstall-test-"));
  registry = new Registry(new LocalStorage(join(root, "registry")));
  pool = new HashPool({ size: 1 });
});

afterEach(async () => {
  await Promise.all(browsed.map((pkg) => pkg.close()));
  browsed = [];
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

/** Pushes `files` as user/data with `tag`, and opens it afresh. */
async function pushed(files: Record<string, string>, tag: string): Promise<Package> {
  const src = join(root, `src-${tag}`);
  for (const [key, text] of Object.entries(files)) {
    await mkdir(join(src, key, ".."), { recursive: true });
    await writeFile(join(src, key), text);
  }
  const builder = new PackageBuilder({ name: "user/data", pool });
  await builder.setDir(".", src);
  await builder.push({ registry, name: "user/data", message: tag, tags: [tag], force: true });
  await builder.dispose();
  return open(tag);
}

async function open(tag: string): Promise<Package> {
  const pkg = await Package.browse(`user/data:${tag}`, { registry, pool });
  browsed.push(pkg);
  return pkg;
}

describe("reinstall with nothing changed", () => {
  it("reads neither the manifest nor any file", async () => {
    const v1 = await pushed(FILES, "v1");
    const dest = join(root, "dest");
    const first = await v1.install(dest);
    expect(first).toMatchObject({ files: 4 });
    expect(first.unchanged).toBeUndefined();
    expect(JSON.parse(await readFile(receiptOf(dest), "utf8"))).toMatchObject({ version: 1, topHash: v1.topHash, path: "", statCache: { records: 4 } });

    // Opened afresh, then its manifest removed from the registry: only the shortcut can succeed.
    const reopened = await open("v1");
    await rm(join(root, "registry", ".quilt", "packages", v1.topHash));
    const progress: number[] = [];
    const again = await reopened.install(dest, { statCache: { now: later }, onProgress: (p) => progress.push(p.skipped) });
    expect(again).toMatchObject({ unchanged: true, files: 0, bytes: 0, skipped: 4, rehashed: 0, statCache: { hits: 4, misses: 0 } });
    expect(progress).toEqual([4]);
    expect(JSON.parse(await readFile(join(dest, ".quiltkit", "installed.json"), "utf8"))).toMatchObject({ topHash: v1.topHash });
  });

  it("falls back to the full install when a file changed or went, which fixes it and writes a new receipt", async () => {
    const v1 = await pushed(FILES, "v1");
    const dest = join(root, "dest");
    await v1.install(dest);
    await writeFile(join(dest, "cats", "a.txt"), "MEOW"); // same size
    const fixed = await v1.install(dest, { statCache: { now: later } });
    expect(fixed.unchanged).toBeUndefined();
    expect(fixed).toMatchObject({ files: 1, skipped: 3 });
    expect(await readFile(join(dest, "cats", "a.txt"), "utf8")).toBe("meow");

    await rm(join(dest, "dogs", "c.txt"));
    // The file the fix wrote is racy for a while: a clock past it.
    const soon = (): number => Date.now() + 20_000;
    const restored = await v1.install(dest, { statCache: { now: soon } });
    expect(restored.unchanged).toBeUndefined();
    expect(restored).toMatchObject({ files: 1, skipped: 3 });
    expect(await readFile(join(dest, "dogs", "c.txt"), "utf8")).toBe("woof");
    const past = (): number => Date.now() + 30_000;
    expect(await v1.install(dest, { statCache: { now: past } })).toMatchObject({ unchanged: true, skipped: 4 });
  });

  it("holds only for the same top hash and path", async () => {
    const v1 = await pushed(FILES, "v1");
    const v2 = await pushed({ ...FILES, "cats/a.txt": "hiss" }, "v2");
    const dest = join(root, "dest");
    await v1.install(dest);
    const upgraded = await v2.install(dest, { statCache: { now: later } });
    expect(upgraded.unchanged).toBeUndefined();
    expect(upgraded).toMatchObject({ files: 1 });
    expect(await readFile(join(dest, "cats", "a.txt"), "utf8")).toBe("hiss");
    expect(JSON.parse(await readFile(receiptOf(dest), "utf8"))).toMatchObject({ topHash: v2.topHash });

    const cats = join(root, "cats");
    await v2.install(cats, { path: "cats/" });
    expect(JSON.parse(await readFile(receiptOf(cats), "utf8"))).toMatchObject({ path: "cats" });
    expect(await v2.install(cats, { path: "cats", statCache: { now: later } })).toMatchObject({ unchanged: true, skipped: 2 });
    const dogs = await v2.install(cats, { path: "dogs", statCache: { now: later } });
    expect(dogs.unchanged).toBeUndefined();
  });

  it("is not taken when the stat cache was rewritten, is off, or a filter chose the entries", async () => {
    const v1 = await pushed(FILES, "v1");
    const dest = join(root, "dest");
    await v1.install(dest);
    // verify rewrites the cache (a header of its own): the receipt no longer names it.
    expect(await v1.verify(dest, { statCache: { now: later } })).toMatchObject({ matches: true });
    const after = await v1.install(dest, { statCache: { now: later } });
    expect(after.unchanged).toBeUndefined();
    expect(after).toMatchObject({ files: 0, skipped: 4 });

    expect((await v1.install(dest, { statCache: false })).unchanged).toBeUndefined();
    await expect(stat(receiptOf(dest))).rejects.toMatchObject({ code: "ENOENT" });
    const filtered = await v1.install(dest, { filter: (e) => e.logicalKey.startsWith("cats/"), statCache: { now: later } });
    expect(filtered.unchanged).toBeUndefined();
    await expect(stat(receiptOf(dest))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("an install that fails leaves no receipt behind", async () => {
    const v1 = await pushed(FILES, "v1");
    const v2 = await pushed({ ...FILES, "dogs/c.txt": "bark" }, "v2");
    const dest = join(root, "dest");
    await v1.install(dest);
    await expect(v2.install(dest, { signal: AbortSignal.abort() })).rejects.toThrow();
    await expect(stat(receiptOf(dest))).rejects.toMatchObject({ code: "ENOENT" });
    const again = await v1.install(dest, { statCache: { now: later } });
    expect(again.unchanged).toBeUndefined();
    expect(again).toMatchObject({ files: 0, skipped: 4 });
  });

  it("a destination that is a file is refused as before, not with an error about the receipt", async () => {
    const v1 = await pushed(FILES, "v1");
    const file = join(root, "a-file");
    await writeFile(file, "not a folder");
    await expect(v1.install(file)).rejects.toMatchObject({ code: "INSTALL_PATH_CONFLICT" });
  });
});
