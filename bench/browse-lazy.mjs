// Lazy browsing through the QKBI sidecar (docs/design.md §4), on a local registry of a synthetic
// N-entry manifest (bench/lib/synthetic.mjs: train/<dir>/img_<n>.jpg, 1,000 files a folder).
//   npm run build && node bench/browse-lazy.mjs [N...]     (default 1000000; prints JSON lines)
// Per N, each step a fresh child process measured from outside (bench/lib/measure.mjs: wall,
// CPU, peak RSS, rchar), plus an in-process count of the bytes read from the manifest and the index:
//   build    writeIndexAfterPush (what `push` runs after the manifest) on the manifest file
//   ls       Package.browse + ls of one 1,000-file folder, counting bytes read per object
//   quilt ls / quilt show   the CLI, lazy through the sidecar
//   first browse without a sidecar (quilt3's push): `quilt ls` reads it whole, checks the top hash and
//   caches the index in $QUILT_HOME/cache/index; the next `quilt ls` is lazy. Only when N ≤ 3M: it
//   needs the real top hash, computed here first (itself a full pass).
// Above 3M the manifest is named by a stand-in hash (sha256 of its bytes): lazy reads never check
// the top hash, so the lazy rows are unaffected.
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { measure, withIo } from "./lib/measure.mjs";
import { writeSyntheticManifest } from "./lib/synthetic.mjs";

const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const DIST = new URL("../dist/", import.meta.url).href;
const NAME = "bench/big";

const folderOf = (n) => `train/${String(Math.min(500, Math.floor(n / 2 / 1000))).padStart(5, "0")}/`;

async function sha256Of(path) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest("hex");
}

/** A child that runs `body` with the dist modules and prints one JSON line. */
function child(body) {
  return [
    "--input-type=module",
    "-e",
    `const { Package, openRegistry } = await import(${JSON.stringify(DIST + "index.js")});
     const { writeIndexAfterPush } = await import(${JSON.stringify(DIST + "package/lazy-push.js")});
     const { topHashOf, fileSource } = await import(${JSON.stringify(DIST + "manifest/index.js")});
     void Package; void openRegistry; void writeIndexAfterPush; void topHashOf; void fileSource;
     const args = JSON.parse(process.argv[1]);
     ${body}`,
  ];
}

const COUNT_LS = `
  const registry = await openRegistry(args.registry);
  const counts = new Map();
  const read = registry.storage.read.bind(registry.storage);
  registry.storage.read = (key, options) => {
    const c = counts.get(key) ?? { bytes: 0, reads: 0 };
    counts.set(key, c);
    c.reads += 1;
    return (async function* () { for await (const chunk of read(key, options)) { c.bytes += chunk.length; yield chunk; } })();
  };
  const t0 = performance.now();
  const pkg = await Package.browse(args.name, { registry });
  const t1 = performance.now();
  const ls = await pkg.ls(args.folder);
  const t2 = performance.now();
  const get = await pkg.entry(ls.files[123].logicalKey);
  const t3 = performance.now();
  const of = (prefix) => [...counts].filter(([k]) => k.startsWith(prefix)).reduce((a, [, c]) => ({ bytes: a.bytes + c.bytes, reads: a.reads + c.reads }), { bytes: 0, reads: 0 });
  console.log(JSON.stringify({ files: ls.files.length, dirs: ls.dirs.length, verified: pkg.verified, got: get.logicalKey,
    openMs: +(t1 - t0).toFixed(1), lsMs: +(t2 - t1).toFixed(1), getMs: +(t3 - t2).toFixed(1),
    manifest: of(".quilt/packages/"), index: of(".quilt/quiltkit/") }));
  await pkg.close();`;

