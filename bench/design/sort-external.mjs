// Sort a random-order manifest into tree-walk order with Quiltkit's externalSort, writing the
// sorted manifest. Prints one JSON line: wall time, peak RSS, temp disk.
// Usage: node sort-external.mjs IN OUT --budget-mib 200 [--tmp DIR] [--batches] [--in-memory]
//   --in-memory: baseline, Array.prototype.sort of everything (what the design must avoid).
import { lineWriter, lines, lineBatches, keyOfLine, maxRssMiB, seconds, arg, quiltkitSort, cpuRefMs, diskSampler } from "./lib.mjs";

const { externalSort, externalSortBatches, compareLogicalKeys, treeWalkSortKey } = await quiltkitSort();
const [input, output] = process.argv.slice(2);
const budgetMiB = Number(arg("budget-mib", "200"));
const tmpDir = arg("tmp", "/tmp/qk-design");

async function* records() {
  for await (const batch of lineBatches(input)) for (const l of batch) yield rec(l);
}

// k: the tree-walk sort key (compared natively, ~5× faster than compareLogicalKeys), l: the line.
const rec = (l) => ({ k: treeWalkSortKey(keyOfLine(l)), l });

// Measured heap per record of this shape (bench/design/calibrate.mjs): the line, a sliced key
// string and a two-field object; the constant covers the object, the slice and the array slot.
const sizeOf = (r) => r.l.length + 120;

const opts = {
  compare: (a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0),
  serialize: (r) => r.l,
  deserialize: (b) => {
    return rec(b.toString("utf8"));
  },
  sizeOf,
  tmpDir,
  maxBytesInMemory: budgetMiB * 2 ** 20,
};

const cpuRef = cpuRefMs();
const disk = await diskSampler(tmpDir);
const t0 = performance.now();
let firstOut;
let stats = {};
let count = 0;
let prev;
const w = lineWriter(output);
const check = (r) => {
  const key = keyOfLine(r.l);
  if (prev !== undefined && compareLogicalKeys(prev, key) >= 0) throw new Error(`out of order at ${count}`);
  prev = key;
  count++;
};

if (process.argv.includes("--in-memory")) {
  const all = [];
  for await (const l of lines(input)) all.push(rec(l));
  all.sort(opts.compare);
  firstOut = seconds(t0);
  for (const r of all) {
    check(r);
    await w.write(r.l);
  }
} else if (process.argv.includes("--batches")) {
  for await (const batch of externalSortBatches(records(), { ...opts, onStats: (s) => (stats = s) })) {
    firstOut ??= seconds(t0);
    for (const r of batch) {
      check(r);
      await w.write(r.l);
    }
  }
} else {
  for await (const r of externalSort(records(), { ...opts, onStats: (s) => (stats = s) })) {
    firstOut ??= seconds(t0);
    check(r);
    await w.write(r.l);
  }
}
const bytes = await w.close();
console.log(
  JSON.stringify({
    mode: process.argv.includes("--in-memory") ? "in-memory" : process.argv.includes("--batches") ? "external-batches" : "external",
    records: count,
    budgetMiB,
    seconds: seconds(t0),
    inputAndRunsSeconds: firstOut,
    maxRssMiB: maxRssMiB(),
    outputMiB: +(bytes / 2 ** 20).toFixed(0),
    runs: stats.runs,
    peakTempMiB: stats.peakTempBytes === undefined ? 0 : +(stats.peakTempBytes / 2 ** 20).toFixed(0),
    extraMergePasses: stats.extraMergePasses,
    peakDiskMiB: disk.stop(),
    cpuRefMs: cpuRef,
  }),
);
