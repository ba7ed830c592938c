// Browse + `ls` of one folder of a big package, ours beside quilt3, on a local registry and on
// versitygw (127.0.0.1, posix backend, versioning on), at 1M and 10M entries by default.
//   node bench/browse.mjs [N...] [--local|--s3]     (prints JSON)     import { run } from "./browse.mjs"
//   env: BENCH_BROWSE_QUILT3_TIMEOUT (s, default 900), BENCH_BROWSE_QUILT3_MEMORY (bytes, default 16 GiB)
// Run `npm run build` first. Per N: one synthetic manifest (lib/synthetic.mjs, 1,000 files a folder,
// entries pointing at S3 keys, so no data is read) named by its real top hash, generated once and
// deleted at the end (3.45 GB at 10M). Per storage, with no sidecar index at first (as quilt3 pushes):
//   first    `quilt ls NAME train/00500/`, fresh QUILT_HOME: streams the manifest, checks the top hash,
//            caches the index in $QUILT_HOME/cache/index
//   cached   the same command again, same QUILT_HOME: lazy through the cached index
//   quilt3   Package.browse + the folder's keys + a walk (count, size), one process under a memory
//            cap and a time limit (lib/browse-quilt3.py); run only when MemAvailable can hold it
//   sidecar  then the index our push writes is added (writeIndexAfterPush), and with a fresh QUILT_HOME:
//            `quilt ls` and `quilt show` read it from the registry
// Every answer is checked against the generator: the folder's 1,000 keys, the count and total size.
//
// Measured per child (lib/browse-run.mjs, GNU time): wall, CPU (user + system: the figure to trust on
// a loaded machine), peak RSS. Bytes read: locally the child's rchar (every byte read(2) returned)
// less what the same interpreter reads to start (`quilt --help`; for quilt3, rchar after `import`).
// On S3: the bytes versitygw wrote during the step (wchar of /proc/PID/io: response bodies and
// headers sent to the client), i.e. what crossed the wire to the client. Server CPU is reported too.
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cpuOf, ioOf, memAvailable, runMeasured } from "./lib/browse-run.mjs";
import { freeBytes, isolatedEnv as baseEnv, noAwsConfig, quilt3Python, removeOnExit, s3Env } from "./lib/common.mjs";
import { expectedKeys, expectedTotals, makeLocalRegistry, makeManifest, PER_DIR, snapshotDist, uploadToS3, writeSidecar } from "./lib/browse-setup.mjs";
import { startVersitygw, versitygwVersion } from "./lib/versitygw.mjs";

const IO_PRELOAD = fileURLToPath(new URL("./lib/report-io.cjs", import.meta.url));
const QUILT3_SCRIPT = fileURLToPath(new URL("./lib/browse-quilt3.py", import.meta.url));
const NAME = "bench/big";
const GiB = 2 ** 30;
/** quilt3 holds the whole package in memory (~1.4 GB a million entries); leave room for the rest. */
const QUILT3_BYTES_PER_ENTRY = 1.5e9 / 1e6;
const QUILT3_TIMEOUT = Number(process.env.BENCH_BROWSE_QUILT3_TIMEOUT ?? 900);
const QUILT3_MEMORY = Number(process.env.BENCH_BROWSE_QUILT3_MEMORY ?? 16 * GiB);

/** The folder listed: `train/00500` (keys 500,000–500,999) whenever N ≥ 501,000, else the middle one. */
const folderOf = (entries) => `train/${String(Math.min(500, Math.floor(entries / 2 / PER_DIR))).padStart(5, "0")}`;

