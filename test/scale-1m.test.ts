/**
 * Every scale operation of issue 6 on a 1,000,000-entry package, checking results (not timings):
 * build into a local registry from entries fed out of order (the builder's external sort), top
 * hash, push (no data copied), show, diff of two versions with known changes, and install + verify
 * of one folder of real files. Lazy browsing at this size is test/browse-index-1m.test.ts.
 *
 * The entries are the synthetic generator's (S3 keys that do not exist, known hashes), except
 * README.md and one shard folder of real files, kept where a data push would put them (in the
 * registry, under the package's name); the generator computes each top hash on its own.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PyValue } from "../src/json/index.js";
import { fileSource, topHashOf, type ManifestEntry } from "../src/manifest/index.js";
import { Package, PackageBuilder } from "../src/package/index.js";
import { writeIndexAfterPush } from "../src/package/lazy-push.js";
import { diffRevisions } from "../src/package/revision-diff.js";
import { Registry } from "../src/registry/registry.js";
import { compareLogicalKeys } from "../src/sort/index.js";
import { LocalStorage } from "../src/storage/index.js";
import { deterministicBytes } from "./helpers/bytes.js";
import { expectOk, runQuilt } from "./helpers/cli.js";
import {
  SHARD_IMAGES,
  readmeEntryOf,
  syntheticEntry,
  syntheticGroups,
  syntheticLayout,
  writeSyntheticManifest,
  type SyntheticLayout,
  type SyntheticManifest,
} from "./helpers/synthetic-manifest.js";

const N = 1_000_000;
const NAME = "scale/big";
const README = "# A million entries, built\n";
const T1 = 1_800_000_000;
const T2 = T1 + 60;
const LONG = 900_000;

let dir: string;
let root: string;
let registry: Registry;
let layout: SyntheticLayout;
let synth: SyntheticManifest;
let readmePath: string;
/** The shard whose entries are real files: bytes and entry (as the generator writes it) per key. */
let real: { shard: string; files: Map<string, { bytes: Buffer; entry: ManifestEntry }> };
let builder: PackageBuilder;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "quiltkit-scale-1m-"));
  root = join(dir, "registry");
  registry = new Registry(new LocalStorage(root));
  const data = join(root, NAME);
  readmePath = join(data, "README.md");
  await mkdir(data, { recursive: true });
  await writeFile(readmePath, README);
  layout = syntheticLayout(N);
  real = { shard: layout.shards.filter((s) => s.startsWith("train/"))[100] as string, files: new Map() };
  await writeRealShard(data);
  const replace = new Map([...real.files].map(([key, file]) => [key, file.entry]));
  synth = await writeSyntheticManifest(join(dir, "v1.jsonl"), N, { path: readmePath, text: README }, { replace });
  builder = new PackageBuilder({ tmpDir: dir, name: NAME });
}, LONG);

