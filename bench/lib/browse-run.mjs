// Child processes for the browse bench, measured from outside like lib/measure.mjs (GNU time -v:
// CPU user + system, peak RSS of the largest process; wall from here), but able to run under a
// memory cap and a time limit and to report a run that did not finish instead of throwing:
//   timeout -s TERM -k 10 LIMIT prlimit --as=CAP -- COMMAND ARGS
// `prlimit --as` caps the address space (what `ulimit -v` does), so allocations past it fail.
// Also: a process's I/O and CPU counters from /proc, for the S3 server's side of a step.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const GNU_TIME = "/usr/bin/time";
const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU in 1/100 s on Linux

/**
 * Run and measure. `limits`: { seconds, memoryBytes } (either optional). Never throws on a
 * failed child: `outcome` is "ok", "time limit", "memory cap" or "failed (exit N)".
 */
export async function runMeasured(command, args, { env, cwd, limits = {} } = {}) {
  const wrapped = [];
  if (limits.seconds) wrapped.push("timeout", "-s", "TERM", "-k", "10", String(limits.seconds));
  if (limits.memoryBytes) wrapped.push("prlimit", `--as=${Math.floor(limits.memoryBytes)}`, "--");
  const argv = ["-v", ...wrapped, command, ...args];
  const started = process.hrtime.bigint();
  const { code, stdout, stderr } = await spawnCollect(GNU_TIME, argv, { env, cwd });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const num = (re) => Number(re.exec(stderr)?.[1] ?? NaN);
  const cpuSeconds = num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/);
  const peakRssMiB = num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024;
  const rcharBytes = num(/^BENCH_IO rchar=(\d+)$/m);
  return { outcome: outcomeOf(code, stderr, seconds, limits), code, seconds, cpuSeconds, peakRssMiB, rcharBytes, stdout: stdout.trim(), stderr };
}

/** Why a child ended. timeout(1) exits 124 (137 after its KILL); an allocation past --as fails. */
function outcomeOf(code, stderr, seconds, limits) {
  if (code === 0) return "ok";
  if (limits.seconds && (code === 124 || code === 137 || seconds >= limits.seconds)) return "time limit";
  if (limits.memoryBytes && /MemoryError|Cannot allocate memory|bad_alloc|out of memory/i.test(stderr)) return "memory cap";
  return `failed (exit ${code})`;
}

function spawnCollect(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    // Keep the tail only: a failing quilt3 can print a long traceback; GNU time's report is last.
    child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-200_000)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** rchar / wchar of a live process (all its threads): wchar counts what it sent on sockets too. */
export function ioOf(pid) {
  const text = readFileSync(`/proc/${pid}/io`, "utf8");
  const field = (name) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
  return { rchar: field("rchar"), wchar: field("wchar") };
}

/** CPU seconds (user + system) a live process has used. */
export function cpuOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** MemAvailable of /proc/meminfo, in bytes. */
export function memAvailable() {
  return Number(/^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) * 1024;
}
