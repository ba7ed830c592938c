/**
 * The object cache against a real S3 registry (versitygw): getBytes fetches an object once and then
 * reads it from the cache (counted: the bucket's reads of data keys), across new Package and
 * ObjectCache instances too; a damaged cached file is fetched again and never served; installs link
 * from the cache, so two of them read S3 once and share their files' inodes.
 */
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { ObjectCache } from "../src/cache/index.js";
import { Package, PackageBuilder, openRegistry } from "../src/package/index.js";
import { Remotes } from "../src/storage/index.js";
import { clientOptionsOf } from "./helpers/s3-server.js";
import { writeTree } from "./helpers/tree.js";

const s3 = inject("s3");
const remotes = new Remotes(clientOptionsOf(s3));
const name = `cache-${randomBytes(4).toString("hex")}/data`;
const registry = `s3://${s3.bucket}`;
const BIG = randomBytes(20 * 1024 * 1024 + 17); // three ranged GETs of 8 MiB
const FILES = { "README.md": "# cached\n", "labels/a.json": '{"label": "cat"}', "labels/b.json": '{"label": "dog"}' };
let work = "";
let dataReads: () => number = () => 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "quiltkit-cache-s3-"));
  writeTree(join(work, "data"), FILES);
  await writeFile(join(work, "data", "big.bin"), BIG);
  const builder = new PackageBuilder({ name });
  await builder.setDir("", join(work, "data"));
  try {
    await builder.push({ registry: await openRegistry(registry, { remotes }), name, message: "cached" });
  } finally {
    await builder.dispose();
  }
  // Reads of the package's data (not of its manifest or pointers under .quilt/).
  const storage = await remotes.s3(s3.bucket);
  const readAll = vi.spyOn(storage, "readAll");
  dataReads = () => readAll.mock.calls.filter(([key]) => key.startsWith(`${name}/`)).length;
}, 120_000);

afterAll(async () => {
  remotes.close();
  await rm(work, { recursive: true, force: true });
});

async function open(cacheDir: string): Promise<Package> {
  return Package.browse(name, { registry, remotes, cache: new ObjectCache(cacheDir) });
}

/** How many data reads `run` makes. */
async function readsOf(run: () => Promise<unknown>): Promise<number> {
  const before = dataReads();
  await run();
  return dataReads() - before;
}

describe("getBytes through the object cache", () => {
  it("fetches once, then serves from the cache, also to new Package and ObjectCache instances", async () => {
    const cacheDir = join(work, "cache-get");
    const pkg = await open(cacheDir);
    expect(await readsOf(() => pkg.getBytes("labels/a.json"))).toBe(1);
    expect(await readsOf(async () => expect((await pkg.getText("labels/a.json")) === FILES["labels/a.json"]).toBe(true))).toBe(0);
    expect(await readsOf(async () => expect((await pkg.getBytes("big.bin")).equals(BIG)).toBe(true))).toBe(3);
    const again = await open(cacheDir);
    expect(await readsOf(async () => expect((await again.getBytes("big.bin")).equals(BIG)).toBe(true))).toBe(0);
    expect(await readsOf(() => again.getBytes("labels/a.json"))).toBe(0);
    await Promise.all([pkg.close(), again.close()]);
  });

  it("never serves a damaged cached file: it is fetched again", async () => {
    const cacheDir = join(work, "cache-corrupt");
    const pkg = await open(cacheDir);
    await pkg.getBytes("labels/b.json");
    const object = new ObjectCache(cacheDir).pathOf((await pkg.entry("labels/b.json")).hash) ?? "";
    await chmod(object, 0o644);
    await writeFile(object, '{"label": "cow"}'); // same size
    expect(await readsOf(async () => expect(await pkg.getText("labels/b.json")).toBe(FILES["labels/b.json"]))).toBe(1);
    expect(await readFile(object, "utf8")).toBe(FILES["labels/b.json"]);
    await pkg.close();
  });

  it("pkg.cache(folder) fetches ahead; clearCache drops the package's objects", async () => {
    const cacheDir = join(work, "cache-ahead");
    const pkg = await open(cacheDir);
    expect(await pkg.cache("labels/")).toEqual({ entries: 2, fetched: 2, bytes: 32, skipped: 0 });
    expect(await readsOf(() => pkg.getBytes("labels/a.json"))).toBe(0);
    expect(await pkg.cache("labels/")).toMatchObject({ entries: 2, fetched: 0 });
    expect(await pkg.clearCache({ prefix: "labels/" })).toEqual({ objects: 2, bytes: 32 });
    expect(await new ObjectCache(cacheDir).size()).toEqual({ objects: 0, bytes: 0 });
    await pkg.close();
  });
});

describe("installs from S3 through the object cache", () => {
  it("hardlink: two installs read S3 once and share the cache's inodes", async () => {
    const cacheDir = join(work, "cache-install");
    const pkg = await open(cacheDir);
    const [one, two] = [join(work, "one"), join(work, "two")];
    let first;
    expect(await readsOf(async () => (first = await pkg.install(one, { link: "hardlink" })))).toBe(6); // 3 small + 3 parts
    expect(first).toMatchObject({ files: 4, cache: { hardlink: 4, fetched: 4 } });
    expect(await readsOf(() => pkg.install(two, { link: "hardlink" }))).toBe(0);
    const object = new ObjectCache(cacheDir).pathOf((await pkg.entry("big.bin")).hash) ?? "";
    expect(statSync(join(two, "big.bin")).ino).toBe(statSync(object).ino);
    expect(statSync(join(one, "big.bin")).ino).toBe(statSync(object).ino);
    expect(statSync(join(two, "big.bin")).mode & 0o222).toBe(0);
    expect((await readFile(join(two, "big.bin"))).equals(BIG)).toBe(true);
    await pkg.close();
  });

  it("auto: copies what the cache holds without reading S3; the copies are the install's own", async () => {
    const cacheDir = join(work, "cache-install"); // filled by the test above
    const pkg = await open(cacheDir);
    const dest = join(work, "auto");
    expect(await readsOf(() => pkg.install(dest))).toBe(0);
    await writeFile(join(dest, "labels/a.json"), '{"label": "cow"}');
    expect(await readsOf(async () => expect(await pkg.getText("labels/a.json")).toBe(FILES["labels/a.json"]))).toBe(0);
    await pkg.close();
  });
});