export async function run(options = {}) {
  const sizes = options.sizes ?? [1_000_000, 10_000_000];
  const server = versitygwVersion();
  const storages = (options.storages ?? ["local", "s3"]).filter((s) => s === "local" || server);
  const python = quilt3Python();
  const version = options.quilt3 === false ? undefined : await quilt3Version(python);
  const results = [];
  const snapshot = mkdtempSync(join(tmpdir(), "quiltkit-bench-browse-dist-"));
  try {
    const cli = snapshotDist(snapshot);
    for (const entries of sizes) results.push(await runSize(entries, { storages, python, version, cli }));
  } finally {
    rmSync(snapshot, { recursive: true, force: true });
  }
  return {
    quilt3: version ?? (options.quilt3 === false ? "skipped" : "not installed (bash scripts/quilt3.sh)"),
    server: server ?? "versitygw not built (bash scripts/versitygw.sh): S3 skipped",
    limits: { quilt3TimeoutSeconds: QUILT3_TIMEOUT, quilt3MemoryCapBytes: QUILT3_MEMORY },
    results,
  };
}

async function runSize(entries, ctx) {
  const root = mkdtempSync(join(tmpdir(), "quiltkit-bench-browse-"));
  const held = { server: undefined };
  const cleanup = removeOnExit(root, held);
  try {
    const manifestPath = join(root, "manifest.jsonl");
    const made = await makeManifest(manifestPath, entries);
    const manifestBytes = statSync(manifestPath).size;
    // The manifest twice (local link + server copy) and room for the server's multipart parts.
    checkFreeSpace(root, 3 * manifestBytes + GiB);
    const folder = folderOf(entries);
    const expected = { keys: expectedKeys(entries, folder), totals: expectedTotals(entries) };
    const out = {
      entries,
      manifestBytes,
      topHash: made.topHash,
      generateSeconds: round(made.generateSeconds, 1),
      topHashCpuSeconds: round(made.topHashCpuSeconds, 1),
      folder,
      loadAverage: { before: round(loadavg()[0]) },
      storages: {},
    };
    for (const storage of ctx.storages) {
      let target;
      if (storage === "local") {
        target = { url: makeLocalRegistry(join(root, "local-registry"), manifestPath, made.topHash, NAME), env: (h) => isolatedEnv(join(root, h)) };
      } else {
        const server = (held.server = await startVersitygw(join(root, "server")));
        const bucket = await server.bucket("bench-browse");
        const env = (h) => ({ ...isolatedEnv(join(root, h)), ...s3Env(server) });
        const upload = await uploadToS3(`s3://${bucket}`, manifestPath, made.topHash, NAME, env("home-upload"));
        target = { url: `s3://${bucket}`, env, server, uploadSeconds: round(upload.seconds, 1) };
      }
      out.storages[storage] = await runStorage(storage, target, { ...ctx, entries, manifestPath, manifestBytes, topHash: made.topHash, folder, expected });
      if (held.server) {
        await held.server.stop();
        held.server = undefined;
        rmSync(join(root, "server"), { recursive: true, force: true });
      }
    }
    out.loadAverage.after = round(loadavg()[0]);
    return out;
  } finally {
    await cleanup();
  }
}

async function runStorage(storage, target, c) {
  const { url, server } = target;
  const ours = (argv, home, repeats = 1, baseRchar = base.rcharBytes) => oursMeasured(c.cli, argv, target.env(home), server, baseRchar, repeats);
  const base = await ours(["--help"], "home-help", 1, 0);
  const step = (argv, home, repeats = 1) => ours([...argv, "--registry", url], home, repeats);
  const ls = ["ls", NAME, `${c.folder}/`];
  const show = ["--json", "show", NAME];
  const checkLs = (r) => ({ ...r, answer: checkKeys(r.stdout.split("\n").filter(Boolean), c.expected.keys) });
  const checkShow = (r) => ({ ...r, answer: checkTotals(JSON.parse(r.stdout), c.expected.totals) });

  const first = checkLs(await step(ls, "home-a"));
  const cached = checkLs(await step(ls, "home-a", 2));
  const quilt3 = await theirs(url, target, c);
  const sidecar = await writeSidecar(url, c.manifestPath, c.topHash, target.env("home-sidecar"));
  const sidecarLs = checkLs(await step(ls, "home-c", 2));
  const sidecarShow = checkShow(await step(show, "home-c", 2));
  const strip = ({ stdout, rcharBytes, ...rest }) => rest;
  return {
    registry: storage === "local" ? "local folder" : `${server.version} (s3://, 127.0.0.1)`,
    ...(target.uploadSeconds === undefined ? {} : { uploadSeconds: target.uploadSeconds }),
    bytesCounted: storage === "local" ? "rchar of the client, less start-up" : "bytes versitygw sent (its wchar)",
    index: { bytes: Number(sidecar.stdout), ofManifest: Number(sidecar.stdout) / c.manifestBytes, buildCpuSeconds: round(sidecar.cpuSeconds), buildPeakRssMiB: round(sidecar.peakRssMiB, 0) },
    quiltkit: { first: strip(first), cached: strip(cached), sidecarLs: strip(sidecarLs), sidecarShow: strip(sidecarShow) },
    quilt3,
  };
}

