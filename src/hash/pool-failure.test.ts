import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { StorageError } from "../errors/index.js";
import { HashPool } from "./index.js";

// Worker start-up is replaced per test: these are the failures a real install can hit.
const spawn = vi.hoisted(() => ({ impl: undefined as undefined | (() => unknown) }));
vi.mock("./spawn.js", () => ({ spawnHashWorker: () => spawn.impl?.() }));

let dir: string;
let files: { path: string }[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "quiltkit-hash-fail-"));
  files = Array.from({ length: 30 }, (_, i) => {
    const path = join(dir, `f${i}`);
    writeFileSync(path, `file ${i}`);
    return { path };
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function codes(pool: HashPool): Promise<string[]> {
  const out: string[] = [];
  for await (const r of pool.hashFiles(files)) out.push(r.ok ? "ok" : r.error.code);
  return out;
}

describe("HashPool when workers cannot run", () => {
  it("a worker script that cannot be found fails every file with its error", async () => {
    spawn.impl = () => {
      throw new StorageError("HASH_WORKER_MISSING", "no worker");
    };
    const pool = new HashPool({ size: 2 });
    expect(new Set(await codes(pool))).toEqual(new Set(["HASH_WORKER_MISSING"]));
    await pool.close();
  });

  it("a worker that exits before replying fails every file, without hanging", async () => {
    spawn.impl = () => new Worker("process.exit(3)", { eval: true });
    const pool = new HashPool({ size: 2 });
    const got = await codes(pool);
    expect(got).toHaveLength(files.length);
    expect(new Set(got)).toEqual(new Set(["HASH_WORKER_FAILED"]));
    await pool.close();
  });
});
