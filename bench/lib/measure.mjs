// Run a command as a child process and measure it from outside, the same way for Node and
// Python: wall time from here, peak RSS and I/O from GNU time (-v).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

const GNU_TIME = "/usr/bin/time";

export async function measure(command, args, options = {}) {
  const useTime = existsSync(GNU_TIME);
  const argv = useTime ? ["-v", command, ...args] : args;
  const started = process.hrtime.bigint();
  const { code, stdout, stderr } = await run(useTime ? GNU_TIME : command, argv, options);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${code}):\n${stderr.slice(-2000)}`);
  const rssKb = useTime ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN) : NaN;
  return { seconds, peakRssMiB: rssKb / 1024, stdout: stdout.trim() };
}

function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export async function quilt3Available() {
  try {
    const r = await measure("python3", ["-c", "import quilt3; print(quilt3.__version__)"], { env: quilt3Env() });
    return r.stdout;
  } catch {
    return undefined;
  }
}

/** quilt3 posts telemetry by default; the network is closed here and a benchmark must not wait on it. */
export function quilt3Env() {
  return { ...process.env, QUILT_DISABLE_USAGE_METRICS: "true", QUILT_MINIMIZE_STDOUT: "true" };
}

export const ratio = (ours, theirs) => (Number.isFinite(ours) && Number.isFinite(theirs) && ours > 0 ? theirs / ours : NaN);
export const fmt = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");
