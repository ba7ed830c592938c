import { describe, expect, it } from "vitest";
import { dumpsCompact, parsePyJson } from "../json/index.js";
import { PackageBuilder, py } from "./builder.js";

/** The header's user_meta as Python would print it. */
async function storedMeta(meta: unknown): Promise<string> {
  const builder = new PackageBuilder();
  try {
    await builder.setMeta(meta);
    return dumpsCompact(builder.header.get("user_meta") ?? null);
  } finally {
    await builder.dispose();
  }
}

describe("metadata given to the builder", () => {
  it("keeps parsePyJson values exactly: floats stay floats in lists and nested dicts", async () => {
    expect(await storedMeta(parsePyJson('[1.0, 2, {"a": 1.0}]'))).toBe('[1.0,2,{"a":1.0}]');
    expect(await storedMeta(parsePyJson('{"f": 1.0, "n": [2.0]}'))).toBe('{"f":1.0,"n":[2.0]}');
  });

  it("needs py() for a value with neither dict nor int in it", async () => {
    expect(await storedMeta(py(parsePyJson("1.0")))).toBe("1.0");
    expect(await storedMeta(py(parsePyJson("[1.0, 0.5]")))).toBe("[1.0,0.5]");
  });

  it("reads plain JS with JS meaning: integral numbers are ints", async () => {
    expect(await storedMeta({ a: 1, b: 1.5, c: [2] })).toBe('{"a":1,"b":1.5,"c":[2]}');
    expect(await storedMeta([1, 2])).toBe("[1,2]");
  });
});
