// Synthetic manifests: N entries pointing at S3 keys, in tree-walk order, ~300 bytes a line,
// written the way quilt3 writes them. Deterministic, so runs are comparable.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { once } from "node:events";

export function syntheticKey(i, perDir = 1000) {
  const dir = String(Math.floor(i / perDir)).padStart(5, "0");
  return `train/${dir}/img_${String(i).padStart(8, "0")}.jpg`;
}

export async function writeSyntheticManifest(path, count, perDir = 1000) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const write = async (s) => {
    if (!out.write(s)) await once(out, "drain");
  };
  await write('{"version": "v0", "user_meta": {"source": "synthetic", "count": ' + count + '}, "message": "bench"}\n');
  let batch = "";
  for (let i = 0; i < count; i++) {
    const key = syntheticKey(i, perDir);
    const value = createHash("sha256").update(key).digest("base64");
    const vid = value.slice(0, 32).replace(/[+/=]/g, "x");
    batch +=
      `{"logical_key": "${key}", "physical_keys": ["s3://bench-bucket/data/${key}?versionId=${vid}"], ` +
      `"size": ${1000 + (i % 90000)}, "hash": {"type": "sha2-256-chunked", "value": "${value}"}, ` +
      `"meta": {"user_meta": {"label": ${i % 10}, "split": "${i % 5 === 0 ? "val" : "train"}", "score": 0.${i % 97}5}}}\n`;
    if (batch.length > 1 << 20) {
      await write(batch);
      batch = "";
    }
  }
  await write(batch);
  out.end();
  await once(out, "finish");
}
