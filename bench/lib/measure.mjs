// Run a command as a child process and measure it from outside, the same way for Node and
// Python: wall time from here, peak RSS and CPU time (user + system) from GNU time (-v).
// CPU seconds stay comparable on a loaded machine, where wall time does not.
// Bytes read: with `withIo(...)` the child reports its own `rchar` (/proc/self/io: every byte
// returned by read(2), page cache included) as a `BENCH_IO rchar=N` line on stderr at exit.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const GNU_TIME = "/usr/bin/time";
const IO_PRELOAD = fileURLToPath(new URL("./report-io.cjs", import.meta.url));

export async function measure(command, args, options = {}) {
  const useTime = existsSync(GNU_TIME);
  const argv = useTime ? ["-v", command, ...args] : args;
  const started = process.hrtime.bigint();
  const { code, stdout, stderr } = await run(useTime ? GNU_TIME : command, argv, options);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${code}):\n${stderr.slice(-2000)}`);
  const rssKb = useTime ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN) : NaN;
  const user = useTime ? Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN) : NaN;
  const system = useTime ? Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN) : NaN;
  const rchar = Number(/^BENCH_IO rchar=(\d+)$/m.exec(stderr)?.[1] ?? NaN);
  return { seconds, cpuSeconds: user + system, peakRssMiB: rssKb / 1024, rcharBytes: rchar, stdout: stdout.trim() };
}

/**
 * Make a node or python child report the bytes it read (see above). Node: a `--require` preload
 * through NODE_OPTIONS; python: an atexit hook prepended to a `-c` script.
 */
export function withIo(command, args, env = process.env) {
  if (command === "python3" && args[0] === "-c") {
    const hook =
      "import atexit as _a, sys as _s\n" +
      "_a.register(lambda: _s.stderr.write('BENCH_IO rchar=' + [l.split()[1] for l in open('/proc/self/io') if l.startswith('rchar')][0] + '\\n'))\n";
    return { command, args: ["-c", hook + args[1], ...args.slice(2)], env };
  }
  const nodeOptions = `${env.NODE_OPTIONS ?? ""} --require ${JSON.stringify(IO_PRELOAD)}`.trim();
  return { command, args, env: { ...env, NODE_OPTIONS: nodeOptions } };
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
