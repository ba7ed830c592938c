import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InterruptedError, StorageError, UsageError } from "../errors/index.js";
import { externalSort, externalSortBatches, type ExternalSortOptions, type ExternalSortStats } from "./external-sort.js";
import { compareLogicalKeys } from "./logical-key-order.js";
import { collect } from "../../test/helpers/expect.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "sort-test-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Deterministic pseudo-random numbers, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Rec {
  key: string;
  seq: number;
}

const recOpts = (extra: Partial<ExternalSortOptions<Rec>> = {}): ExternalSortOptions<Rec> => ({
  compare: (a, b) => compareLogicalKeys(a.key, b.key),
  serialize: (r) => `${r.seq}\t${r.key}`,
  deserialize: (b) => {
    const s = b.toString("utf8");
    const tab = s.indexOf("\t");
    return { seq: Number(s.slice(0, tab)), key: s.slice(tab + 1) };
  },
  tmpDir: tmp,
  ...extra,
});

const numOpts = (extra: Partial<ExternalSortOptions<number>> = {}): ExternalSortOptions<number> => ({
  compare: (a, b) => a - b,
  serialize: (n) => String(n),
  deserialize: (b) => Number(b.toString("latin1")),
  tmpDir: tmp,
  ...extra,
});

async function* slowly<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const x of items) yield await Promise.resolve(x);
}

function randomKeys(n: number, seed: number, distinct: number): Rec[] {
  const r = rng(seed);
  const parts = ["a", "b", "a b", "a-b", "é", "！", "😀", "x.y", "0"];
  return Array.from({ length: n }, (_, seq) => {
    const id = Math.floor(r() * distinct);
    const depth = 1 + (id % 3);
    const segs = Array.from({ length: depth }, (_, d) => `${parts[(id >> (d * 3)) % parts.length]}${id % (d + 7)}`);
    return { key: segs.join("/"), seq };
  });
}

const expectSortedStable = (out: Rec[]): void => {
  const bad = out.findIndex((b, i) => {
    const a = out[i - 1];
    if (a === undefined) return false;
    const c = compareLogicalKeys(a.key, b.key);
    return !(c < 0 || (c === 0 && a.seq < b.seq));
  });
  expect(bad).toBe(-1);
};

