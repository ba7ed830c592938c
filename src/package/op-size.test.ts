import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { PyValue } from "../json/index.js";
import { opSize } from "./op-size.js";
import type { KeyOp } from "./ops.js";

/** Heap bytes per record of N copies of the record `make(i)` builds, measured in a fresh node with --expose-gc. */
function heapPerRecord(make: string, n = 20_000): number {
  const script = `
    const { serialize, deserialize } = require("node:v8");
    const make = ${make};
    globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    const keep = [];
    // As the external sort holds them after a spill run: a v8 round trip.
    for (let i = 0; i < ${n}; i++) keep.push(deserialize(serialize({ seq: i, op: make(i) })));
    globalThis.gc();
    console.log((process.memoryUsage().heapUsed - before) / keep.length);`;
  return Number(execFileSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8" }).trim());
}

const KEY = "train/00012/img_00012345.jpg";
const PK = "s3://bench-bucket/data/train/00012/img_00012345.jpg?versionId=abcdefghijklmnopqrstuvwxyz012345";
const HASH = "q6pWv1mGaa4eX2Dq8YV0r3w7Yw8c4T8xO1g9h0mZp0M=";

const cases: { name: string; make: string; op: KeyOp }[] = [
  {
    name: "entry with empty metadata",
    make: `(i) => ({ op: "put", entry: { logicalKey: ${JSON.stringify(KEY)} + i, physicalKey: ${JSON.stringify(PK)} + i, size: 1000 + i, hash: { type: "sha2-256-chunked", value: ${JSON.stringify(HASH)} + i }, meta: new Map() } })`,
    op: { op: "put", entry: { logicalKey: KEY + "12345", physicalKey: PK + "12345", size: 1, hash: { type: "sha2-256-chunked", value: HASH + "12345" }, meta: new Map() } },
  },
  {
    name: "entry with nested user_meta",
    make: `(i) => ({ op: "put", entry: { logicalKey: ${JSON.stringify(KEY)} + i, physicalKey: ${JSON.stringify(PK)} + i, size: 1000 + i, hash: { type: "sha2-256-chunked", value: ${JSON.stringify(HASH)} + i }, meta: new Map([["user_meta", new Map([["label", i % 10], ["split", "train" + (i % 3)], ["score", 0.5 + i]])]]) } })`,
    op: {
      op: "put",
      entry: {
        logicalKey: KEY + "12345",
        physicalKey: PK + "12345",
        size: 1,
        hash: { type: "sha2-256-chunked", value: HASH + "12345" },
        meta: new Map<string, PyValue>([["user_meta", new Map<string, PyValue>([["label", 5], ["split", "train1"], ["score", 0.5]])]]),
      },
    },
  },
  {
    name: "delete",
    make: `(i) => ({ op: "delete", logicalKey: ${JSON.stringify(KEY)} + i })`,
    op: { op: "delete", logicalKey: KEY + "12345" },
  },
];

describe("opSize: the external sort's budget for builder operations", () => {
  for (const c of cases) {
    it(`does not undercount the heap, nor overcount it much: ${c.name}`, () => {
      const actual = heapPerRecord(c.make);
      const estimate = opSize(c.op);
      // Undercounting multiplies the sort's real memory; overcounting only makes more, smaller runs.
      expect(estimate).toBeGreaterThanOrEqual(actual * 0.95);
      expect(estimate).toBeLessThanOrEqual(actual * 2);
    });
  }

  it("grows with the metadata and stays finite on deep values", () => {
    const base: KeyOp = { op: "put", entry: { logicalKey: "a", physicalKey: "file:///a", size: 1, meta: new Map() } };
    const big: KeyOp = { op: "put", entry: { ...base.entry, meta: new Map<string, PyValue>([["user_meta", "x".repeat(10_000)]]) } };
    expect(opSize(big) - opSize(base)).toBeGreaterThanOrEqual(10_000);
    let deep: PyValue = 1;
    for (let i = 0; i < 1000; i++) deep = [deep];
    const deepOp: KeyOp = { op: "set-meta", logicalKey: "a", userMeta: deep };
    expect(Number.isFinite(opSize(deepOp))).toBe(true);
  });
});
