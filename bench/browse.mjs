// Browsing a big package from a local registry: `quilt show` and `quilt ls` (our CLI, a fresh
// process each) beside quilt3 `Package.browse` + the same question, on the same registry.
//   node bench/browse.mjs [N...]          (default 1000000 3000000; prints JSON)
//   import { run } from "./browse.mjs"    (returns it)
// Run `npm run build` first. Each N gets its own registry in the temp folder:
//   .quilt/packages/<top hash>              a synthetic N-entry manifest (bench/lib/synthetic.mjs)
//   .quilt/named_packages/bench/big/latest  the top hash, 64 hex digits, no newline
// Entries point at S3 keys: no data is read, only the manifest.
//
// Measured per child process (bench/lib/measure.mjs): wall time, CPU time (user + system: the
// figure to trust on a loaded machine), peak RSS, and bytes read. Bytes read is the child's
// `rchar` minus that of the same interpreter loading the same modules and doing nothing
// (`quilt --help`, `import quilt3`), so it is what the command itself read: the manifest, once or
// more. Ours and quilt3's runs alternate, `repeats` times each; the best (lowest) time is kept.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { measure, quilt3Available, quilt3Env, ratio, withIo } from "./lib/measure.mjs";
import { writeSyntheticManifest } from "./lib/synthetic.mjs";

const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const MANIFEST_LIB = new URL("../dist/manifest/index.js", import.meta.url).href;
const NAME = "bench/big";
const PER_DIR = 1000;
/** The folder listed: `train/00500` (keys 500,000–500,999) whenever N ≥ 501,000, else the middle one. */
const folderOf = (entries) => `train/${String(Math.min(500, Math.floor(entries / 2 / PER_DIR))).padStart(5, "0")}`;
/** quilt3 holds the whole package in memory (~1.4 GB a million entries); leave room for the rest. */
const QUILT3_BYTES_PER_ENTRY = 1.5e9 / 1e6;

export async function run(options = {}) {
  const sizes = options.sizes ?? [1_000_000, 3_000_000];
  const version = options.quilt3 === false ? undefined : await quilt3Available();
  const results = [];
  for (const entries of sizes) {
    results.push(await runSize(entries, { ...options, version }));
  }
  return { quilt3: version ?? (options.quilt3 === false ? "skipped" : "not installed (pip install quilt3==8.0.0)"), results };
}

async function runSize(entries, { version, repeats = entries > 1_000_000 ? 1 : 2, keep = false }) {
  const root = mkdtempSync(join(tmpdir(), "quiltkit-bench-browse-"));
  const registry = join(root, "registry");
  const home = join(root, "home");
  mkdirSync(home);
  try {
    const made = await makeRegistry(registry, entries);
    const ourEnv = { ...process.env, QUILT_HOME: home };
    const theirEnv = quilt3Env();
    const loadBefore = round(loadavg()[0]);

    // What the interpreters read just to start: subtracted from every run's rchar.
    const ourBase = await measured(process.execPath, [CLI, "--help"], ourEnv);
    const theirBase = version ? await measured("python3", ["-c", "import quilt3"], theirEnv) : undefined;

    const FOLDER = folderOf(entries);
    const ops = {
      show: {
        ours: [process.execPath, [CLI, "--json", "show", NAME, "--registry", registry]],
        theirs: [
          "python3",
          [
            "-c",
            [
              "import json, sys, quilt3",
              `p = quilt3.Package.browse(${py(NAME)}, registry=${py(pathToFileURL(registry).href)})`,
              "n = 0",
              "total = 0",
              "for _, e in p.walk():",
              "    n += 1",
              "    total += e.size",
              "print(json.dumps({'entries': n, 'bytes': total}))",
            ].join("\n"),
          ],
        ],
        // Both must report the same count and size.
        answer: (stdout) => {
          const j = JSON.parse(stdout);
          return `${j.entries} entries, ${j.bytes} bytes`;
        },
      },
      ls: {
        ours: [process.execPath, [CLI, "ls", NAME, `${FOLDER}/`, "--registry", registry]],
        theirs: [
          "python3",
          [
            "-c",
            [
              "import quilt3",
              `p = quilt3.Package.browse(${py(NAME)}, registry=${py(pathToFileURL(registry).href)})`,
              // quilt3 lists a folder's children by name; print full keys like `quilt ls` does.
              `print('\\n'.join(${py(FOLDER + "/")} + k for k in p[${py(FOLDER)}].keys()))`,
            ].join("\n"),
          ],
        ],
        answer: (stdout) => {
          const keys = stdout.split("\n").filter(Boolean);
          return `${keys.length} keys, first ${keys[0]}, last ${keys.at(-1)}`;
        },
      },
    };

    const skipTheirs = version && !quilt3Fits(entries);
    const out = {
      entries,
      manifestBytes: made.bytes,
      topHash: made.topHash,
      setupSeconds: made.seconds,
      folder: FOLDER,
      loadAverage: { before: loadBefore },
      startupReadBytes: { quiltkit: ourBase.rcharBytes, quilt3: theirBase?.rcharBytes ?? null },
    };
    for (const [name, op] of Object.entries(ops)) {
      const ours = [];
      const theirs = [];
      for (let i = 0; i < repeats; i++) {
        ours.push(await measured(op.ours[0], op.ours[1], ourEnv));
        if (version && !skipTheirs) theirs.push(await measured(op.theirs[0], op.theirs[1], theirEnv));
      }
      const o = summarize(ours, ourBase, made.bytes);
      const row = { quiltkit: { ...o, answer: op.answer(ours[0].stdout) } };
      if (theirs.length > 0) {
        const t = summarize(theirs, theirBase, made.bytes);
        row.quilt3 = { ...t, answer: op.answer(theirs[0].stdout) };
        row.sameAnswer = row.quiltkit.answer === row.quilt3.answer;
        row.speedup = round(ratio(o.seconds, t.seconds));
        row.cpuSpeedup = round(ratio(o.cpuSeconds, t.cpuSeconds));
        row.memoryRatio = round(ratio(o.peakRssMiB, t.peakRssMiB));
      } else {
        row.quilt3 = !version ? "not installed" : `skipped: needs ~${round((entries * QUILT3_BYTES_PER_ENTRY) / 2 ** 30, 1)} GiB, more than available`;
      }
      out[name] = row;
    }
    out.loadAverage.after = round(loadavg()[0]);
    if (keep) out.registry = registry;
    return out;
  } finally {
    if (!keep) rmSync(root, { recursive: true, force: true });
  }
}

