/**
 * Lazy browsing of a 1,000,000-entry package (docs/design.md §4), on a local registry and on
 * versitygw: answers checked against what the generator wrote, and the bytes each `ls` reads
 * (through a counting storage) a small fraction of the manifest. One manifest, made once.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { fileSource, topHashOf } from "../src/manifest/index.js";
import { Package } from "../src/package/index.js";
import { writeIndexAfterPush } from "../src/package/lazy-push.js";
import { Registry } from "../src/registry/registry.js";
import { LocalStorage, Remotes, type Storage } from "../src/storage/index.js";
import { countReads, type ReadCounter } from "./helpers/counting-storage.js";
import { collect } from "./helpers/expect.js";
import { clientOptionsOf } from "./helpers/s3-server.js";
import { SHARD_ANNOTATIONS, SHARD_IMAGES, writeSyntheticManifest, type SyntheticManifest } from "./helpers/synthetic-manifest.js";

const N = 1_000_000;
const NAME = "synth/big";
const README = "# A million entries\n";
let dir: string;
let synth: SyntheticManifest;
let local: { storage: LocalStorage; registry: Registry; counter: ReadCounter; manifestKey: string; indexKey: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "quiltkit-qkbi-1m-"));
  const readmePath = join(dir, "readme.md");
  await writeFile(readmePath, README);
  const storage = new LocalStorage(join(dir, "registry"));
  const registry = new Registry(storage);
  const scratch = join(dir, "manifest.jsonl");
  synth = await writeSyntheticManifest(scratch, N, { path: readmePath, text: README });
  const manifestKey = registry.manifestKey(synth.topHash);
  await mkdir(dirname(storage.pathOf(manifestKey)), { recursive: true });
  await storage.write(manifestKey, createReadStream(scratch));
  await registry.writePointer(NAME, "latest", synth.topHash);
  const warnings: string[] = [];
  await writeIndexAfterPush(registry, synth.topHash, scratch, { tmpDir: dir, onWarning: (m) => warnings.push(m) });
  expect(warnings).toEqual([]);
  local = { storage, registry, counter: countReads(storage), manifestKey, indexKey: registry.browseIndexKey(synth.topHash) };
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function shard(split: string, k: number): string {
  const shards = synth.shards.filter((s) => s.startsWith(`${split}/`));
  return shards[k % shards.length] as string;
}

describe("a 1,000,000-entry package, lazily", () => {
  it("the generator's top hash is the real one (checked on a small sibling)", async () => {
    const small = await writeSyntheticManifest(join(dir, "small.jsonl"), 3000, { path: join(dir, "readme.md"), text: README });
    expect(await topHashOf(fileSource(small.path))).toBe(small.topHash);
    expect(synth.entries).toBe(N);
  });

  it("ls of one folder reads under 2% of the manifest and lists exactly its files and subfolder", async () => {
    local.counter.reset();
    const pkg = await Package.browse(NAME, { registry: local.registry });
    expect(pkg.verified).toBe(false);
    const folder = shard("train", 500);
    const { files, dirs } = await pkg.ls(`${folder}/`);
    expect(dirs).toEqual([`${folder}/ann/`]);
    expect(files.map((e) => e.logicalKey)).toEqual(synth.keysOfShard(folder).filter((k) => !k.includes("/ann/")));
    expect(files).toHaveLength(SHARD_IMAGES);
    const read = local.counter.bytesOf(local.manifestKey);
    expect(read / synth.bytes).toBeLessThan(0.02);
    expect(local.counter.bytesOf(local.indexKey)).toBeLessThan(synth.bytes * 0.01);
    await pkg.close();
  });

  it("ls of the root, of a split, and of a 20,000-file folder; stats from the index", async () => {
    const pkg = await Package.browse(NAME, { registry: local.registry });
    const root = await pkg.ls("");
    expect(root.files.map((e) => e.logicalKey)).toEqual(["README.md"]);
    expect(root.dirs).toEqual(["raw/", "test/", "train/", "val/"]);
    const train = await pkg.ls("train");
    expect(train.files).toEqual([]);
    expect(train.dirs).toEqual(synth.shards.filter((s) => s.startsWith("train/")).map((s) => `${s}/`));
    local.counter.reset();
    const big = await pkg.ls(`${synth.bigFolder}/`);
    expect(big.files.map((e) => e.logicalKey)).toEqual(Array.from({ length: synth.bigFiles }, (_, i) => `raw/big/${String(i).padStart(7, "0")}.bin`));
    expect(local.counter.bytesOf(local.manifestKey) / synth.bytes).toBeLessThan(0.03); // 2% of the entries are there
    expect(await pkg.stats()).toMatchObject({ entries: N });
    expect(pkg.verified).toBe(false);
    await pkg.close();
  });

  it("cat-style lookups: entries by key, README, metadata, sub-trees and string prefixes", async () => {
    const pkg = await Package.browse(NAME, { registry: local.registry });
    local.counter.reset();
    expect(await pkg.readme()).toBe(README);
    expect(local.counter.bytesOf(local.manifestKey)).toBeLessThan(200 * 1024); // one sample block
    for (const k of [0, 17, 333, 1000]) {
      const folder = shard(["test", "train", "val"][k % 3] as string, k);
      for (const key of synth.keysOfShard(folder).filter((_, i) => i % 211 === k % 211)) {
        const entry = await pkg.entry(key);
        expect(entry.logicalKey).toBe(key);
        expect(entry.physicalKey).toContain(`/data/${key}?versionId=`);
      }
    }
    await expect(pkg.entry("train/999999/img_x.jpg")).rejects.toMatchObject({ code: "ENTRY_NOT_FOUND" });
    const folder = shard("val", 3);
    const ann = await collect(pkg.entries({ prefix: `${folder}/ann/` }));
    expect(ann).toHaveLength(SHARD_ANNOTATIONS);
    const labelled = ann.find((e) => e.meta.size > 0);
    if (labelled !== undefined) expect(await pkg.getMetadata(labelled.logicalKey)).toHaveProperty("label");
    const byString = await collect(pkg.entries({ prefix: "raw/big/00012" }));
    expect(byString.map((e) => e.logicalKey)).toEqual(Array.from({ length: 100 }, (_, i) => `raw/big/00012${String(i).padStart(2, "0")}.bin`));
    expect(pkg.verified).toBe(false);
    await pkg.close();
  });
});

describe("the same package on S3 (versitygw)", () => {
  const s3 = inject("s3");
  const remotes = new Remotes(clientOptionsOf(s3));
  afterAll(() => remotes.close());

  it("ls of one folder reads under 2% of the manifest with ranged GETs", async () => {
    const storage: Storage = await remotes.s3(s3.bucket);
    const registry = new Registry(storage);
    const name = `synth-${randomBytes(4).toString("hex")}/big`;
    const manifestKey = registry.manifestKey(synth.topHash);
    await storage.write(manifestKey, createReadStream(join(dir, "manifest.jsonl")));
    await registry.writePointer(name, "latest", synth.topHash);
    const warnings: string[] = [];
    await writeIndexAfterPush(registry, synth.topHash, join(dir, "manifest.jsonl"), { tmpDir: dir, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);

    const counter = countReads(storage);
    const pkg = await Package.browse(name, { registry, remotes });
    expect(pkg.verified).toBe(false);
    const folder = shard("train", 321);
    const { files, dirs } = await pkg.ls(`${folder}/`);
    expect(dirs).toEqual([`${folder}/ann/`]);
    expect(files.map((e) => e.logicalKey)).toEqual(synth.keysOfShard(folder).filter((k) => !k.includes("/ann/")));
    expect(counter.bytesOf(manifestKey) / synth.bytes).toBeLessThan(0.02);
    expect(counter.readsOf(manifestKey)).toBeLessThanOrEqual(3); // header, then the folder's run
    // Lazy reads keep the rules: a remote registry may not point at local files.
    await expect(pkg.readme()).rejects.toMatchObject({ code: "REMOTE_MANIFEST_LOCAL_KEY" });
    await pkg.close();
  });
});
