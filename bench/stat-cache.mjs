// Stat cache benchmark: `quilt hash`, `quilt verify` and `quilt status` (installed folder) of an
// unchanged folder of N small files (default 100,000 of 1 KiB), first run (cache empty) against
// second run (cache full), and after touching one file. Runs the built CLI: `npm run build` first.
//   node bench/stat-cache.mjs [N] [bytesPerFile]      (prints one JSON line per run, then a table)
// Bytes read are the child's own rchar (/proc/self/io, every byte read(2) returned, all threads,
// page cache included), so "no data read" shows as the data size missing from the count. The
// files are freshly written, so they come from the page cache: times are CPU + syscalls, not disk.
import { randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { measure, withIo } from "./lib/measure.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const CLI = join(ROOT, "dist/bin/quilt.js");
const N = Number(process.argv[2] ?? 100_000);
const SIZE = Number(process.argv[3] ?? 1024);
const PER_FOLDER = 1000;

const work = mkdtempSync(join(tmpdir(), "quiltkit-bench-statcache-"));
const data = join(work, "data");
const home = join(work, "home");
const registry = join(work, "registry");
const rows = [];

function generate() {
  const block = randomFillSync(Buffer.allocUnsafe(SIZE));
  for (let i = 0; i < N; i++) {
    if (i % PER_FOLDER === 0) mkdirSync(join(data, `d${i / PER_FOLDER}`), { recursive: true });
    block.writeUInt32BE(i, 0); // distinct contents
    writeFileSync(join(data, `d${Math.floor(i / PER_FOLDER)}`, `f${i}.bin`), block);
  }
}

async function quilt(label, args, env = {}) {
  const { command, args: argv, env: childEnv } = withIo(process.execPath, [CLI, ...args], { ...process.env, QUILT_HOME: home, ...env });
  const r = await measure(command, argv, { env: childEnv });
  const row = { label, seconds: round(r.seconds), cpuSeconds: round(r.cpuSeconds), peakRssMiB: round(r.peakRssMiB), readMiB: round(r.rcharBytes / 2 ** 20), out: r.stdout.slice(0, 80) };
  rows.push(row);
  console.log(JSON.stringify(row));
  return r;
}

/** `quilt status` run inside the installed folder. */
async function status(label, dest) {
  const { command, args, env } = withIo(process.execPath, [CLI, "status"], { ...process.env, QUILT_HOME: home });
  const r = await measure(command, args, { env, cwd: dest });
  const row = { label, seconds: round(r.seconds), cpuSeconds: round(r.cpuSeconds), peakRssMiB: round(r.peakRssMiB), readMiB: round(r.rcharBytes / 2 ** 20), out: r.stdout.replace(/\n/g, " / ").slice(0, 120) };
  rows.push(row);
  console.log(JSON.stringify(row));
}

const round = (x) => Math.round(x * 100) / 100;
const racy = () => new Promise((r) => setTimeout(r, 2500)); // files younger than 2 s are re-hashed anyway

try {
  console.log(JSON.stringify({ files: N, bytesPerFile: SIZE, dataMiB: round((N * SIZE) / 2 ** 20), loadAverage: loadavg().map(round) }));
  generate();
  await racy();
  await quilt("hash, first (cache empty)", ["hash", data]);
  await quilt("hash, second (unchanged)", ["hash", data]);
  const touched = join(data, "d0", "f7.bin");
  const later = new Date(Date.now() + 1000);
  utimesSync(touched, later, later);
  await quilt("hash, one file touched", ["hash", data]);
  await quilt("push (setup)", ["push", "bench/statcache", "--dir", data, "-m", "bench", "--registry", registry]);
  await quilt("verify, first (fresh QUILT_HOME)", ["verify", "bench/statcache", data, "--registry", registry], { QUILT_HOME: join(work, "home2") });
  await quilt("verify, second", ["verify", "bench/statcache", data, "--registry", registry], { QUILT_HOME: join(work, "home2") });
  const dest = join(work, "installed");
  await quilt("install (setup)", ["install", "bench/statcache", "--dest", dest, "--registry", registry]);
  await racy();
  await status("quilt status (installed folder), first", dest);
  await status("quilt status, second", dest);
  console.log("\n| run | wall s | CPU s | peak RSS MiB | read MiB |\n|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.label} | ${r.seconds} | ${r.cpuSeconds} | ${r.peakRssMiB} | ${r.readMiB} |`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