/** Write the manifest, name it by its top hash (ours), point `latest` at it. */
async function makeRegistry(registry, entries) {
  const t = performance.now();
  const packages = join(registry, ".quilt", "packages");
  const pointers = join(registry, ".quilt", "named_packages", ...NAME.split("/"));
  mkdirSync(packages, { recursive: true });
  mkdirSync(pointers, { recursive: true });
  const tmp = join(packages, "manifest.tmp");
  await writeSyntheticManifest(tmp, entries, PER_DIR);
  const { topHashOf, fileSource } = await import(MANIFEST_LIB);
  const topHash = await topHashOf(fileSource(tmp));
  if (!/^[0-9a-f]{64}$/.test(topHash)) throw new Error(`bad top hash ${topHash}`);
  renameSync(tmp, join(packages, topHash));
  writeFileSync(join(pointers, "latest"), topHash);
  if (readFileSync(join(pointers, "latest"), "utf8") !== topHash) throw new Error("pointer not written");
  return { topHash, bytes: statSync(join(packages, topHash)).size, seconds: round((performance.now() - t) / 1000, 1) };
}

function measured(command, args, env) {
  const c = withIo(command, args, env);
  return measure(c.command, c.args, { env: c.env });
}

/** Best time of the repeats, highest peak RSS, bytes read beyond interpreter startup. */
function summarize(runs, base, manifestBytes) {
  const readBytes = Math.max(...runs.map((r) => r.rcharBytes)) - (base?.rcharBytes ?? 0);
  return {
    seconds: round(Math.min(...runs.map((r) => r.seconds))),
    cpuSeconds: round(Math.min(...runs.map((r) => r.cpuSeconds))),
    peakRssMiB: round(Math.max(...runs.map((r) => r.peakRssMiB)), 0),
    readBytes,
    readManifests: round(readBytes / manifestBytes),
    runs: runs.length,
  };
}

/** quilt3 at N entries needs ~1.5 GB a million: run it only with that much memory available. */
function quilt3Fits(entries) {
  const available = Number(/^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) * 1024;
  return available > entries * QUILT3_BYTES_PER_ENTRY + 2 ** 30;
}

const py = (s) => JSON.stringify(s); // a JSON string of these names is a valid Python literal
const round = (x, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const sizes = process.argv.slice(2).map(Number);
  console.log(JSON.stringify(await run(sizes.length > 0 ? { sizes } : {}), null, 2));
}