async function runSize(n) {
  const dir = mkdtempSync(join(tmpdir(), "quiltkit-lazy-bench-"));
  try {
    const registry = join(dir, "registry");
    const home = join(dir, "home");
    mkdirSync(join(registry, ".quilt", "packages"), { recursive: true });
    const scratch = join(dir, "manifest.jsonl");
    let t = performance.now();
    await writeSyntheticManifest(scratch, n);
    const generateSeconds = (performance.now() - t) / 1000;
    const bytes = statSync(scratch).size;
    const real = n <= 3_000_000;
    const hashRun = real ? await measure("node", child(`console.log(await topHashOf(fileSource(args.path)))`).concat(JSON.stringify({ path: scratch }))) : undefined;
    const topHash = hashRun?.stdout ?? (await sha256Of(scratch));
    const manifestPath = join(registry, ".quilt", "packages", topHash);
    // Same filesystem: a rename is enough.
    renameSync(scratch, manifestPath);
    mkdirSync(join(registry, ".quilt", "named_packages", NAME), { recursive: true });
    writeFileSync(join(registry, ".quilt", "named_packages", NAME, "latest"), topHash);
    const build = await measure(
      "node",
      child(`const r = await openRegistry(args.registry); await writeIndexAfterPush(r, args.topHash, args.path, { onWarning: (m) => { throw new Error(m); } });`).concat(
        JSON.stringify({ registry, topHash, path: manifestPath }),
      ),
    );
    const indexPath = join(registry, ".quilt", "quiltkit", "index", "v1", `${topHash}.qkbi`);
    const indexBytes = statSync(indexPath).size;
    const folder = folderOf(n);
    const args = JSON.stringify({ registry, name: NAME, folder });
    const lsCount = await measure("node", child(COUNT_LS).concat(args));
    const env = { ...process.env, QUILT_HOME: home };
    const help = withIo("node", [CLI, "--help"], env);
    const baseline = await measure(help.command, help.args, { env: help.env });
    const cli = async (argv) => {
      const io = withIo("node", [CLI, ...argv, "--registry", registry], env);
      const r = await measure(io.command, io.args, { env: io.env });
      return { seconds: +r.seconds.toFixed(2), cpuSeconds: +r.cpuSeconds.toFixed(2), peakRssMiB: Math.round(r.peakRssMiB), readBytes: r.rcharBytes - baseline.rcharBytes, lines: r.stdout.split("\n").length };
    };
    const quiltLs = await cli(["ls", NAME, folder]);
    const quiltShow = await cli(["show", NAME]);
    let noSidecar;
    if (real) {
      unlinkSync(indexPath);
      const first = await cli(["ls", NAME, folder]);
      const second = await cli(["ls", NAME, folder]);
      noSidecar = { first, second };
    }
    return {
      entries: n,
      manifestBytes: bytes,
      generateSeconds: +generateSeconds.toFixed(1),
      topHash: real ? { seconds: +hashRun.seconds.toFixed(1), cpuSeconds: +hashRun.cpuSeconds.toFixed(1), peakRssMiB: Math.round(hashRun.peakRssMiB) } : "stand-in (sha256 of the bytes)",
      index: { bytes: indexBytes, ofManifest: +(indexBytes / bytes).toFixed(5), buildSeconds: +build.seconds.toFixed(1), buildCpuSeconds: +build.cpuSeconds.toFixed(1), buildPeakRssMiB: Math.round(build.peakRssMiB) },
      folder,
      lsInProcess: { ...JSON.parse(lsCount.stdout), peakRssMiB: Math.round(lsCount.peakRssMiB), manifestFraction: +(JSON.parse(lsCount.stdout).manifest.bytes / bytes).toFixed(5) },
      quiltLs,
      quiltShow,
      ...(noSidecar === undefined ? {} : { noSidecar }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
const started = { at: new Date().toISOString(), cores: cpus().length, loadavg: loadavg().map((x) => +x.toFixed(1)), node: process.version };
console.log(JSON.stringify(started));
for (const n of sizes.length > 0 ? sizes : [1_000_000]) console.log(JSON.stringify(await runSize(n)));
