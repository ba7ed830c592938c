import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parsePyJson, type PyObject } from "../json/index.js";
import { formatPhysicalKey, parsePhysicalKey } from "../storage/physical-key.js";
import { CANONICAL_S3 } from "./reader.js";
import {
  bytesSource,
  checkRecordSize,
  encodeManifest,
  rewriteManifest,
  topHashOf,
  readCanonical,
  withCanonicalManifest,
  type ManifestEntry,
} from "./index.js";

const HEADER = '{"version": "v0", "message": null}';
const line = (key: string, extra = '"meta": {}'): string =>
  `{"logical_key": ${JSON.stringify(key)}, "physical_keys": ["s3://b/${encodeURIComponent(key).replace(/%2F/g, "/")}"], "size": 1, ` +
  `"hash": {"type": "SHA256", "value": "00"}, ${extra}}`;
const manifest = (...lines: string[]): string => lines.map((l) => l + "\n").join("");

async function redump(text: string): Promise<string> {
  let out: Buffer[] = [];
  await rewriteManifest(bytesSource(text), () => {
    out = [];
    return Promise.resolve((chunk: Buffer) => {
      out.push(chunk);
      return Promise.resolve();
    });
  });
  return Buffer.concat(out).toString("utf8");
}

async function keysOf(text: string): Promise<string[]> {
  return withCanonicalManifest(bytesSource(text), async ({ entries }) => {
    const keys: string[] = [];
    for await (const entry of entries) keys.push(entry.logicalKey);
    return keys;
  });
}

describe("reading manifests", () => {
  it("gives the empty package quilt3's top hash", async () => {
    expect(await topHashOf(bytesSource(HEADER + "\n"))).toBe(
      "2a5a67156ca9238c14d12042db51c5b52260fdd5511b61ea89b58929d6e1769b",
    );
  });

  it("accepts a last line without a newline, and CRLF line ends", async () => {
    expect(await topHashOf(bytesSource(HEADER))).toBe(await topHashOf(bytesSource(HEADER + "\r\n")));
  });

  it("drops the obsolete top_hash header key", async () => {
    const withKey = '{"version": "v0", "top_hash": {"alg": "v0", "value": "x"}, "message": null}\n';
    expect(await redump(withKey)).toBe(HEADER + "\n");
  });

  it("reads meta null as {}", async () => {
    expect(await redump(manifest(HEADER, line("a", '"meta": null')))).toBe(manifest(HEADER, line("a")));
  });

  it.each([
    ["a blank line", manifest(HEADER, "", line("a")), "MANIFEST_BLANK_LINE"],
    ["an empty file", "", "MANIFEST_EMPTY"],
    ["a null header", "null\n", "MANIFEST_MALFORMED"],
    ["bad JSON", manifest(HEADER, "{nope"), "MANIFEST_BAD_JSON"],
    ["a missing meta", manifest(HEADER, line("a", '"x": 1')), "MANIFEST_MISSING_FIELD"],
    ["a duplicate key", manifest(HEADER, line("a"), line("a")), "MANIFEST_DUPLICATE_KEY"],
    ["a far duplicate key", manifest(HEADER, line("b"), line("a"), line("b")), "MANIFEST_DUPLICATE_KEY"],
    ["a traversal key", manifest(HEADER, line("../x")), "MANIFEST_UNSAFE_KEY"],
    ["an absolute key", manifest(HEADER, line("/etc/passwd")), "MANIFEST_UNSAFE_KEY"],
    ["a file used as a folder", manifest(HEADER, line("a"), line("a/b")), "MANIFEST_KEY_CONFLICT"],
    ["a negative size", manifest(HEADER, line("a").replace('"size": 1', '"size": -1')), "MANIFEST_MALFORMED"],
    ["a byte order mark", "\ufeff" + HEADER, "MANIFEST_BOM"],
  ])("refuses %s", async (_what, text, code) => {
    await expect(topHashOf(bytesSource(text))).rejects.toMatchObject({ code });
  });

  it("refuses invalid UTF-8", async () => {
    const bytes = Buffer.concat([Buffer.from(HEADER.slice(0, -1) + ', "x": "'), Buffer.from([0xff]), Buffer.from('"}\n')]);
    await expect(topHashOf(bytesSource(bytes))).rejects.toMatchObject({ code: "MANIFEST_BAD_UTF8" });
  });

  it("re-normalizes physical keys as quilt3 does", async () => {
    const text = manifest(HEADER, line("a").replace(/"physical_keys": \[[^\]]*\]/, '"physical_keys": ["s3://bkt/a b/first+x.txt"]'));
    expect(await redump(text)).toContain('"physical_keys": ["s3://bkt/a%20b/first%2Bx.txt"]');
  });

  it("keeps a loaded hash dict's key order and unknown header keys", async () => {
    const text = manifest('{"version": "v0", "custom": [1.0, 1e100], "message": "m"}', line("a").replace(
      '{"type": "SHA256", "value": "00"}',
      '{"value": "00", "type": "SHA256"}',
    ));
    expect(await redump(text)).toBe(text.replace("1e100", "1e+100"));
  });

  it("sorts a manifest that is out of tree-walk order, and hashes it as quilt3 would", async () => {
    const sorted = manifest(HEADER, line("a/b"), line("a b.txt"), line("a-c"), line("😀.txt"));
    const shuffled = manifest(HEADER, line("😀.txt"), line("a-c"), line("a/b"), line("a b.txt"));
    expect(await keysOf(shuffled)).toEqual(["a/b", "a b.txt", "a-c", "😀.txt"]);
    expect(await topHashOf(bytesSource(shuffled))).toBe(await topHashOf(bytesSource(sorted)));
    expect(await redump(shuffled)).toBe(sorted);
  });

  it("writes directory metadata first, sorted, truthy only, last line wins", async () => {
    const text = manifest(
      HEADER,
      line("x/1"),
      '{"logical_key": "z/", "meta": {"k": 1}}',
      '{"logical_key": "a/", "meta": {"k": 1}}',
      '{"logical_key": "a/", "meta": {"k": 2}}',
      '{"logical_key": "e/", "meta": {}}',
    );
    expect(await redump(text)).toBe(
      manifest(HEADER, '{"logical_key": "a/", "meta": {"k": 2}}', '{"logical_key": "z/", "meta": {"k": 1}}', line("x/1")),
    );
  });

  it("gives any permutation of entries the same top hash", async () => {
    const keys = ["a/b", "a b.txt", "a-c", "a.txt", "ab/c.txt", "x/ÿ/1", "x/！/1", "x/😀/1", "~.txt", "é.txt"];
    const expected = await topHashOf(bytesSource(manifest(HEADER, ...keys.map((k) => line(k)))));
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(keys, { minLength: keys.length }), async (order) => {
        expect(await topHashOf(bytesSource(manifest(HEADER, ...order.map((k) => line(k)))))).toBe(expected);
      }),
      { numRuns: 30 },
    );
  });
});

