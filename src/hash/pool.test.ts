import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HashPool, hashFile, hashFiles, type HashOutcome, type HashType } from "./index.js";
import { collect } from "../../test/helpers/expect.js";

const MiB = 1024 * 1024;
const ALL: HashType[] = ["sha2-256-chunked", "SHA256", "CRC64NVME"];

let dir: string;
let files: { path: string; n: number }[];
let pool: HashPool;

/** ~200 files: mostly small, some around part boundaries, two big enough to be split. */
function sizeOf(n: number): number {
  if (n === 0) return 0;
  if (n === 1) return 20_000_000;
  if (n === 2) return 17 * MiB + 5;
  if (n === 3) return 8 * MiB;
  if (n === 4) return 8 * MiB + 1;
  if (n % 25 === 0) return MiB + n * 977;
  return (n * 7919) % 70_000;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "quiltkit-hash-pool-"));
  const noise = randomBytes(20_000_000 + 256);
  files = Array.from({ length: 200 }, (_, n) => {
    const path = join(dir, `f${n}.bin`);
    writeFileSync(path, noise.subarray(n, n + sizeOf(n)));
    return { path, n };
  });
  // Small split settings so the 17 MiB and 20 MB files are spread over the workers.
  pool = new HashPool({ size: 2, splitAt: 9 * MiB, segmentBytes: 8 * MiB });
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serial(types: HashType[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const f of files) {
    const r = await hashFile(f.path, { types, withParts: true });
    out.set(f.path, { size: r.size, hashes: r.hashes, parts: r.parts?.map((p) => p.toString("hex")) });
  }
  return out;
}

function byPath(outcomes: HashOutcome<{ path: string }>[]): Map<string, unknown> {
  return new Map(
    outcomes.map((r) => {
      if (!r.ok) throw r.error;
      return [r.item.path, { size: r.size, hashes: r.hashes, parts: r.parts?.map((p) => p.toString("hex")) }];
    }),
  );
}

async function* slowly<T>(items: T[]): AsyncGenerator<T> {
  for (const x of items) {
    await new Promise((r) => setImmediate(r));
    yield x;
  }
}

