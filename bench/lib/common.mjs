// What the bench files share: quilt3's python, the isolated environment of a measured child, a
// copy of dist/, deterministic input bytes, the byte-for-byte check of an installed folder, and
// the cleanup of a run's temp folder (and server) on exit or Ctrl-C.
// test/helpers/quilt3.ts holds the tests' twin of `quilt3Python` (the bench is plain .mjs over
// dist/ and cannot import the TypeScript helpers).
import { execFileSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statfsSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MiB = 2 ** 20;

/** quilt3 8.0.0: the virtualenv of scripts/quilt3.sh when it is complete, else python3 from the PATH. */
export function quilt3Python() {
  const venv = join(process.env.QUILTKIT_TOOLS_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "quiltkit"), "venv-quilt3-8.0.0");
  try {
    if (readFileSync(join(venv, "quilt3.version"), "utf8").trim() === "quilt3==8.0.0" && existsSync(join(venv, "bin", "python"))) return join(venv, "bin", "python");
  } catch {
    // no virtualenv: the PATH's python3
  }
  return "python3";
}

/** quilt3's version as `python` imports it in `env`, or undefined when it cannot. */
export function quilt3Version(python, env) {
  try {
    return execFileSync(python, ["-c", "import quilt3; print(quilt3.__version__)"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/**
 * A measured child's environment: nothing of the developer's but PATH (and TMPDIR); a private
 * HOME (created), QUILT_HOME and XDG folders under `home`; quilt3's telemetry off. `extra` is
 * each bench's own additions, as they are.
 */
export function isolatedEnv(home, extra = {}) {
  mkdirSync(home, { recursive: true });
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }),
    QUILT_HOME: join(home, "quiltkit"),
    XDG_DATA_HOME: join(home, "xdg-data"),
    XDG_CACHE_HOME: join(home, "xdg-cache"),
    XDG_CONFIG_HOME: join(home, "xdg-config"),
    QUILT_DISABLE_USAGE_METRICS: "true",
    QUILT_MINIMIZE_STDOUT: "true",
    PYTHONDONTWRITEBYTECODE: "1",
    ...extra,
  };
}

/** The variables among `names` that this process has, as they are (for `isolatedEnv`'s `extra`). */
export const passThrough = (...names) => Object.fromEntries(names.filter((n) => process.env[n] !== undefined).map((n) => [n, process.env[n]]));

/** No AWS settings of the developer's: config and credentials files that do not exist, no instance metadata. */
export const noAwsConfig = (home) => ({
  AWS_CONFIG_FILE: join(home, "no-aws-config"),
  AWS_SHARED_CREDENTIALS_FILE: join(home, "no-aws-credentials"),
  AWS_EC2_METADATA_DISABLED: "true",
});

/** The endpoint, region and keys of an S3 server (lib/versitygw.mjs). */
export const s3Env = (server) => ({
  AWS_ENDPOINT_URL_S3: server.endpoint,
  AWS_REGION: server.region,
  AWS_DEFAULT_REGION: server.region,
  AWS_ACCESS_KEY_ID: server.accessKeyId,
  AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
});

/**
 * Copy dist/ into `dir` (with package.json, and node_modules linked): a long run on a shared clone
 * must not pick up someone's rebuild half-way, and a copy is cheap (a few MB). Returns the copy's CLI.
 */
export function copyDist(dir) {
  cpSync(join(PACKAGE_ROOT, "dist"), join(dir, "dist"), { recursive: true });
  cpSync(join(PACKAGE_ROOT, "package.json"), join(dir, "package.json"));
  symlinkSync(join(PACKAGE_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return join(dir, "dist", "bin", "quilt.js");
}

/** Deterministic bytes, as a stream cipher: the AES-128-CTR keystream of a key named after `seed`. */
export function keystreamCipher(seed) {
  const key = createHash("sha256").update(seed).digest().subarray(0, 16);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
}

/** The first `length` bytes of `keystreamCipher(seed)`. */
export const keystream = (seed, length) => keystreamCipher(seed).update(Buffer.alloc(length));

export function freeBytes(dir) {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Files under `dir`, sorted; our `.quiltkit/` at the top (install state and stat cache) is left out. */
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (d === dir && e.name === ".quiltkit") continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** The installed folder holds exactly the input's files, byte for byte; throws otherwise. Returns how many. */
export function assertSameTree(input, installed, label, chunkBytes = 8 * MiB) {
  const want = listFiles(input);
  const got = listFiles(installed);
  if (want.length !== got.length || want.some((f, i) => f !== got[i])) {
    throw new Error(`${label}: ${installed} holds ${got.length} files, not the ${want.length} of ${input}`);
  }
  const a = Buffer.allocUnsafe(chunkBytes);
  const b = Buffer.allocUnsafe(chunkBytes);
  for (const f of want) {
    const fa = openSync(join(input, f), "r");
    const fb = openSync(join(installed, f), "r");
    try {
      for (;;) {
        const na = readSync(fa, a, 0, a.length, null);
        const nb = readSync(fb, b, 0, b.length, null);
        if (na !== nb || a.compare(b, 0, nb, 0, na) !== 0) throw new Error(`${label}: ${f} differs from the input`);
        if (na === 0) break;
      }
    } finally {
      closeSync(fa);
      closeSync(fb);
    }
  }
  return want.length;
}

/**
 * Remove `root` (after stopping `held.server`, if one is running) when the returned function is
 * awaited, or on SIGINT/SIGTERM, then exit 130. Set `held.server` once a server is started.
 */
export function removeOnExit(root, held) {
  const cleanup = async () => {
    await held.server?.stop();
    rmSync(root, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return async () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  };
}
