import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { writeLinesNew } from "./atomic.js";

describe("writeLinesNew", () => {
  it("writes every line of a file many write batches long, in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quiltkit-atomic-"));
    try {
      const path = join(dir, "lines");
      const text = (i: number): string => `line ${i} é ${"x".repeat(i % 7)}`;
      // ~5 MiB: several 1 MiB write batches.
      const lines = Array.from({ length: 300_000 }, (_, i) => text(i));
      await writeLinesNew(path, Readable.from(lines) as AsyncIterable<string>);
      const got = readFileSync(path, "utf8").split("\n");
      expect(got).toHaveLength(300_001);
      expect(got.slice(0, -1).every((line, i) => line === text(i))).toBe(true);
      expect(got[300_000]).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
