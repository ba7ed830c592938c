import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { Readable } from "node:stream";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dumpsManifest, type PyObject, type PyValue } from "../json/index.js";
import { bytesSource, parseRecordLine, verifyManifest, withCanonicalManifest, type ManifestEntry, type ManifestSource } from "./index.js";
import { entryHashPart, entryLine, TopHasher } from "./encode.js";
import { hashLines } from "./hash-lines.js";
import { parallelTopHash } from "./parallel-top-hash.js";
import { quiltEntryLine, readManifestRecords } from "./reader.js";

const HEADER = '{"version": "v0", "message": "m", "user_meta": {"a": [1, 2.5, null]}}';

/** The sequential top hash: what parallelTopHash must agree with. */
async function sequential(source: ManifestSource): Promise<string> {
  return withCanonicalManifest(source, async ({ header, entries }) => {
    const hasher = new TopHasher(header);
    for await (const entry of entries) hasher.add(entry);
    return hasher.digest();
  });
}

function entry(i: number, meta: PyObject = new Map()): ManifestEntry {
  const key = `d${String(Math.floor(i / 10)).padStart(3, "0")}/f${String(i).padStart(5, "0")}.bin`;
  return { logicalKey: key, physicalKey: `s3://b/${key}?versionId=v${i}`, size: i * 7, hash: { type: "sha2-256-chunked", value: `h${i}=` }, meta };
}

function manifestOf(entries: ManifestEntry[], extra: string[] = []): string {
  return [HEADER, ...extra, ...entries.map(entryLine)].join("\n") + "\n";
}

/** Small chunks, so batches, header and line ends fall at every kind of boundary. */
function chunked(text: string, size: number): ManifestSource {
  const bytes = Buffer.from(text, "utf8");
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size));
  return () => Readable.from(pieces, { objectMode: true });
}

