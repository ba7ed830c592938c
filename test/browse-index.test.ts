/**
 * Lazy browsing through the QKBI sidecar (docs/design.md §4) on a local registry: what push
 * writes, what a browse reads, the trust rules (unverified until something reads the whole
 * manifest; the local cache records the check), packages without a sidecar, stale sidecars, and
 * listings of random trees against the whole-manifest stream.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { foldersOf, lsTruth, manifestOf, random, randomKeys } from "../src/browse-index/test-fixtures.js";
import { HashPool } from "../src/hash/index.js";
import { bytesSource, topHashOf } from "../src/manifest/index.js";
import { Package, PackageBuilder } from "../src/package/index.js";
import { writeIndexAfterPush } from "../src/package/lazy-push.js";
import { Registry } from "../src/registry/registry.js";
import { LocalStorage } from "../src/storage/index.js";
import { countReads, type ReadCounter } from "./helpers/counting-storage.js";
import { collect } from "./helpers/expect.js";

let root: string;
let pool: HashPool;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiltkit-qkbi-it-"));
  pool = new HashPool({ size: 1 });
});
afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

let n = 0;
interface Fixture {
  readonly dir: string;
  readonly storage: LocalStorage;
  readonly registry: Registry;
  readonly counter: ReadCounter;
  readonly cache: string;
  readonly topHash: string;
  readonly manifestKey: string;
  readonly sidecar: string;
}

const FILES: Record<string, string> = {
  "README.md": "# Dataset\n\nLazy.\n",
  "cats/file1.txt": "meow",
  "cats/tabby/a.txt": "tabby",
  "cats/z.txt": "zzz",
  "dogs/b.txt": "woof",
};

/** A package pushed by our builder into a fresh local registry. */
async function pushed(files = FILES): Promise<Fixture> {
  const dir = join(root, `f${n++}`);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, "src", path, ".."), { recursive: true });
    await writeFile(join(dir, "src", path), text);
  }
  const storage = new LocalStorage(join(dir, "registry"));
  const registry = new Registry(storage);
  const builder = new PackageBuilder({ name: "user/lazy", pool });
  await builder.setDir(".", join(dir, "src"), { meta: { source: "lab" } });
  await builder.setMeta("cats/file1.txt", { label: "cat" });
  builder.setDirMeta("cats/", { kind: "felines" });
  const result = await builder.push({ registry, name: "user/lazy", message: "v0" });
  await builder.dispose();
  return fixture(dir, storage, registry, result.topHash);
}

function fixture(dir: string, storage: LocalStorage, registry: Registry, topHash: string): Fixture {
  return {
    dir,
    storage,
    registry,
    counter: countReads(storage),
    cache: join(dir, "cache", "index"),
    topHash,
    manifestKey: registry.manifestKey(topHash),
    sidecar: registry.browseIndexKey(topHash),
  };
}

async function browse(f: Fixture, options: { cache?: boolean; verify?: boolean; warnings?: string[] } = {}): Promise<Package> {
  return Package.browse("user/lazy", {
    registry: f.registry,
    pool,
    ...(options.cache === true ? { indexCacheDir: f.cache } : {}),
    ...(options.verify === undefined ? {} : { verify: options.verify }),
    onWarning: (m) => options.warnings?.push(m),
  });
}

/** Everything a browse can answer, for comparing two packages. */
async function answers(pkg: Package) {
  const ls = async (folder: string) => (await collect(pkg.lsItems(folder))).map((i) => (i.kind === "dir" ? i.logicalKey : `${i.entry.logicalKey} ${i.entry.size}`));
  return {
    header: pkg.header,
    stats: await pkg.stats(),
    root: await ls(""),
    cats: await ls("cats/"),
    tabby: await ls("cats/tabby"),
    none: await ls("nope/"),
    readme: await pkg.readme(),
    meta: await pkg.getMetadata("cats/file1.txt"),
    bytes: (await pkg.getBytes("cats/tabby/a.txt")).toString(),
    entry: await pkg.entry("dogs/b.txt"),
    under: (await collect(pkg.entries({ prefix: "cats/" }))).map((e) => e.logicalKey),
    stringPrefix: (await collect(pkg.entries({ prefix: "cats/t" }))).map((e) => e.logicalKey),
    dirMeta: await pkg.dirMeta(),
  };
}

