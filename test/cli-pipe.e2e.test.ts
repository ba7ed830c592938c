/**
 * `quilt ... | head`: when the reader of stdout goes away, the built `quilt` stops quietly with
 * the status of a Unix tool killed by SIGPIPE (141), without a stack trace, whether it was
 * streaming a listing or writing a file's bytes.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, expectOk, runQuilt } from "./helpers/cli.js";

const FILES = 6000;
let root = "";
let registry = "";
let home = "";

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "quiltkit-pipe-"));
  const data = join(root, "data");
  for (let i = 0; i < FILES; i++) {
    if (i % 1000 === 0) mkdirSync(join(data, `d${i / 1000}`), { recursive: true });
    writeFileSync(join(data, `d${Math.floor(i / 1000)}`, `a-rather-long-file-name-to-fill-the-pipe-${i}.txt`), `${i}\n`);
  }
  writeFileSync(join(data, "big.bin"), Buffer.alloc(8 * 2 ** 20, 7));
  registry = join(root, "registry");
  home = join(root, "home");
  expectOk(await runQuilt(["push", "pipe/many", "--dir", data, "--registry", registry, "-m", "m"], { env: { QUILT_HOME: home } }));
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs quilt, reads its first chunk of stdout, then closes the pipe as `head` does. */
async function closedEarly(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; first: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? "", QUILT_HOME: home }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const first = await new Promise<string>((resolve) =>
    child.stdout.once("data", (chunk: Buffer) => {
      child.stdout.destroy();
      resolve(chunk.toString("latin1"));
    }),
  );
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("exit", (c, s) => resolve([c, s])));
  return { code, signal, first, stderr };
}

describe("quilt: the reader of stdout goes away", () => {
  it.each([
    ["ls -r (text)", ["ls", "pipe/many", "-r", "--registry"]],
    ["ls -r --json (NDJSON)", ["--json", "ls", "pipe/many", "-r", "--registry"]],
  ])("%s stops at once, quietly, with 141", async (_label, args) => {
    const run = await closedEarly([...args, registry]);
    expect(run.first.length).toBeGreaterThan(0);
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 141, signal: null, stderr: "" });
  }, 60_000);

  it("cat of a file larger than the pipe stops quietly with 141", async () => {
    const run = await closedEarly(["cat", "pipe/many", "big.bin", "--registry", registry]);
    expect(run.first.charCodeAt(0)).toBe(7);
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 141, signal: null, stderr: "" });
  }, 60_000);

  it("a reader that takes everything still gets exit 0", async () => {
    const run = expectOk(await runQuilt(["ls", "pipe/many", "-r", "--registry", registry], { env: { QUILT_HOME: home } }));
    expect(run.stdout.trim().split("\n")).toHaveLength(FILES + 1);
  }, 60_000);
});
