// Builder passes at scale: N remote entries set out of order, then one pushManifest into a local
// registry (local-files guard + build: two passes over the operation log). Run it under
// `/usr/bin/time -v` for CPU seconds and peak RSS:
//   node bench/builder-push.mjs 200000 [path/to/dist]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { syntheticEntry } from "./lib/synthetic.mjs";

const count = Number(process.argv[2] ?? 200_000);
const dist = resolve(process.argv[3] ?? new URL("../dist", import.meta.url).pathname);
const { PackageBuilder, Registry, LocalStorage } = await import(pathToFileURL(join(dist, "index.js")).href);

const dir = await mkdtemp(join(tmpdir(), "quiltkit-bench-push-"));
const builder = new PackageBuilder({ tmpDir: dir });
try {
  // A stride coprime with the count visits every entry once, far from sorted order.
  const stride = 7919;
  let started = process.cpuUsage();
  for (let n = 0, i = 0; n < count; n++, i = (i + stride) % count) {
    const e = syntheticEntry(i);
    await builder.setEntry(e.key, { physicalKey: e.physicalKey, size: e.size, hash: { type: "sha2-256-chunked", value: e.value } });
  }
  const cpu = (from) => {
    const u = process.cpuUsage(from);
    return ((u.user + u.system) / 1e6).toFixed(1);
  };
  console.log(`setEntry x${count}: ${cpu(started)} CPU-s`);
  started = process.cpuUsage();
  const registry = new Registry(new LocalStorage(join(dir, "registry")));
  const pushed = await builder.pushManifest({ registry, name: "bench/push", message: "bench", now: () => 1_700_000_000 });
  console.log(`pushManifest: ${cpu(started)} CPU-s, ${pushed.entries} entries, top hash ${pushed.topHash}`);
} finally {
  await builder.dispose();
  await rm(dir, { recursive: true, force: true });
}
