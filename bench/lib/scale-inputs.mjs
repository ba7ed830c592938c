// Inputs of the scale bench (bench/scale.mjs), all deterministic from N:
//   * N synthetic entries pointing at S3 keys (lib/synthetic.mjs), fed to the builder in a
//     scrambled order so its external sort has work to do;
//   * REAL_COUNT small real files under `real/`, so install and verify move and check real bytes;
//   * the expected manifest of version 1, written here in tree-walk order by plain string code,
//     independent of the library: its top hash (ours, checked by quilt3's) is the answer the
//     builder must reach;
//   * the known changes that make version 2 (deleted, modified, added keys), and their counts.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { syntheticEntry, syntheticLine, writeManifestLines } from "./synthetic.mjs";

export const PER_DIR = 1000;
export const REAL_PREFIX = "real";
export const REAL_COUNT = 1000;
export const NAME = "bench/scale";
export const MESSAGE = "scale v1";
export const userMeta = (entries) => ({ source: "synthetic", count: entries });

/** Real file r: its logical key and deterministic bytes (1 to 8 KiB). */
export function realFile(r) {
  const size = 1024 + ((r * 7919) % 7168);
  const blocks = [];
  for (let b = 0; b * 32 < size; b++) blocks.push(createHash("sha256").update(`real-${r}-${b}`).digest());
  return { key: `${REAL_PREFIX}/f${String(r).padStart(4, "0")}.bin`, bytes: Buffer.concat(blocks).subarray(0, size) };
}

/** quilt3's sha2-256-chunked of data below one 8 MiB part: base64(sha256(sha256(data))). */
export function chunkedHashOfSmall(bytes) {
  return createHash("sha256").update(createHash("sha256").update(bytes).digest()).digest("base64");
}

/** Write the real files under `dir` (keys relative to it); returns their count and total bytes. */
export function writeRealFiles(dir) {
  let bytes = 0;
  mkdirSync(join(dir, REAL_PREFIX), { recursive: true });
  for (let r = 0; r < REAL_COUNT; r++) {
    const f = realFile(r);
    writeFileSync(join(dir, f.key), f.bytes);
    bytes += f.bytes.length;
  }
  return { files: REAL_COUNT, bytes };
}

/**
 * Version 1 as quilt3 writes it, tree-walk order: `real/` sorts before `train/`. Entries of the
 * real files carry empty metadata, as the builder gives files set without any. Returns the
 * expected entry count and total size.
 */
export async function writeExpectedManifest(path, entries) {
  const header = JSON.stringify({ version: "v0", user_meta: userMeta(entries), message: MESSAGE }).replace(/":/g, '": ').replace(/,"/g, ', "') + "\n";
  let total = 0;
  const lines = (function* () {
    for (let r = 0; r < REAL_COUNT; r++) {
      const f = realFile(r);
      total += f.bytes.length;
      yield `{"logical_key": "${f.key}", "physical_keys": ["file:///nowhere/${f.key}"], "size": ${f.bytes.length}, ` +
        `"hash": {"type": "sha2-256-chunked", "value": "${chunkedHashOfSmall(f.bytes)}"}, "meta": {}}\n`;
    }
    for (let i = 0; i < entries; i++) {
      const e = syntheticEntry(i, PER_DIR);
      total += e.size;
      yield syntheticLine(e);
    }
  })();
  await writeManifestLines(path, header, lines);
  return { entries: entries + REAL_COUNT, bytes: total };
}

/** A bijection of 0..n-1 that scatters neighbours (multiplication by a unit mod n): the builder's feed order. */
export function scrambled(n) {
  let p = 1_000_003 % n || 1;
  while (gcd(p, n) !== 1) p += 1;
  return (j) => (j * p + 7) % n;
}

function gcd(a, b) {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Version 2 = version 1 with K keys deleted, K modified (size and hash) and K added under `train/added/`. */
export function changesOf(entries) {
  const k = Math.max(1, Math.min(1000, Math.floor(entries / 1000)));
  const at = (j) => Math.floor((j * entries) / k);
  return {
    k,
    deleted: (j) => syntheticEntry(at(j), PER_DIR).key,
    modified: (j) => {
      const e = syntheticEntry(at(j) + 1, PER_DIR);
      return { ...e, size: e.size + 1, value: createHash("sha256").update(`modified:${e.key}`).digest("base64") };
    },
    added: (j) => {
      const key = `train/added/new_${String(j).padStart(6, "0")}.jpg`;
      return { key, physicalKey: `s3://bench-bucket/added/${key}`, size: 500 + j, value: createHash("sha256").update(key).digest("base64"), label: 0, split: "new", score: "0.5" };
    },
  };
}

/** An entry shaped like syntheticEntry's, as the builder's `setEntry` takes it. */
export function entryInput(e) {
  return {
    physicalKey: e.physicalKey,
    size: e.size,
    hash: { type: "sha2-256-chunked", value: e.value },
    meta: { user_meta: { label: e.label, split: e.split, score: Number(e.score) } },
  };
}
