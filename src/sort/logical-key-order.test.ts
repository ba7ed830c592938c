import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareLogicalKeys, treeWalkSortKey } from "./logical-key-order.js";

/** The definition, written the slow and obvious way: segment lists, each segment by code point. */
function reference(a: string, b: string): number {
  const sa = a.split("/");
  const sb = b.split("/");
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const c = compareCodePoints(sa[i] ?? "", sb[i] ?? "");
    if (c !== 0) return c;
  }
  return sa.length - sb.length;
}

function compareCodePoints(a: string, b: string): number {
  const ca = Array.from(a, (ch) => ch.codePointAt(0) ?? 0);
  const cb = Array.from(b, (ch) => ch.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = (ca[i] ?? 0) - (cb[i] ?? 0);
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

const sign = (n: number): number => Math.sign(n) + 0; // + 0 turns -0 into 0

// Units chosen where orders disagree: below '/', '/', ASCII, BMP-high (U+E000–U+FFFF), both halves
// of surrogate pairs (also lone), whole astral characters.
const unit = fc.constantFrom(
  "/", "/", "/", " ", "!", "-", ".", "\0", "0", "9", "A", "_", "a", "b", "~", "\u007f",
  "é", "ß", "ÿ", "\u0301", "\ue000", "！", "\uffff", "😀", "😁", "\u{10ffff}", "\u{10000}",
  "\ud83d", "\ude00", "\ud800", "\udfff", "\udc00", "\ud7ff", "\ud7fe",
);
const key = fc.string({ unit, maxLength: 12 });

describe("compareLogicalKeys", () => {
  it("orders the spec §1.5 example exactly", () => {
    const expected = [
      "#.txt", "10.txt", "9.txt", "A.txt", "Z.txt", "_u.txt", "a/b", "a/b-c/d", "a/b.c", "a/x.txt",
      "a b.txt", "a%20b.txt", "a+b.txt", "a-c", "a.txt", "a0", "ab/c.txt", "e\u0301-nfd.txt",
      "x/ÿ/1", "x/！/1", "x/😀/1", "~.txt", "ß.txt", "\u00e9-nfc.txt", "！.txt", "😀.txt",
    ];
    const shuffled = [...expected].reverse();
    shuffled.push(...shuffled.splice(0, 7));
    expect(shuffled.sort(compareLogicalKeys)).toEqual(expected);
  });

  it("puts '/' below every character, NUL included", () => {
    expect(compareLogicalKeys("a/b", "a\0")).toBeLessThan(0);
    expect(compareLogicalKeys("a/z", "a b")).toBeLessThan(0);
    expect(compareLogicalKeys("a", "a/b")).toBeLessThan(0);
    expect(compareLogicalKeys("a/b", "a/b")).toBe(0);
  });

  it("orders astral characters after U+E000–U+FFFF, unlike UTF-16", () => {
    expect(compareLogicalKeys("😀", "！")).toBeGreaterThan(0);
    expect(compareLogicalKeys("\uffff", "\u{10000}")).toBeLessThan(0);
    // A lone high surrogate is the code point U+D83D, below the pair it starts elsewhere.
    expect(compareLogicalKeys("\ud83d\uffff", "😀")).toBeLessThan(0);
    expect(compareLogicalKeys("\ud83dx", "\ud83d\ude00")).toBeLessThan(0);
    expect(compareLogicalKeys("\ud800", "\ue000")).toBeLessThan(0);
  });

  it("agrees with the segment-list definition on arbitrary keys", () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(sign(compareLogicalKeys(a, b))).toBe(sign(reference(a, b)));
      }),
      { numRuns: 20_000 },
    );
  });

  it("agrees on keys that share a long prefix", () => {
    fc.assert(
      fc.property(key, key, key, (p, a, b) => {
        expect(sign(compareLogicalKeys(p + a, p + b))).toBe(sign(reference(p + a, p + b)));
      }),
      { numRuns: 10_000 },
    );
  });

  it("is antisymmetric and sorts like the reference", () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 40 }), (keys) => {
        for (const [i, a] of keys.entries()) {
          const b = keys[(i + 1) % keys.length] ?? "";
          expect(sign(compareLogicalKeys(a, b)) + sign(compareLogicalKeys(b, a))).toBe(0);
        }
        expect([...keys].sort(compareLogicalKeys)).toEqual([...keys].sort(reference));
      }),
      { numRuns: 2_000 },
    );
  });
});

const native = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

describe("treeWalkSortKey", () => {
  it("orders like compareLogicalKeys under plain string comparison", () => {
    fc.assert(
      fc.property(key, key, key, (p, a, b) => {
        const c = sign(native(treeWalkSortKey(p + a), treeWalkSortKey(p + b)));
        expect(c).toBe(sign(compareLogicalKeys(p + a, p + b)));
      }),
      { numRuns: 20_000 },
    );
  });

  it("is injective", () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(treeWalkSortKey(a) === treeWalkSortKey(b)).toBe(a === b);
      }),
      { numRuns: 10_000 },
    );
  });

  it("sorts the spec §1.5 example and leaves plain keys alone", () => {
    const keys = ["a.txt", "a/b", "😀.txt", "！.txt", "a b.txt", "\ud7ff", "\ud800x", "\ue000"];
    const byKey = [...keys].sort((a, b) => native(treeWalkSortKey(a), treeWalkSortKey(b)));
    expect(byKey).toEqual([...keys].sort(compareLogicalKeys));
    expect(treeWalkSortKey("abc")).toBe("abc");
    expect(treeWalkSortKey("x".repeat(10_000) + "/")).toHaveLength(10_001);
  });
});
