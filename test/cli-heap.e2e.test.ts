/**
 * The built `quilt` runs the commands that may hold millions of entries in a child node with a
 * capped heap (src/cli/heap.ts): the caps reach that child, browsing stays in one process, the
 * child's exit code, output and signals come through, and no child outlives its parent.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, expectJsonError, expectOk, runQuilt } from "./helpers/cli.js";

let root = "";
let hook = "";
let data = "";
let registry = "";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "quiltkit-heap-"));
  // Each node process of a run (its main thread: hash workers load the hook too) appends its pid and heap limit (MiB) to the file QK_TEST_HEAP_OUT.
  hook = join(root, "heap-hook.mjs");
  writeFileSync(
    hook,
    'import { appendFileSync } from "node:fs";\nimport { getHeapStatistics } from "node:v8";\nimport { isMainThread } from "node:worker_threads";\n' +
      "if (isMainThread) appendFileSync(process.env.QK_TEST_HEAP_OUT, `${process.pid} ${Math.round(getHeapStatistics().heap_size_limit / 2 ** 20)}\\n`);\n",
  );
  data = join(root, "data");
  mkdirSync(data);
  writeFileSync(join(data, "a.txt"), "hello\n");
  registry = join(root, "registry");
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

let runs = 0;
/** Runs the built quilt with the hook; the heap limits of its processes, in start order. */
async function quilt(args: string[], env: Record<string, string | undefined> = {}) {
  const out = join(root, `heap-${runs++}.txt`);
  writeFileSync(out, "");
  const run = await runQuilt(args, { nodeArgs: ["--import", pathToFileURL(hook).href], env: { NODE_OPTIONS: undefined, QK_TEST_HEAP_OUT: out, ...env } });
  const limits = readFileSync(out, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => Number(line.split(" ")[1]));
  return { run, limits };
}

describe("quilt: heap caps for the heavy commands", () => {
  it("push runs in one child capped at 1,536 MiB of old space; ls stays in one process", async () => {
    const pushed = await quilt(["--json", "push", "heap/one", "--dir", data, "--registry", registry, "-m", "m"]);
    expectOk(pushed.run);
    expect(pushed.run.json<{ topHash: string }>().topHash).toMatch(/^[0-9a-f]{64}$/);
    expect(pushed.limits).toHaveLength(2);
    // V8's limit is the old space plus the young generation (3 × 32 MiB semi-spaces at most).
    expect(pushed.limits[1]).toBeGreaterThanOrEqual(1536);
    expect(pushed.limits[1]).toBeLessThan(1536 + 200);
    expect(pushed.limits[0]).not.toBe(pushed.limits[1]);

    const listed = await quilt(["ls", "heap/one", "--registry", registry]);
    expect(expectOk(listed.run).stdout.trim()).toBe("a.txt");
    expect(listed.limits).toHaveLength(1);
  });

  it("keeps the user's own limit from NODE_OPTIONS and runs in one process when nothing is left to add", async () => {
    const own = await quilt(["push", "heap/own", "--dir", data, "--registry", registry, "-m", "m"], {
      NODE_OPTIONS: "--max-old-space-size=700 --max-semi-space-size=4",
    });
    expectOk(own.run);
    expect(own.limits).toHaveLength(1);
    expect(own.limits[0]).toBeLessThan(800);
  });

  it("passes the child's exit code and its one error report through", async () => {
    const bad = await quilt(["--json", "push", "not-a-name", "--dir", data, "--registry", registry]);
    expectJsonError(bad.run, 2, "PACKAGE_NAME_INVALID");
    expect(bad.limits).toHaveLength(2);
  });
});

describe("quilt: signals reach the capped child", () => {
  it("SIGTERM to quilt ends its child too, and quilt ends by the same signal", async () => {
    const big = bigFolder("big", 4);
    const out = join(root, "heap-term.txt");
    writeFileSync(out, "");
    const child = spawn(process.execPath, ["--import", pathToFileURL(hook).href, CLI, "push", "heap/term", "--dir", big, "--registry", registry, "-m", "m"], {
      env: { PATH: process.env.PATH ?? "", QUILT_HOME: join(root, "home"), QK_TEST_HEAP_OUT: out },
      stdio: "ignore",
    });
    const pids = (): number[] =>
      readFileSync(out, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => Number(line.split(" ")[0]));
    for (let i = 0; i < 400 && pids().length < 2; i++) await sleep(25);
    expect(pids()).toHaveLength(2);
    child.kill("SIGTERM");
    const { code, signal } = await exitOf(child);
    expect({ code, signal }).toEqual({ code: null, signal: "SIGTERM" });
    await sleep(100);
    for (const pid of pids()) expect(alive(pid), `process ${pid}`).toBe(false);
  }, 60_000);
});

describe("quilt: a terminal's Ctrl-C reaches parent and child alike", () => {
  it("both signalled (the child also gets the one its parent passes on): exit 130, nothing written", async () => {
    const big = bigFolder("big-int", 8);
    const reg = join(root, "registry-int");
    // Its own process group, as a shell gives a foreground job: the group's signal is a terminal's Ctrl-C.
    const child = spawn(process.execPath, [CLI, "push", "heap/int", "--dir", big, "--registry", reg, "-m", "m"], {
      env: { PATH: process.env.PATH ?? "", QUILT_HOME: join(root, "home") },
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // Interrupt once data is being copied into the registry.
    for (let i = 0; i < 400 && !existsSync(join(reg, "heap", "int")); i++) await sleep(10);
    process.kill(-(child.pid as number), "SIGINT");
    const { code, signal } = await exitOf(child);
    expect({ code, signal }, stderr).toEqual({ code: 130, signal: null });
    expect(stderr).toContain("Interrupted");
    expect(existsSync(join(reg, ".quilt", "named_packages", "heap", "int"))).toBe(false);
  }, 60_000);
});

/** A folder of `count` files of 48 MiB: enough for a push to be under way when a signal comes. */
function bigFolder(name: string, count: number): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `f${i}.bin`), Buffer.alloc(48 * 2 ** 20, i + 1));
  return dir;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