describe("parallelTopHash", () => {
  const many = Array.from({ length: 3000 }, (_, i) => entry(i, new Map<string, PyValue>([["user_meta", new Map<string, PyValue>([["score", i / 3], ["label", BigInt(i % 5)]])]])));
  const text = manifestOf(many, ['{"logical_key": "d000/", "meta": {"x": 1}}']);

  it("gives the sequential top hash, count and total size, on the main thread and on workers", async () => {
    const expected = await sequential(bytesSource(text));
    const inline = await parallelTopHash(chunked(text, 1000), { workers: 0 });
    expect(inline).toMatchObject({ topHash: expected, entries: 3000, bytes: many.reduce((sum, e) => sum + e.size, 0) });
    expect(inline?.header.get("message")).toBe("m");
    // Every batch through two workers (the dev loader makes their start slow, so one case only).
    const pooled = await parallelTopHash(chunked(text, 64 * 1024), { workers: 2, inlineBytes: 0 });
    expect(pooled).toEqual(inline);
  }, 60_000);

  it("takes batches in turn on a worker and on this thread, in order", async () => {
    // Keys sort up to 10,000 entries; a long label makes the manifest several batches.
    const label = "x".repeat(300);
    const big = Array.from({ length: 9_999 }, (_, i) => entry(i, new Map<string, PyValue>([["user_meta", new Map<string, PyValue>([["i", BigInt(i)], ["label", label]])]])));
    const bigText = manifestOf(big);
    expect(Buffer.byteLength(bigText)).toBeGreaterThan(3 << 20); // four batches at least
    const mixed = await parallelTopHash(chunked(bigText, 256 * 1024), { workers: 1, inlineBytes: 0 });
    expect(mixed).toMatchObject({ topHash: await sequential(bytesSource(bigText)), entries: 9_999 });
  }, 60_000);

  it("hands unsorted, duplicate, malformed and empty manifests to the sequential path", async () => {
    const swapped = [...many.slice(0, 10)];
    [swapped[3], swapped[4]] = [swapped[4] as ManifestEntry, swapped[3] as ManifestEntry];
    expect(await parallelTopHash(bytesSource(manifestOf(swapped)), { workers: 0 })).toBeUndefined();
    expect(await parallelTopHash(bytesSource(manifestOf([many[1] as ManifestEntry, many[1] as ManifestEntry])), { workers: 0 })).toBeUndefined();
    expect(await parallelTopHash(bytesSource(manifestOf(many.slice(0, 3)) + "{not json}\n"), { workers: 0 })).toBeUndefined();
    expect(await parallelTopHash(bytesSource(manifestOf(many.slice(0, 3)) + "\n\n"), { workers: 0 })).toBeUndefined();
    expect(await parallelTopHash(bytesSource(""), { workers: 0 })).toBeUndefined();
    // ...and verifyManifest still answers, through that path, with a sorted copy.
    const dir = await mkdtemp(join(tmpdir(), "quiltkit-pth-"));
    try {
      const expected = await sequential(bytesSource(manifestOf(swapped)));
      const checked = await verifyManifest(bytesSource(manifestOf(swapped)), expected, join(dir, "sorted.jsonl"));
      expect(checked).toMatchObject({ topHash: expected, entries: 10, copyPath: join(dir, "sorted.jsonl") });
      const inOrder = await verifyManifest(bytesSource(text), await sequential(bytesSource(text)), join(dir, "unused.jsonl"));
      expect(inOrder.copyPath).toBeUndefined();
      expect(inOrder.entries).toBe(3000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("agrees with the sequential path on every quilt3 vector", async () => {
    const dir = join(import.meta.dirname, "../../../shared/vectors/quilt3/manifests");
    for (const name of (await readdir(dir)).filter((n) => n.endsWith(".jsonl"))) {
      const bytes = await readFile(join(dir, name));
      const fast = await parallelTopHash(bytesSource(bytes), { workers: 0 });
      if (fast !== undefined) expect(fast.topHash, name).toBe(await sequential(bytesSource(bytes)));
    }
  });
});

describe("the quilt3-layout line reader", () => {
  // A space after the opening brace is still valid JSON but not quilt3's layout, so it takes the general parser.
  const general = (line: string): string => line.replace(/^\{/, "{ ");
  // Mostly printable ASCII, so that many lines are plain and take the fastest path.
  const text = fc.string({ unit: fc.oneof({ weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) }, { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) }), minLength: 1, maxLength: 8 });
  const key = fc.array(text.map((s) => s.replace(/[/\\]/g, "_").replace(/^\.+$/, "x")), { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
  const json: fc.Arbitrary<PyValue> = fc.letrec<{ value: PyValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      text,
      fc.array(tie("value"), { maxLength: 3 }),
      fc.array(fc.tuple(text, tie("value")), { maxLength: 4 }).map((pairs) => new Map(pairs)),
    ),
  })).value;

  it("reads every line exactly as the general parser does", () => {
    fc.assert(
      fc.property(key, fc.nat({ max: 2 ** 40 }), json, (logicalKey, size, meta) => {
        const line = entryLine({
          logicalKey,
          physicalKey: `s3://bucket/k?versionId=v`,
          size,
          hash: { type: "SHA256", value: "ab" },
          meta: meta instanceof Map ? meta : new Map([["user_meta", meta]]),
        });
        expect(parseRecordLine(line, 7)).toEqual(parseRecordLine(general(line), 7));
        // The fast reader did take it, whenever nothing in it needs unescaping.
        // eslint-disable-next-line no-control-regex -- control characters are what it excludes
        if (!/[\\\u0000-\u001f]/.test(line)) expect(quiltEntryLine(line, 7, true)).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  it("hashes every line as the general path does, from the text when it is plain", () => {
    fc.assert(
      fc.property(key, fc.nat({ max: 2 ** 40 }), fc.array(fc.tuple(text, json), { maxLength: 5 }), fc.boolean(), (logicalKey, size, pairs, spaced) => {
        const written = entryLine({ logicalKey, physicalKey: `s3://bucket/k?versionId=v`, size, hash: { type: "SHA256", value: "ab" }, meta: new Map(pairs) });
        // Extra spaces inside meta: still quilt3's layout around it, but not its separators.
        const at = written.indexOf('"meta": ') + 8;
        const line = spaced ? written.slice(0, at) + written.slice(at).replace(/, /g, " ,  ").replace(/": /g, '" :  ') : written;
        const record = parseRecordLine(line, 1);
        const expected = record.kind === "entry" ? entryHashPart(record.entry) : "";
        expect(hashLines(Buffer.from(line + "\n", "utf8"), true).preimage.toString("latin1")).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it("leaves lines that only look like quilt3's to the general parser, and its errors", async () => {
    const base = entryLine(entry(1));
    const variants = [
      base.replace('"meta": {}', '"meta": {}, "meta": {"x": 1}'), // a duplicate key: the last one wins
      base.replace('"meta": {}', '"meta": null'),
      base.replace('"size": 7', '"size": 07'),
      base.replace('"size": 7', '"size": -0'),
      base.replace('"size": 7', '"size": 99999999999999999'),
      base.replace('"meta": {}', '"meta": []'),
      base.replace('"meta": {}', '"meta": {"a": "\\u00e9"}'),
      base.replace("d000/f00001.bin", "../escape"),
      base + " ",
    ];
    for (const line of variants) {
      const fast = await outcome(() => parseRecordLine(line, 3));
      const slow = await outcome(() => parseRecordLine(general(line), 3));
      expect(fast, line).toEqual(slow);
    }
    const records = [];
    for await (const r of readManifestRecords(bytesSource([HEADER, variants[0]].join("\n"))())) records.push(r);
    expect(records[1]).toMatchObject({ kind: "entry", entry: { meta: new Map([["x", 1n]]) } });
    expect(dumpsManifest(new Map())).toBe("{}");
  });
});

async function outcome(read: () => unknown): Promise<unknown> {
  try {
    return { value: await read() };
  } catch (error) {
    // Codes only: a JSON error's column moves with the space the general variant adds.
    return { error: (error as { code?: string }).code };
  }
}