/** Our CLI, `repeats` fresh processes: best wall and CPU, highest RSS and bytes. */
async function oursMeasured(cli, argv, env, server, baseRchar, repeats) {
  const runs = [];
  for (let i = 0; i < repeats; i++) {
    const before = server ? serverCounters(server) : undefined;
    const r = await runMeasured(process.execPath, [cli, ...argv], { env: { ...env, NODE_OPTIONS: `--require ${JSON.stringify(IO_PRELOAD)}` }, cwd: env.HOME });
    if (r.outcome !== "ok") throw new Error(`quilt ${argv.join(" ")}: ${r.outcome}\n${r.stderr.slice(-3000)}`);
    runs.push({ ...r, ...(before ? serverDelta(server, before) : {}) });
  }
  const clientRead = Math.max(...runs.map((r) => r.rcharBytes)) - baseRchar;
  return {
    seconds: round(Math.min(...runs.map((r) => r.seconds))),
    cpuSeconds: round(Math.min(...runs.map((r) => r.cpuSeconds))),
    peakRssMiB: round(Math.max(...runs.map((r) => r.peakRssMiB)), 0),
    readBytes: server ? Math.max(...runs.map((r) => r.serverSentBytes)) : clientRead,
    clientReadBytes: clientRead,
    ...(server ? { serverCpuSeconds: round(Math.min(...runs.map((r) => r.serverCpuSeconds))) } : {}),
    runs: repeats,
    rcharBytes: runs[0].rcharBytes,
    stdout: runs[0].stdout,
  };
}

/**
 * quilt3 in one process (lib/browse-quilt3.py), split at its checkpoints: `ls` is everything up to
 * the folder's keys; `show` is everything but the keys step. Under the memory cap and time limit.
 */
