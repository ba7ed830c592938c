// Push and install against an S3 server on loopback (versitygw, posix backend, versioning on),
// Quiltkit's CLI beside quilt3 in the same run, on the same input files:
//   small  20,000 files of 16 KiB (312.5 MiB)         BENCH_S3_SMALL=COUNTxBYTES to change
//   big    8 files of 256 MiB (2 GiB)                   BENCH_S3_BIG=COUNTxBYTES
//   node bench/s3.mjs [small] [big]     (default both; prints JSON)    import { run } from "./s3.mjs"
// Run `npm run build` first. The bench runs a copy of dist/ taken when it starts (a rebuild by
// someone else during the run does not change what is measured).
//
// Each case: deterministic input files (AES-CTR keystream) in a temp folder; a fresh versitygw
// whose data folder sits beside them (same disk); one versioned bucket per tool. Then, each a
// fresh process measured from outside (bench/lib/tree.mjs), with `sync` before each so no
// writeback from the step before competes:
//   push     ours: `quilt push bench/NAME --dir IN --registry s3://B`; quilt3: set_dir + push
//   install  each tool installs the package it pushed into a fresh folder
//            ours: `quilt install bench/NAME --registry s3://B --dest D`; quilt3: Package.install
// Every installed folder is compared byte for byte with the input (outside the timing), then
// deleted. No warm-up: each run is the first of its kind, on a fresh package name and bucket.
// Concurrency: each tool's default (ours 16 files in flight, QUILT_TRANSFER_CONCURRENCY; quilt3 10
// threads, QUILT_TRANSFER_MAX_CONCURRENCY); set those variables to change them.
// versitygw runs as its own process: its CPU time during each step is reported beside the tool's.
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertSameTree, copyDist, freeBytes, isolatedEnv, keystream, keystreamCipher, noAwsConfig, passThrough, quilt3Python, quilt3Version, removeOnExit, s3Env } from "./lib/common.mjs";
import { measureTree } from "./lib/tree.mjs";
import { startVersitygw, versitygwVersion } from "./lib/versitygw.mjs";

const QUILT3_SCRIPT = fileURLToPath(new URL("./lib/quilt3_s3.py", import.meta.url));
const KiB = 1024;
const MiB = KiB * KiB;
const GiB = MiB * KiB;

export const CASES = {
  small: { files: 20_000, size: 16 * KiB, perDir: 1_000, env: "BENCH_S3_SMALL" },
  big: { files: 8, size: 256 * MiB, perDir: 8, env: "BENCH_S3_BIG" },
};

/** Environment of both tools: nothing of the developer's but PATH; the server's endpoint and keys. */
function envOf(home, server) {
  return isolatedEnv(home, {
    ...passThrough("QUILT_TRANSFER_CONCURRENCY", "QUILT_TRANSFER_MAX_CONCURRENCY", "NODE_OPTIONS"),
    XDG_STATE_HOME: join(home, "xdg-state"),
    QUILT_DISABLE_CACHE: "true",
    ...noAwsConfig(home),
    ...s3Env(server),
  });
}

function caseSpec(name) {
  const c = CASES[name];
  if (!c) throw new Error(`unknown S3 case ${name}; known: ${Object.keys(CASES).join(", ")}`);
  const override = process.env[c.env];
  if (!override) return { name, ...c };
  const m = /^(\d+)x(\d+)$/.exec(override);
  if (!m) throw new Error(`${c.env} must be COUNTxBYTES, e.g. 20000x16384`);
  return { name, ...c, files: Number(m[1]), size: Number(m[2]), perDir: Math.min(c.perDir, Number(m[1])) };
}

const fileName = (spec, i) => join(`d${String(Math.floor(i / spec.perDir)).padStart(3, "0")}`, `f${String(i).padStart(6, "0")}.bin`);

