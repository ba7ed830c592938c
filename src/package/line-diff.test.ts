import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { entryOf, random, randomKeys } from "../browse-index/test-fixtures.js";
import type { PyValue } from "../json/index.js";
import { encodeManifest, readManifestRecords, type DirMeta, type ManifestEntry, type ManifestSource } from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import { diffEntries, type ChangedField } from "../transfer/index.js";
import { diffCheckedManifests } from "./line-diff.js";

const HEADER = new Map<string, PyValue>([["version", "v0"], ["message", "m"]]);

async function manifestBytes(entries: ManifestEntry[], dirs: DirMeta[] = []): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of encodeManifest(HEADER, dirs, entries, { chunkBytes: 512 })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The bytes in pieces of `size`, so lines straddle chunks. */
function source(bytes: Buffer, size: number): ManifestSource {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size));
  return () => Readable.from(pieces, { objectMode: true });
}

async function entriesOf(bytes: Buffer): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  for await (const record of readManifestRecords(source(bytes, 4096)())) if (record.kind === "entry") out.push(record.entry);
  return out;
}

/** A new revision of `old`: entries deleted, added, and changed in each way `Package.diff` sees, or does not. */
function revise(old: ManifestEntry[], seed: number): ManifestEntry[] {
  const next = random(seed);
  const out: ManifestEntry[] = [];
  for (const [i, e] of old.entries()) {
    const r = next();
    if (r < 0.05) continue; // deleted
    if (r < 0.1) out.push({ ...e, size: e.size + 1 });
    else if (r < 0.15) out.push({ ...e, hash: { type: e.hash.type, value: e.hash.value.replace(/^./, (c) => (c === "a" ? "b" : "a")) } });
    else if (r < 0.2) out.push({ ...e, meta: new Map<string, PyValue>([["user_meta", new Map<string, PyValue>([["i", BigInt(i + 1)]])]]) });
    // Other bytes, the same entry for quilt3: a new physical key, or 1 for 1.0 in the metadata.
    else if (r < 0.25) out.push({ ...e, physicalKey: `s3://other/${i}?versionId=w${i}` });
    else if (r < 0.3) out.push({ ...e, meta: new Map<string, PyValue>([["x", 1n]]) });
    else out.push(e);
  }
  const added = randomKeys(seed + 1000, 40).filter((k) => !old.some((e) => e.logicalKey === k || k.startsWith(`${e.logicalKey}/`) || e.logicalKey.startsWith(`${k}/`)));
  const merged = [...out, ...added.map((k, i) => entryOf(k, 5000 + i))];
  return merged.sort((a, b) => compareLogicalKeys(a.logicalKey, b.logicalKey));
}

describe("diffCheckedManifests", () => {
  it("gives what diffEntries gives over the parsed entries, differences and their fields alike", async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const keys = randomKeys(seed, 200);
      const old = keys.map((k, i) => (i % 7 === 0 ? { ...entryOf(k, i), meta: new Map<string, PyValue>([["x", 1.0]]) } : entryOf(k, i)));
      const oldBytes = await manifestBytes(old, seed % 2 === 0 ? [{ logicalKey: "a/", meta: new Map([["d", 1n]]) }] : []);
      const newBytes = await manifestBytes(revise(await entriesOf(oldBytes), seed));
      const expectedCalls: [string, string, readonly ChangedField[] | undefined][] = [];
      const expected = await diffEntries(await entriesOf(oldBytes), await entriesOf(newBytes), { onDifference: (k, key, f) => expectedCalls.push([k, key, f]) });
      const calls: typeof expectedCalls = [];
      const got = await diffCheckedManifests(source(oldBytes, 37 + seed), source(newBytes, 101), { onDifference: (k, key, f) => calls.push([k, key, f]) });
      expect(got).toEqual(expected);
      expect(calls).toEqual(expectedCalls);
      expect(expected.added.length + expected.deleted.length + expected.modified.length).toBeGreaterThan(0);
    }
  });

  it("finds nothing between a manifest and itself, and everything against an empty one", async () => {
    const keys = randomKeys(3, 50);
    const bytes = await manifestBytes(keys.map(entryOf));
    const empty = await manifestBytes([]);
    expect(keys.length).toBeGreaterThan(30);
    expect(await diffCheckedManifests(source(bytes, 64), source(bytes, 999))).toEqual({ added: [], modified: [], deleted: [], unchanged: keys.length });
    expect((await diffCheckedManifests(source(empty, 64), source(bytes, 64))).added).toEqual(keys);
    expect((await diffCheckedManifests(source(bytes, 64), source(empty, 64))).deleted).toEqual(keys);
  });
});