async function theirs(url, target, c) {
  if (!c.version) return { outcome: "not installed" };
  const needs = Math.min(c.entries * QUILT3_BYTES_PER_ENTRY, QUILT3_MEMORY) + GiB;
  if (memAvailable() < needs) {
    return { outcome: `skipped: needs ~${round(needs / GiB, 1)} GiB available, ${round(memAvailable() / GiB, 1)} GiB are` };
  }
  const env = { ...target.env("home-quilt3"), QUILT_DISABLE_CACHE: "true" };
  const registry = target.server ? url : pathToFileURL(url).href;
  const before = target.server ? serverCounters(target.server) : undefined;
  const r = await runMeasured(c.python, [QUILT3_SCRIPT, registry, NAME, c.folder], {
    env,
    cwd: env.HOME,
    limits: { seconds: QUILT3_TIMEOUT, memoryBytes: QUILT3_MEMORY },
  });
  const server = before ? serverDelta(target.server, before) : {};
  const marks = Object.fromEntries([...r.stderr.matchAll(/^BENCH_MARK (.*)$/gm)].map((m) => JSON.parse(m[1])).map((m) => [m.step, m]));
  const whole = { seconds: round(r.seconds), cpuSeconds: round(r.cpuSeconds), peakRssMiB: round(r.peakRssMiB, 0), ...server };
  const answers = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const keys = answers.find((a) => a.keys)?.keys;
  const totals = answers.find((a) => a.entries !== undefined);
  const out = { outcome: r.outcome === "ok" ? "ok" : `did not finish (${r.outcome}) after ${Object.keys(marks).at(-1) ?? "nothing"}` };
  const error = /^(\w*Error.*)$/m.exec(r.stderr)?.[1];
  if (r.outcome !== "ok" && error) out.error = error.slice(0, 300);
  // Split by the script's own clock and getrusage: `ls` is all up to the keys; `show` all but the
  // keys step. The interpreter's exit, which frees the whole package, is left out of both.
  const { import: imp, browse, ls, walk } = marks;
  const readOf = (m) => (target.server ? server.serverSentBytes : m.rchar - imp.rchar);
  if (ls && keys) {
    out.ls = { seconds: round(ls.wall), cpuSeconds: round(ls.cpu), peakRssMiB: round(ls.maxrssKiB / 1024, 0), readBytes: readOf(ls), answer: checkKeys(keys, c.expected.keys) };
    out.browseCpuSeconds = round(browse.cpu - imp.cpu);
  }
  if (ls && walk && totals) {
    const lsStep = { wall: ls.wall - browse.wall, cpu: ls.cpu - browse.cpu };
    out.show = {
      seconds: round(walk.wall - lsStep.wall),
      cpuSeconds: round(walk.cpu - lsStep.cpu),
      peakRssMiB: round(walk.maxrssKiB / 1024, 0),
      readBytes: readOf(walk),
      answer: checkTotals(totals, c.expected.totals),
    };
  }
  return { ...out, whole };
}

function serverCounters(server) {
  return { io: ioOf(server.pid), cpu: cpuOf(server.pid) };
}

function serverDelta(server, before) {
  return { serverSentBytes: ioOf(server.pid).wchar - before.io.wchar, serverCpuSeconds: round(cpuOf(server.pid) - before.cpu) };
}

function checkKeys(got, want) {
  const same = got.length === want.length && got.every((k, i) => k === want[i]);
  return same ? `ok: ${got.length} keys, ${got[0]} .. ${got.at(-1)}` : `WRONG: ${got.length} keys (${got[0]} .. ${got.at(-1)}), expected ${want.length}`;
}

function checkTotals(got, want) {
  const same = got.entries === want.entries && got.bytes === want.bytes;
  return `${same ? "ok" : "WRONG"}: ${got.entries} entries, ${got.bytes} bytes` + (same ? "" : ` (expected ${want.entries}, ${want.bytes})`);
}

/**
 * Nothing of the developer's settings: a fresh HOME, QUILT_HOME and XDG folders per case. TMPDIR too,
 * inside the bench's folder: quilt3 killed at its time limit left a 1.9 GB temp file in /tmp.
 */
function isolatedEnv(home) {
  const tmp = join(home, "tmp");
  mkdirSync(tmp, { recursive: true });
  return baseEnv(home, { TMPDIR: tmp, XDG_STATE_HOME: join(home, "xdg-state"), ...noAwsConfig(home) });
}

async function quilt3Version(python) {
  const r = await runMeasured(python, ["-c", "import quilt3; print(quilt3.__version__)"], { env: { ...process.env, QUILT_DISABLE_USAGE_METRICS: "true" } });
  return r.outcome === "ok" ? r.stdout : undefined;
}

function checkFreeSpace(dir, needed) {
  const free = freeBytes(dir);
  if (free < needed) throw new Error(`browse bench: ${round(free / GiB, 1)} GiB free in ${dir}, ${round(needed / GiB, 1)} GiB needed (set TMPDIR)`);
}

const round = (x, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const argv = process.argv.slice(2);
  const sizes = argv.map(Number).filter((n) => n > 0);
  const storages = argv.includes("--local") ? ["local"] : argv.includes("--s3") ? ["s3"] : undefined;
  console.log(JSON.stringify(await run({ ...(sizes.length > 0 ? { sizes } : {}), ...(storages ? { storages } : {}) }), null, 2));
}