function writeInputs(dir, spec) {
  const CHUNK = 16 * MiB;
  for (let i = 0; i < spec.files; i++) {
    const path = join(dir, fileName(spec, i));
    if (i % spec.perDir === 0) mkdirSync(join(path, ".."), { recursive: true });
    if (spec.size <= CHUNK) {
      writeFileSync(path, keystream(`quiltkit-bench-s3/${spec.name}/${i}`, spec.size));
      continue;
    }
    const cipher = keystreamCipher(`quiltkit-bench-s3/${spec.name}/${i}`);
    const zeros = Buffer.alloc(CHUNK);
    const fd = openSync(path, "w");
    try {
      for (let off = 0; off < spec.size; off += CHUNK) writeSync(fd, cipher.update(zeros.subarray(0, Math.min(CHUNK, spec.size - off))));
    } finally {
      closeSync(fd);
    }
  }
}

const sync = () => execFileSync("sync");

export async function run(options = {}) {
  const names = options.cases ?? Object.keys(CASES);
  const specs = names.map(caseSpec);
  const server = versitygwVersion();
  if (!server) throw new Error("versitygw is not built: run bash scripts/versitygw.sh");
  const python = quilt3Python();
  const probeHome = mkdtempSync(join(tmpdir(), "quiltkit-bench-s3-probe-"));
  const version = options.quilt3 === false ? undefined : quilt3Version(python, { PATH: process.env.PATH, HOME: probeHome, QUILT_DISABLE_USAGE_METRICS: "true" });
  rmSync(probeHome, { recursive: true, force: true });
  // dist/ as it is now (with package.json, node_modules linked): a rebuild half-way must not change what is measured.
  const snapshot = mkdtempSync(join(tmpdir(), "quiltkit-bench-s3-dist-"));
  const cli = copyDist(snapshot);
  const results = [];
  let startup;
  try {
    startup = await startupCost(cli, python, version);
    for (const spec of specs) results.push(await runCase(spec, { cli, python, version }));
  } finally {
    rmSync(snapshot, { recursive: true, force: true });
  }
  return {
    startup,
    server,
    quilt3: version ?? (options.quilt3 === false ? "skipped" : `not installed (bash scripts/quilt3.sh, or pip install quilt3==8.0.0 for ${python})`),
    python,
    concurrency: {
      quiltkit: Number(process.env.QUILT_TRANSFER_CONCURRENCY ?? 16),
      quilt3: Number(process.env.QUILT_TRANSFER_MAX_CONCURRENCY ?? 10),
    },
    results,
  };
}

/**
 * What starting each tool costs, for reading the small-scale figures: ours `quilt --help` (Node,
 * the CLI's modules), quilt3 `import quilt3` (Python, boto3, quilt3). Each once, no server needed.
 */
