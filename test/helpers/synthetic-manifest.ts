/**
 * A synthetic package of N entries written straight to a manifest file in tree-walk order, with
 * its top hash, in a few seconds for a million entries: lines and hash pre-images come from
 * templates (checked against the real encoders on the first entries). Entries point at S3 keys
 * that do not exist, except README.md, a real local file. Layout (docs/design.md §1.1, smaller):
 *
 *   README.md, raw/big/<7 digits>.bin (a flat folder), then test/, train/, val/ (10/80/10) of
 *   shard folders <6 digits>/ each holding ann/<7 digits>.json (40) and img_<7 digits>.jpg (800).
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { pathToFileURL } from "node:url";
import type { PyValue } from "../../src/json/index.js";
import { entryHashPart, entryLine, type ManifestEntry } from "../../src/manifest/index.js";

export interface SyntheticManifest {
  readonly path: string;
  readonly topHash: string;
  readonly bytes: number;
  readonly entries: number;
  /** The sum of the entries' sizes (what `quilt show` reports as the package's bytes). */
  readonly totalSize: number;
  /** Shard folders per split, in order, e.g. `train/000123`. */
  readonly shards: readonly string[];
  readonly bigFolder: string;
  readonly bigFiles: number;
  /** The key of entry `i` of a shard: `ann/…` first, then `img_…`. */
  keysOfShard(shard: string): string[];
}

export interface SyntheticOptions {
  /**
   * Entries written instead of the synthetic ones at the same keys (e.g. a shard of real local
   * files), encoded by the real encoders; their keys must be synthetic keys.
   */
  readonly replace?: ReadonlyMap<string, ManifestEntry>;
  /** Synthetic keys left out. */
  readonly drop?: ReadonlySet<string>;
  /** Entries written right after a synthetic key (which must keep tree-walk order, e.g. `zz_…` after a shard's last key). */
  readonly insertAfter?: ReadonlyMap<string, readonly ManifestEntry[]>;
  /** The header's message (default "synthetic"). */
  readonly message?: string;
}

export const SHARD_IMAGES = 800;
export const SHARD_ANNOTATIONS = 40;

/** Where the entries of a synthetic package of `count` entries go (README.md is entry 0). */
export interface SyntheticLayout {
  readonly entries: number;
  readonly bigFiles: number;
  readonly shards: readonly string[];
}

/** One run of consecutive synthetic entries: the big folder, or one shard; `first` numbers its first key. */
export interface SyntheticGroup {
  readonly first: number;
  readonly keys: readonly string[];
}

export function syntheticLayout(count: number): SyntheticLayout {
  const bigFiles = Math.min(20_000, Math.floor(count / 50), Math.max(0, count - 1));
  const shards: string[] = [];
  const perShard = SHARD_IMAGES + SHARD_ANNOTATIONS;
  const shardCount = Math.max(0, Math.ceil((count - 1 - bigFiles) / perShard));
  const splits: [string, number][] = [["test", Math.ceil(shardCount * 0.1)], ["train", Math.ceil(shardCount * 0.8)], ["val", shardCount]];
  let shardNo = 0;
  for (const [split, upTo] of splits) {
    for (; shardNo < upTo; shardNo++) shards.push(`${split}/${pad(shardNo, 6)}`);
  }
  return { entries: Math.max(0, count), bigFiles, shards };
}

/** The synthetic entries after README.md, in tree-walk order, a folder at a time. */
export function* syntheticGroups(layout: SyntheticLayout): Generator<SyntheticGroup> {
  let n = 1;
  const big = Array.from({ length: layout.bigFiles }, (_, i) => `raw/big/${pad(i, 7)}.bin`);
  if (big.length > 0) yield { first: n, keys: big };
  n += big.length;
  for (const shard of layout.shards) {
    const keys = keysOf(shard, shardNumber(shard)).slice(0, layout.entries - n);
    yield { first: n, keys };
    n += keys.length;
  }
}

