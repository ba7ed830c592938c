/** Property tests: both encoders round-trip through the parser on random nested values. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UsageError } from "../errors/index.js";
import { compareCodePoints } from "./code-point-order.js";
import { floatRepr } from "./float-repr.js";
import { dumpsCompact, dumpsHash, dumpsManifest, parsePyJson, pyEquals, type PyObject, type PyValue } from "./index.js";

const codeUnit = (min: number, max: number): fc.Arbitrary<string> =>
  fc.integer({ min, max }).map((c) => String.fromCharCode(c));

/** Text with the characters that matter: controls, quotes, DEL, astral, lone surrogates. */
const char = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('"', "\\", "/", "\u007f", "\u2028", "é", "\uff01", "😀", "\u{10ffff}") },
  { weight: 1, arbitrary: codeUnit(0, 0x1f) },
  { weight: 1, arbitrary: codeUnit(0xd800, 0xdfff) },
);
const pyString = fc.string({ unit: char, maxLength: 8 });

const special = [0, -0, 1, 1e16, 9999999999999998, 1e-4, 9.999999999999999e-5, 5e-324, 2.2250738585072014e-308];
const pyFloat = fc.oneof(
  fc.double(),
  fc.constantFrom(...special, ...special.map((x) => -x), 1.7976931348623157e308, NaN, Infinity, -Infinity),
  fc.integer().map((n) => n * 1.0),
);
const pyInt = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -1000, max: 1000 }).map(BigInt) },
  { weight: 3, arbitrary: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(10n ** 4300n - 1n), max: 10n ** 4300n - 1n }) }, // Python's limit
);
const leaf: fc.Arbitrary<PyValue> = fc.oneof(fc.constant(null), fc.boolean(), pyString, pyInt, pyFloat);

const { value: pyValue } = fc.letrec<{ value: PyValue; array: PyValue[]; object: PyObject }>((tie) => ({
  value: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 5 }),
  object: fc.array(fc.tuple(fc.oneof(pyString, fc.constantFrom("a", "b", "10", "9")), tie("value")), { maxLength: 5 }).map(
    (entries) => new Map(entries),
  ),
}));

/** Same value with the same types and the same key order; NaN equals NaN, -0 differs from 0. */
function identical(a: PyValue, b: PyValue): boolean {
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    const bEntries = [...b];
    return [...a].every(([k, v], i) => bEntries[i]?.[0] === k && identical(v, bEntries[i][1]));
  }
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => identical(x, b[i] as PyValue));
  return typeof a === typeof b && Object.is(a, b);
}

function sortedDeep(v: PyValue): PyValue {
  if (Array.isArray(v)) return v.map(sortedDeep);
  if (!(v instanceof Map)) return v;
  const keys = [...v.keys()].sort(compareCodePoints);
  return new Map(keys.map((k) => [k, sortedDeep(v.get(k) as PyValue)]));
}

function some(v: PyValue, test: (leaf: PyValue) => boolean): boolean {
  if (Array.isArray(v)) return v.some((x) => some(x, test));
  if (v instanceof Map) return [...v].some(([k, x]) => test(k) || some(x, test));
  return test(v);
}
const isNonFinite = (x: PyValue): boolean => typeof x === "number" && !Number.isFinite(x);
const hasLone = (x: PyValue): boolean => typeof x === "string" && !isWellFormed(x);
function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

const params = { numRuns: 1000 };

describe("dumpsHash", () => {
  it("round-trips to the same value with sorted keys, in pure ASCII", () => {
    fc.assert(
      fc.property(pyValue, (v) => {
        const text = dumpsHash(v);
        expect(text).toMatch(/^[\x20-\x7e]*$/);
        expect(identical(parsePyJson(text), sortedDeep(v))).toBe(true);
        expect(dumpsHash(parsePyJson(text))).toBe(text);
      }),
      params,
    );
  });
});

describe("dumpsManifest and dumpsCompact", () => {
  it("round-trip exactly, or refuse NaN/Infinity first and lone surrogates second", () => {
    fc.assert(
      fc.property(pyValue, (v) => {
        for (const dump of [dumpsManifest, dumpsCompact]) {
          if (some(v, isNonFinite)) {
            expect(() => dump(v)).toThrow(expect.objectContaining({ code: "JSON_NAN_FORBIDDEN" }));
          } else if (some(v, hasLone)) {
            expect(() => dump(v)).toThrow(expect.objectContaining({ code: "JSON_LONE_SURROGATE" }));
          } else {
            const text = dump(v);
            expect(identical(parsePyJson(text), v)).toBe(true);
            expect(dump(parsePyJson(text))).toBe(text);
          }
        }
      }),
      params,
    );
  });

  it("differ only in separators", () => {
    fc.assert(
      fc.property(pyValue, (v) => {
        fc.pre(!some(v, isNonFinite) && !some(v, hasLone));
        expect(dumpsManifest(v).length).toBeGreaterThanOrEqual(dumpsCompact(v).length);
        expect(identical(parsePyJson(dumpsManifest(v)), parsePyJson(dumpsCompact(v)))).toBe(true);
      }),
      params,
    );
  });

  it("throw UsageError, never anything else, for any PyValue", () => {
    fc.assert(
      fc.property(pyValue, (v) => {
        try {
          dumpsManifest(v);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
        }
      }),
      params,
    );
  });
});

describe("parsePyJson on duplicate keys", () => {
  it("behaves as successive Map.set calls: first position, last value", () => {
    const entry = fc.tuple(fc.constantFrom("a", "b", "c", "1", "😀", ""), leaf);
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        const text = "{" + entries.map(([k, v]) => `${dumpsHash(k)}: ${dumpsHash(v)}`).join(", ") + "}";
        expect(identical(parsePyJson(text), new Map(entries))).toBe(true);
      }),
      params,
    );
  });
});

describe("compareCodePoints", () => {
  it("orders like Python's str comparison (lone surrogates are code points)", () => {
    const codePoints = (s: string): number[] => Array.from(s, (c) => c.codePointAt(0) ?? -1);
    const pythonCompare = (a: string, b: string): number => {
      const x = codePoints(a);
      const y = codePoints(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
      }
      return x.length - y.length;
    };
    const s = fc.string({ unit: fc.oneof(char, codeUnit(0xd83d, 0xd83d), codeUnit(0xde00, 0xde00), codeUnit(0xe000, 0xe000)), maxLength: 6 });
    fc.assert(
      fc.property(s, s, (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(pythonCompare(a, b)));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe("floatRepr", () => {
  it("round-trips and has Python's shape", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const text = floatRepr(x);
        expect(Object.is(Number(text), x)).toBe(true);
        expect(text).toMatch(/^-?(\d+\.\d+|\d(\.\d+)?e[-+]\d{2,3})$/);
      }),
      { numRuns: 20_000 },
    );
  });
});

describe("pyEquals", () => {
  it("holds between a value and its re-parsed hash form (keys reordered)", () => {
    fc.assert(
      fc.property(pyValue, (v) => {
        const topLevelNaN = typeof v === "number" && Number.isNaN(v);
        expect(pyEquals(v, parsePyJson(dumpsHash(v)))).toBe(!topLevelNaN);
      }),
      params,
    );
  });
});
