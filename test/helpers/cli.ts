/**
 * Runs the built `quilt` command (dist/bin/quilt.js, the bundle the `bin` names) in a child process, as a user would: its own
 * QUILT_HOME (a fresh temp folder unless the caller gives one), no inherited QUILT_REGISTRY, and
 * stdin closed unless `input` is given. `npm test` builds dist/ before running the tests.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { ROOT } from "./shared.js";

export const CLI = resolve(ROOT, "dist/bin/quilt.js");
/** The same command from tsc's separate modules, for a test hook that patches one of them (dist/registry/...). */
export const CLI_MODULES = resolve(ROOT, "dist/cli/main.js");

export interface RunOptions {
  /** Extra environment; a value of `undefined` removes the variable. QUILT_HOME given here is kept. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** Options for node itself, before the script (e.g. `--import` of a test hook). */
  readonly nodeArgs?: readonly string[];
  /** The script to run instead of the bundle (`CLI_MODULES`). */
  readonly script?: string;
}

/** The `{code, message, hint}` a failing command prints on stderr with `--json`. */
export interface CliError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as bytes (for `cat`). */
  readonly stdoutBytes: Buffer;
  /** stdout parsed as one JSON value. */
  json<T = unknown>(): T;
  /** stdout parsed as NDJSON, one value per non-empty line. */
  lines<T = unknown>(): T[];
  /** stderr parsed as the `--json` error object. */
  error(): CliError;
}

const ENV_DROPPED = [
  "QUILT_REGISTRY", "QUILT_HOME", "QUILT_TMPDIR", "QUILT_MANIFEST_MAX_RECORD_SIZE", "QUILT_TRANSFER_CONCURRENCY", "QUILT_CACHE_DIR",
  // S3 settings come from each test, never from the developer's shell.
  "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
  "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
];

export async function runQuilt(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const script = options.script ?? CLI;
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first (npm test does).`);
  const ownHome = options.env?.QUILT_HOME === undefined ? await mkdtemp(join(tmpdir(), "quiltkit-home-")) : undefined;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !ENV_DROPPED.includes(key)) env[key] = value;
  }
  env.QUILT_DISABLE_USAGE_METRICS = "true";
  if (ownHome !== undefined) env.QUILT_HOME = ownHome;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  try {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin.on("error", () => undefined); // the command may exit without reading its input
    child.stdin.end(options.input ?? "");
    const code = await new Promise<number>((done, fail) => {
      child.on("error", fail);
      child.on("close", (status, signal) => done(status ?? (signal === null ? -1 : 128)));
    });
    const stdoutBytes = Buffer.concat(out);
    const stdout = stdoutBytes.toString("utf8");
    const stderr = Buffer.concat(err).toString("utf8");
    const context = `quilt ${args.join(" ")} (exit ${code})\nstdout: ${stdout}\nstderr: ${stderr}`;
    const parse = (text: string, what: string): unknown => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Error(`${what} of ${context}\nis not JSON`);
      }
    };
    return {
      code,
      stdout,
      stderr,
      stdoutBytes,
      json: <T>() => parse(stdout, "stdout") as T,
      lines: <T>() =>
        stdout
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => parse(line, "a stdout line") as T),
      error: () => {
        const lines = stderr.split("\n").filter((line) => line !== "");
        if (lines.length !== 1) throw new Error(`expected one JSON error line on stderr of ${context}`);
        const value = parse(lines[0] as string, "stderr") as CliError;
        if (typeof value.code !== "string" || typeof value.message !== "string") throw new Error(`not an error object: ${context}`);
        return value;
      },
    };
  } finally {
    if (ownHome !== undefined) await rm(ownHome, { recursive: true, force: true });
  }
}

/** A one-line description of a run, for assertion messages. */
export function describeRun(result: RunResult): string {
  return `exit ${result.code}\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${result.stderr.slice(0, 2000)}`;
}

/** A run that exited with `code` (0 by default); on failure the message shows its output. */
export function expectOk(run: RunResult, code = 0): RunResult {
  expect(run.code, describeRun(run)).toBe(code);
  return run;
}

/** A failed `--json` run: its exit code, nothing on stdout, one `{code, message, hint}` on stderr. */
export function expectJsonError(run: RunResult, exit: number, code?: string): void {
  expect(run.code, describeRun(run)).toBe(exit);
  const error = run.error();
  if (code !== undefined) expect(error.code).toBe(code);
  expect(error.message).not.toBe("");
  expect(Object.keys(error).every((k) => ["code", "message", "hint"].includes(k))).toBe(true);
}
