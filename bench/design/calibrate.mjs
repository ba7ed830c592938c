// Heap bytes per buffered record {k, l} of the sort benchmarks, to set `sizeOf` honestly.
// Usage: node --expose-gc calibrate.mjs IN [N]
import { lines, keyOfLine } from "./lib.mjs";

const [input, n = "300000"] = process.argv.slice(2);
globalThis.gc();
const before = process.memoryUsage().heapUsed;
const all = [];
let chars = 0;
for await (const l of lines(input)) {
  all.push({ k: keyOfLine(l), l });
  chars += l.length;
  if (all.length === Number(n)) break;
}
globalThis.gc();
const per = (process.memoryUsage().heapUsed - before) / all.length;
console.log(JSON.stringify({ records: all.length, heapBytesPerRecord: +per.toFixed(1), avgLineChars: +(chars / all.length).toFixed(1), overhead: +(per - chars / all.length).toFixed(1) }));
