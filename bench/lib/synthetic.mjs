// Synthetic manifests: N entries pointing at S3 keys, in tree-walk order, ~300 bytes a line,
// written the way quilt3 writes them. Deterministic, so runs are comparable.
// `syntheticEntry(i)` gives entry i on its own, so a builder can be fed the same entries in any
// order (bench/scale.mjs) and its top hash compared with that of the file written here.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { once } from "node:events";

export function syntheticKey(i, perDir = 1000) {
  const dir = String(Math.floor(i / perDir)).padStart(5, "0");
  return `train/${dir}/img_${String(i).padStart(8, "0")}.jpg`;
}

/** Entry i: key, S3 physical key, size, sha2-256-chunked value and user metadata (score as written, a Python float literal). */
export function syntheticEntry(i, perDir = 1000) {
  const key = syntheticKey(i, perDir);
  const value = createHash("sha256").update(key).digest("base64");
  const vid = value.slice(0, 32).replace(/[+/=]/g, "x");
  return {
    key,
    physicalKey: `s3://bench-bucket/data/${key}?versionId=${vid}`,
    size: 1000 + (i % 90000),
    value,
    label: i % 10,
    split: i % 5 === 0 ? "val" : "train",
    score: `0.${i % 97}5`,
  };
}

/** One manifest line (with its newline) for an entry shaped like `syntheticEntry`'s. */
export function syntheticLine(e) {
  return (
    `{"logical_key": "${e.key}", "physical_keys": ["${e.physicalKey}"], ` +
    `"size": ${e.size}, "hash": {"type": "sha2-256-chunked", "value": "${e.value}"}, ` +
    `"meta": {"user_meta": {"label": ${e.label}, "split": "${e.split}", "score": ${e.score}}}}\n`
  );
}

export async function writeSyntheticManifest(path, count, perDir = 1000) {
  const header = '{"version": "v0", "user_meta": {"source": "synthetic", "count": ' + count + '}, "message": "bench"}\n';
  await writeManifestLines(path, header, (function* () {
    for (let i = 0; i < count; i++) yield syntheticLine(syntheticEntry(i, perDir));
  })());
}

/** Write a header line, then lines from an iterable, batched into ~1 MiB writes. */
export async function writeManifestLines(path, header, lines) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const write = async (s) => {
    if (!out.write(s)) await once(out, "drain");
  };
  await write(header);
  let batch = "";
  for await (const line of lines) {
    batch += line;
    if (batch.length > 1 << 20) {
      await write(batch);
      batch = "";
    }
  }
  await write(batch);
  out.end();
  await once(out, "finish");
}
