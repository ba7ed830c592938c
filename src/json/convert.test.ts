import { describe, expect, it } from "vitest";
import { UsageError } from "../errors/index.js";
import { dumpsManifest, fromPlain, parsePyJson, pyEquals, toPlain, type PyValue } from "./index.js";

describe("fromPlain", () => {
  it("turns integer-valued safe numbers into ints and keeps the rest floats", () => {
    expect(fromPlain([1, -0, 1.5, 2 ** 53 - 1, 2 ** 53, 5n, NaN])).toEqual([1n, 0n, 1.5, 2n ** 53n - 1n, 2 ** 53, 5n, NaN]);
    expect(dumpsManifest(fromPlain({ n: 3, f: 0.1, big: 1e300 }))).toBe('{"n": 3, "f": 0.1, "big": 1e+300}');
  });
  it("keeps own-key order of plain objects and accepts Maps and null-prototype objects", () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.z = "x";
    const v = fromPlain({ b: [null, true, "s"], a: new Map([["k", bare]]) });
    expect(dumpsManifest(v)).toBe('{"b": [null, true, "s"], "a": {"k": {"z": "x"}}}');
  });
  it("takes a __proto__ own key as an ordinary key", () => {
    const v = fromPlain(JSON.parse('{"__proto__": {"x": 1}}'));
    expect(dumpsManifest(v)).toBe('{"__proto__": {"x": 1}}');
  });
  it.each([
    ["undefined", { a: undefined }],
    ["a function", [() => 1]],
    ["a symbol", Symbol("s")],
    ["a Date", { when: new Date(0) }],
    ["a class instance", new (class Thing {})()],
    ["a hole", [1, , 3]], // eslint-disable-line no-sparse-arrays
    ["a non-string Map key", new Map([[1, 1]])],
  ])("refuses %s with JSON_UNSUPPORTED_VALUE", (_name, value) => {
    expect(() => fromPlain(value)).toThrow(expect.objectContaining({ code: "JSON_UNSUPPORTED_VALUE" }));
    expect(() => fromPlain(value)).toThrow(UsageError);
  });
  it("names where the bad value is", () => {
    expect(() => fromPlain({ a: [0, { b: undefined }] })).toThrow("Object of type undefined is not JSON serializable (at $.a[1].b)");
  });
  it("refuses cycles but accepts shared subtrees", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = [cyclic];
    expect(() => fromPlain(cyclic)).toThrow(expect.objectContaining({ code: "JSON_CIRCULAR" }));
    const shared = { x: 1 };
    expect(dumpsManifest(fromPlain([shared, shared]))).toBe('[{"x": 1}, {"x": 1}]');
  });
});

describe("toPlain", () => {
  it("gives numbers for safe ints and floats, bigints beyond", () => {
    expect(toPlain(parsePyJson("[1, 1.0, -9007199254740991, 9007199254740992, 1e400]"))).toEqual([1, 1, -9007199254740991, 9007199254740992n, Infinity]);
  });
  it("builds ordinary objects with __proto__ as an own property", () => {
    const plain = toPlain(parsePyJson('{"__proto__": {"polluted": true}, "a": {"b": null}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(Object.keys(plain)).toEqual(["__proto__", "a"]);
    expect((plain as { polluted?: unknown }).polluted).toBeUndefined();
    expect(plain.a).toEqual({ b: null });
  });
});

describe("pyEquals (Python ==)", () => {
  const eq = (a: string, b: string): boolean => pyEquals(parsePyJson(a), parsePyJson(b));
  it.each([
    ["1", "1.0", true],
    ["true", "1", true],
    ["true", "1.0", true],
    ["false", "-0.0", true],
    ["0", "-0.0", true],
    ["9007199254740993", "9007199254740992.0", false],
    ["9007199254740992", "9007199254740992.0", true],
    ["1", '"1"', false],
    ["null", "false", false],
    ['{"a": 1, "b": [2]}', '{"b": [2.0], "a": true}', true],
    ['{"a": 1}', '{"a": 1, "b": 2}', false],
    ['{"a": null}', '{"b": null}', false],
    ["[1, 2]", "[2, 1]", false],
    ["[]", "{}", false],
    ["NaN", "NaN", false],
    ["[NaN]", "[NaN]", true],
    ['{"x": NaN}', '{"x": NaN}', true],
    ["Infinity", "1e400", true],
    ["[1e400]", "[Infinity]", true],
    ["1e400", "-1e400", false],
  ])("%s == %s is %s", (a, b, expected) => {
    expect(eq(a, b)).toBe(expected);
    expect(eq(b, a)).toBe(expected);
  });
  it("compares values built in code as well", () => {
    const a: PyValue = new Map<string, PyValue>([["k", [1n, "x"]]]);
    expect(pyEquals(a, fromPlain({ k: [1.0, "x"] }))).toBe(true);
  });
});
