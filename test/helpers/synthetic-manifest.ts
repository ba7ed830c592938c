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
  /** Shard folders per split, in order, e.g. `train/000123`. */
  readonly shards: readonly string[];
  readonly bigFolder: string;
  readonly bigFiles: number;
  /** The key of entry `i` of a shard: `ann/…` first, then `img_…`. */
  keysOfShard(shard: string): string[];
}

export const SHARD_IMAGES = 800;
export const SHARD_ANNOTATIONS = 40;
const HEADER = '{"version": "v0", "message": "synthetic"}';
const HEADER_HASH_PART = '{"message":"synthetic","version":"v0"}';

/** Write the manifest to `path`; README.md's bytes are `readme` at `readmePath`. */
export async function writeSyntheticManifest(path: string, count: number, readme: { path: string; text: string }): Promise<SyntheticManifest> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const sha = createHash("sha256").update(HEADER_HASH_PART);
  let batch: string[] = [HEADER, "\n"];
  let batchLength = 0;
  let bytes = 0;
  let n = 0;
  const flush = async (): Promise<void> => {
    const buf = Buffer.from(batch.join(""), "utf8");
    bytes += buf.length;
    batch = [];
    batchLength = 0;
    if (!out.write(buf)) await once(out, "drain");
  };
  const add = async (line: string, hashPart: string): Promise<void> => {
    batch.push(line, "\n");
    batchLength += line.length + 1;
    sha.update(hashPart);
    n += 1;
    if (batchLength > 1 << 20) await flush();
  };
  const readmeEntry: ManifestEntry = {
    logicalKey: "README.md",
    physicalKey: pathToFileURL(readme.path).href,
    size: Buffer.byteLength(readme.text),
    hash: { type: "SHA256", value: createHash("sha256").update(readme.text).digest("hex") },
    meta: new Map(),
  };
  await add(entryLine(readmeEntry), entryHashPart(readmeEntry));
  const bigFiles = Math.min(20_000, Math.floor(count / 50));
  for (let i = 0; i < bigFiles && n < count; i++) await addSynthetic(add, `raw/big/${pad(i, 7)}.bin`, n);
  const shards: string[] = [];
  const perShard = SHARD_IMAGES + SHARD_ANNOTATIONS;
  const shardCount = Math.ceil((count - n) / perShard);
  const splits: [string, number][] = [["test", Math.ceil(shardCount * 0.1)], ["train", Math.ceil(shardCount * 0.8)], ["val", shardCount]];
  let shardNo = 0;
  for (const [split, upTo] of splits) {
    for (; shardNo < upTo && n < count; shardNo++) {
      const shard = `${split}/${pad(shardNo, 6)}`;
      shards.push(shard);
      for (const key of keysOf(shard, shardNo)) {
        if (n >= count) break;
        await addSynthetic(add, key, n);
      }
    }
  }
  await flush();
  out.end();
  await once(out, "finish");
  return {
    path,
    topHash: sha.digest("hex"),
    bytes,
    entries: n,
    shards,
    bigFolder: "raw/big",
    bigFiles,
    keysOfShard: (shard) => keysOf(shard, Number(shard.slice(shard.indexOf("/") + 1))),
  };
}

function keysOf(shard: string, shardNo: number): string[] {
  const keys: string[] = [];
  for (let j = 0; j < SHARD_ANNOTATIONS; j++) keys.push(`${shard}/ann/${pad(shardNo * SHARD_ANNOTATIONS + j, 7)}.json`);
  for (let j = 0; j < SHARD_IMAGES; j++) keys.push(`${shard}/img_${pad(shardNo * SHARD_IMAGES + j, 7)}.jpg`);
  return keys;
}

let checked = 0;

/** One synthetic entry, by templates; the first few are compared with the real encoders. */
async function addSynthetic(add: (line: string, hashPart: string) => Promise<void>, key: string, i: number): Promise<void> {
  const value = hashValueOf(i);
  const size = 1000 + (i % 90_000);
  const meta = i % 10 === 0 ? `{"user_meta": {"label": ${i % 7}}}` : "{}";
  const line =
    `{"logical_key": "${key}", "physical_keys": ["s3://quiltkit-synthetic/data/${key}?versionId=v${value.slice(0, 30).replace(/[+/=]/g, "x")}"], ` +
    `"size": ${size}, "hash": {"type": "sha2-256-chunked", "value": "${value}"}, "meta": ${meta}}`;
  const hashPart = `{"hash":{"type":"sha2-256-chunked","value":"${value}"},"logical_key":"${key}","meta":${meta.replace(/ /g, "")},"size":${size}}`;
  if (checked < 12) {
    checked += 1;
    const entry: ManifestEntry = {
      logicalKey: key,
      physicalKey: `s3://quiltkit-synthetic/data/${key}?versionId=v${value.slice(0, 30).replace(/[+/=]/g, "x")}`,
      size,
      hash: { type: "sha2-256-chunked", value },
      meta: i % 10 === 0 ? new Map<string, PyValue>([["user_meta", new Map<string, PyValue>([["label", BigInt(i % 7)]])]]) : new Map<string, PyValue>(),
    };
    if (entryLine(entry) !== line || entryHashPart(entry) !== hashPart) throw new Error(`synthetic template differs from the encoder for ${key}`);
  }
  await add(line, hashPart);
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
