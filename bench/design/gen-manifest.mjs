// Synthetic manifest-like JSONL for the 10M design measurements (docs/design.md).
// Writes N entry lines (no header) in RANDOM order, byte-for-byte shaped like quilt3 entry lines:
//   {"logical_key": "train/000123/img_0000456.jpg", "physical_keys": ["s3://…?versionId=…"],
//    "size": 123, "hash": {"type": "sha2-256-chunked", "value": "<44 base64>"}, "meta": {}}
// Layout (deterministic from the entry number, all keys distinct):
//   raw/big/frame_NNNNNNN.png     the first 100,000 entries: one flat 100k-file folder
//   extra/a/b/c/d/file_N.bin      1%: deep keys
//   SPLIT/SHARD/ann/img_N.json    5%: a nested folder per shard
//   SPLIT/SHARD/img_N.jpg         the rest, ~1,000 per shard; SPLIT is train/val/test (80/10/10)
// Order: a keyed Feistel permutation of 0..N-1, so nothing is pre-sorted and no list is kept.
// Usage: node gen-manifest.mjs N OUT [--variant]   (--variant: a "v2" where 1% of hashes change)
import { createHash } from "node:crypto";
import { openSync, writeSync, closeSync } from "node:fs";

export const BIG_FOLDER_FILES = 100_000;

export function keyOf(i) {
  const id = String(i).padStart(7, "0");
  if (i < BIG_FOLDER_FILES) return `raw/big/frame_${id}.png`;
  if (i % 100 === 7) return `extra/a/b/c/d/file_${id}.bin`;
  const split = i % 10 < 8 ? "train" : i % 10 === 8 ? "val" : "test";
  const shard = String(Math.floor(i / 1000)).padStart(6, "0");
  if (i % 20 === 3) return `${split}/${shard}/ann/img_${id}.json`;
  return `${split}/${shard}/img_${id}.jpg`;
}

export function lineOf(i, variant = false) {
  const key = keyOf(i);
  const changed = variant && i % 100 === 42;
  const hash = createHash("sha256").update(`${i}${changed ? "v2" : ""}`).digest();
  const version = hash.subarray(0, 16).toString("hex");
  const size = (hash.readUInt32LE(16) % 5_000_000) + 1;
  const meta = i % 4 === 0 ? `{"user_meta": {"label": ${i % 1000}, "split": "${key.slice(0, key.indexOf("/"))}"}}` : "{}";
  return (
    `{"logical_key": "${key}", "physical_keys": ["s3://bench-bucket/imagenet/${key}?versionId=${version}"], ` +
    `"size": ${size}, "hash": {"type": "sha2-256-chunked", "value": "${hash.toString("base64")}"}, "meta": ${meta}}\n`
  );
}

/** Bijection on 0..2^bits-1 (balanced Feistel, 4 rounds); cycle-walk it to stay below n. */
export function permutation(n, seed = 0x5eed) {
  let bits = 2;
  while (2 ** bits < n) bits += 2;
  const half = bits / 2;
  const mask = 2 ** half - 1;
  const round = (x, r) => (Math.imul(x ^ (seed + r * 0x9e3779b1), 0x85ebca6b) >>> (32 - half)) & mask;
  const f = (x) => {
    let l = Math.floor(x / 2 ** half);
    let r = x & mask;
    for (let k = 0; k < 4; k++) [l, r] = [r, l ^ round(r, k)];
    return l * 2 ** half + r;
  };
  return (i) => {
    let x = f(i);
    while (x >= n) x = f(x);
    return x;
  };
}

export function generate(n, out, { variant = false } = {}) {
  const perm = permutation(n);
  const fd = openSync(out, "w");
  const chunk = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    chunk.push(lineOf(perm(i), variant));
    if (chunk.length === 10_000) {
      bytes += writeSync(fd, chunk.join(""));
      chunk.length = 0;
    }
  }
  bytes += writeSync(fd, chunk.join(""));
  closeSync(fd);
  return bytes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const out = process.argv[3] ?? `/tmp/qk-design/manifest-${n}.jsonl`;
  const t0 = performance.now();
  const bytes = generate(n, out, { variant: process.argv.includes("--variant") });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(JSON.stringify({ n, out, bytes, avgLine: +(bytes / n).toFixed(1), seconds: +s }));
}