describe("writing manifests", () => {
  const entry = (meta: string): ManifestEntry => ({
    logicalKey: "foo",
    physicalKey: "s3://b/foo",
    size: 1,
    hash: { type: "SHA256", value: "00" },
    meta: parsePyJson(meta) as PyObject,
  });

  it("accepts records of exactly the limit and refuses one byte more, with quilt3's message", () => {
    checkRecordSize("x".repeat(1_000_000), "k", 1_000_000);
    checkRecordSize("é".repeat(500_000), "k", 1_000_000);
    expect(() => checkRecordSize("é".repeat(500_000) + "x", "k", 1_000_000)).toThrow(
      "Size of manifest record for entry with logical key 'k' is 1000001 bytes, but must be less than 1000000 bytes.",
    );
    expect(() => checkRecordSize("x".repeat(11), undefined, 10)).toThrow("Size of manifest record for package metadata");
  });

  it("refuses NaN on write but hashes it", async () => {
    const chunks = encodeManifest(parsePyJson(HEADER) as PyObject, [], [entry('{"user_meta": {"x": NaN}}')]);
    await expect(async () => {
      for await (const _ of chunks) void _;
    }).rejects.toMatchObject({ code: "JSON_NAN_FORBIDDEN" });
    expect(await topHashOf(bytesSource(manifest(HEADER, line("a", '"meta": {"x": NaN}'))))).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses entries out of order", async () => {
    const a = { ...entry("{}"), logicalKey: "b" };
    const b = { ...entry("{}"), logicalKey: "a" };
    const chunks = encodeManifest(parsePyJson(HEADER) as PyObject, [], [a, b]);
    await expect(async () => {
      for await (const _ of chunks) void _;
    }).rejects.toMatchObject({ code: "MANIFEST_UNSORTED" });
  });
});

describe("the canonical physical key fast path", () => {
  it("only skips keys that parsing and printing would leave unchanged", () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_.~%+ /-]{1,8}$/);
    const url = fc
      .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,6}$/), fc.array(segment, { minLength: 1, maxLength: 4 }), fc.option(segment))
      .map(([bucket, parts, vid]) => `s3://${bucket}/${parts.join("/")}${vid === null ? "" : `?versionId=${vid}`}`);
    fc.assert(
      fc.property(url, (u) => {
        if (CANONICAL_S3.test(u)) expect(formatPhysicalKey(parsePhysicalKey(u))).toBe(u);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("reading only the entries under a prefix", () => {
  const keys = ["a/b", "a b.txt", "a-c", "a.txt", "ab/c.txt", "data/x", "data/y/z", "data2/q", "données/é", "x/😀/1"];
  const text = manifest(HEADER, '{"logical_key": "data/", "meta": {"k": 1}}', ...keys.map((k) => line(k)));

  it("gives exactly the entries a full read would keep, for every prefix", async () => {
    for (const prefix of ["a", "a/", "a ", "data/", "data", "données/", "x/😀/", "zz", "data/y/"]) {
      const got: string[] = [];
      const manifestRead = await readCanonical(bytesSource(text), { entryPrefix: prefix });
      for await (const entry of manifestRead.entries) if (entry.logicalKey.startsWith(prefix)) got.push(entry.logicalKey);
      expect(got, prefix).toEqual(keys.filter((k) => k.startsWith(prefix)));
    }
  });
});
