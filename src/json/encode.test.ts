import { describe, expect, it } from "vitest";
import { UsageError } from "../errors/index.js";
import { dumpsCompact, dumpsHash, dumpsManifest, type PyObject, type PyValue } from "./index.js";

const encoders = [dumpsManifest, dumpsCompact, dumpsHash];

describe("encoders", () => {
  it("refuse plain JS objects and non-string keys with a TypeError (programming errors)", () => {
    for (const dump of encoders) {
      expect(() => dump({ a: 1 } as unknown as PyValue)).toThrow(/Not a PyValue: a plain object/);
      expect(() => dump([undefined] as unknown as PyValue)).toThrow(TypeError);
      expect(() => dump(new Map([[1, 1n]]) as unknown as PyValue)).toThrow(/Map keys of a PyValue must be strings/);
    }
  });

  it("refuse ints Python 3.11 cannot print (more than 4300 digits)", () => {
    const ok = 10n ** 4300n - 1n;
    for (const dump of encoders) {
      expect(dump(-ok)).toBe("-" + "9".repeat(4300));
      expect(() => dump(ok + 1n)).toThrow(expect.objectContaining({ code: "JSON_INT_TOO_LARGE" }));
    }
  });

  it("stop at a cycle instead of overflowing the stack", () => {
    const m: PyObject = new Map();
    m.set("self", [m]);
    for (const dump of encoders) {
      expect(() => dump(m)).toThrow(expect.objectContaining({ code: "JSON_TOO_DEEP" }));
      expect(() => dump(m)).toThrow(UsageError);
    }
  });

  it("memoize quoted keys without mixing up keys that share a slot", () => {
    const keys = ["ab", "xb", "é b", "\u2028b", "a\"b", "\u0001b", "😀b"];
    const v: PyValue = new Map(keys.map((k, i) => [k, BigInt(i)]));
    for (let round = 0; round < 2; round++) {
      expect(dumpsManifest(v)).toBe('{"ab": 0, "xb": 1, "é b": 2, "\u2028b": 3, "a\\"b": 4, "\\u0001b": 5, "😀b": 6}');
      expect(dumpsHash(v)).toBe('{"\\u0001b":5,"a\\"b":4,"ab":0,"xb":1,"\\u00e9 b":2,"\\u2028b":3,"\\ud83d\\ude00b":6}');
    }
  });

  it("refuse a key with a lone surrogate every time, not only the first", () => {
    const v: PyValue = new Map([["\ud800", null]]);
    for (let round = 0; round < 2; round++) {
      expect(() => dumpsManifest(v)).toThrow(expect.objectContaining({ code: "JSON_LONE_SURROGATE" }));
      expect(dumpsHash(v)).toBe('{"\\ud800":null}');
    }
  });

  it("write nested containers with the right separators", () => {
    const v: PyValue = new Map<string, PyValue>([["a", [1n, [], new Map(), [null, true]]], ["b", new Map([["c", 0.5]])]]);
    expect(dumpsManifest(v)).toBe('{"a": [1, [], {}, [null, true]], "b": {"c": 0.5}}');
    expect(dumpsCompact(v)).toBe('{"a":[1,[],{},[null,true]],"b":{"c":0.5}}');
    expect(dumpsHash(v)).toBe('{"a":[1,[],{},[null,true]],"b":{"c":0.5}}');
  });
});
