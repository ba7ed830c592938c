import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { collect, rejectionOf } from "../../test/helpers/expect.js";
import { LocalStorage } from "../storage/local.js";
import type { ReadOptions } from "../storage/types.js";
import { compareTimestamps, deleteRevision, packageHistory, readManifestHeader, resolveRevisionRef } from "./history.js";
import { Registry } from "./registry.js";

const base = mkdtempSync(join(tmpdir(), "quiltkit-history-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** LocalStorage that records how objects are read. */
class RecordingStorage extends LocalStorage {
  readonly reads: { key: string; how: "range" | "stream"; end?: number }[] = [];
  override readAll(key: string, options: ReadOptions = {}): Promise<Buffer> {
    this.reads.push({ key, how: "range", ...(options.range ? { end: options.range.end } : {}) });
    return super.readAll(key, options);
  }
  override read(key: string, options: ReadOptions = {}): AsyncIterable<Uint8Array> {
    if (options.range === undefined) this.reads.push({ key, how: "stream" });
    return super.read(key, options);
  }
}

const hash = (seed: string): string => createHash("sha256").update(seed).digest("hex");
let n = 0;
let storage: RecordingStorage;
let registry: Registry;
beforeEach(() => {
  storage = new RecordingStorage(join(base, `r${n++}`));
  registry = new Registry(storage);
});

/** A manifest whose first line is `header` and whose rest is junk no parser would accept. */
async function manifest(seed: string, header: string, rest = "not json at all\n"): Promise<string> {
  const topHash = hash(seed);
  await storage.write(registry.manifestKey(topHash), Buffer.from(`${header}\n${rest}`));
  return topHash;
}

async function point(name: string, pointer: string, topHash: string): Promise<void> {
  await registry.writePointer(name, pointer, topHash);
}

describe("packageHistory", () => {
  it("lists timestamps newest first (numerically), with tags, latest first, and messages", async () => {
    const a = await manifest("a", '{"version": "v0", "message": "first"}');
    const b = await manifest("b", '{"version": "v0", "message": "second\\nline"}');
    const c = await manifest("c", '{"version": "v0", "message": null}');
    await point("u/p", "999999999", a); // 9 digits: older than any 10-digit timestamp
    await point("u/p", "1700000100", b);
    await point("u/p", "1700000200", c);
    await point("u/p", "latest", b);
    await point("u/p", "v2", b);
    await point("u/p", "a-tag", b);
    const history = await collect(packageHistory(registry, "u/p"));
    expect(history.map((r) => [r.timestamp, r.topHash, r.tags, r.message])).toEqual([
      ["1700000200", c, [], null],
      ["1700000100", b, ["latest", "a-tag", "v2"], "second\nline"],
      ["999999999", a, [], "first"],
    ]);
    expect(history[0]?.time?.toISOString()).toBe("2023-11-14T22:16:40.000Z");
  });

  it("reads only the first 64 KiB of each manifest, once per top hash", async () => {
    const a = await manifest("a", '{"message": "m"}');
    await point("u/p", "1700000100", a);
    await point("u/p", "1700000200", a);
    storage.reads.length = 0;
    const history = await collect(packageHistory(registry, "u/p"));
    expect(history.map((r) => r.message)).toEqual(["m", "m"]);
    const manifestReads = storage.reads.filter((r) => r.key.startsWith(".quilt/packages/"));
    expect(manifestReads).toEqual([{ key: registry.manifestKey(a), how: "range", end: 64 * 1024 }]);
  });

  it("reads on to the newline of a header longer than 64 KiB, and stops there", async () => {
    const message = "x".repeat(100_000);
    const a = await manifest("a", JSON.stringify({ message }), "junk\n".repeat(10_000));
    expect((await readManifestHeader(registry, a))?.get("message") === message).toBe(true);
    expect(storage.reads.filter((r) => r.how === "stream")).toHaveLength(1);
    expect((await rejectionOf(() => readManifestHeader(registry, a, { maxRecordSize: 70_000 }))).code).toBe("MANIFEST_HEADER_INVALID");
  });

  it("shows a missing manifest instead of failing, and refuses a header that is not a JSON object", async () => {
    await point("u/p", "1700000100", hash("gone"));
    const [row] = await collect(packageHistory(registry, "u/p"));
    expect(row).toMatchObject({ topHash: hash("gone"), message: null, manifestFound: false });
    const bad = await manifest("bad", "[1, 2]");
    await point("u/q", "1700000100", bad);
    expect((await rejectionOf(() => collect(packageHistory(registry, "u/q")))).code).toBe("MANIFEST_HEADER_INVALID");
  });

  it("lists a top hash that only tags point at last, without a time", async () => {
    const a = await manifest("a", '{"message": "dated"}');
    const b = await manifest("b", '{"message": "tag only"}');
    await point("u/p", "1700000100", a);
    await point("u/p", "keep", b);
    const history = await collect(packageHistory(registry, "u/p"));
    expect(history.map((r) => [r.timestamp, r.time, r.tags, r.message])).toEqual([
      ["1700000100", expect.any(Date), [], "dated"],
      [null, null, ["keep"], "tag only"],
    ]);
  });

  it("a package with no pointer is PACKAGE_NOT_FOUND", async () => {
    expect((await rejectionOf(() => collect(packageHistory(registry, "u/none")))).code).toBe("PACKAGE_NOT_FOUND");
  });
});

describe("resolveRevisionRef", () => {
  it("takes a tag, a timestamp, a hash prefix, :TAG and @HASH; a hex-looking tag wins over a prefix", async () => {
    const a = await manifest("a", "{}");
    const b = await manifest("b", "{}");
    await point("u/p", "1700000100", a);
    await point("u/p", "v1", a);
    await point("u/p", b.slice(0, 8), a); // a tag spelled like b's prefix
    expect(await resolveRevisionRef(registry, "u/p", "v1")).toBe(a);
    expect(await resolveRevisionRef(registry, "u/p", ":v1")).toBe(a);
    expect(await resolveRevisionRef(registry, "u/p", "1700000100")).toBe(a);
    expect(await resolveRevisionRef(registry, "u/p", b.slice(0, 8))).toBe(a);
    expect(await resolveRevisionRef(registry, "u/p", `@${b.slice(0, 8)}`)).toBe(b);
    expect(await resolveRevisionRef(registry, "u/p", b.slice(0, 7))).toBe(b);
    expect(await resolveRevisionRef(registry, "u/p", b)).toBe(b);
    expect((await rejectionOf(() => resolveRevisionRef(registry, "u/p", "nope"))).code).toBe("REVISION_NOT_FOUND");
  });
});

describe("deleteRevision", () => {
  it("deletes every pointer of the hash and moves latest to the newest remaining timestamp, not to a tag", async () => {
    const [a, b, c] = [await manifest("a", "{}"), await manifest("b", "{}"), await manifest("c", "{}")];
    await point("u/p", "1700000100", a);
    await point("u/p", "v0", a); // quilt3's string max would pick this tag
    await point("u/p", "1700000200", b);
    await point("u/p", "1700000300", c);
    await point("u/p", "1700000400", c);
    await point("u/p", "latest", c);
    await point("u/p", "stable", c);
    const result = await deleteRevision(registry, "u/p", c);
    expect(result.deleted.map((p) => p.pointer).sort()).toEqual(["1700000300", "1700000400", "latest", "stable"]);
    expect(await registry.currentLatest("u/p")).toBe(b);
    expect(await registry.hasManifest(c)).toBe(true); // quilt3 keeps manifests
  });

  it("leaves latest alone when it points elsewhere, and removes it when no revision is left", async () => {
    const [a, b] = [await manifest("a", "{}"), await manifest("b", "{}")];
    await point("u/p", "1700000100", a);
    await point("u/p", "1700000200", b);
    await point("u/p", "latest", a);
    await deleteRevision(registry, "u/p", b);
    expect(await registry.currentLatest("u/p")).toBe(a);
    await point("u/p", "tag", a);
    await deleteRevision(registry, "u/p", a);
    expect(await registry.currentLatest("u/p")).toBeUndefined();
    expect(await registry.packageExists("u/p")).toBe(false);
  });
});

it("compareTimestamps orders digit strings by value", () => {
  expect(["10", "9", "0100", "1700000000", "999999999"].sort(compareTimestamps)).toEqual(["9", "10", "0100", "999999999", "1700000000"]);
});
