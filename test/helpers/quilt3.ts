/**
 * quilt3 (the reference implementation, pinned 8.0.0) for the tests: the Python of the virtualenv
 * that `scripts/quilt3.sh` creates, and `runQuilt3Driver` to run one command of
 * test/helpers/quilt3_driver.py against the test S3 server (versitygw) or a local registry.
 *
 * Every driver run is hermetic: a fresh temp folder is its HOME and its XDG folders (so quilt3 has
 * no config, no catalog login, no local registry or cache of the developer's), telemetry is off,
 * and none of the developer's AWS settings reach it: no AWS_* variables but the endpoint,
 * region and static credentials of the test server, and AWS_CONFIG_FILE /
 * AWS_SHARED_CREDENTIALS_FILE point at files that do not exist.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { S3TestEndpoint } from "./s3-server.js";

export const QUILT3_VERSION = "8.0.0";

/** Where scripts/quilt3.sh puts the virtualenv: the per-user tools cache (versitygw is in its bin/). */
const TOOLS_DIR = process.env.QUILTKIT_TOOLS_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "quiltkit");
export const QUILT3_VENV = join(TOOLS_DIR, `venv-quilt3-${QUILT3_VERSION}`);
const VENV_PYTHON = join(QUILT3_VENV, "bin", "python");
/** Written last by scripts/quilt3.sh: without it the virtualenv is half-built. */
const VENV_STAMP = join(QUILT3_VENV, "quilt3.version");

export const QUILT3_DRIVER = fileURLToPath(new URL("./quilt3_driver.py", import.meta.url));

/** What to tell a developer (or CI) whose machine has no usable quilt3. */
export const QUILT3_SETUP_HINT = `Run: bash scripts/quilt3.sh (installs quilt3 ${QUILT3_VERSION} into ${QUILT3_VENV}).`;

/** The virtualenv's python when scripts/quilt3.sh has completed it, else `python3` from the PATH. */
export function quilt3Python(): string {
  if (existsSync(VENV_PYTHON) && existsSync(VENV_STAMP) && readFileSync(VENV_STAMP, "utf8").trim() === `quilt3==${QUILT3_VERSION}`) {
    return VENV_PYTHON;
  }
  return "python3";
}

/** The environment of a quilt3 process: nothing of the developer's but PATH (and TMPDIR). */
function quilt3Env(home: string, s3: S3TestEndpoint | undefined): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    PYTHONUTF8: "1",
    PYTHONIOENCODING: "utf-8",
    PYTHONDONTWRITEBYTECODE: "1", // no __pycache__ beside the driver in the clone
    // quilt3 keeps its config, local registry and cache under platformdirs' XDG folders.
    XDG_DATA_HOME: join(home, "xdg-data"),
    XDG_CACHE_HOME: join(home, "xdg-cache"),
    XDG_CONFIG_HOME: join(home, "xdg-config"),
    XDG_STATE_HOME: join(home, "xdg-state"),
    QUILT_DISABLE_USAGE_METRICS: "true",
    QUILT_MINIMIZE_STDOUT: "true",
    QUILT_DISABLE_CACHE: "true",
    AWS_CONFIG_FILE: join(home, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
  };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  if (s3 !== undefined) {
    env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    env.AWS_REGION = s3.region;
    env.AWS_DEFAULT_REGION = s3.region;
    env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
  }
  return env;
}

let availability: { reason: string | undefined } | undefined;