afterAll(async () => {
  await builder.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** The real shard: small files of known bytes, each entry with its sha2-256-chunked hash computed here. */
async function writeRealShard(under: string): Promise<void> {
  const group = [...syntheticGroups(layout)].find((g) => g.keys[0]?.startsWith(`${real.shard}/`));
  if (group === undefined) throw new Error(`no group for ${real.shard}`);
  for (const [j, key] of group.keys.entries()) {
    const bytes = deterministicBytes(100 + ((j * 37) % 1900), key);
    const path = join(under, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    // One part (under 8 MiB): base64(sha256(sha256(bytes))), quilt3's checksums.py.
    const value = createHash("sha256").update(createHash("sha256").update(bytes).digest()).digest("base64");
    const meta = syntheticEntry(key, group.first + j).meta;
    const entry: ManifestEntry = { logicalKey: key, physicalKey: pathToFileURL(path).href, size: bytes.length, hash: { type: "sha2-256-chunked", value }, meta };
    real.files.set(key, { bytes, entry });
  }
}

async function sha256Of(path: string): Promise<string> {
  const sha = createHash("sha256");
  for await (const chunk of createReadStream(path)) sha.update(chunk as Buffer);
  return sha.digest("hex");
}

/** The number of entries of a manifest file, each checked to come after the one before in tree-walk order. */
async function assertTreeWalkOrder(path: string): Promise<number> {
  let previous: string | undefined;
  let count = -1; // the header
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    count += 1;
    if (count === 0) continue;
    const key = (JSON.parse(line) as { logical_key: string }).logical_key;
    if (previous !== undefined && compareLogicalKeys(previous, key) >= 0) throw new Error(`out of tree-walk order: ${previous} before ${key}`);
    previous = key;
  }
  return count;
}

function shardsOf(split: string): string[] {
  return layout.shards.filter((s) => s.startsWith(`${split}/`));
}

const manifestPath = (topHash: string): string => join(root, registry.manifestKey(topHash));

describe("a 1,000,000-entry package, end to end", () => {
  it("build into a local registry: entries fed out of order come out in tree-walk order with the generator's top hash", async () => {
    // Odd folders, then even ones, each folder's keys backwards, README.md last: nothing in order.
    let index = 0;
    for (const group of syntheticGroups(layout)) if (index++ % 2 === 1) await feed(group.first, group.keys);
    index = 0;
    for (const group of syntheticGroups(layout)) if (index++ % 2 === 0) await feed(group.first, group.keys);
    const readme = readmeEntryOf({ path: readmePath, text: README });
    await builder.setEntry(readme.logicalKey, { physicalKey: readme.physicalKey, size: readme.size, ...(readme.hash ? { hash: readme.hash } : {}) });

    // The real files are in the registry already, so this writes the manifest and copies nothing.
    const pushed = await builder.pushManifest({ registry, name: NAME, message: "synthetic", now: () => T1 });
    expect(pushed.topHash).toBe(synth.topHash);
    expect(pushed.entries).toBe(N);
    expect(await assertTreeWalkOrder(manifestPath(pushed.topHash))).toBe(N);
    // Byte for byte what the generator wrote: same lines, same order, same physical keys.
    expect(await sha256Of(manifestPath(pushed.topHash))).toBe(await sha256Of(synth.path));
  }, LONG);

  it("top hash of the registry's manifest file", async () => {
    expect(await topHashOf(fileSource(manifestPath(synth.topHash)))).toBe(synth.topHash);
  }, LONG);

  it("push copied no data and wrote the pointers and the browse index; a lazy browse lists a folder", async () => {
    expect(await registry.readPointer(NAME, "latest")).toBe(synth.topHash);
    expect(await registry.readPointer(NAME, String(T1))).toBe(synth.topHash);
    expect(registry.browseIndexKey(synth.topHash)).toBe(`.quilt/quiltkit/index/v1/${synth.topHash}.qkbi`);
    expect((await stat(join(root, registry.browseIndexKey(synth.topHash)))).size).toBeGreaterThan(0);
    const data = await filesUnder(join(root, NAME));
    expect(data.sort()).toEqual(["README.md", ...real.files.keys()].sort());

    const pkg = await Package.browse(NAME, { registry });
    try {
      expect(pkg.verified).toBe(false); // lazy: the sidecar index answered
      const folder = shardsOf("val")[7] as string;
      const { files, dirs } = await pkg.ls(`${folder}/`);
      expect(dirs).toEqual([`${folder}/ann/`]);
      expect(files.map((e) => e.logicalKey)).toEqual(synth.keysOfShard(folder).filter((k) => !k.includes("/ann/")));
      const realFiles = await pkg.ls(`${real.shard}/`);
      expect(realFiles.files).toHaveLength(SHARD_IMAGES);
      for (const entry of realFiles.files) expect(entry).toEqual(real.files.get(entry.logicalKey)?.entry);
      expect(await pkg.readme()).toBe(README);
    } finally {
      await pkg.close();
    }
  }, LONG);

  it("show: entry count and total size, from the library and `quilt show --json`", async () => {
    const pkg = await Package.browse(NAME, { registry });
    try {
      expect(await pkg.stats()).toEqual({ entries: N, bytes: synth.totalSize });
    } finally {
      await pkg.close();
    }
    const shown = expectOk(await runQuilt(["show", NAME, "--registry", root, "--json"])).json<Record<string, unknown>>();
    expect(shown).toMatchObject({ name: NAME, topHash: synth.topHash, message: "synthetic", entries: N, bytes: synth.totalSize });
  }, LONG);

  it("diff of two versions: exactly the deleted, added, modified and metadata-only keys, library and CLI", async () => {
    const changes = secondVersion(); // the real shard stays as it is
    const v2 = await writeSyntheticManifest(join(dir, "v2.jsonl"), N, { path: readmePath, text: README }, { ...changes.options, message: "second version" });
    await registry.pushManifest(NAME, v2.topHash, async (key) => void (await registry.storage.write(key, createReadStream(v2.path))), { now: () => T2 });
    await writeIndexAfterPush(registry, v2.topHash, v2.path, { tmpDir: dir });
    expect(v2.entries).toBe(N);
    const sorted = (keys: readonly string[]): string[] => [...keys].sort(compareLogicalKeys);
    const expected = {
      added: sorted(changes.added),
      deleted: sorted(changes.deleted),
      modified: sorted([...changes.hashModified, ...changes.metaOnly]),
      metaOnly: sorted(changes.metaOnly),
    };

    const a = await Package.browse(`${NAME}@${synth.topHash}`, { registry });
    const b = await Package.browse(NAME, { registry });
    try {
      expect(b.topHash).toBe(v2.topHash);
      const diff = await diffRevisions(a, b);
      expect(diff).toMatchObject(expected);
      expect(diff.message).toEqual({ changed: true, before: "synthetic", after: "second version" });
      expect(diff.packageMeta.changed).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }

    const run = await runQuilt(["diff", `${NAME}@${synth.topHash}`, `${NAME}@${v2.topHash}`, "--registry", root, "--json"]);
    expect(expectOk(run, 1).json()).toMatchObject({
      ...expected,
      counts: { added: 1000, deleted: 1000, modified: 1500, metaOnly: 500 },
      message: { changed: true, before: "synthetic", after: "second version" },
    });
  }, LONG);

  it("install of one folder with `quilt install --path`, then verify: clean, then exactly one modified and one deleted", async () => {
    const dest = join(dir, "installed");
    const run = await runQuilt(["install", `${NAME}@${synth.topHash}`, "--registry", root, "--dest", dest, "--path", `${real.shard}/`, "--json"]);
    expect(expectOk(run).json()).toMatchObject({ topHash: synth.topHash, files: real.files.size });
    const relativeKeys = [...real.files.keys()].map((k) => k.slice(real.shard.length + 1));
    expect((await filesUnder(dest)).sort()).toEqual([...relativeKeys].sort());
    for (const [key, file] of real.files) expect((await readFile(join(dest, key.slice(real.shard.length + 1)))).equals(file.bytes)).toBe(true);

    const pkg = await Package.browse(`${NAME}@${synth.topHash}`, { registry });
    try {
      expect(await pkg.verify(dest, { path: real.shard })).toMatchObject({ added: [], modified: [], deleted: [], matches: true });
      const [changed, removed] = [relativeKeys[3] as string, relativeKeys[500] as string];
      await writeFile(join(dest, changed), "not what the package holds");
      await rm(join(dest, removed));
      expect(await pkg.verify(dest, { path: `${real.shard}/` })).toMatchObject({ added: [], modified: [changed], deleted: [removed], matches: false });
    } finally {
      await pkg.close();
    }
  }, LONG);
});

/** Set one folder's entries, backwards; the real shard's without a hash (build hashes those files). */
async function feed(first: number, keys: readonly string[]): Promise<void> {
  for (let j = keys.length - 1; j >= 0; j--) {
    const key = keys[j] as string;
    const file = real.files.get(key);
    const entry = file?.entry ?? syntheticEntry(key, first + j);
    await builder.setEntry(key, {
      physicalKey: entry.physicalKey,
      size: entry.size,
      meta: entry.meta,
      ...(file === undefined && entry.hash !== undefined ? { hash: entry.hash } : {}),
    });
  }
}

/**
 * Version 2, as generator options: in 1,000 full shards (not the real one) one image deleted, one
 * file added after the shard's last key, one image's hash changed; in 500 of them one more image
 * gets new metadata only. With the keys of each change.
 */
function secondVersion(): {
  options: { drop: Set<string>; replace: Map<string, ManifestEntry>; insertAfter: Map<string, ManifestEntry[]> };
  added: string[];
  deleted: string[];
  hashModified: string[];
  metaOnly: string[];
} {
  const replace = new Map([...real.files].map(([key, file]) => [key, file.entry]));
  const options = { drop: new Set<string>(), replace, insertAfter: new Map<string, ManifestEntry[]>() };
  const result = { options, added: [] as string[], deleted: [] as string[], hashModified: [] as string[], metaOnly: [] as string[] };
  let k = 0;
  for (const group of syntheticGroups(layout)) {
    const first = group.keys[0] as string;
    if (k >= 1000 || first.startsWith("raw/") || first.startsWith(`${real.shard}/`) || group.keys.length < 840) continue;
    const shard = first.split("/").slice(0, 2).join("/");
    const [gone, changed, relabelled, last] = [100, 200, 300, 839].map((j) => group.keys[j] as string) as [string, string, string, string];
    options.drop.add(gone);
    result.deleted.push(gone);
    const key = `${shard}/zz_extra_${k}.txt`; // after every img_ key: tree-walk order kept
    options.insertAfter.set(last, [
      { logicalKey: key, physicalKey: `s3://quiltkit-synthetic/new/${key}`, size: 10 + k, hash: { type: "SHA256", value: createHash("sha256").update(key).digest("hex") }, meta: new Map() },
    ]);
    result.added.push(key);
    const before = syntheticEntry(changed, group.first + 200);
    options.replace.set(changed, { ...before, hash: { type: "sha2-256-chunked", value: createHash("sha256").update(`changed ${changed}`).digest("base64") } });
    result.hashModified.push(changed);
    if (k < 500) {
      const entry = syntheticEntry(relabelled, group.first + 300);
      options.replace.set(relabelled, { ...entry, meta: new Map<string, PyValue>([["user_meta", new Map<string, PyValue>([["relabelled", BigInt(k)]])]]) });
      result.metaOnly.push(relabelled);
    }
    k += 1;
  }
  return result;
}

/** Every file below `top` (relative, `/`-separated), leaving out `.quilt/` and `.quiltkit/`. */
async function filesUnder(top: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(top, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = relative(top, join(entry.parentPath, entry.name)).split("\\").join("/");
    if (!rel.startsWith(".quiltkit/") && !rel.startsWith(".quilt/")) out.push(rel);
  }
  return out;
}