/** Write the manifest to `path`; README.md's bytes are `readme` at `readmePath`. */
export async function writeSyntheticManifest(
  path: string,
  count: number,
  readme: { path: string; text: string },
  options: SyntheticOptions = {},
): Promise<SyntheticManifest> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const message = JSON.stringify(options.message ?? "synthetic");
  const sha = createHash("sha256").update(`{"message":${message},"version":"v0"}`);
  let batch: string[] = [`{"version": "v0", "message": ${message}}`, "\n"];
  let batchLength = 0;
  let bytes = 0;
  let totalSize = 0;
  let n = 0;
  const flush = async (): Promise<void> => {
    const buf = Buffer.from(batch.join(""), "utf8");
    bytes += buf.length;
    batch = [];
    batchLength = 0;
    if (!out.write(buf)) await once(out, "drain");
  };
  const add = async (line: string, hashPart: string, size: number): Promise<void> => {
    batch.push(line, "\n");
    batchLength += line.length + 1;
    sha.update(hashPart);
    totalSize += size;
    n += 1;
    if (batchLength > 1 << 20) await flush();
  };
  const readmeEntry = readmeEntryOf(readme);
  await add(entryLine(readmeEntry), entryHashPart(readmeEntry), readmeEntry.size);
  const layout = syntheticLayout(count);
  const used = new Set<string>();
  const addEntry = (entry: ManifestEntry): Promise<void> => add(entryLine(entry), entryHashPart(entry), entry.size);
  for (const group of syntheticGroups(layout)) {
    for (const [j, key] of group.keys.entries()) {
      const real = options.replace?.get(key);
      const after = options.insertAfter?.get(key);
      if (real !== undefined || after !== undefined || options.drop?.has(key)) used.add(key);
      if (real !== undefined) await addEntry(real);
      else if (!options.drop?.has(key)) await addSynthetic(add, key, group.first + j);
      for (const entry of after ?? []) await addEntry(entry);
    }
  }
  const named = [...(options.replace?.keys() ?? []), ...(options.drop ?? []), ...(options.insertAfter?.keys() ?? [])];
  const unused = named.filter((key) => !used.has(key));
  if (unused.length > 0) throw new Error(`options name keys the synthetic package does not have: ${unused.slice(0, 3).join(", ")}`);
  await flush();
  out.end();
  await once(out, "finish");
  return {
    path,
    topHash: sha.digest("hex"),
    bytes,
    entries: n,
    totalSize,
    shards: layout.shards,
    bigFolder: "raw/big",
    bigFiles: layout.bigFiles,
    keysOfShard: (shard) => keysOf(shard, shardNumber(shard)),
  };
}

/** README.md's entry: a real local file, hashed with plain SHA256. */
export function readmeEntryOf(readme: { path: string; text: string }): ManifestEntry {
  return {
    logicalKey: "README.md",
    physicalKey: pathToFileURL(readme.path).href,
    size: Buffer.byteLength(readme.text),
    hash: { type: "SHA256", value: createHash("sha256").update(readme.text).digest("hex") },
    meta: new Map(),
  };
}

function shardNumber(shard: string): number {
  return Number(shard.slice(shard.indexOf("/") + 1));
}

function keysOf(shard: string, shardNo: number): string[] {
  const keys: string[] = [];
  for (let j = 0; j < SHARD_ANNOTATIONS; j++) keys.push(`${shard}/ann/${pad(shardNo * SHARD_ANNOTATIONS + j, 7)}.json`);
  for (let j = 0; j < SHARD_IMAGES; j++) keys.push(`${shard}/img_${pad(shardNo * SHARD_IMAGES + j, 7)}.jpg`);
  return keys;
}

let checked = 0;

/** One synthetic entry, by templates; the first few are compared with the real encoders. */
async function addSynthetic(add: (line: string, hashPart: string, size: number) => Promise<void>, key: string, i: number): Promise<void> {
  const value = hashValueOf(i);
  const size = sizeOf(i);
  const meta = i % 10 === 0 ? `{"user_meta": {"label": ${i % 7}}}` : "{}";
  const line =
    `{"logical_key": "${key}", "physical_keys": ["${physicalKeyOf(key, value)}"], ` +
    `"size": ${size}, "hash": {"type": "sha2-256-chunked", "value": "${value}"}, "meta": ${meta}}`;
  const hashPart = `{"hash":{"type":"sha2-256-chunked","value":"${value}"},"logical_key":"${key}","meta":${meta.replace(/ /g, "")},"size":${size}}`;
  if (checked < 12) {
    checked += 1;
    const entry = syntheticEntry(key, i);
    if (entryLine(entry) !== line || entryHashPart(entry) !== hashPart) throw new Error(`synthetic template differs from the encoder for ${key}`);
  }
  await add(line, hashPart, size);
}

/** Synthetic entry number `i` (README.md is 0) at `key`, as an entry object: what the templates write. */
export function syntheticEntry(key: string, i: number): ManifestEntry {
  const value = hashValueOf(i);
  return {
    logicalKey: key,
    physicalKey: physicalKeyOf(key, value),
    size: sizeOf(i),
    hash: { type: "sha2-256-chunked", value },
    meta: i % 10 === 0 ? new Map<string, PyValue>([["user_meta", new Map<string, PyValue>([["label", BigInt(i % 7)]])]]) : new Map<string, PyValue>(),
  };
}

function sizeOf(i: number): number {
  return 1000 + (i % 90_000);
}

function physicalKeyOf(key: string, value: string): string {
  return `s3://quiltkit-synthetic/data/${key}?versionId=v${value.slice(0, 30).replace(/[+/=]/g, "x")}`;
}

/** 32 pseudo-random bytes in base64, from the entry number. */
function hashValueOf(i: number): string {
  const buf = Buffer.allocUnsafe(32);
  let x = (i + 1) * 2654435761;
  for (let k = 0; k < 32; k += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeInt32LE(x | 0, k);
  }
  return buf.toString("base64");
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
