/**
 * The stat cache end to end: `verify` and `quilt hash` of an unchanged 2,000-file folder read no
 * file the second time (counted two ways: the hash pool's bytes, and the kernel's count of bytes
 * the `quilt` processes read, /proc/self/io `rchar`); a touched file alone is read again; a
 * same-size rewrite with its mtime put back is still caught, because ctime moved.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HashPool } from "../src/hash/index.js";
import { Package, PackageBuilder } from "../src/package/index.js";
import { Registry } from "../src/registry/registry.js";
import { LocalStorage } from "../src/storage/index.js";
import { compareDir } from "../src/transfer/index.js";
import { expectOk, runQuilt } from "./helpers/cli.js";

const FILES = 2000;
const SIZE = 16 * 1024;
const DATA = FILES * SIZE;
const MESSAGE = "stat cache";

let root = "";
let dir = "";
let home = "";
let registry: Registry;
let pool: HashPool;
let topHash = "";

/** `d<i % 20>/f<i>.bin`, 16 KiB of random bytes each. */
const pathOf = (i: number): string => join(dir, `d${i % 20}`, `f${i}.bin`);
/** A whole second, an hour ago: an mtime that `utimes` can put back exactly (it takes no nanoseconds). */
const ROUND = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
const VICTIM = 42;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiltkit-statcache-it-"));
  dir = join(root, "data");
  home = join(root, "home");
  for (let d = 0; d < 20; d++) await mkdir(join(dir, `d${d}`), { recursive: true });
  for (let i = 0; i < FILES; i++) await writeFile(pathOf(i), randomBytes(SIZE));
  utimesSync(pathOf(VICTIM), ROUND, ROUND);
  registry = new Registry(new LocalStorage(join(root, "registry")));
  pool = new HashPool({ size: 2 });
  const builder = new PackageBuilder({ name: "t/cache", pool });
  await builder.setDir(".", dir);
  topHash = (await builder.push({ registry, name: "t/cache", message: MESSAGE })).topHash;
  await builder.dispose();
  // Files written in the last 2 s are "racy" (their times cannot prove the content): wait them out.
  await new Promise((r) => setTimeout(r, 2200));
}, 120_000);

afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

/** Verify as `Package.verify` does, counting what was hashed. */
async function verify(): Promise<{ matches: boolean; modified: string[]; hashedFiles: number; hashedBytes: number; hits: number }> {
  const pkg = await Package.browse(`t/cache@${topHash}`, { registry, pool });
  let progress = { hashedFiles: 0, hashedBytes: 0 };
  try {
    const result = await compareDir(() => pkg.entries(), dir, { pool, statCache: { home }, onProgress: (p) => (progress = p) });
    return { matches: result.matches, modified: result.modified, ...progress, hits: result.statCache?.hits ?? -1 };
  } finally {
    await pkg.close();
  }
}

/** `quilt hash` as the CLI builds it, counting what was hashed. */
async function hash(): Promise<{ topHash: string; files: number; bytes: number }> {
  const builder = new PackageBuilder({ pool, statCache: { dir, home } });
  let progress = { files: 0, bytes: 0 };
  try {
    await builder.setDir(".", dir);
    const built = await builder.build({ message: MESSAGE, onProgress: (p) => (progress = p) });
    return { topHash: built.topHash, ...progress };
  } finally {
    await builder.dispose();
  }
}

