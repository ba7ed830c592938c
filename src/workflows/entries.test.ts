import { describe, expect, it } from "vitest";
import type { PyObject, PyValue } from "../json/index.js";
import { compileSchema } from "./ajv.js";
import { checkEntries, entryValue, streamPlan, type EntryToValidate } from "./entries.js";
import { ViolationList } from "./report.js";
import type { LoadedSchema } from "./schemas.js";

function entry(logicalKey: string, size: number, userMeta?: PyValue): EntryToValidate {
  const meta: PyObject = new Map(userMeta === undefined ? [] : [["user_meta", userMeta]]);
  return { logicalKey, size, meta };
}

function stream(entries: EntryToValidate[]): AsyncIterable<EntryToValidate> {
  return (async function* () {
    for (const e of entries) yield await Promise.resolve(e);
  })();
}

function loaded(schema: unknown): LoadedSchema {
  return { schema, validate: compileSchema(schema), storedUrl: "file:///s.json" };
}

async function violations(schema: unknown, entries: EntryToValidate[], maxBufferedEntries?: number): Promise<string[]> {
  const found = new ViolationList();
  await checkEntries(loaded(schema), stream(entries), found, maxBufferedEntries === undefined ? {} : { maxBufferedEntries });
  return found.kept.map((v) => `${v.logicalKey ?? "-"} ${v.instancePath} ${v.schemaPath}`);
}

const ENTRIES = [entry("a.csv", 10, new Map([["kind", "raw"]])), entry("b.bin", 5000), entry("c.txt", 1, null)];

describe("entries_schema", () => {
  it("shows each entry as quilt3 does: logical_key, size, and user_meta ({} when absent, null kept)", () => {
    expect(ENTRIES.map(entryValue)).toEqual([
      { logical_key: "a.csv", size: 10, meta: { kind: "raw" } },
      { logical_key: "b.bin", size: 5000, meta: {} },
      { logical_key: "c.txt", size: 1, meta: null },
    ]);
  });

  it("streams {type: array, items, minItems, maxItems, contains} and buffers anything else", () => {
    expect(streamPlan({ type: "array", items: { type: "object" }, minItems: 1, maxItems: 9, contains: {}, title: "t" })).toBeDefined();
    expect(streamPlan(true)).toBeDefined();
    expect(streamPlan({ type: "array", uniqueItems: true })).toBeUndefined();
    expect(streamPlan({ type: "array", items: [{}, {}] })).toBeUndefined();
  });

  it("reports the same violations streamed as validated whole", async () => {
    const items = {
      type: "object",
      required: ["meta"],
      properties: { size: { maximum: 100 }, meta: { type: "object", required: ["kind"] }, logical_key: { pattern: "\\.(csv|txt)$" } },
    };
    const streamed = { type: "array", items, minItems: 4, contains: { properties: { size: { minimum: 1000000 } } } };
    // The same rules, plus one keyword (a no-op here) that forces the whole-array path.
    const whole = { ...streamed, uniqueItems: false };
    const expected = [
      "b.bin /1/size #/items/properties/size/maximum",
      "b.bin /1/meta #/items/properties/meta/required",
      "b.bin /1/logical_key #/items/properties/logical_key/pattern",
      "c.txt /2/meta #/items/properties/meta/type",
      "-  #/minItems",
      "-  #/contains",
    ];
    expect(await violations(streamed, ENTRIES)).toEqual(expected);
    expect((await violations(whole, ENTRIES)).sort()).toEqual([...expected].sort());
  });

  it("refuses to hold more entries than allowed for a schema that needs them all", async () => {
    await expect(violations({ uniqueItems: true }, ENTRIES, 2)).rejects.toMatchObject({ code: "WORKFLOW_ENTRIES_TOO_MANY" });
    expect(await violations({ type: "array", items: true }, ENTRIES, 2)).toEqual([]);
  });

  it("checks array-level keywords against the count alone", async () => {
    expect(await violations({ type: "object" }, ENTRIES)).toEqual(["-  #/type"]);
    expect(await violations({ maxItems: 2 }, ENTRIES)).toEqual(["-  #/maxItems"]);
    expect(await violations(false, [])).toEqual(["-  #/false schema"]);
  });
});
