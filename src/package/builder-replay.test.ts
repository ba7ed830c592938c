import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { Registry } from "../registry/registry.js";
import { LocalStorage } from "../storage/index.js";
import { PackageBuilder } from "./builder.js";
import type { PendingEntry } from "./ops.js";

// Counts the sorts: every resolve of the operation log goes through resolveEntries.
const sorts = vi.hoisted(() => ({ count: 0, withBase: 0 }));
vi.mock("./resolve.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("./resolve.js")>();
  return {
    ...original,
    resolveEntries: (...args: Parameters<typeof original.resolveEntries>) => {
      sorts.count += 1;
      if (args[1].base !== undefined) sorts.withBase += 1;
      return original.resolveEntries(...args);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), "quiltkit-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  sorts.count = 0;
  sorts.withBase = 0;
});

const hash = { type: "sha2-256-chunked", value: "a".repeat(43) + "=" } as const;

async function remoteBuilder(keys: string[]): Promise<{ builder: PackageBuilder; tmp: string }> {
  const tmp = mkdtempSync(join(dir, "b-"));
  const builder = new PackageBuilder({ tmpDir: tmp });
  for (const key of keys) await builder.setEntry(key, { physicalKey: `s3://bucket/${key}?versionId=v1`, size: key.length, hash });
  return { builder, tmp };
}

