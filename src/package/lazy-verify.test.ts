import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cachedIndexPath } from "../browse-index/index.js";
import { HashPool } from "../hash/index.js";
import { readCanonical } from "../manifest/index.js";
import { Registry } from "../registry/registry.js";
import { LocalStorage } from "../storage/index.js";
import { Package, PackageBuilder } from "./index.js";
import { fullPass } from "./lazy-verify.js";
import { countReads } from "../../test/helpers/counting-storage.js";
import { collect } from "../../test/helpers/expect.js";

let root: string;
let pool: HashPool;
let registry: Registry;
let topHash: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiltkit-lazy-verify-"));
  pool = new HashPool({ size: 1 });
  for (const [path, text] of Object.entries({ "a.txt": "a", "d/b.txt": "bb", "d/e/c.txt": "ccc" })) {
    await mkdir(join(root, "src", path, ".."), { recursive: true });
    await writeFile(join(root, "src", path), text);
  }
  registry = new Registry(new LocalStorage(join(root, "registry")));
  const builder = new PackageBuilder({ name: "user/re", pool });
  await builder.setDir(".", join(root, "src"));
  topHash = (await builder.push({ registry, name: "user/re", message: "v0" })).topHash;
  await builder.dispose();
});
afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = join(root, `w${n++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe("the full pass over a manifest whose checked index is cached", () => {
  const at = () => ({ storage: registry.storage, key: registry.manifestKey(topHash) });

  it("keeps that index and builds none, but still checks the top hash", async () => {
    const cache = join(await freshDir(), "index");
    const first = await fullPass(at(), topHash, { workDir: await freshDir(), indexCacheDir: cache });
    expect(first.lazy?.index.header.topHashChecked).toBe(true);
    await rm(cachedIndexPath(cache, topHash));

    const again = await fullPass(at(), topHash, { workDir: await freshDir(), indexCacheDir: cache, checkedIndex: first.lazy });
    expect(again.lazy).toBe(first.lazy);
    expect(again.verified.entries).toBe(3);
    expect(again.header.get("message")).toBe("v0");
    expect(existsSync(cachedIndexPath(cache, topHash))).toBe(false);

    const forged = "0".repeat(64);
    await expect(fullPass(at(), forged, { workDir: await freshDir(), checkedIndex: first.lazy })).rejects.toMatchObject({ code: "TOP_HASH_MISMATCH" });
  });

  it("with hold, reads the manifest once and gives its entries, the ones a whole read gives, after the check", async () => {
    const cache = join(await freshDir(), "index");
    const first = await fullPass(at(), topHash, { workDir: await freshDir(), indexCacheDir: cache });
    const manifest = await readCanonical(first.verified.source);
    const expected = await collect(manifest.entries);
    const counted = countReads(registry.storage);

    const held = await fullPass(at(), topHash, { workDir: await freshDir(), checkedIndex: first.lazy, hold: true });
    expect(counted.readsOf(registry.manifestKey(topHash))).toBe(1);
    expect(held.held).toEqual(expected);
    expect(held.lazy).toBe(first.lazy);
    expect([held.verified.entries, held.verified.bytes]).toEqual([3, 6]);
    expect(held.header).toEqual(first.header);

    const forged = "0".repeat(64);
    await expect(fullPass(at(), forged, { workDir: await freshDir(), checkedIndex: first.lazy, hold: true })).rejects.toMatchObject({ code: "TOP_HASH_MISMATCH" });
  });

  it("a reinstall through the cached checked index leaves the cached index as it was", async () => {
    const cache = join(await freshDir(), "index");
    const dest = join(await freshDir(), "dest");
    const browse = () => Package.browse("user/re", { registry, pool, indexCacheDir: cache });
    const first = await browse();
    await first.install(dest);
    await first.close();
    const before = await stat(cachedIndexPath(cache, topHash), { bigint: true });

    const second = await browse();
    expect(second.verified).toBe(true);
    await second.install(dest);
    // The held entries went to the install; a second whole read streams the same ones again.
    expect((await collect(second.entries())).map((e) => e.logicalKey)).toEqual(["a.txt", "d/b.txt", "d/e/c.txt"]);
    await second.close();
    const after = await stat(cachedIndexPath(cache, topHash), { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs]);
  });
});
