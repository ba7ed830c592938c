import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { collect } from "../../test/helpers/expect.js";
import { Spool } from "./spool.js";

it("spills past its budget, and gives every record back in order, as often as asked", async () => {
  const dir = await mkdtemp(join(tmpdir(), "spool-test-"));
  try {
    const spool = new Spool(join(dir, "s"), 64);
    const records = Array.from({ length: 100 }, (_, i) => Buffer.from(`record ${i} `.repeat(i % 7)));
    for (const r of records) spool.append(r);
    expect(existsSync(join(dir, "s"))).toBe(true);
    expect(await collect(spool.records())).toEqual(records);
    expect(await collect(spool.records())).toEqual(records);
    await spool.dispose();
    expect(existsSync(join(dir, "s"))).toBe(false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