describe("externalSort", () => {
  it("sorts in memory without touching the disk when one run suffices", async () => {
    let stats: ExternalSortStats | undefined;
    const missing = join(tmp, "does-not-exist");
    const input = [5, 3, 9, 1, 3];
    const out = await collect(externalSort(input, numOpts({ tmpDir: missing, onStats: (s) => (stats = s) })));
    expect(out).toEqual([1, 3, 3, 5, 9]);
    expect(stats).toMatchObject({ recordsIn: 5, recordsOut: 5, runs: 0, bytesSpilled: 0 });
  });

  it("sorts an empty input", async () => {
    expect(await collect(externalSort([], numOpts()))).toEqual([]);
    expect(await collect(externalSort([], numOpts({ maxRecordsInMemory: 1 })))).toEqual([]);
  });

  it("spills 100k records into runs, merges them stably, and removes its temp files", async () => {
    const input = randomKeys(100_000, 7, 30_000);
    let stats: ExternalSortStats | undefined;
    const out = await collect(externalSort(slowly(input), recOpts({ maxRecordsInMemory: 5_000, onStats: (s) => (stats = s) })));
    expect(out).toHaveLength(input.length);
    expectSortedStable(out);
    expect(stats?.runs).toBe(20);
    expect(stats?.peakTempBytes).toBeGreaterThan(0);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("spills on the byte budget", async () => {
    const input = randomKeys(5_000, 8, 5_000);
    let stats: ExternalSortStats | undefined;
    const out = await collect(externalSort(input, recOpts({ maxBytesInMemory: 20_000, sizeOf: () => 100, onStats: (s) => (stats = s) })));
    expectSortedStable(out);
    expect(stats?.runs).toBe(25);
  });

  it("takes extra merge passes above the fan-in and stays stable", async () => {
    const input = randomKeys(20_000, 9, 500);
    let stats: ExternalSortStats | undefined;
    const opts = recOpts({ maxRecordsInMemory: 300, maxFanIn: 3, onStats: (s) => (stats = s) });
    const out = await collect(externalSort(input, opts));
    expect(out).toHaveLength(input.length);
    expectSortedStable(out);
    expect(stats?.extraMergePasses).toBeGreaterThanOrEqual(3);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("keeps the last write per key with reduce, across runs and passes", async () => {
    const input = randomKeys(30_000, 10, 2_000);
    const expected = new Map<string, number>();
    for (const r of input) expected.set(r.key, r.seq);
    const opts = recOpts({ maxRecordsInMemory: 700, maxFanIn: 4, reduce: (_earlier, later) => later });
    const out = await collect(externalSort(input, opts));
    expect(out.map((r) => r.key)).toEqual([...expected.keys()].sort(compareLogicalKeys));
    for (const r of out) expect(r.seq).toBe(expected.get(r.key));
  });

  it("round-trips binary records and multi-byte strings", async () => {
    const input = Array.from({ length: 3_000 }, (_, i) => Buffer.from([i % 7, 10, 0, 13, (i * 31) % 256, 255]));
    const out = await collect(
      externalSort(input, {
        compare: (a, b) => Buffer.compare(a, b),
        serialize: (b) => b,
        deserialize: (b) => Buffer.from(b),
        tmpDir: tmp,
        maxRecordsInMemory: 100,
      }),
    );
    expect(out).toEqual([...input].sort((a, b) => Buffer.compare(a, b)));
    const words = Array.from({ length: 2_000 }, (_, i) => `${"😀é！\n".repeat(i % 5)}${i}`);
    const strOut = await collect(
      externalSort(words, {
        compare: compareLogicalKeys,
        serialize: (s) => s,
        deserialize: (b) => b.toString("utf8"),
        tmpDir: tmp,
        maxRecordsInMemory: 64,
      }),
    );
    expect(strOut).toEqual([...words].sort(compareLogicalKeys));
  });

  it("reads records larger than its read buffers", async () => {
    const big = Array.from({ length: 40 }, (_, i) => `${String(40 - i).padStart(3, "0")}${"x".repeat(300_000)}`);
    const out = await collect(
      externalSort(big, {
        compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
        serialize: (s) => s,
        deserialize: (b) => b.toString("latin1"),
        tmpDir: tmp,
        maxRecordsInMemory: 3,
        maxBytesInMemory: 1_000,
      }),
    );
    expect(out.map((s) => s.slice(0, 3))).toEqual(big.map((s) => s.slice(0, 3)).sort());
  });

  it("removes temp files when the consumer stops early", async () => {
    let taken = 0;
    for await (const record of externalSort(randomKeys(20_000, 11, 20_000), recOpts({ maxRecordsInMemory: 1_000 }))) {
      expect(record.key).not.toBe("");
      if (++taken === 10) break;
    }
    expect(taken).toBe(10);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("removes temp files when the input fails after spilling", async () => {
    async function* failing(): AsyncGenerator<number> {
      for (let i = 0; i < 5_000; i++) yield await Promise.resolve(i);
      throw new Error("input broke");
    }
    await expect(collect(externalSort(failing(), numOpts({ maxRecordsInMemory: 1_000 })))).rejects.toThrow("input broke");
    expect(await readdir(tmp)).toEqual([]);
  });

  it("stops with InterruptedError on abort, during input and during output", async () => {
    const ctl = new AbortController();
    async function* aborting(): AsyncGenerator<number> {
      for (let i = 0; i < 5_000; i++) {
        if (i === 3_000) ctl.abort();
        yield await Promise.resolve(i);
      }
    }
    const p = collect(externalSort(aborting(), numOpts({ maxRecordsInMemory: 1_000, signal: ctl.signal })));
    await expect(p).rejects.toBeInstanceOf(InterruptedError);
    expect(await readdir(tmp)).toEqual([]);

    const ctl2 = new AbortController();
    const sorted = externalSortBatches(
      Array.from({ length: 10_000 }, (_, i) => 10_000 - i),
      numOpts({ maxRecordsInMemory: 1_000, signal: ctl2.signal }),
    );
    const consume = async (): Promise<void> => {
      for await (const batch of sorted) if (batch.length > 0) ctl2.abort();
    };
    await expect(consume()).rejects.toBeInstanceOf(InterruptedError);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("reports an unusable temp folder as a StorageError", async () => {
    const opts = numOpts({ tmpDir: join(tmp, "missing", "deeper"), maxRecordsInMemory: 10 });
    await expect(collect(externalSort(Array.from({ length: 100 }, (_, i) => i), opts))).rejects.toBeInstanceOf(StorageError);
  });

  it("rejects nonsensical budgets", async () => {
    await expect(collect(externalSort([1], numOpts({ maxRecordsInMemory: 0 })))).rejects.toBeInstanceOf(UsageError);
    await expect(collect(externalSort([1], numOpts({ maxFanIn: 1 })))).rejects.toBeInstanceOf(UsageError);
    await expect(collect(externalSort([1], numOpts({ maxBytesInMemory: Number.NaN })))).rejects.toBeInstanceOf(UsageError);
  });

  it("matches Array.prototype.sort for arbitrary inputs and budgets", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 400 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 2, max: 5 }),
        async (xs, maxRecordsInMemory, maxFanIn) => {
          const input = xs.map((n, seq) => ({ key: String(n), seq }));
          const out = await collect(externalSort(input, recOpts({ maxRecordsInMemory, maxFanIn })));
          expect(out).toEqual([...input].sort((a, b) => compareLogicalKeys(a.key, b.key)));
        },
      ),
      { numRuns: 40 },
    );
    expect(await readdir(tmp)).toEqual([]);
  });

  describe("with records spilled in groups (serializeGroup)", () => {
    /** Groups as JSON arrays; counts the groups written, and fails the single-record encoders. */
    function grouped(extra: Partial<ExternalSortOptions<Rec>> = {}): { opts: ExternalSortOptions<Rec>; groups: number[] } {
      const groups: number[] = [];
      const never = (): never => {
        throw new Error("the single-record encoding was used");
      };
      const opts = recOpts({
        serialize: never,
        deserialize: never,
        sizeOf: () => 100,
        serializeGroup: (records) => (groups.push(records.length), JSON.stringify(records)),
        deserializeGroup: (bytes) => JSON.parse(bytes.toString("utf8")) as Rec[],
        ...extra,
      });
      return { opts, groups };
    }

    it("sorts, stays stable and reduces across runs and extra merge passes", async () => {
      const input = randomKeys(20_000, 11, 3_000);
      let stats: ExternalSortStats | undefined;
      const { opts, groups } = grouped({ maxRecordsInMemory: 700, maxFanIn: 3, onStats: (s) => (stats = s) });
      const out = await collect(externalSort(slowly(input), opts));
      expect(out).toHaveLength(input.length);
      expectSortedStable(out);
      expect(stats?.extraMergePasses).toBeGreaterThanOrEqual(2);
      // Runs of 700 are written as groups of 256, 256 and 188; merge passes write groups of 256.
      expect(Math.max(...groups)).toBe(256);
      expect(groups.reduce((a, b) => a + b, 0) / groups.length).toBeGreaterThan(150);
      expect(await readdir(tmp)).toEqual([]);

      const expected = new Map<string, number>();
      for (const r of input) expected.set(r.key, r.seq);
      const reduced = await collect(externalSort(input, grouped({ maxRecordsInMemory: 500, maxFanIn: 4, reduce: (_e, later) => later }).opts));
      expect(reduced.map((r) => [r.key, r.seq])).toEqual([...expected.keys()].sort(compareLogicalKeys).map((k) => [k, expected.get(k)]));
    });

    it("refuses one of the two group encoders without the other", async () => {
      const { opts } = grouped();
      await expect(collect(externalSort([], { ...opts, deserializeGroup: undefined }))).rejects.toMatchObject({ code: "SORT_BAD_OPTION" });
    });

    it("matches Array.prototype.sort for arbitrary inputs and budgets", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 1_500 }), fc.integer({ min: 1, max: 600 }), async (xs, maxRecordsInMemory) => {
          const input = xs.map((n, seq) => ({ key: String(n), seq }));
          const out = await collect(externalSort(input, grouped({ maxRecordsInMemory, maxFanIn: 2 }).opts));
          expect(out).toEqual([...input].sort((a, b) => compareLogicalKeys(a.key, b.key)));
        }),
        { numRuns: 30 },
      );
    });
  });
});
