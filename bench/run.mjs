// `npm run bench`: every benchmark, Quiltkit beside quilt3 in the same run. Reports ratios
// (quilt3 / ours: above 1 means we are faster or smaller), peak memory and bytes read; never a
// lone time. Each bench's quilt3 half is optional: without quilt3 it says so and goes on.
// Usage: npm run bench [-- NAME...]      names: tophash, hash, browse, s3, scale, install (default: all)
//        BENCH_SCALE_ENTRIES=1000000 npm run bench -- scale     (default 10000000: ~10x the 1M run, which took 16 CPU-minutes)
//        BENCH_BROWSE_SIZES=1000000 npm run bench -- browse    (default 1000000,10000000)
//        BENCH_S3_CASES=small npm run bench -- s3              (default small,big)
// Every bench also writes its raw figures to bench/results/latest.json, under its name.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt } from "./lib/measure.mjs";

const MiB = 2 ** 20;

/** A plain-text table: first row is the header, columns padded, numbers right-aligned. */
function table(rows) {
  const cells = rows.map((r) => r.map((c) => (c === undefined || c === null ? "" : String(c))));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r) => "  " + r.map((c, i) => (i > 0 && /^[\d.,x×n/a-]+$/.test(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  return [line(cells[0]), "  " + widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].map((l) => l.trimEnd());
}

const x = (r) => (Number.isFinite(r) ? `${fmt(r, 2)}x` : "n/a");
const mib = (b) => fmt(b / MiB, 0);

const BENCHES = {
  tophash: async () => {
    const { run } = await import("./tophash.mjs");
    const r = await run();
    saveResults("tophash", r);
    const q = typeof r.quilt3 === "object" ? r.quilt3 : undefined;
    const rows = [
      ["", "wall s", "CPU s", "peak RSS MiB", "manifest read MiB"],
      ["quiltkit topHashOf", fmt(r.quiltkit.seconds), fmt(r.quiltkit.cpuSeconds), fmt(r.quiltkit.peakRssMiB, 0), mib(r.quiltkit.bytesRead)],
    ];
    if (q) {
      rows.push([`quilt3 ${q.version} Package.load().top_hash`, fmt(q.seconds), fmt(q.cpuSeconds), fmt(q.peakRssMiB, 0), mib(q.bytesRead)]);
      rows.push(["quilt3 / quiltkit", x(r.speedup), x(r.cpuSpeedup), x(r.memoryRatio), "1.00x"]);
    }
    return [
      `tophash: top hash of a synthetic ${r.entries.toLocaleString("en")}-entry manifest (${mib(r.manifestBytes)} MiB), one process each`,
      ...table(rows),
      q ? `  same top hash: ${r.sameTopHash}` : `  quilt3: ${String(r.quilt3)}`,
    ];
  },

  hash: async () => {
    const { run } = await import("./hash.mjs");
    const r = await run();
    saveResults("hash", r);
    const GiB = r.big.bytes / 1e9;
    const q = typeof r.quilt3 === "object" ? r.quilt3 : undefined;
    const ourBigSeconds = r.big.bytes / 1e9 / r.big.poolGBps;
    const rows = [
      ["measure", "value", ""],
      ["raw SHA-256, 1 thread, in memory", fmt(r.rawSha256SingleThreadGBps), "GB/s"],
      ["read(2) from page cache, 1 thread", fmt(r.readSingleThreadGBps), "GB/s"],
      [`ceiling: SHA-256 x ${r.cores} cores`, fmt(r.ceilingGBps), "GB/s"],
      [`ceiling: read + SHA-256 x ${r.cores} cores`, fmt(r.readHashCeilingGBps), "GB/s"],
      [`HashPool, ${r.big.files} files, ${fmt(GiB, 2)} GB (sha2-256-chunked)`, fmt(r.big.poolGBps), "GB/s"],
      ["  ratio to SHA-256 x cores ceiling", fmt(r.big.ratioToCeiling), ""],
      ["  ratio to read + SHA-256 ceiling", fmt(r.big.ratioToReadHashCeiling), ""],
      ["  CPU efficiency (1.00 = no overhead)", fmt(r.big.cpuEfficiency), ""],
      ["HashPool, 3 hash types at once", fmt(r.big.poolAllThreeTypesGBps), "GB/s"],
      ["hashFile on the main thread (no pool)", fmt(r.big.mainThreadHashFileGBps), "GB/s"],
      [`HashPool, ${r.small.files.toLocaleString("en")} small files (2-6 KiB)`, fmt(r.small.poolSeconds), "s"],
      ["  files per second", r.small.poolFilesPerSecond.toLocaleString("en"), "files/s"],
      ["  CPU per small file", fmt(r.small.cpuMicrosecondsPerFile, 1), "µs"],
      ["  hashFile serially on the main thread", fmt(r.small.mainThreadHashFileSeconds), "s"],
      ["pool start-up", fmt(r.poolStartupSeconds, 3), "s"],
      ["peak RSS of the whole bench process", fmt(r.peakRssMiB, 0), "MiB"],
    ];
    const lines = [`hash: file hashing (${r.cores} cores, load average ${r.loadAverage} at start)`, ...table(rows)];
    if (q) {
      lines.push(
        ...table([
          [`quilt3 ${q.note}`, "quilt3 s", "ours s", "quilt3 / ours"],
          [`${r.big.files} big files`, fmt(q.bigBuildSeconds), fmt(ourBigSeconds), x(q.bigBuildSeconds / ourBigSeconds)],
          [`${r.small.files.toLocaleString("en")} small files`, fmt(q.smallBuildSeconds), fmt(r.small.poolSeconds), x(q.smallBuildSeconds / r.small.poolSeconds)],
        ]),
        "  (quilt3's time also walks the folder and writes a manifest; ours is HashPool over a given file list)",
      );
    } else {
      lines.push(`  quilt3: ${String(r.quilt3)}`);
    }
    return lines;
  },

  browse: async () => {
    const { run } = await import("./browse.mjs");
    const { browseTable } = await import("./lib/browse-table.mjs");
    const env = process.env.BENCH_BROWSE_SIZES;
    const r = await run(env ? { sizes: env.split(",").map(Number) } : {});
    saveResults("browse", r);
    return browseTable(r, { table, fmt });
  },

  s3: async () => {
    const { run } = await import("./s3.mjs");
    const env = process.env.BENCH_S3_CASES;
    const r = await run(env ? { cases: env.split(",") } : {});
    saveResults("s3", r);
    const hasQuilt3 = typeof r.quilt3 === "string" && /^\d/.test(r.quilt3);
    const lines = [
      `s3: push and install against ${r.server} on 127.0.0.1 (posix backend, versioning on), quilt3 ${r.quilt3}; ` +
        `files in flight: ours ${r.concurrency.quiltkit}, quilt3 ${r.concurrency.quilt3} threads`,
    ];
    const st = r.startup;
    lines.push(
      `  start-up alone: ours \`quilt --help\` ${fmt(st.quiltkit.seconds)} s wall, ${fmt(st.quiltkit.cpuSeconds)} CPU-s, ${fmt(st.quiltkit.treePeakRssMiB, 0)} MiB` +
        (st.quilt3 ? `; quilt3 \`import quilt3\` ${fmt(st.quilt3.seconds)} s wall, ${fmt(st.quilt3.cpuSeconds)} CPU-s, ${fmt(st.quilt3.treePeakRssMiB, 0)} MiB` : ""),
    );
    for (const c of r.results) {
      const size = c.fileBytes >= MiB ? `${fmt(c.fileBytes / MiB, 0)} MiB` : `${fmt(c.fileBytes / 1024, 0)} KiB`;
      lines.push("", `  ${c.case}: ${c.files.toLocaleString("en")} files of ${size} (${fmt(c.bytes / MiB, 1)} MiB)` + (c.sameTopHash === undefined ? "" : `; same top hash from both: ${c.sameTopHash}`));
      const rows = [["step", "tool", "wall s", "files/s", "MB/s", "CPU s", "server CPU s", "peak RSS MiB (tree)", "load"]];
      for (const op of ["push", "install"]) {
        for (const side of ["quiltkit", "quilt3"]) {
          const m = c[op][side];
          if (!m) continue;
          rows.push([op, side, fmt(m.seconds), fmt(m.filesPerSecond, m.filesPerSecond < 10 ? 2 : 0), fmt(m.MBps, 1), fmt(m.cpuSeconds), fmt(m.serverCpuSeconds), fmt(m.treePeakRssMiB, 0), fmt(m.loadAverage, 1)]);
        }
        const q = c[op].ratio;
        if (q) rows.push([op, "quilt3 / ours", x(q.wall), x(q.wall), x(q.wall), x(q.cpu), x(q.serverCpu), x(q.memory), ""]);
      }
      lines.push(...table(rows));
    }
    if (!hasQuilt3) lines.push(`  quilt3: ${r.quilt3}`);
    return lines;
  },

  // Every operation of issue 6 on one 10M-entry package (BENCH_SCALE_ENTRIES=1000000 for a quick run).
  scale: async () => {
    const { run } = await import("./scale.mjs");
    const { scaleLines } = await import("./lib/scale-table.mjs");
    const r = await run({ entries: Number(process.env.BENCH_SCALE_ENTRIES ?? 10_000_000) });
    saveResults("scale", r);
    return scaleLines(r);
  },

  // Install of 20,000 x 16 KiB files from a local registry, and reinstall with nothing changed (BENCH_INSTALL=COUNTxBYTES).
  install: async () => {
    const { run, report } = await import("./install.mjs");
    const r = await run();
    saveResults("install", r);
    return report(r);
  },
};

/** Raw figures of a bench into bench/results/latest.json, beside those of the other benches. */
function saveResults(name, result) {
  const dir = fileURLToPath(new URL("./results", import.meta.url));
  const file = join(dir, "latest.json");
  let all = {};
  try {
    all = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // first run
  }
  all[name] = { at: new Date().toISOString(), code: HEAD_AT_START, distBuiltAt: new Date(builtAt).toISOString(), ...result };
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, JSON.stringify(all, null, 2) + "\n");
}

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(BENCHES);
for (const name of wanted) {
  if (!BENCHES[name]) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(", ")}`);
}
/** Newest mtime under dist/: others may rebuild while a long run goes on, and a run must say so. */
const DIST = fileURLToPath(new URL("../dist", import.meta.url));
function distBuiltAt() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(DIST);
  return newest;
}
function gitHead() {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: DIST, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: DIST, encoding: "utf8" }).trim();
    return dirty ? `${head} + uncommitted src changes` : head;
  } catch {
    return "unknown";
  }
}
const builtAt = distBuiltAt();
const HEAD_AT_START = gitHead();
console.log(`code: git ${HEAD_AT_START}, dist built ${new Date(builtAt).toISOString()}`);
console.log(
  `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}, ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}, ${new Date().toISOString()}`,
);
for (const name of wanted) {
  console.log("");
  for (const line of await BENCHES[name]()) if (line) console.log(line);
}
if (distBuiltAt() !== builtAt) {
  const others = wanted.filter((n) => n !== "s3");
  console.log(
    others.length === 0
      ? `\nNote: dist/ was rebuilt during this run (now ${new Date(distBuiltAt()).toISOString()}); the s3 bench ran on a copy taken at its start, so its results are from one build.`
      : `\nWARNING: dist/ was rebuilt during this run (now ${new Date(distBuiltAt()).toISOString()}): results of ${others.join(", ")} mix two builds (s3 ran on a copy of dist/ taken at its start).`,
  );
}
