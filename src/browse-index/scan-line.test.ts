import { describe, expect, it } from "vitest";
import { dirLine, entryLine } from "../manifest/encode.js";
import { scanLine } from "./scan-line.js";

const line = (key: string, size = 5): Buffer =>
  Buffer.from(entryLine({ logicalKey: key, physicalKey: "s3://b/k", size, hash: { type: "SHA256", value: "ab" }, meta: new Map() }), "utf8");

describe("scanLine", () => {
  it("reads key and size of plain, non-ASCII and escaped keys as the JSON text means them", () => {
    for (const key of ["a/b.txt", "é/ß/😀.bin", 'say "hi"/x', "back\\slash", "tab\there", "ctl\u0001", "\u2028sep"]) {
      const bytes = line(key, 42);
      expect(scanLine(bytes, 0, bytes.length), key).toEqual({ kind: "entry", key, size: 42 });
    }
  });

  it("tells directory lines and refuses what is not a manifest line", () => {
    const dir = Buffer.from(dirLine({ logicalKey: "a/", meta: new Map() }), "utf8");
    expect(scanLine(dir, 0, dir.length)).toEqual({ kind: "dir" });
    const junk = Buffer.from("[1, 2]");
    expect(scanLine(junk, 0, junk.length)).toBeUndefined();
  });
});
