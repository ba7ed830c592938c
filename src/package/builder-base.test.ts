import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PackageBuilder } from "./builder.js";
import type { PendingEntry } from "./ops.js";

const dir = mkdtempSync(join(tmpdir(), "quiltkit-base-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (key: string, size = 1): PendingEntry => ({ logicalKey: key, physicalKey: `file:///data/${key}`, size, meta: new Map() });

function base(entries: PendingEntry[]): () => AsyncIterable<PendingEntry> {
  return async function* () {
    for (const e of entries) yield await Promise.resolve(e);
  };
}

async function entries(builder: PackageBuilder): Promise<PendingEntry[]> {
  const out: PendingEntry[] = [];
  for await (const e of builder.pendingEntries()) out.push(e);
  return out;
}

async function keys(builder: PackageBuilder): Promise<string[]> {
  return (await entries(builder)).map((e) => `${e.logicalKey}:${e.size}`);
}

describe("PackageBuilder.setBase", () => {
  it("merges sorted saved entries with later operations, each rule as for operations", async () => {
    writeFileSync(join(dir, "new.txt"), "four");
    const builder = new PackageBuilder({ tmpDir: dir }).setBase(base([entry("a/1"), entry("a/2"), entry("b"), entry("c/x"), entry("d")]));
    await builder.delete("a"); // a folder delete wipes base entries under it
    await builder.setEntry("a/3", { physicalKey: "file:///data/a/3", size: 3 });
    await builder.setEntryMeta("b", { k: 1 }); // on top of the base entry
    await builder.set("c/x", join(dir, "new.txt")); // replaces it
    await builder.delete("d");
    await builder.setEntry("e", { physicalKey: "file:///data/e", size: 5 });
    expect(await keys(builder)).toEqual(["a/3:3", "b:1", "c/x:4", "e:5"]);
    const b = (await entries(builder)).find((e) => e.logicalKey === "b");
    expect(b?.meta.get("user_meta")).toEqual(new Map([["k", 1n]]));
    // Every pass reads the base afresh.
    expect(await keys(builder)).toEqual(["a/3:3", "b:1", "c/x:4", "e:5"]);
  });

  it("counts base entries for the collision rule of add, and refuses a base out of order", async () => {
    const pkgDir = join(dir, "src");
    writeFileSync(join(dir, "b"), "x");
    const builder = new PackageBuilder({ tmpDir: dir }).setBase(base([entry("a"), entry("b")]));
    await builder.add(join(dir, "b"), "b", { onConflict: "error" });
    await expect(keys(builder)).rejects.toMatchObject({ code: "LOGICAL_KEY_COLLISION" });
    const unsorted = new PackageBuilder({ tmpDir: dir }).setBase(base([entry("b"), entry("a")]));
    await expect(keys(unsorted)).rejects.toMatchObject({ code: "BASE_UNSORTED" });
    expect(() => new PackageBuilder({ tmpDir: pkgDir }).setBase(base([])).setBase(base([]))).toThrow(/setBase must come first/);
  });
});
