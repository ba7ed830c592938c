/**
 * A real S3 server for the integration tests: versitygw (built by `scripts/versitygw.sh` into
 * ~/.cache/quiltkit/bin) on 127.0.0.1, a free port, its posix backend in a fresh temp folder, versioning on.
 * `startS3Server` waits until a signed S3 request succeeds, creates the buckets with versioning
 * ENABLED, and returns a handle whose `stop()` kills the server's process group and removes the folder.
 */
import { homedir } from "node:os";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVersionedBucket, pingS3, type S3ClientOptions } from "../../src/storage/s3/index.js";

/** Where scripts/versitygw.sh puts the binary: a per-user cache, so every clone (and CI run) reuses it. */
const TOOLS_DIR = process.env.QUILTKIT_TOOLS_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "quiltkit", "bin");
export const VERSITYGW_BIN = join(TOOLS_DIR, "versitygw");
export const VERSITYGW_STAMP = join(TOOLS_DIR, "versitygw.version");
const REGION = "us-east-1";

/** What tests need to reach the server (plain data: it crosses from the global setup via `provide`). */
export interface S3TestEndpoint {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A bucket created with versioning enabled, shared by the test files (use distinct key prefixes). */
  readonly bucket: string;
  /** e.g. `versitygw v1.7.0`. */
  readonly server: string;
}

export interface S3TestServer extends S3TestEndpoint {
  /** The command that ran (credentials are passed in the environment, not here). */
  readonly commandLine: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly buckets?: readonly string[];
  /** How long to wait for the first successful request. Default 20 s. */
  readonly startTimeoutMs?: number;
}

/** The client options for a test endpoint. */
export function clientOptionsOf(s3: S3TestEndpoint): S3ClientOptions {
  return {
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestTimeoutMs: 30_000,
    maxAttempts: 3,
  };
}

export function versitygwVersion(): string | undefined {
  if (!existsSync(VERSITYGW_BIN) || !existsSync(VERSITYGW_STAMP)) return undefined;
  return readFileSync(VERSITYGW_STAMP, "utf8").trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Kill the process group of `child` (TERM, then KILL after 5 s) and wait for it to exit. */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startS3Server(options: StartOptions = {}): Promise<S3TestServer> {
  const version = versitygwVersion();
  if (version === undefined) {
    throw new Error(`versitygw is not built (${VERSITYGW_BIN} or its version stamp is missing). Run: bash scripts/versitygw.sh`);
  }
  const dir = await mkdtemp(join(tmpdir(), "quiltkit-versitygw-"));
  const dataDir = join(dir, "data");
  const versionsDir = join(dir, "versions");
  await mkdir(dataDir);
  await mkdir(versionsDir);
  const accessKeyId = `qk${randomBytes(8).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const args = ["--port", `127.0.0.1:${port}`, "--region", REGION, "--quiet", "posix", "--versioning-dir", versionsDir, dataDir];
  const commandLine = [VERSITYGW_BIN, ...args].join(" ");

  // A minimal environment: no VGW_* settings or AWS credentials leak in from the developer's shell.
  const child = spawn(VERSITYGW_BIN, args, {
    detached: true, // its own process group, killed as a whole
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
  });
  let output = "";
  const keep = (data: Buffer): void => {
    output = (output + data.toString("utf8")).slice(-8_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });

  const cleanup = async (): Promise<void> => {
    await killGroup(child);
    await rm(dir, { recursive: true, force: true });
  };
  const fail = async (why: string, cause?: unknown): Promise<never> => {
    await cleanup();
    throw new Error(`versitygw ${version} did not start: ${why}\ncommand: ${commandLine}\nserver output:\n${output.trim() || "(none)"}`, { cause });
  };

  const s3: S3TestEndpoint = { endpoint, region: REGION, accessKeyId, secretAccessKey, bucket: options.buckets?.[0] ?? "quiltkit-test", server: `versitygw ${version}` };
  const clientOptions = { ...clientOptionsOf(s3), maxAttempts: 1, requestTimeoutMs: 2_000, connectionTimeoutMs: 1_000 };
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  let lastError: unknown;
  for (;;) {
    if (spawnError !== undefined) return fail(`could not run ${VERSITYGW_BIN}: ${spawnError.message}`, spawnError);
    if (child.exitCode !== null || child.signalCode !== null) return fail(`it exited (${child.exitCode ?? child.signalCode}).`);
    try {
      await pingS3(clientOptions);
      break;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      return fail(`no successful ListBuckets at ${endpoint} within ${options.startTimeoutMs ?? 20_000} ms (last error: ${lastError instanceof Error ? lastError.message : String(lastError)}).`, lastError);
    }
    await delay(100);
  }

  try {
    for (const bucket of options.buckets ?? [s3.bucket]) {
      const status = await createVersionedBucket(clientOptions, bucket);
      if (status !== "Enabled") return fail(`bucket ${bucket}: versioning status is ${String(status)}, not Enabled.`);
    }
  } catch (error) {
    return fail(`could not create the buckets: ${error instanceof Error ? error.message : String(error)}`, error);
  }

  return { ...s3, commandLine, stop: cleanup };
}

/** The standard AWS variables that point the `quilt` CLI (or any AWS client) at a test endpoint. */
export function awsEnvOf(s3: S3TestEndpoint, endpoint: string = s3.endpoint): Record<string, string> {
  return { AWS_ENDPOINT_URL_S3: endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
}
