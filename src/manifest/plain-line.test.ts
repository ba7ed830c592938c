import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PyValue } from "../json/index.js";
import { entryHashPart, entryLine } from "./encode.js";
import { hashLines } from "./hash-lines.js";
import { parseRecordLine } from "./reader.js";

/** What the general path makes of a line: its pre-image, "" for a directory, or "refused". */
function general(line: string): string {
  try {
    // A space after the brace is still valid JSON but not quilt3's layout: the general parser reads it.
    const record = parseRecordLine(line.replace(/^\{/, "{ "), 1);
    return record.kind === "entry" ? entryHashPart(record.entry) : "";
  } catch {
    return "refused";
  }
}

function batched(line: string): string {
  try {
    return hashLines(Buffer.from(line + "\n", "utf8"), true).preimage.toString("latin1");
  } catch {
    return "refused";
  }
}

const base = entryLine({
  logicalKey: "dir/file.txt",
  physicalKey: "s3://bucket/dir/file.txt?versionId=v1",
  size: 7,
  hash: { type: "sha2-256-chunked", value: "h=" },
  meta: new Map<string, PyValue>([["b", 1n], ["a", 2.5]]),
});

describe("plain lines hashed from their bytes", () => {
  it("agree with the general path on lines that only look like quilt3's", () => {
    const variants = [
      base,
      base.replace('"size": 7', '"size": 07'),
      base.replace('"size": 7', '"size": -0'),
      base.replace('"size": 7', '"size": 0'),
      base.replace('"size": 7', '"size": 7.0'),
      base.replace('"size": 7', '"size": 999999999999999'),
      base.replace('"size": 7', '"size": 9999999999999999'),
      base.replace('"meta": {"b": 1, "a": 2.5}', '"meta": null'),
      base.replace('"meta": {"b": 1, "a": 2.5}', '"meta": {}'),
      base.replace('"meta": {"b": 1, "a": 2.5}', '"meta": []'),
      base.replace('"meta": {"b": 1, "a": 2.5}', '"meta": {"a": 1, "a": 2}'),
      base.replace('"meta": {"b": 1, "a": 2.5}', '"meta": {"a": 1}, "meta": {"x": 1}'),
      base.replace('"meta": {"b": 1, "a": 2.5}', '"meta": {"a": 1} '),
      base.replace('"meta": {"b": 1, "a": 2.5}', '"meta": {"a": NaN}'),
      base.replace("dir/file.txt", "../escape"),
      base.replace("dir/file.txt", "a//b"),
      base.replace("dir/file.txt", "a/"),
      base.replace('"hash": {"type": "sha2-256-chunked", "value": "h="}', '"hash": {"value": "h=", "type": "sha2-256-chunked"}'),
      base.replace('"physical_keys": ["s3://bucket/dir/file.txt?versionId=v1"], ', ""),
      base.replace('"value": "h="', '"value": "h\u00e9="'), // raw é: Python escapes it
      base.replace('"value": "h="', '"value": "h\\u0041="'), // an escape Python prints as "A"
      base.replace('"type": "sha2-256-chunked"', '"type": "sha2\\/x"'),
      base.replace('"type": "sha2-256-chunked"', '"type": "sha2\u007fx"'), // DEL: escaped by Python
      base.replace("dir/file.txt", "dir/f\u00e9.txt"),
      base.replace("dir/file.txt", "dir/f\\u00e9.txt"),
      base + " ",
      base.slice(0, -1),
    ];
    for (const line of variants) expect(batched(line), line).toBe(general(line));
  });

  it("agree with the general path on physical keys of every shape", () => {
    const piece = fc.string({ unit: fc.constantFrom("a", "B", "0", "/", ".", "-", "_", "~", "?", "=", "%", "+", "&", ":", " "), maxLength: 12 });
    const physical = fc.oneof(
      piece.map((p) => `s3://${p}`),
      fc.tuple(fc.constantFrom("bucket", "b.c-d", "Bucket", "-b", ""), piece, fc.option(piece)).map(
        ([bucket, key, version]) => `s3://${bucket}/${key}${version === null ? "" : `?versionId=${version}`}`,
      ),
      piece.map((p) => `file:///tmp/${p}`),
      fc.tuple(piece, piece).map(([a, b]) => `file://${a}/${b}`),
      fc.constantFrom("file:///a/b.txt", "file:///a/%C3%A9.txt", "file:///a/%c3%a9", "file:///a/./b", "file:///a//b", "file:///", "file:/a", "file://host/a"),
    );
    fc.assert(
      fc.property(physical, (key) => {
        const line = base.replace("s3://bucket/dir/file.txt?versionId=v1", key);
        expect(batched(line)).toBe(general(line));
      }),
      { numRuns: 1000 },
    );
  });
});
