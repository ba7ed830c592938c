// Every operation of issue 6 on one N-entry package (default 10,000,000), each a fresh child
// process measured from outside (lib/measure.mjs: CPU s, wall s, peak RSS, bytes read), each
// answer checked:
//   tophash   topHashOf of the expected manifest (written by lib/scale-inputs.mjs, not the library)
//   quilt3    Package.load(f).top_hash of the same file, under a memory cap and a time limit
//   build     PackageBuilder fed the entries in scrambled order (external sort), build(), then
//   push      push() to a local registry (data of the 1,000 real files copied, manifest, index)
//   show      quilt show --json              (entry count and total size)
//   ls        quilt ls NAME train/00500/     (lazy, through the sidecar index)
//   edit      browse v1, toBuilder(), K deletes + K modifications + K additions, push(): v2
//   diff      quilt diff NAME@v1 NAME@v2 --json   (counts must be K, K, K)
//   install   quilt install NAME@v1 --path real --dest D   (files compared byte for byte, untimed)
//   verify    the installed folder against the entries under real/ (library: compareDir)
// Our node children run with --max-old-space-size=1536 --max-semi-space-size=32 (docs/design.md, decision 3).
//   node bench/scale.mjs [N]        (prints JSON; progress on stderr)
//   import { run } from "./scale.mjs"
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { measure, withIo } from "./lib/measure.mjs";
import { quilt3Limits, quilt3TopHash } from "./lib/scale-quilt3.mjs";
import { changesOf, NAME, PER_DIR, REAL_COUNT, REAL_PREFIX, realFile, writeExpectedManifest, writeRealFiles } from "./lib/scale-inputs.mjs";
import { syntheticKey } from "./lib/synthetic.mjs";

const DIST = fileURLToPath(new URL("../dist", import.meta.url));
const CLI = join(DIST, "bin", "quilt.js");
const CHILD = fileURLToPath(new URL("./lib/scale-child.mjs", import.meta.url));
// The flags the `quilt` CLI gives the commands that build a package (src/cli/heap.ts), here for every child.
const HEAP = ["--max-old-space-size=1536", "--max-semi-space-size=32"];
const LIMIT_MIB = 2048;

