// Measure a child process together with everything it starts (its process tree), from outside:
//   wall time        from here;
//   CPU time         user + system of the whole tree, from GNU `time -v` (it waits for the tree);
//   peak RSS         two figures: `peakRssMiB`, GNU time's maximum for the single largest process,
//                    and `treePeakRssMiB`, the largest sum of RSS over the tree seen by polling
//                    /proc every `pollMs` (default 50 ms). A peak shorter than the interval can be
//                    missed; the sum counts pages shared between the tree's processes once each.
//   watched CPU      CPU seconds that other processes (`watch`: e.g. the S3 server) used meanwhile,
//                    from /proc/PID/stat, so the cost a client puts on its server is visible too.
// Linux only for the polled figures (n/a elsewhere).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

const GNU_TIME = "/usr/bin/time";
const PAGE = 4096;
const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux

/** `/proc/PID/stat` fields (after the command name): [state, ppid, ...]; undefined once gone. */
function statOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, own threads only) of a process, or NaN. */
export function cpuSecondsOf(pid) {
  const f = statOf(pid);
  return f ? (Number(f[11]) + Number(f[12])) / TICKS : NaN;
}

/** Sum of RSS bytes over `root` and its descendants (one scan of /proc). */
export function treeRssBytes(root) {
  const children = new Map();
  const rss = new Map();
  let names;
  try {
    names = readdirSync("/proc");
  } catch {
    return NaN;
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const f = statOf(name);
    if (!f) continue;
    const pid = Number(name);
    const ppid = Number(f[1]);
    rss.set(pid, Number(f[21]) * PAGE);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  if (!rss.has(root)) return NaN;
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    total += rss.get(pid) ?? 0;
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return total;
}

/**
 * Run `command args` (under GNU time when present), polling its tree's RSS. Resolves to
 * { seconds, cpuSeconds, peakRssMiB, treePeakRssMiB, watchedCpuSeconds, stdout, stderr }.
 */
export async function measureTree(command, args, { env, cwd, watch = [], pollMs = 50 } = {}) {
  const useTime = existsSync(GNU_TIME);
  const watchedBefore = watch.map(cpuSecondsOf);
  const started = process.hrtime.bigint();
  const child = spawn(useTime ? GNU_TIME : command, useTime ? ["-v", command, ...args] : args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-1_000_000)));
  let peak = 0;
  // GNU time itself (about 2 MiB) is left out: only what it runs is the tool being measured.
  const sample = () => {
    const total = treeRssBytes(child.pid);
    if (Number.isFinite(total)) peak = Math.max(peak, total - (useTime ? (Number(statOf(child.pid)?.[21]) || 0) * PAGE : 0));
  };
  const timer = setInterval(sample, pollMs);
  const code = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c, signal) => resolve(c ?? signal));
  });
  clearInterval(timer);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const watchedCpuSeconds = watch.map((pid, i) => cpuSecondsOf(pid) - watchedBefore[i]);
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${code}):\n${stderr.slice(-4000)}\n${stdout.slice(-2000)}`);
  const num = (re) => (useTime ? Number(re.exec(stderr)?.[1] ?? NaN) : NaN);
  const rssKb = num(/Maximum resident set size \(kbytes\): (\d+)/);
  const cpuSeconds = num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/);
  return { seconds, cpuSeconds, peakRssMiB: rssKb / 1024, treePeakRssMiB: peak > 0 ? peak / 2 ** 20 : NaN, watchedCpuSeconds, stdout: stdout.trim(), stderr };
}
