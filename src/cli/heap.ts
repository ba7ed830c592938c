/**
 * The heap limits of the commands that build a package (design decision 3). V8 sizes its heap from
 * flags read once, at start-up; without a cap it lets the builder's garbage pile up far past what
 * is live (a 200,000-entry build and push: 981 MiB RSS uncapped, 479 MiB with these flags, and 11%
 * less CPU from the larger young generation). So a command that builds a package runs itself
 * again, once, in a child `node` with the flags, unless the user set them. The others stream with little live data, and V8's heap stays a few times
 * that without a cap (`diff` of two 1M-entry versions: 146 MiB uncapped, 153 capped), while a
 * second start would cost them ~0.1 CPU-s: a quarter of a reinstall with nothing changed, or of an `ls`.
 */
import { spawn } from "node:child_process";

export const HEAP_FLAGS: readonly { readonly name: string; readonly value: string }[] = [
  { name: "max-old-space-size", value: "1536" },
  { name: "max-semi-space-size", value: "32" },
];

/** Commands that build a package, whose external sort and op log hold up to ~256 MiB each. */
const BUILDING_COMMANDS = new Set(["push", "hash", "manifest", "add", "status", "build-manifest", "push-data", "push-manifest"]);

/**
 * The flags to run the command `argv` (without node and script) with, given node's own options
 * and NODE_OPTIONS: none but for a building command, none for help, none the user set already.
 */
export function heapFlagsFor(argv: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const command = argv.find((arg) => !arg.startsWith("-"));
  if (command === undefined || !BUILDING_COMMANDS.has(command)) return [];
  if (argv.includes("--help") || argv.includes("-h")) return [];
  const given = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].map((option) => option.replace(/_/g, "-"));
  return HEAP_FLAGS.filter(({ name }) => !given.some((option) => option === `--${name}` || option.startsWith(`--${name}=`))).map(
    ({ name, value }) => `--${name}=${value}`,
  );
}

/** Signals passed on to the child; it handles them as this process would have (Ctrl-C: exit 130). */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Run this script again with `flags` added to node's options, the same arguments and stdio; resolve
 * to its exit code. Undefined when the child cannot start: the caller then runs the command here.
 * A child killed by a signal kills this process with the same signal, so the caller sees it too.
 */
export function runWithHeapFlags(flags: readonly string[]): Promise<number | undefined> {
  const script = process.argv[1];
  if (script === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...process.argv.slice(2)], { stdio: "inherit" });
    // A Ctrl-C at a terminal reaches both processes; the child takes a repeat within a second as the same one.
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    const stopForwarding = (): void => FORWARDED.forEach((signal) => process.removeListener(signal, forward));
    FORWARDED.forEach((signal) => process.on(signal, forward));
    child.on("error", () => {
      // Only a child that never started (no pid) is run here instead; a failed kill is not that.
      if (child.pid !== undefined) return;
      stopForwarding();
      resolve(undefined);
    });
    child.once("exit", (code, signal) => {
      stopForwarding();
      if (signal !== null) process.kill(process.pid, signal);
      resolve(code ?? 1);
    });
  });
}
