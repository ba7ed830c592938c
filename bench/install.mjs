// Install from a local registry, and reinstall with nothing changed: Quiltkit's CLI beside quilt3
// on the same package in the same run, with `cp -r` of the same folder as a floor.
//   node bench/install.mjs [COUNTxBYTES]     default 20000x16384 (20,000 files of 16 KiB); prints JSON
//   BENCH_INSTALL=2000x16384 node bench/run.mjs install                       the same, as a table
// Run `npm run build` first; the bench runs a copy of dist/ taken when it starts.
//
// Setup (untimed): deterministic files (AES-CTR keystream), 1,000 a folder, written inside a local
// registry folder and pushed there by our CLI, so the entries point at them in place (file:// keys)
// and both tools read the very same files. quilt3 reads the registry as `file:///...`.
// Then each step is a fresh process measured from outside (lib/measure.mjs: GNU time for CPU and
// peak RSS), with `sync` before it so no writeback from the step before competes:
//   cp -r     the input folder to a fresh folder (the floor: no hashing, no manifest)
//   ours      `quilt install NAME --registry R --dest D` into a fresh D, then the same again
//   quilt3    `Package.install(NAME, registry='file:///R', dest=D)` into a fresh D, then again
// Between an install and its reinstall the bench waits 2.5 s: our stat cache does not trust files
// changed in the last 2 s (racy-clean rule, docs/design.md §7), so an immediate rerun re-hashes.
// Bytes read and written are each child's rchar and wchar, summed over the process and what it
// waited for (read by a wrapping `sh` from its own /proc/PID/io, which adds reaped children's).
// Every installed folder is compared byte for byte with the input (untimed) before its reinstall.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { assertSameTree as sameTree, copyDist, freeBytes, isolatedEnv, keystream, quilt3Python, quilt3Version } from "./lib/common.mjs";
import { measure } from "./lib/measure.mjs";

const KiB = 1024;
const MiB = KiB * KiB;
const GiB = MiB * KiB;
const PER_DIR = 1000;
const NAME = "bench/install";
/** Our stat cache's racy margin is 2 s; wait a little longer. */
const RACY_WAIT_MS = 2500;
/** The byte-for-byte check of an installed folder (lib/common.mjs), reading 1 MiB at a time. */
const assertSameTree = (input, installed, label) => sameTree(input, installed, label, MiB);

export function spec(text = process.env.BENCH_INSTALL ?? "20000x16384") {
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (!m) throw new Error(`install bench: expected COUNTxBYTES, e.g. 20000x16384, got ${text}`);
  return { files: Number(m[1]), size: Number(m[2]) };
}