/** Why quilt3 8.0.0 cannot be run here, or `undefined` when it can (checked once per process). */
export function quilt3Available(): string | undefined {
  if (availability !== undefined) return availability.reason;
  const python = quilt3Python();
  const home = mkdtempSync(join(tmpdir(), "quiltkit-quilt3-probe-"));
  let reason: string | undefined;
  try {
    const run = spawnSync(python, ["-c", "import quilt3; print(quilt3.__version__)"], {
      env: quilt3Env(home, undefined),
      cwd: home,
      encoding: "utf8",
      timeout: 60_000,
    });
    const version = run.stdout?.trim();
    if (run.error !== undefined) reason = `${python} could not be started: ${run.error.message}`;
    else if (run.status !== 0) reason = `${python} cannot import quilt3: ${run.stderr.trim().split("\n").pop() ?? `exit ${run.status}`}`;
    else if (version !== QUILT3_VERSION) reason = `${python} has quilt3 ${version}, not ${QUILT3_VERSION}`;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  availability = { reason };
  return reason;
}

/** One package entry as the driver prints it (`meta_json`: Python's json.dumps of the entry's meta). */
export interface Quilt3DriverEntry {
  logical_key: string;
  physical_key: string;
  size: number;
  hash: { type: string; value: string };
  meta_json: string;
}

/** `push` and `browse`: the package (`meta_json`: Python's json.dumps of its user metadata). */
export interface Quilt3DriverPackage {
  name: string;
  top_hash: string;
  message: string | null;
  meta_json: string;
  entries: Quilt3DriverEntry[];
}

export interface Quilt3DriverInstall {
  name: string;
  top_hash: string;
  dest: string;
  files: string[];
}

export interface Quilt3DriverVerify {
  name: string;
  top_hash: string;
  verified: boolean;
}

export interface Quilt3DriverList {
  registry: string;
  packages: { name: string; versions: [string, string][] }[];
}

interface DriverError {
  error: string;
  type: string;
  trace: string;
}

/** The driver's JSON error report: the last stderr line that is one. */
function driverError(stderr: string): DriverError | undefined {
  for (const line of stderr.trim().split("\n").reverse()) {
    if (!line.startsWith('{"error"')) continue;
    try {
      return JSON.parse(line) as DriverError;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Run `quilt3_driver.py ARGS` with quilt3's python; resolves to the JSON it prints. `s3`: the test
 * server, for `s3://` registries (without it the driver refuses to build an S3 client). Rejects with
 * the driver's error, its Python traceback and the rest of its stderr.
 */
export async function runQuilt3Driver<T = unknown>(s3: S3TestEndpoint | undefined, args: readonly string[]): Promise<T> {
  const python = quilt3Python();
  const home = await mkdtemp(join(tmpdir(), "quiltkit-quilt3-"));
  try {
    const child = spawn(python, [QUILT3_DRIVER, ...args], {
      cwd: home,
      env: quilt3Env(home, s3),
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 600_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    const code = await new Promise<number | string>((done, fail) => {
      child.on("error", (error) => fail(new Error(`${python} could not be started for quilt3_driver.py (${error.message}). ${QUILT3_SETUP_HINT}`)));
      child.on("close", (status, signal) => done(status ?? signal ?? -1));
    });
    const stdout = Buffer.concat(out).toString("utf8");
    const stderr = Buffer.concat(err).toString("utf8");
    const command = `quilt3_driver.py ${args.join(" ")}`;
    if (code !== 0) {
      const report = driverError(stderr);
      const rest = report === undefined ? stderr : stderr.split("\n").filter((l) => !l.startsWith('{"error"')).join("\n");
      throw new Error(
        `${command} failed (exit ${code}, ${python}): ${report?.error ?? "(no JSON error report)"}\n` +
          (report === undefined || report.trace === "" ? "" : `${report.trace}\n`) +
          `stderr:\n${rest.trim() || "(empty)"}\nstdout:\n${stdout.trim() || "(empty)"}`,
      );
    }
    try {
      return JSON.parse(stdout) as T;
    } catch (error) {
      throw new Error(`${command}: stdout is not one JSON document (${String(error)}):\n${stdout}\nstderr:\n${stderr}`);
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

const warnedFor = new Set<string>();
/**
 * quilt3, or: skip the test (locally, with one warning per file `label`) / fail it (on CI) with the
 * reason it is missing: the cross-implementation tests must run on CI.
 */
export function needQuilt3(ctx: { skip: (note?: string) => void }, label: string): void {
  const reason = quilt3Available();
  if (reason === undefined) return;
  if (process.env.CI) throw new Error(`quilt3 is required on CI but ${reason}. ${QUILT3_SETUP_HINT}`);
  if (!warnedFor.has(label)) {
    warnedFor.add(label);
    process.stderr.write(`${label}: skipped, quilt3 not available: ${reason}. ${QUILT3_SETUP_HINT}\n`);
  }
  ctx.skip(`quilt3 not available: ${reason}. ${QUILT3_SETUP_HINT}`);
}
