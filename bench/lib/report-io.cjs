// Preloaded into a benchmarked Node child (NODE_OPTIONS=--require): at exit, print the bytes the
// process read (rchar of /proc/self/io, all threads, page cache included) for lib/measure.mjs.
"use strict";
const { readFileSync } = require("node:fs");
process.on("exit", () => {
  try {
    const rchar = /^rchar: (\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"))?.[1];
    if (rchar) process.stderr.write(`BENCH_IO rchar=${rchar}\n`);
  } catch {
    // not Linux: bytes read are reported as n/a
  }
});
