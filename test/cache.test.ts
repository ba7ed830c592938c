/**
 * The object cache with a local registry, through the Package API: entries that are local files
 * are read in place (a cached copy would only double them), while installs still link from the
 * cache when asked, so two hard-linked installs take the space once.
 */
import { statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ObjectCache } from "../src/cache/index.js";
import { Package, PackageBuilder, openRegistry } from "../src/package/index.js";
import { rejectionOf } from "./helpers/expect.js";
import { writeTree } from "./helpers/tree.js";

const FILES = { "README.md": "# local\n", "train/1.txt": "one", "train/2.txt": "two" };
let work = "";
let registry = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "quiltkit-cache-local-"));
  registry = join(work, "registry");
  writeTree(join(work, "data"), FILES);
  const builder = new PackageBuilder({ name: "u/local" });
  await builder.setDir("", join(work, "data"));
  try {
    await builder.push({ registry: await openRegistry(registry), name: "u/local", message: "local" });
  } finally {
    await builder.dispose();
  }
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function open(cache: ObjectCache | undefined): Promise<Package> {
  return Package.browse("u/local", { registry, ...(cache === undefined ? {} : { cache }) });
}

describe("the object cache with a local registry", () => {
  it("reads local entries in place: getBytes and pkg.cache leave the cache empty", async () => {
    const cache = new ObjectCache(join(work, "cache-get"));
    const pkg = await open(cache);
    expect(await pkg.getText("train/1.txt")).toBe("one");
    expect(await pkg.cache("train/")).toEqual({ entries: 0, fetched: 0, bytes: 0, skipped: 2 });
    expect(await cache.size()).toEqual({ objects: 0, bytes: 0 });
    await pkg.close();
  });

  it("hardlink installs fill the cache once and share its inodes; a rerun skips every file", async () => {
    const cache = new ObjectCache(join(work, "cache-install"));
    const pkg = await open(cache);
    const [one, two] = [join(work, "one"), join(work, "two")];
    expect(await pkg.install(one, { link: "hardlink" })).toMatchObject({ files: 3, cache: { hardlink: 3, fetched: 3 } });
    expect(await pkg.install(two, { link: "hardlink" })).toMatchObject({ files: 3, cache: { hardlink: 3, fetched: 0 } });
    expect(await pkg.install(two, { link: "hardlink" })).toMatchObject({ files: 0, skipped: 3 });
    for (const key of Object.keys(FILES)) {
      expect(statSync(join(one, key)).ino).toBe(statSync(join(two, key)).ino);
      expect(await readFile(join(two, key), "utf8")).toBe(FILES[key as keyof typeof FILES]);
    }
    expect(await cache.size()).toEqual({ objects: 3, bytes: 14 });
    expect(await pkg.clearCache()).toEqual({ objects: 0, bytes: 0 }); // local entries are not the cache's to drop
    await pkg.close();
  });

  it("installs without the cache when told (cache: false), and refuses links without one", async () => {
    const pkg = await open(undefined);
    const result = await pkg.install(join(work, "plain"));
    expect(result).not.toHaveProperty("cache");
    expect((await rejectionOf(() => pkg.install(join(work, "linked"), { link: "hardlink" }))).code).toBe("CACHE_NONE");
    expect((await rejectionOf(() => pkg.cache("README.md"))).code).toBe("CACHE_NONE");
    const cached = await open(new ObjectCache(join(work, "cache-off")));
    expect(await cached.install(join(work, "off"), { cache: false })).not.toHaveProperty("cache");
    await Promise.all([pkg.close(), cached.close()]);
  });
});