describe("HashPool", () => {
  it.each([
    ["sha2-256-chunked only (big files split)", ["sha2-256-chunked"] as HashType[]],
    ["all three types", ALL],
  ])("gives the same results as serial hashing: %s", async (_, types) => {
    const progress: { files: number; bytes: number }[] = [];
    const got = await collect(pool.hashFiles(files, { types, withParts: true, onProgress: (p) => progress.push(p) }));
    expect(got).toHaveLength(files.length);
    expect(byPath(got)).toEqual(await serial(types));
    const total = files.reduce((s, f) => s + sizeOf(f.n), 0);
    expect(progress.at(-1)).toEqual({ files: files.length, bytes: total });
  });

  it("accepts an async iterable and keeps the caller's item", async () => {
    const got = await collect(pool.hashFiles(slowly(files.slice(5, 40))));
    expect(got.map((r) => (r.item as { n: number }).n).sort((a, b) => a - b)).toEqual(files.slice(5, 40).map((f) => f.n));
    expect(got.every((r) => r.ok && Object.keys(r.hashes).join() === "sha2-256-chunked" && !r.parts)).toBe(true);
  });

  it("reports per-file errors as outcomes", async () => {
    const input = [{ path: join(dir, "missing") }, { path: dir }, files[7]!, { nope: 1 } as unknown as { path: string }];
    const got = await collect(pool.hashFiles(input));
    const codes = got.map((r) => (r.ok ? "ok" : r.error.code)).sort();
    expect(codes).toEqual(["FILE_NOT_FOUND", "INVALID_HASH_INPUT", "NOT_A_FILE", "ok"]);
  });

  it("bounds the files admitted but not consumed", async () => {
    let pulled = 0;
    let consumed = 0;
    function* input(): Generator<{ path: string }> {
      for (const f of files) {
        pulled++;
        yield f;
      }
    }
    for await (const r of pool.hashFiles(input(), { maxQueue: 5 })) {
      expect(r.ok).toBe(true);
      consumed++;
      expect(pulled - consumed).toBeLessThanOrEqual(5);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(consumed).toBe(files.length);
  });

  it("abort ends the iteration with INTERRUPTED and leaves the pool usable", async () => {
    const ac = new AbortController();
    let seen = 0;
    const run = async (): Promise<void> => {
      for await (const r of pool.hashFiles(files, { types: ALL, signal: ac.signal })) {
        expect(r.ok).toBe(true);
        if (++seen === 3) ac.abort();
      }
    };
    await expect(run()).rejects.toThrow(expect.objectContaining({ code: "INTERRUPTED" }) as Error);
    expect(seen).toBe(3);
    await expect(collect(pool.hashFiles(files, { signal: AbortSignal.abort() }))).rejects.toThrow(
      expect.objectContaining({ code: "INTERRUPTED" }) as Error,
    );
    expect((await pool.hashFile(files[1]!.path)).size).toBe(20_000_000);
  });

  it("breaking out early leaves the pool usable", async () => {
    for await (const r of pool.hashFiles(files)) {
      expect(r.ok).toBe(true);
      break;
    }
    expect((await collect(pool.hashFiles(files.slice(0, 10)))).length).toBe(10);
  });

  it("hashFile spreads one big file over the workers", async () => {
    const r = await pool.hashFile(files[1]!.path, { withParts: true });
    expect(r.parts).toHaveLength(3);
    expect(r.hashes["sha2-256-chunked"]).toBe((await hashFile(files[1]!.path))["hashes"]["sha2-256-chunked"]);
    await expect(pool.hashFile(join(dir, "missing"))).rejects.toThrow(expect.objectContaining({ code: "FILE_NOT_FOUND" }) as Error);
  });

  it("runs concurrent calls with different types on one pool", async () => {
    const [a, b] = await Promise.all([
      collect(pool.hashFiles(files.slice(0, 60), { types: ["CRC64NVME"] })),
      collect(pool.hashFiles(files.slice(0, 60), { types: ["sha2-256-chunked", "SHA256"] })),
    ]);
    const want = await serial(ALL);
    for (const r of [...a, ...b]) {
      if (!r.ok) throw r.error;
      const expected = (want.get(r.item.path) as { hashes: Record<string, string> }).hashes;
      for (const [t, v] of Object.entries(r.hashes)) expect(v).toBe(expected[t]);
    }
    expect(a.every((r) => r.ok && Object.keys(r.hashes).join() === "CRC64NVME")).toBe(true);
  });

  it("closing the pool mid-iteration fails the rest, without hanging", async () => {
    const p = new HashPool({ size: 2 });
    const codes: string[] = [];
    for await (const r of p.hashFiles(files)) {
      if (codes.length === 0) void p.close();
      codes.push(r.ok ? "ok" : r.error.code);
    }
    expect(codes).toHaveLength(files.length);
    expect(codes).toContain("HASH_POOL_CLOSED");
    expect(codes.every((c) => c === "ok" || c === "HASH_POOL_CLOSED")).toBe(true);
  });

  it("a closed pool refuses work", async () => {
    const p = new HashPool({ size: 1 });
    await p.close();
    expect(() => p.hashFiles(files)).toThrow(expect.objectContaining({ code: "HASH_POOL_CLOSED" }) as Error);
  });
});

describe("hashFiles (one-shot pool)", () => {
  it("hashes and closes its pool", async () => {
    const got = await collect(hashFiles(files.slice(0, 20), { pool: { size: 1 } }));
    expect(got.filter((r) => r.ok)).toHaveLength(20);
  });
});

describe("compiled package", () => {
  // The sources run the worker through the dev loader; this checks dist/hash/worker.js itself.
  const dist = resolve(fileURLToPath(import.meta.url), "../../../dist/hash/index.js");
  // `npm test` builds dist/ first; without it this test fails and says so rather than skipping.
  it("dist HashPool matches the sources", async () => {
    expect(existsSync(dist), `${dist} is missing: run \`npm run build\` first`).toBe(true);
    const mod = (await import(dist)) as typeof import("./index.js");
    const p = new mod.HashPool({ size: 2, splitAt: 9 * MiB, segmentBytes: 8 * MiB });
    try {
      const got = await collect(p.hashFiles(files.slice(0, 30), { types: ALL, withParts: true }));
      const want = await serial(ALL);
      for (const [path, v] of byPath(got)) expect(v).toEqual(want.get(path));
    } finally {
      await p.close();
    }
  });
});
