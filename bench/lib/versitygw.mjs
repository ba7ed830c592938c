// versitygw (built by scripts/versitygw.sh into ~/.cache/quiltkit/bin) on 127.0.0.1, its posix
// backend in a folder the caller gives (the same disk as the bench inputs), versioning on, for the
// S3 bench. The bench's cut of test/helpers/s3-server.ts, over the built dist/ (the bench is plain
// .mjs). `stop()` kills the server's process group; the caller removes the folder.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { createVersionedBucket, pingS3 } from "../../dist/storage/s3/index.js";

const TOOLS_DIR = process.env.QUILTKIT_TOOLS_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "quiltkit", "bin");
export const VERSITYGW_BIN = join(TOOLS_DIR, "versitygw");
const STAMP = join(TOOLS_DIR, "versitygw.version");
const REGION = "us-east-1";

/** `versitygw v1.7.0`, or undefined when scripts/versitygw.sh has not built it. */
export function versitygwVersion() {
  if (!existsSync(VERSITYGW_BIN) || !existsSync(STAMP)) return undefined;
  return `versitygw ${readFileSync(STAMP, "utf8").trim()}`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Start versitygw with its data in `dir` (created); resolves once a signed request succeeds.
 * `keepAlive`: versitygw answers every request with `Connection: close` unless started with
 * `--keep-alive`, so each request of either tool would pay a new TCP connection. AWS S3 keeps
 * connections open, so the bench turns it on by default.
 */
export async function startVersitygw(dir, { startTimeoutMs = 20_000, keepAlive = true } = {}) {
  const version = versitygwVersion();
  if (!version) throw new Error(`versitygw is not built (${VERSITYGW_BIN}); run: bash scripts/versitygw.sh`);
  const data = join(dir, "data");
  const versions = join(dir, "versions");
  mkdirSync(data, { recursive: true });
  mkdirSync(versions, { recursive: true });
  const accessKeyId = `qk${randomBytes(8).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const args = ["--port", `127.0.0.1:${port}`, "--region", REGION, "--quiet", ...(keepAlive ? ["--keep-alive"] : []), "posix", "--versioning-dir", versions, data];
  const child = spawn(VERSITYGW_BIN, args, {
    detached: true, // its own process group, killed as a whole
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
  });
  let output = "";
  child.stderr.on("data", (d) => (output = (output + d).slice(-4000)));
  const exited = new Promise((r) => child.once("exit", r));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  const s3 = { endpoint, region: REGION, accessKeyId, secretAccessKey };
  const clientOptions = {
    region: REGION,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
    requestTimeoutMs: 2_000,
    connectionTimeoutMs: 1_000,
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`versitygw exited (${child.exitCode}):\n${output}`);
    try {
      await pingS3(clientOptions);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`versitygw did not answer at ${endpoint}: ${error.message}\n${output}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    ...s3,
    version,
    keepAlive,
    pid: child.pid,
    stop,
    /** Create a bucket with versioning enabled. */
    async bucket(name) {
      const status = await createVersionedBucket({ ...clientOptions, maxAttempts: 3, requestTimeoutMs: 10_000 }, name);
      if (status !== "Enabled") throw new Error(`bucket ${name}: versioning is ${status}, not Enabled`);
      return name;
    },
  };
}