describe("stat cache: verify and hash of an unchanged folder read no data", () => {
  it("verify reads every file once, then none; quilt hash shares the cache", async () => {
    const first = await verify();
    expect(first).toMatchObject({ matches: true, hashedFiles: FILES, hashedBytes: DATA, hits: 0 });
    const second = await verify();
    expect(second).toMatchObject({ matches: true, hashedFiles: 0, hashedBytes: 0, hits: FILES });
    // Same folder, same cache file: the builder finds every hash there.
    expect(await hash()).toEqual({ topHash, files: 0, bytes: 0 });
    const cacheDirs = await readdir(join(home, "cache", "stat"));
    expect(cacheDirs).toHaveLength(1);
  });

  it("after a touch, only the touched file is read again", async () => {
    const touched = pathOf(7);
    const later = new Date(Date.now() + 1000);
    utimesSync(touched, later, later);
    const after = await verify();
    expect(after).toMatchObject({ matches: true, hashedFiles: 1, hashedBytes: SIZE, hits: FILES - 1 });
    // Its times are racy (just changed), so it was not recorded: the next run reads it again.
    expect(await hash()).toEqual({ topHash, files: 1, bytes: SIZE });
  });

  it("a same-size rewrite with the old mtime put back is caught: ctime moved (a limit: see docs/design.md §7)", async () => {
    const victim = pathOf(VICTIM);
    const before = statSync(victim, { bigint: true });
    const bytes = readFileSync(victim);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(victim, bytes);
    utimesSync(victim, ROUND, ROUND);
    const now = statSync(victim, { bigint: true });
    expect([now.size, now.mtimeNs, now.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    expect(now.ctimeNs).not.toBe(before.ctimeNs);
    const after = await verify();
    expect(after.matches).toBe(false);
    expect(after.modified).toEqual(["d2/f42.bin"]);
    expect(after.hashedFiles).toBeGreaterThanOrEqual(1);
    expect(after.hashedFiles).toBeLessThanOrEqual(2); // the file touched above may still be racy
  });
});

/** Linux: every byte a process read through read(2)-like calls, all threads (the hash workers) included. */
const PROC_IO = existsSync("/proc/self/io");

describe.skipIf(!PROC_IO)("stat cache: the quilt command reads no data the second time (/proc/self/io)", () => {
  let cliDir = "";
  let hook = "";
  let cliHome = "";

  beforeAll(async () => {
    cliDir = join(root, "cli-data");
    cliHome = join(root, "cli-home");
    for (let i = 0; i < FILES; i++) {
      const path = join(cliDir, `d${i % 20}`, `f${i}.bin`);
      if (i < 20) await mkdir(join(cliDir, `d${i % 20}`), { recursive: true });
      await writeFile(path, randomBytes(SIZE));
    }
    hook = join(root, "io-hook.mjs");
    writeFileSync(
      hook,
      // Appended by each process's main thread: `quilt hash` runs in a child
      // node with a capped heap (src/cli/heap.ts), so a run is two processes; their reads are summed.
      'import { appendFileSync, readFileSync } from "node:fs";\nimport { isMainThread } from "node:worker_threads";\n' +
        'if (isMainThread) process.on("exit", () => appendFileSync(process.env.QK_TEST_IO_OUT, readFileSync("/proc/self/io", "utf8")));\n',
    );
    await new Promise((r) => setTimeout(r, 2200));
  }, 120_000);

  let runs = 0;
  /** Runs quilt with the hook; returns its output and the bytes its processes read (rchar). */
  async function quilt(args: string[]): Promise<{ stdout: string; rchar: number }> {
    const out = join(root, `io-${runs++}.txt`);
    const run = expectOk(await runQuilt(args, { nodeArgs: ["--import", pathToFileURL(hook).href], env: { QUILT_HOME: cliHome, QK_TEST_IO_OUT: out } }));
    const rchar = [...readFileSync(out, "utf8").matchAll(/^rchar: (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    return { stdout: run.stdout, rchar };
  }

  it("quilt hash, then quilt verify, of an unchanged folder", async () => {
    const reg = join(root, "cli-registry");
    const first = await quilt(["hash", cliDir, "-m", MESSAGE]);
    const second = await quilt(["hash", cliDir, "-m", MESSAGE]);
    expect(second.stdout).toBe(first.stdout);
    expect(first.rchar).toBeGreaterThan(DATA);
    // What a run reads besides the data: Node's modules (~3 MB), the manifest, the cache file
    // (~0.4 MB, read twice). The second run reads that and no file of the folder.
    const overhead = first.rchar - DATA;
    expect(second.rchar).toBeLessThan(overhead + 0.05 * DATA);
    expectOk(await runQuilt(["push", "t/cli", "--dir", cliDir, "-m", MESSAGE, "--registry", reg], { env: { QUILT_HOME: cliHome } }));
    const verified = await quilt(["verify", "t/cli", cliDir, "--registry", reg]);
    expect(verified.stdout).toContain("No changes");
    expect(verified.rchar).toBeLessThan(overhead + 0.05 * DATA + 2 * 1024 * 1024);

    // An install, then (past the racy margin) a reinstall: proven by its receipt, no manifest or file read.
    const dest = join(root, "cli-installed");
    const install = ["--json", "install", "t/cli", "--dest", dest, "--registry", reg];
    const installed = await quilt(install);
    expect(JSON.parse(installed.stdout)).toMatchObject({ files: FILES, skipped: 0 });
    await new Promise((r) => setTimeout(r, 2200));
    const again = await quilt(install);
    expect(JSON.parse(again.stdout)).toMatchObject({ files: 0, skipped: FILES, rehashed: 0, unchanged: true });
    // No file of the folder (that the manifest is not read either: src/package/reinstall.test.ts).
    expect(again.rchar).toBeLessThan(overhead + 0.05 * DATA);
    writeFileSync(join(dest, "d3", "f3.bin"), randomBytes(SIZE));
    const fixed = await quilt(install);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ files: 1, skipped: FILES - 1 });
    expect(JSON.parse(fixed.stdout)).not.toHaveProperty("unchanged");
    expect(readFileSync(join(dest, "d3", "f3.bin"))).toEqual(readFileSync(join(cliDir, "d3", "f3.bin")));
  });
});