async function startupCost(cli, python, version) {
  const home = mkdtempSync(join(tmpdir(), "quiltkit-bench-s3-startup-"));
  try {
    const env = envOf(home, { endpoint: "http://127.0.0.1:9", region: "us-east-1", accessKeyId: "x", secretAccessKey: "x" });
    const pick = (m) => ({ seconds: m.seconds, cpuSeconds: m.cpuSeconds, treePeakRssMiB: m.treePeakRssMiB });
    const ours = pick(await measureTree(process.execPath, [cli, "--help"], { env, cwd: home }));
    const theirs = version ? pick(await measureTree(python, ["-c", "import quilt3, quilt3.hooks"], { env, cwd: home })) : undefined;
    return { quiltkit: ours, ...(theirs ? { quilt3: theirs } : {}) };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function runCase(spec, { cli, python, version }) {
  const bytes = spec.files * spec.size;
  const root = mkdtempSync(join(tmpdir(), `quiltkit-bench-s3-${spec.name}-`));
  // Input + a copy on the server for each tool + one installed copy at a time, and some room.
  const needed = 4 * bytes + spec.files * 8 * KiB + GiB;
  const free = freeBytes(root);
  if (free < needed) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(
      `S3 bench ${spec.name}: ${(free / GiB).toFixed(1)} GiB free in ${tmpdir()}, ${(needed / GiB).toFixed(1)} GiB needed; ` +
        `scale it down with ${spec.env}=COUNTxBYTES (or set TMPDIR to a bigger disk)`,
    );
  }
  const held = { server: undefined };
  const stopAll = removeOnExit(root, held);
  try {
    const input = join(root, "input");
    const started = performance.now();
    writeInputs(input, spec);
    sync();
    const generateSeconds = (performance.now() - started) / 1000;
    const server = (held.server = await startVersitygw(join(root, "server")));
    const stamp = Date.now().toString(36);
    const sides = [["quiltkit", true], ...(version ? [["quilt3", false]] : [])].map(([side, ours]) => ({
      side,
      ours,
      name: `bench/${spec.name}-${side}-${stamp}`,
      bucket: `bench-${spec.name}-${side}-${stamp}`,
      env: envOf(join(root, `home-${side}`), server),
    }));
    for (const s of sides) await server.bucket(s.bucket);

    const step = async (s, argv) => {
      sync();
      const load = loadavg()[0];
      const m = await measureTree(argv[0], argv.slice(1), { env: s.env, cwd: s.env.HOME, watch: [server.pid] });
      sync();
      return {
        seconds: m.seconds,
        cpuSeconds: m.cpuSeconds,
        peakRssMiB: m.peakRssMiB,
        treePeakRssMiB: m.treePeakRssMiB,
        serverCpuSeconds: m.watchedCpuSeconds[0],
        filesPerSecond: spec.files / m.seconds,
        MBps: bytes / 1e6 / m.seconds,
        loadAverage: Number(load.toFixed(2)),
        stdout: m.stdout,
      };
    };

    const push = {};
    for (const s of sides) {
      const argv = s.ours
        ? [process.execPath, cli, "--json", "push", s.name, "--dir", input, "--registry", `s3://${s.bucket}`, "-m", "bench"]
        : [python, QUILT3_SCRIPT, "push", s.name, input, `s3://${s.bucket}`, "bench"];
      const m = await step(s, argv);
      const out = JSON.parse(m.stdout.split("\n").pop());
      m.topHash = out.topHash ?? out.top_hash;
      delete m.stdout;
      push[s.side] = m;
    }
    const install = {};
    for (const s of sides) {
      const dest = join(root, `installed-${s.side}`);
      const argv = s.ours
        ? [process.execPath, cli, "--json", "install", s.name, "--registry", `s3://${s.bucket}`, "--dest", dest]
        : [python, QUILT3_SCRIPT, "install", s.name, `s3://${s.bucket}`, dest];
      const m = await step(s, argv);
      delete m.stdout;
      m.verifiedFiles = assertSameTree(input, dest, `${s.side} install`);
      rmSync(dest, { recursive: true, force: true });
      install[s.side] = m;
    }
    const ratios = (op) =>
      op.quilt3
        ? {
            wall: op.quilt3.seconds / op.quiltkit.seconds,
            cpu: op.quilt3.cpuSeconds / op.quiltkit.cpuSeconds,
            memory: op.quilt3.treePeakRssMiB / op.quiltkit.treePeakRssMiB,
            serverCpu: op.quilt3.serverCpuSeconds / op.quiltkit.serverCpuSeconds,
          }
        : undefined;
    return {
      case: spec.name,
      files: spec.files,
      fileBytes: spec.size,
      bytes,
      generateSeconds,
      push: { ...push, ratio: ratios(push) },
      // The top hash covers logical keys, sizes, hashes and metadata, not where the data went: both
      // tools pushed the same files with the same message, so both must give the same one.
      ...(push.quilt3 ? { sameTopHash: push.quilt3.topHash === push.quiltkit.topHash } : {}),
      install: { ...install, ratio: ratios(install) },
    };
  } finally {
    await stopAll();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cases = process.argv.slice(2);
  console.log(JSON.stringify(await run(cases.length > 0 ? { cases } : {}), null, 2));
}