describe("lazy browse on a local registry", () => {
  it("push writes the index beside the manifest, outside .quilt/packages/; a browse then reads a few ranges, unverified", async () => {
    const f = await pushed();
    expect(existsSync(f.storage.pathOf(f.sidecar))).toBe(true);
    expect(f.sidecar.startsWith(".quilt/quiltkit/index/v1/")).toBe(true);
    const listed = await collect(f.storage.list(".quilt/packages/"));
    expect(listed.map((i) => (i.kind === "object" ? i.key : i.prefix))).toEqual([f.manifestKey]);

    f.counter.reset();
    const lazy = await browse(f);
    expect(lazy.verified).toBe(false);
    const got = await answers(lazy);
    expect(lazy.verified).toBe(false);

    const checked = await browse(f, { verify: true });
    expect(checked.verified).toBe(true);
    expect(got).toEqual(await answers(checked));
    expect(got.cats).toEqual(["cats/file1.txt 4", "cats/tabby/", "cats/z.txt 3"]);
    expect(got.stringPrefix).toEqual(["cats/tabby/a.txt"]);
    expect(got.dirMeta.map((d) => d.logicalKey)).toEqual(["cats/"]);
    await expect(lazy.entry("cats/nothing")).rejects.toMatchObject({ code: "ENTRY_NOT_FOUND" });
    await lazy.close();
    await checked.close();
  });

  it("one folder's ls reads its own lines and nothing else of the manifest", async () => {
    const f = await pushed();
    const pkg = await browse(f);
    f.counter.reset();
    await collect(pkg.lsItems("dogs/"));
    const line = (await readFile(f.storage.pathOf(f.manifestKey), "utf8")).split("\n").find((l) => l.includes('"dogs/b.txt"')) as string;
    expect(f.counter.bytesOf(f.manifestKey)).toBe(Buffer.byteLength(line) + 2); // the line, its newline, and the one before
    await pkg.close();
  });

  it("reading the whole manifest checks the top hash, and the local cache remembers it", async () => {
    const f = await pushed();
    const pkg = await browse(f, { cache: true });
    expect(pkg.verified).toBe(false);
    await pkg.install(join(f.dir, "dest"));
    expect(pkg.verified).toBe(true);
    expect(await readFile(join(f.dir, "dest", "cats", "z.txt"), "utf8")).toBe("zzz");
    expect(existsSync(join(f.cache, "v1", `${f.topHash}.qkbi`))).toBe(true);
    await pkg.close();

    f.counter.reset();
    const again = await browse(f, { cache: true });
    expect(again.verified).toBe(true);
    expect((await again.ls("cats/")).dirs).toEqual(["cats/tabby/"]);
    expect(f.counter.readsOf(f.sidecar)).toBe(0); // the cache answered first
    await again.close();
  });

  it("a package without a sidecar (pushed by quilt3): read whole once, then lazy from the local cache", async () => {
    const f = await pushed();
    const sidecar = await readFile(f.storage.pathOf(f.sidecar));
    await f.storage.delete(f.sidecar);
    const size = (await stat(f.storage.pathOf(f.manifestKey))).size;

    f.counter.reset();
    const first = await browse(f, { cache: true });
    expect(first.verified).toBe(true);
    expect(f.counter.bytesOf(f.manifestKey)).toBeGreaterThanOrEqual(size);
    const expected = await answers(first);
    await first.close();
    // The same index push would have written: same bytes, same identity of the manifest.
    expect(await readFile(join(f.cache, "v1", `${f.topHash}.qkbi`))).toEqual(sidecar);

    f.counter.reset();
    const second = await browse(f, { cache: true });
    expect(second.verified).toBe(true);
    expect(await answers(second)).toEqual(expected);
    f.counter.reset();
    await second.ls("cats/tabby/");
    expect(f.counter.bytesOf(f.manifestKey)).toBeLessThan(size / 2);
    await second.close();
    expect(existsSync(f.storage.pathOf(f.sidecar))).toBe(false); // we never write into the registry unasked
  });

  it("a swapped sidecar (another package's) is detected and passed over", async () => {
    const a = await pushed();
    const b = await pushed({ ...FILES, "extra/c.txt": "other" });
    await copyFile(b.storage.pathOf(b.sidecar), a.storage.pathOf(a.sidecar));
    const warnings: string[] = [];
    const pkg = await browse(a, { warnings });
    expect(warnings.join("\n")).toMatch(/INDEX|stale|describes manifest/i);
    expect(pkg.verified).toBe(true); // read whole instead
    expect((await pkg.ls("")).dirs).toEqual(["cats/", "dogs/"]);
    await pkg.close();
  });

  it("a manifest re-pushed with other physical keys makes the sidecar stale: never a wrong answer", async () => {
    const f = await pushed();
    const path = f.storage.pathOf(f.manifestKey);
    const original = await readFile(path, "utf8");
    const before = await stat(path);
    // quilt3 re-pushing the same top hash (physical keys are outside it), the data elsewhere.
    await writeFile(path, original.replaceAll('"physical_keys": ["file://', '"physical_keys": ["file:///moved'));
    const warnings: string[] = [];
    const resized = await browse(f, { warnings });
    expect(warnings.join("\n")).toMatch(/bytes/);
    expect((await resized.entry("dogs/b.txt")).physicalKey).toMatch(/^file:\/\/\/moved\/.*\/dogs\/b\.txt$/);
    await resized.close();

    // Same size and the same mtime, but cats/file1.txt's line starts one byte earlier: README.md's
    // line loses a space and cats/file1.txt's gains one. The range checks catch it.
    const lines = original.split("\n");
    const at = lines.findIndex((l) => l.includes('"README.md"'));
    lines[at] = (lines[at] as string).replace(/"size": (\d+),/, '"size":$1,');
    lines[at + 1] = (lines[at + 1] as string).replace(/"size": (\d+),/, '"size": $1 ,');
    expect(lines[at + 1]).toContain('"cats/file1.txt"');
    const sameSize = lines.join("\n");
    expect(Buffer.byteLength(sameSize)).toBe(before.size);
    await writeFile(path, sameSize);
    await utimes(path, before.atime, before.mtime);
    const moved = await browse(f, { warnings });
    expect(moved.verified).toBe(false);
    expect((await moved.ls("dogs/")).files.map((e) => e.logicalKey)).toEqual(["dogs/b.txt"]); // its line did not move
    expect(moved.verified).toBe(false);
    const top = await moved.ls("cats/");
    expect(top.files.map((e) => e.logicalKey)).toEqual(["cats/file1.txt", "cats/z.txt"]);
    expect(moved.verified).toBe(true); // it fell back to the whole manifest
    expect((await moved.ls("")).files.map((e) => e.logicalKey)).toEqual(["README.md"]);
    await moved.close();
  });

  it("every folder of random trees lists exactly as the whole-manifest stream says; lookups and prefixes too", async () => {
    for (const seed of [21, 22]) {
      const keys = randomKeys(seed, 300);
      const f = await crafted(keys);
      const warnings: string[] = [];
      const pkg = await browse(f, { warnings });
      expect(pkg.verified).toBe(false);
      const whole = await browse(f, { verify: true });
      const all = (await collect(whole.entries())).map((e) => e.logicalKey);
      await whole.close();
      expect(all).toEqual(keys);
      for (const folder of foldersOf(keys)) {
        const items = (await collect(pkg.lsItems(folder))).map((i) => (i.kind === "dir" ? i.logicalKey : i.entry.logicalKey));
        expect(items, folder).toEqual(lsTruth(all, folder).items);
      }
      for (const key of keys) expect((await pkg.entry(key)).logicalKey).toBe(key);
      const next = random(seed);
      for (let i = 0; i < 30; i++) {
        const key = keys[Math.floor(next() * keys.length)] as string;
        const prefix = key.slice(0, 1 + Math.floor(next() * key.length)); // "" would read everything
        const got = (await collect(pkg.entries({ prefix }))).map((e) => e.logicalKey);
        expect(got, prefix).toEqual(all.filter((k) => k.startsWith(prefix)));
      }
      expect(warnings).toEqual([]);
      expect(pkg.verified).toBe(false);
      await pkg.close();
    }
  });
});

/** A registry holding a hand-made manifest of `keys` (entries at S3 keys) and its sidecar. */
async function crafted(keys: string[]): Promise<Fixture> {
  const dir = join(root, `f${n++}`);
  const storage = new LocalStorage(join(dir, "registry"));
  const registry = new Registry(storage);
  const manifest = await manifestOf(keys);
  const topHash = await topHashOf(bytesSource(manifest));
  await registry.pushManifest("user/lazy", topHash, async (key) => void (await storage.write(key, manifest)));
  await writeIndexAfterPush(registry, topHash, storage.pathOf(registry.manifestKey(topHash)));
  return fixture(dir, storage, registry, topHash);
}