export async function run(options = {}) {
  const entries = options.entries ?? 10_000_000;
  const root = mkdtempSync(join(options.tmpDir ?? tmpdir(), "quiltkit-bench-scale-"));
  const dirs = Object.fromEntries(["real", "registry", "home", "tmp", "install"].map((d) => [d, join(root, d)]));
  for (const d of ["real", "home", "tmp"]) mkdirSync(dirs[d], { recursive: true });
  const out = { entries, loadAverage: { before: round(loadavg()[0]) }, ops: [] };
  const log = (line) => process.stderr.write(`[scale ${new Date().toISOString()}] ${line}\n`);
  try {
    const t = performance.now();
    const real = writeRealFiles(dirs.real);
    const manifest = join(root, "expected.jsonl");
    const expected = await writeExpectedManifest(manifest, entries);
    out.setup = { seconds: round((performance.now() - t) / 1000, 1), manifestBytes: statSync(manifest).size, realFiles: real, ...expected };
    log(`setup: ${JSON.stringify(out.setup)}`);
    const env = { ...process.env, QUILT_HOME: dirs.home, TMPDIR: dirs.tmp, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} ${HEAP.join(" ")}`.trim() };
    const base = await measured(process.execPath, [CLI, "--help"], env);
    out.startupReadBytes = base.rcharBytes;
    const ctx = { entries, dirs, env, base, expected, manifest, log, out };
    await steps(ctx, options);
    out.loadAverage.after = round(loadavg()[0]);
    out.allChecked = out.ops.every((o) => o.ok);
    out.allUnder2GB = out.ops.filter((o) => o.side === "quiltkit").every((o) => o.peakRssMiB < LIMIT_MIB);
    return out;
  } finally {
    if (options.keep) out.root = root;
    else rmSync(root, { recursive: true, force: true });
  }
}

/** The operations in order; a failed one is recorded and the rest that do not depend on it go on. */
async function steps(ctx, options) {
  const { entries, dirs, manifest } = ctx;
  const lib = (op, config) => [process.execPath, [...HEAP, CHILD, op, JSON.stringify({ dist: DIST, entries, tmpDir: dirs.tmp, ...config })]];
  const cli = (...args) => [process.execPath, [CLI, ...args, "--registry", dirs.registry]];

  const top = await step(ctx, "tophash", "topHashOf(fileSource(manifest))", lib("tophash", { manifest }), (s) => {
    const topHash = JSON.parse(s).topHash;
    return { ok: /^[0-9a-f]{64}$/.test(topHash), answer: topHash };
  });
  const v1 = top?.answer;
  await ours(ctx, options, lib, cli, v1);
  // Last: at 10M it may take the time limit, and our figures should not wait on it.
  if (options.quilt3 !== false) await quilt3Step(ctx, v1);
}

async function ours(ctx, options, lib, cli, v1) {
  const { entries, dirs, expected } = ctx;

  const built = await step(ctx, "build+push", "PackageBuilder: setEntry x N (scrambled), build(), push() to a local registry", lib("build", { realDir: dirs.real, registry: dirs.registry }), (s) => {
    const r = JSON.parse(s);
    const ok = r.build.topHash === v1 && r.push.topHash === v1 && r.push.entries === expected.entries && r.push.data.copied === REAL_COUNT;
    return { ok, answer: `top hash ${r.push.topHash.slice(0, 12)}, ${r.push.entries} entries, ${r.push.data.copied} files copied`, phases: { build: r.build, push: r.push } };
  });
  if (!built?.ok) return;

  await step(ctx, "show", "quilt show --json", cli("--json", "show", `${NAME}@${v1}`), (s) => {
    const j = JSON.parse(s);
    return { ok: j.entries === expected.entries && j.bytes === expected.bytes, answer: `${j.entries} entries, ${j.bytes} bytes` };
  });
  const folder = `train/${String(Math.min(500, Math.floor(entries / 2 / PER_DIR))).padStart(5, "0")}`;
  await step(ctx, "ls", `quilt ls ${folder}/`, cli("ls", `${NAME}@${v1}`, `${folder}/`), (s) => lsCheck(s, folder, entries));

  const edited = await step(ctx, "edit+push v2", "browse v1, toBuilder(), K deletes/modifications/additions, push()", lib("edit", { registry: dirs.registry }), (s) => {
    const r = JSON.parse(s);
    const k = changesOf(entries).k;
    // K deleted and K added: the count is unchanged.
    return { ok: r.from === v1 && r.entries === expected.entries && /^[0-9a-f]{64}$/.test(r.topHash), answer: `v2 ${r.topHash.slice(0, 12)}, ${r.entries} entries (${k} deleted, ${k} modified, ${k} added)` };
  });
  const v2 = edited?.ok ? /^v2 (\w+)/.exec(edited.answer)?.[1] : undefined;
  if (v2) await diffStep(ctx, cli, v1, edited);

  const installed = await step(ctx, "install", `quilt install --path ${REAL_PREFIX}`, cli("--json", "install", `${NAME}@${v1}`, "--path", REAL_PREFIX, "--dest", dirs.install), (s) => {
    const j = JSON.parse(s);
    const same = sameRealFiles(dirs.install);
    return { ok: j.files + j.skipped === REAL_COUNT && same, answer: `${j.files} files, ${j.bytes} bytes; byte-identical: ${same}` };
  });
  if (!installed) return;
  await step(ctx, "verify", `installed ${REAL_PREFIX}/ against the package (compareDir)`, lib("verify", { registry: dirs.registry, topHash: v1, dir: dirs.install }), (s) => {
    const r = JSON.parse(s);
    return { ok: r.matches && r.unchanged === REAL_COUNT, answer: `matches: ${r.matches}, ${r.unchanged} unchanged, ${r.modified} modified, ${r.deleted} missing, ${r.added} extra` };
  });
}

/** `quilt diff` exits 1 when the revisions differ (expected here): a wrapper maps that to 0 and prints the code. */
async function diffStep(ctx, cli, v1, edited) {
  const k = changesOf(ctx.entries).k;
  const v2full = readFileSync(join(ctx.dirs.registry, ".quilt", "named_packages", ...NAME.split("/"), "latest"), "utf8").trim();
  if (!v2full.startsWith(/^v2 (\w+)/.exec(edited.answer)[1])) throw new Error("latest is not version 2");
  const [node, args] = cli("--json", "diff", `${NAME}@${v1}`, `${NAME}@${v2full}`);
  const wrapped = ["-c", '"$@"; c=$?; echo; echo "exit=$c"; [ $c -le 1 ]', "sh", node, ...args];
  await step(ctx, "diff", "quilt diff v1 v2 --json", ["sh", wrapped], (s) => {
    const code = /exit=(\d+)\s*$/.exec(s)?.[1];
    const c = JSON.parse(s.replace(/exit=\d+\s*$/, "")).counts;
    const ok = code === "1" && c.added === k && c.modified === k && c.deleted === k && c.metaOnly === 0;
    return { ok, answer: `${c.added} added, ${c.modified} modified, ${c.deleted} deleted (expected ${k} each), exit ${code}` };
  });
}

async function quilt3Step(ctx, v1) {
  ctx.log("quilt3 top hash ...");
  const r = await quilt3TopHash(ctx.manifest, ctx.expected.entries);
  const row = { op: "quilt3 tophash", side: "quilt3", command: "Package.load(f).top_hash", limits: quilt3Limits(), ...r };
  if (r.status === "finished") Object.assign(row, { ok: r.topHash === v1, answer: r.topHash, readBytes: r.rcharBytes });
  else row.ok = true; // not an answer to check: the status says why there is none
  ctx.out.ops.push(row);
  ctx.log(JSON.stringify(row));
}

/** Run one measured child, check its answer; a failure is recorded, not thrown. */
async function step(ctx, op, command, [exe, args], check) {
  ctx.log(`${op} ...`);
  const row = { op, side: "quiltkit", command };
  try {
    const m = await measured(exe, args, ctx.env);
    Object.assign(row, { seconds: round(m.seconds), cpuSeconds: round(m.cpuSeconds), peakRssMiB: round(m.peakRssMiB, 0), readBytes: m.rcharBytes - ctx.base.rcharBytes });
    Object.assign(row, check(m.stdout));
  } catch (error) {
    Object.assign(row, { ok: false, error: String(error.message ?? error).slice(-3000) });
  }
  row.loadAverage = round(loadavg()[0]);
  ctx.out.ops.push(row);
  ctx.log(JSON.stringify(row));
  return row.error ? undefined : row;
}

function lsCheck(stdout, folder, entries) {
  const keys = stdout.split("\n").filter(Boolean);
  const first = Number(folder.slice(-5)) * PER_DIR;
  const count = Math.min(PER_DIR, entries - first);
  const ok = keys.length === count && keys[0] === syntheticKey(first, PER_DIR) && keys.at(-1) === syntheticKey(first + count - 1, PER_DIR);
  return { ok, answer: `${keys.length} keys, first ${keys[0]}, last ${keys.at(-1)}` };
}

/** Every installed file equals its source bytes, and nothing else is there but our state folder. */
function sameRealFiles(dest) {
  const names = readdirSync(dest).filter((n) => n !== ".quiltkit");
  if (names.length !== REAL_COUNT) return false;
  for (let r = 0; r < REAL_COUNT; r++) {
    const f = realFile(r);
    const rel = f.key.slice(REAL_PREFIX.length + 1);
    if (!readFileSync(join(dest, rel)).equals(f.bytes)) return false;
  }
  return true;
}

function measured(command, args, env) {
  const c = withIo(command, args, env);
  return measure(c.command, c.args, { env: c.env });
}

const round = (x, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

export function gitHead() {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: DIST, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const n = Number(process.argv[2] ?? 10_000_000);
  console.log(JSON.stringify({ code: gitHead(), ...(await run({ entries: n, keep: process.env.BENCH_SCALE_KEEP === "1" })) }, null, 2));
}