async function collect(entries: AsyncIterable<PendingEntry>): Promise<PendingEntry[]> {
  const out: PendingEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

/** Replay files anywhere under the builder's temp folder. */
function replayFiles(tmp: string): string[] {
  return readdirSync(tmp, { recursive: true, encoding: "utf8" }).filter((name) => /entries-\d+\.run$/.test(name));
}

describe("PackageBuilder: one sort per revision", () => {
  it("replays the first pass's entries, values intact, for every later pass of the same revision", async () => {
    const { builder, tmp } = await remoteBuilder(["b/2", "a", "b/1", "a/x"]);
    await builder.setEntryMeta("a", { n: 1, f: 1.5, big: 2n ** 70n, nested: { z: 1, a: [null, true] } });
    const first = await collect(builder.pendingEntries());
    expect(sorts.count).toBe(1);
    expect(replayFiles(tmp)).toHaveLength(1);
    const second = await collect(builder.pendingEntries());
    expect(sorts.count).toBe(1);
    expect(second).toEqual(first);
    expect(second.map((e) => e.logicalKey)).toEqual(["a", "a/x", "b/1", "b/2"]);
    expect([...(second[0]?.meta.get("user_meta") as Map<string, unknown>).keys()]).toEqual(["n", "f", "big", "nested"]);
    await builder.dispose();
    expect(replayFiles(tmp)).toEqual([]);
  });

  it("replays a log of many groups' worth, in order, with nothing lost at the group boundaries", async () => {
    const keys = Array.from({ length: 700 }, (_, i) => `k/${String((i * 13) % 700).padStart(4, "0")}`);
    const { builder } = await remoteBuilder(keys);
    const first = await collect(builder.pendingEntries());
    const second = await collect(builder.pendingEntries());
    expect(sorts.count).toBe(1);
    expect(second.map((e) => e.logicalKey)).toEqual([...keys].sort());
    expect(second).toEqual(first);
    await builder.dispose();
  });

  it("sorts once for a whole pushManifest (local-files guard and build)", async () => {
    const { builder, tmp } = await remoteBuilder(["c", "a", "b"]);
    const registry = new Registry(new LocalStorage(join(tmp, "registry")));
    const pushed = await builder.pushManifest({ registry, name: "test/replay", now: () => 1_700_000_000 });
    expect(pushed.entries).toBe(3);
    expect(sorts.count).toBe(1);
    await builder.dispose();
  });

  it("a change after a pass drops the replay: the next pass sorts again and sees the change", async () => {
    const { builder, tmp } = await remoteBuilder(["b", "a"]);
    await collect(builder.pendingEntries());
    await builder.setEntry("c", { physicalKey: "s3://bucket/c", size: 3, hash });
    await builder.delete("a");
    const after = await collect(builder.pendingEntries());
    expect(after.map((e) => e.logicalKey)).toEqual(["b", "c"]);
    expect(sorts.count).toBe(2);
    await collect(builder.pendingEntries());
    expect(sorts.count).toBe(2);
    expect(replayFiles(tmp)).toHaveLength(1); // the first revision's file is gone
    await builder.dispose();
  });

  it("keeps nothing from a pass stopped early", async () => {
    const { builder, tmp } = await remoteBuilder(["b", "a", "c"]);
    for await (const e of builder.pendingEntries()) {
      expect(e.logicalKey).toBe("a");
      break;
    }
    expect(replayFiles(tmp)).toEqual([]);
    expect((await collect(builder.pendingEntries())).map((e) => e.logicalKey)).toEqual(["a", "b", "c"]);
    expect(sorts.count).toBe(2);
    await builder.dispose();
  });

  it("keeps nothing from a pass during which the builder changed", async () => {
    const { builder, tmp } = await remoteBuilder(["b", "a"]);
    for await (const e of builder.pendingEntries()) {
      if (e.logicalKey === "a") await builder.setEntry("z", { physicalKey: "s3://bucket/z", size: 1, hash });
    }
    expect(replayFiles(tmp)).toEqual([]);
    expect((await collect(builder.pendingEntries())).map((e) => e.logicalKey)).toEqual(["a", "b", "z"]);
    await builder.dispose();
  });
});

describe("PackageBuilder: after a data push", () => {
  /** A builder of two local files and two remote entries, and a local registry beside them. */
  async function mixed(): Promise<{ builder: PackageBuilder; tmp: string; registry: Registry }> {
    const { builder, tmp } = await remoteBuilder(["r/2", "r/1"]);
    mkdirSync(join(tmp, "files", "b"), { recursive: true });
    writeFileSync(join(tmp, "files", "a.txt"), "a");
    writeFileSync(join(tmp, "files", "b", "c.txt"), "cc");
    await builder.set("b/c.txt", join(tmp, "files", "b", "c.txt"));
    await builder.set("a.txt", join(tmp, "files", "a.txt"));
    return { builder, tmp, registry: new Registry(new LocalStorage(join(tmp, "registry"))) };
  }

  const inRegistry = (tmp: string, e: PendingEntry): boolean => e.physicalKey.startsWith(pathToFileURL(join(tmp, "registry")).href);

  it("merges its updates into the entries as they stood: the manifest push sorts only them, and skips the local-files pass", async () => {
    const { builder, tmp, registry } = await mixed();
    await builder.pushData({ registry, name: "test/rebase" });
    expect(sorts.count).toBe(1); // the data push's own pass
    const guard = vi.spyOn(builder, "assertNoLocalFiles");
    const pushed = await builder.pushManifest({ registry, name: "test/rebase", now: () => 1_700_000_000 });
    expect(guard).not.toHaveBeenCalled();
    expect(sorts).toEqual({ count: 2, withBase: 1 }); // the build's pass: the updates, merged into the base
    expect(pushed.entries).toBe(4);
    const entries = await collect(builder.pendingEntries());
    expect(entries.map((e) => e.logicalKey)).toEqual(["a.txt", "b/c.txt", "r/1", "r/2"]);
    expect(entries.filter((e) => inRegistry(tmp, e)).map((e) => e.logicalKey)).toEqual(["a.txt", "b/c.txt"]);
    expect(entries.every((e) => e.hash !== undefined)).toBe(true);
    await builder.dispose();
    expect(readdirSync(tmp).filter((n) => n.startsWith("quiltkit-"))).toEqual([]);
  });

  it("still refuses a local file added after it", async () => {
    const { builder, tmp, registry } = await mixed();
    await builder.pushData({ registry, name: "test/rebase" });
    writeFileSync(join(tmp, "files", "late.txt"), "late");
    await builder.set("late.txt", join(tmp, "files", "late.txt"));
    await expect(builder.pushManifest({ registry, name: "test/rebase" })).rejects.toMatchObject({ code: "LOCAL_FILES_IN_MANIFEST" });
    await builder.dispose();
  });

  it("later changes, a folder delete among them, and a second data push apply over the rebased entries", async () => {
    const { builder, tmp, registry } = await mixed();
    await builder.pushData({ registry, name: "test/rebase" });
    await builder.delete("r");
    await builder.setEntryMeta("a.txt", { label: "x" });
    writeFileSync(join(tmp, "files", "d.txt"), "ddd");
    await builder.set("d.txt", join(tmp, "files", "d.txt"));
    await builder.pushData({ registry, name: "test/rebase" });
    const entries = await collect(builder.pendingEntries());
    expect(entries.map((e) => e.logicalKey)).toEqual(["a.txt", "b/c.txt", "d.txt"]);
    expect(entries.every((e) => inRegistry(tmp, e))).toBe(true);
    expect(entries[0]?.meta.get("user_meta")).toEqual(new Map([["label", "x"]]));
    // A delete after the rebase wipes what the base holds under it.
    await builder.delete("b");
    expect((await collect(builder.pendingEntries())).map((e) => e.logicalKey)).toEqual(["a.txt", "d.txt"]);
    await builder.dispose();
  });
});