function writeInputs(dir, s) {
  for (let i = 0; i < s.files; i++) {
    const sub = join(dir, `d${String(Math.floor(i / PER_DIR)).padStart(3, "0")}`);
    if (i % PER_DIR === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${String(i).padStart(6, "0")}.bin`), keystream(`quiltkit-bench-install/${i}`, s.size));
  }
}

// The wrapper runs the command, then reads its own /proc/PID/io: Linux adds the I/O of every child
// the shell reaped to it, so this counts the command's (all threads), with no preload in the child.
const IO_WRAPPER =
  '"$@"; s=$?; while read -r k v; do case $k in rchar:) echo "BENCH_IO rchar=$v" >&2;; wchar:) echo "BENCH_IO wchar=$v";; esac; done < /proc/$$/io; exit $s';

/** One step, measured: wall and CPU seconds, peak RSS, bytes read and written, the load before it. */
async function step(argv, env, cwd) {
  execFileSync("sync");
  const load = loadavg()[0];
  const m = await measure("sh", ["-c", IO_WRAPPER, "sh", ...argv], { env, cwd });
  const wchar = Number(/^BENCH_IO wchar=(\d+)$/m.exec(m.stdout)?.[1] ?? NaN);
  const stdout = m.stdout.replace(/^BENCH_IO wchar=\d+$/m, "").trim();
  return { seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssMiB: m.peakRssMiB, readBytes: m.rcharBytes, writtenBytes: wchar, loadAverage: Number(load.toFixed(2)), stdout };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const strip = ({ stdout: _stdout, ...rest }) => rest;

/** Install into a fresh folder, check it, wait out the racy margin, install again; both measured. */
async function installTwice(argvFor, env, dest, input, label) {
  const install = await step(argvFor(dest), env, env.HOME);
  install.verifiedFiles = assertSameTree(input, dest, `${label} install`);
  await sleep(RACY_WAIT_MS);
  const reinstall = await step(argvFor(dest), env, env.HOME);
  reinstall.verifiedFiles = assertSameTree(input, dest, `${label} reinstall`);
  return { install: strip(install), reinstall: strip(reinstall), reinstallOutput: reinstall.stdout.split("\n").pop() };
}

function ratios(ours, theirs) {
  const r = (f) => theirs[f] / ours[f];
  return { wall: r("seconds"), cpu: r("cpuSeconds"), memory: r("peakRssMiB"), read: r("readBytes"), written: r("writtenBytes") };
}

export async function run(options = {}) {
  const s = options.spec ?? spec();
  const bytes = s.files * s.size;
  const root = mkdtempSync(join(tmpdir(), "quiltkit-bench-install-"));
  try {
    // Input (inside the registry), three installed copies and the cp copy, plus room.
    const needed = 5 * bytes + s.files * 20 * KiB + GiB;
    const free = freeBytes(root);
    if (free < needed) throw new Error(`install bench: ${(free / GiB).toFixed(1)} GiB free in ${tmpdir()}, ${(needed / GiB).toFixed(1)} GiB needed; scale it down with BENCH_INSTALL=COUNTxBYTES`);
    const cli = copyDist(join(root, "code")); // dist/ as it is now: a rebuild half-way must not change what is measured
    const registry = join(root, "registry");
    const input = join(registry, "inputs");
    writeInputs(input, s);
    const python = quilt3Python();
    const ours = isolatedEnv(join(root, "home-quiltkit"));
    const theirs = isolatedEnv(join(root, "home-quilt3"));
    const version = options.quilt3 === false ? undefined : quilt3Version(python, theirs);
    const pushed = await step([process.execPath, cli, "--json", "push", NAME, "--dir", input, "--registry", registry, "-m", "bench"], ours, ours.HOME);
    const topHash = JSON.parse(pushed.stdout.split("\n").pop()).topHash;

    const startup = { quiltkit: strip(await step([process.execPath, cli, "--help"], ours, ours.HOME)) };
    if (version) startup.quilt3 = strip(await step([python, "-c", "import quilt3"], theirs, theirs.HOME));
    const cp = strip(await step(["cp", "-r", input, join(root, "cp")], ours, ours.HOME));
    cp.verifiedFiles = assertSameTree(input, join(root, "cp"), "cp -r");

    const quiltkit = await installTwice((dest) => [process.execPath, cli, "install", NAME, "--registry", registry, "--dest", dest], ours, join(root, "installed-quiltkit"), input, "quiltkit");
    const script = (dest) => `import quilt3\nquilt3.Package.install(${JSON.stringify(NAME)}, registry=${JSON.stringify(pathToFileURL(registry).href)}, dest=${JSON.stringify(dest)})`;
    const quilt3 = version ? await installTwice((dest) => [python, "-c", script(dest)], theirs, join(root, "installed-quilt3"), input, "quilt3") : undefined;

    return {
      files: s.files,
      fileBytes: s.size,
      bytes,
      topHash,
      racyWaitSeconds: RACY_WAIT_MS / 1000,
      quilt3: version ?? `not installed (bash scripts/quilt3.sh, or pip install quilt3==8.0.0 for ${python})`,
      startup,
      cp,
      quiltkit,
      ...(quilt3 ? { quilt3Steps: quilt3, ratios: { install: ratios(quiltkit.install, quilt3.install), reinstall: ratios(quiltkit.reinstall, quilt3.reinstall) } } : {}),
      reinstallShare: {
        quiltkit: { cpu: quiltkit.reinstall.cpuSeconds / quiltkit.install.cpuSeconds, wall: quiltkit.reinstall.seconds / quiltkit.install.seconds },
        ...(quilt3 ? { quilt3: { cpu: quilt3.reinstall.cpuSeconds / quilt3.install.cpuSeconds, wall: quilt3.reinstall.seconds / quilt3.install.seconds } } : {}),
      },
    };
  } finally {
    // Untimed; slow on a disk mounted with `discard` (each unlink waits on the device).
    rmSync(root, { recursive: true, force: true });
  }
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const x = (r) => (Number.isFinite(r) ? `${fmt(r)}x` : "n/a");
const pct = (r) => (Number.isFinite(r) ? `${fmt(100 * r, 1)}%` : "n/a");

/** The result as markdown lines: one table, ratios quilt3 ÷ ours, and the reinstall's share of an install. */
export function report(r) {
  const mib = (b) => fmt(b / MiB, 1);
  const row = (label, m) => `| ${label} | ${fmt(m.seconds)} | ${fmt(m.cpuSeconds)} | ${fmt(m.peakRssMiB, 0)} | ${mib(m.readBytes)} | ${mib(m.writtenBytes)} | ${fmt(m.loadAverage, 1)} |`;
  const ratioRow = (label, q) => `| ${label} | ${x(q.wall)} | ${x(q.cpu)} | ${x(q.memory)} | ${x(q.read)} | ${x(q.written)} | |`;
  const st = r.startup;
  const lines = [
    `install: ${r.files.toLocaleString("en")} files of ${fmt(r.fileBytes / KiB, 0)} KiB (${mib(r.bytes)} MiB) from a local registry, quilt3 ${r.quilt3}; ` +
      `reinstall = the same command again after ${r.racyWaitSeconds} s (our stat cache's racy margin is 2 s)`,
    "",
    "| step | wall s | CPU s | peak RSS MiB | read MiB | written MiB | load |",
    "|---|---|---|---|---|---|---|",
    row("`cp -r` (floor)", r.cp),
    row("quiltkit install", r.quiltkit.install),
    row("quiltkit reinstall, nothing changed", r.quiltkit.reinstall),
  ];
  if (r.quilt3Steps) {
    lines.push(row("quilt3 install", r.quilt3Steps.install), row("quilt3 reinstall, nothing changed", r.quilt3Steps.reinstall));
    lines.push(ratioRow("install: quilt3 / quiltkit", r.ratios.install), ratioRow("reinstall: quilt3 / quiltkit", r.ratios.reinstall));
  }
  lines.push(row("start-up alone: `quilt --help`", st.quiltkit));
  if (st.quilt3) lines.push(row("start-up alone: `import quilt3`", st.quilt3));
  const share = r.reinstallShare;
  lines.push(
    "",
    `reinstall / install, CPU s: quiltkit ${pct(share.quiltkit.cpu)}` + (share.quilt3 ? `, quilt3 ${pct(share.quilt3.cpu)}` : "") + " (target for ours: under 5%)",
    `quiltkit reinstall minus start-up (\`quilt --help\`): ${fmt(r.quiltkit.reinstall.cpuSeconds - st.quiltkit.cpuSeconds)} CPU s, ` +
      `${mib(r.quiltkit.reinstall.readBytes - st.quiltkit.readBytes)} MiB read; install minus start-up: ${fmt(r.quiltkit.install.cpuSeconds - st.quiltkit.cpuSeconds)} CPU s`,
    `quiltkit reinstall said: ${r.quiltkit.reinstallOutput}`,
    "every installed folder matched the input byte for byte (checked untimed, after each step)",
  );
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await run(process.argv[2] ? { spec: spec(process.argv[2]) } : {});
  console.log(JSON.stringify(r, null, 2));
  for (const line of report(r)) console.log(line);
}
