// `npm run bench`: every benchmark, Quiltkit beside quilt3 in the same run. Reports ratios
// (quilt3 time / ours: above 1 means we are faster), peak memory and bytes read; never a lone time.
// Usage: npm run bench [-- NAME...]   (names: tophash, hash)
import { fmt } from "./lib/measure.mjs";

const BENCHES = {
  tophash: async () => {
    const { run } = await import("./tophash.mjs");
    const r = await run();
    const q = typeof r.quilt3 === "object" ? r.quilt3 : undefined;
    return [
      `top hash of a synthetic ${r.entries.toLocaleString("en")}-entry manifest (${fmt(r.manifestBytes / 2 ** 20, 0)} MiB)`,
      `  quiltkit: ${fmt(r.quiltkit.seconds)} s, peak ${fmt(r.quiltkit.peakRssMiB, 0)} MiB, read ${fmt(r.quiltkit.bytesRead / 2 ** 20, 0)} MiB`,
      q
        ? `  quilt3 ${q.version}: ${fmt(q.seconds)} s, peak ${fmt(q.peakRssMiB, 0)} MiB, read ${fmt(q.bytesRead / 2 ** 20, 0)} MiB`
        : `  quilt3: ${String(r.quilt3)}`,
      q ? `  ratio: ${fmt(r.speedup, 1)}x faster, ${fmt(r.memoryRatio, 1)}x less memory, same top hash: ${r.sameTopHash}` : "",
    ];
  },
  hash: async () => {
    const { run } = await import("./hash.mjs");
    const r = await run();
    return ["file hashing", ...JSON.stringify(r, null, 2).split("\n").map((l) => "  " + l)];
  },
};

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(BENCHES);
for (const name of wanted) {
  const bench = BENCHES[name];
  if (!bench) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(", ")}`);
  for (const line of await bench()) if (line) console.log(line);
}
