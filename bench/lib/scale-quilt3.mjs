// quilt3's half of the scale bench: `Package.load(f).top_hash` of the same manifest, under an
// address-space cap (prlimit --as) and a time limit (timeout -s KILL), so a run that cannot
// finish says why instead of taking the machine down. quilt3 holds every entry in memory
// (~1.5 GB a million entries here), so it starts only when MemAvailable can hold that.
import { readFileSync } from "node:fs";
import { quilt3Python } from "./common.mjs";
import { measure, quilt3Env, withIo } from "./measure.mjs";

const GiB = 2 ** 30;
const BYTES_PER_ENTRY = 1.5e9 / 1e6;

export const quilt3Limits = () => ({
  timeoutSeconds: Number(process.env.BENCH_SCALE_QUILT3_TIMEOUT ?? 900),
  capBytes: Number(process.env.BENCH_SCALE_QUILT3_CAP_GIB ?? 16) * GiB,
});

export function memAvailable() {
  return Number(/^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) * 1024;
}

/** Top hash by quilt3, or why it has none: "skipped: …" or "did not finish: …" with what was measured until then. */
export async function quilt3TopHash(manifest, entries, limits = quilt3Limits()) {
  const needed = Math.min(limits.capBytes, entries * BYTES_PER_ENTRY) + GiB;
  const available = memAvailable();
  if (available < needed) {
    return { status: `skipped: not enough memory (needs ~${(needed / GiB).toFixed(1)} GiB available, ${(available / GiB).toFixed(1)} GiB were)` };
  }
  const script = `import quilt3\nwith open(${JSON.stringify(manifest)}) as f:\n    print(quilt3.Package.load(f).top_hash)`;
  const io = withIo("python3", ["-c", script], quilt3Env());
  const args = ["-s", "KILL", String(limits.timeoutSeconds), "prlimit", `--as=${limits.capBytes}`, quilt3Python(), ...io.args];
  const started = performance.now();
  try {
    const m = await measure("timeout", args, { env: io.env });
    return { status: "finished", topHash: m.stdout.split("\n").at(-1), ...figures(m) };
  } catch (error) {
    return failed(String(error.message ?? error), (performance.now() - started) / 1000, limits);
  }
}

const figures = (m) => ({ seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssMiB: m.peakRssMiB, rcharBytes: m.rcharBytes });

/** Classify a failed run from its exit code and stderr tail (GNU time's report is at its end). */
function failed(message, seconds, limits) {
  const code = Number(/failed \((\d+)\)/.exec(message)?.[1] ?? NaN);
  const num = (re) => Number(re.exec(message)?.[1] ?? NaN);
  const measured = {
    seconds,
    cpuSeconds: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
    peakRssMiB: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
  };
  let status = `failed (exit ${code})`;
  if (/MemoryError|Cannot allocate memory|std::bad_alloc/.test(message)) status = `did not finish: memory cap (${limits.capBytes / GiB} GiB address space)`;
  else if (code === 137 || code === 124) status = `did not finish: time limit (${limits.timeoutSeconds} s)`;
  return { status, ...measured, tail: message.slice(-600) };
}
