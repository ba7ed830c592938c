// The scale bench's result as a markdown table (bench/run.mjs prints it): one row per operation,
// the builder's two phases under their child, quilt3 beside our top hash.
const MiB = 2 ** 20;
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const bytes = (b) => (!Number.isFinite(b) ? "n/a" : b >= MiB ? `${f(b / MiB, 1)} MiB` : `${f(b / 1024, 1)} KiB`);

export function scaleLines(r) {
  const q = r.ops.find((o) => o.side === "quilt3");
  const ours = r.ops.filter((o) => o.side === "quiltkit");
  const lines = [
    `scale: one ${r.entries.toLocaleString("en")}-entry package (+ ${r.setup.realFiles.files} real files), manifest ${bytes(r.setup.manifestBytes)}; ` +
      `every answer checked: ${r.allChecked}; every peak RSS of ours under 2 GiB: ${r.allUnder2GB}; load average ${r.loadAverage.before} -> ${r.loadAverage.after}`,
    "",
    "| operation | CPU s | wall s | peak RSS MiB | bytes read | answer checked | quilt3 | quilt3 / ours (CPU, RSS) |",
    "|---|---:|---:|---:|---:|---|---|---|",
  ];
  for (const o of ours) {
    const theirs = o.op === "tophash" && q ? quilt3Cell(q) : "";
    const ratio = o.op === "tophash" && q?.status === "finished" ? `${f(q.cpuSeconds / o.cpuSeconds)}x, ${f(q.peakRssMiB / o.peakRssMiB)}x` : "";
    const answer = o.error ? `FAILED: ${o.error.split("\n").find((l) => l.trim()) ?? ""}` : `${o.ok ? "yes" : "NO"}: ${o.answer}`;
    lines.push(`| ${o.op} | ${f(o.cpuSeconds)} | ${f(o.seconds)} | ${f(o.peakRssMiB, 0)} | ${bytes(o.readBytes)} | ${answer} | ${theirs} | ${ratio} |`);
    for (const [name, p] of Object.entries(o.phases ?? {})) {
      lines.push(`| &nbsp;&nbsp;phase ${name} (inside the child; RSS: peak so far) | ${f(p.cpuSeconds)} | ${f(p.seconds)} | ${f(p.peakRssMiB, 0)} | | | | |`);
    }
  }
  return lines;
}

function quilt3Cell(q) {
  if (q.status !== "finished") return `${q.status}; ${f(q.cpuSeconds)} CPU s, ${f(q.peakRssMiB, 0)} MiB until then`;
  return `${f(q.cpuSeconds)} CPU s, ${f(q.seconds)} s, ${f(q.peakRssMiB, 0)} MiB, same top hash: ${q.ok}`;
}
