// The browse bench's lines for bench/run.mjs: one table per size and storage, our four cases beside
// quilt3's browse, with ratios (quilt3 / ours) and the issue's targets. `table` and `fmt` are
// run.mjs's, so every bench prints alike.
const MiB = 2 ** 20;

/** Issue 6: first browse ≥ 4x with ≤ 1/5 of the memory; with an index ≥ 20x with ≤ 1/10. */
const TARGETS = { first: { cpu: 4, memory: 5 }, indexed: { cpu: 20, memory: 10 } };

const CASES = [
  ["first", "ls", "first", "quilt ls, first browse (no sidecar: full pass, index cached)"],
  ["cached", "ls", "indexed", "quilt ls again (index in the local cache)"],
  ["sidecarLs", "ls", "indexed", "quilt ls, sidecar in the registry (fresh cache)"],
  ["sidecarShow", "show", "indexed", "quilt show, sidecar in the registry"],
];

export function browseTable(r, { table, fmt }) {
  const lines = [
    `browse: quilt3 ${r.quilt3}, ${r.server}; quilt3 under a ${fmt(r.limits.quilt3MemoryCapBytes / 2 ** 30, 0)} GiB address-space cap ` +
      `and a ${r.limits.quilt3TimeoutSeconds} s limit`,
  ];
  for (const s of r.results) {
    for (const [storage, st] of Object.entries(s.storages)) {
      lines.push(
        "",
        `  ${s.entries.toLocaleString("en")} entries, ${storage} (${st.registry}): manifest ${fmt(s.manifestBytes / MiB, 0)} MiB, ` +
          `index ${fmt(st.index.bytes / 1024, 0)} KiB (build ${fmt(st.index.buildCpuSeconds)} CPU-s, ${fmt(st.index.buildPeakRssMiB, 0)} MiB); ` +
          `load ${s.loadAverage.before} -> ${s.loadAverage.after}; bytes read = ${st.bytesCounted}`,
      );
      lines.push(...table(rowsOf(s, st, fmt)));
      if (storage === "s3") {
        const m = st.quiltkit.sidecarLs;
        const share = m.readBytes / s.manifestBytes;
        lines.push(
          `  ls with the sidecar on S3: ${fmt(m.seconds)} s wall (${fmt(m.cpuSeconds)} CPU-s), ${fmt(100 * share, 3)}% of the manifest's bytes sent; ` +
            `target under 1 s and under 1%: ${m.seconds < 1 && share < 0.01 ? "met" : share < 0.01 ? "bytes met, time MISSED" : "MISSED"}`,
        );
      }
      const q = st.quilt3;
      if (q.outcome !== "ok") lines.push(`  quilt3: ${q.outcome}` + (q.whole ? ` (${fmt(q.whole.seconds, 0)} s wall, ${fmt(q.whole.cpuSeconds, 0)} CPU-s, peak ${fmt(q.whole.peakRssMiB, 0)} MiB)` : "") + (q.error ? `: ${q.error}` : ""));
      const answers = [...Object.values(st.quiltkit), ...[q.ls, q.show].filter(Boolean)].map((m) => m.answer);
      const wrong = answers.filter((a) => !a.startsWith("ok"));
      lines.push(wrong.length === 0 ? `  every answer checked against the generator: ${answers.length} ok` : `  WRONG ANSWERS: ${wrong.join("; ")}`);
    }
  }
  return lines;
}

function rowsOf(s, st, fmt) {
  const rows = [["case", "wall s", "CPU s", "RSS MiB", "read MiB", "read/manifest", "quilt3 CPU s", "quilt3 RSS MiB", "quilt3 read MiB", "CPU ratio", "RSS ratio", "target"]];
  // A quilt3 run stopped by a limit may still have answered `ls` (its steps are split, see browse.mjs).
  const q = st.quilt3;
  for (const [key, op, kind, label] of CASES) {
    const m = st.quiltkit[key];
    const t = q[op];
    const cpu = t ? t.cpuSeconds / m.cpuSeconds : NaN;
    const rss = t ? t.peakRssMiB / m.peakRssMiB : NaN;
    const goal = TARGETS[kind];
    const met = t ? (cpu >= goal.cpu && rss >= goal.memory ? "met" : "MISSED") : "n/a";
    rows.push([
      label,
      fmt(m.seconds),
      fmt(m.cpuSeconds),
      fmt(m.peakRssMiB, 0),
      fmt(m.readBytes / MiB, 2),
      fmt(m.readBytes / s.manifestBytes, 4),
      t ? fmt(t.cpuSeconds) : "-",
      t ? fmt(t.peakRssMiB, 0) : "-",
      t ? fmt(t.readBytes / MiB, 0) : "-",
      t ? `${fmt(cpu, 1)}x` : "n/a",
      t ? `${fmt(rss, 1)}x` : "n/a",
      `>=${goal.cpu}x, >=${goal.memory}x: ${met}`,
    ]);
  }
  return rows;
}
