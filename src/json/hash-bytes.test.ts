import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteOut, dumpsHash, hashBytesOfPlain, parsePyJson } from "./index.js";

/** What the general path gives: the top-hash text, or undefined where parsing or encoding throws. */
function general(text: string): string | undefined {
  try {
    return dumpsHash(parsePyJson(text));
  } catch {
    return undefined;
  }
}

/** The byte path on `text[from, to)`, written after some bytes already in the output. */
function fast(text: string, from = 0, to = text.length): string | undefined {
  const out = new ByteOut(4);
  out.ascii("ab");
  const ok = hashBytesOfPlain(Buffer.from(text, "latin1"), from, to, out);
  const written = out.bytes().toString("latin1");
  if (!ok) {
    expect(written).toBe("ab"); // nothing counted
    return undefined;
  }
  expect(written.startsWith("ab")).toBe(true);
  return written.slice(2);
}

// Printable ASCII without the backslash, with the characters that sort around `"` and the space.
const keyText = fc.string({ unit: fc.constantFrom(" ", "!", "#", "a", "b", "B", "0", "~", "[", "}", ",", ":"), maxLength: 4 });
const spaces = fc.constantFrom("", " ", "  ");
const numberText = fc.oneof(
  fc.constantFrom("0", "-0", "7", "-12", "2.50", "0.0", "-0.0", "1E5", "1e-7", "1.5e+3", "1e400", "-1e400", "123456789012345678901234567890"),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
  fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map((n) => n.toString()),
);
const leafText = fc.oneof(numberText, fc.constantFrom("true", "false", "null", "NaN", "Infinity", "-Infinity"), keyText.map((s) => `"${s}"`));

const jsonText = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    leafText,
    fc.tuple(fc.array(fc.tuple(spaces, tie("value"), spaces), { maxLength: 4 })).map(([items]) => `[${items.map((p) => p.join("")).join(",")}]`),
    fc
      .uniqueArray(fc.tuple(fc.oneof(keyText, fc.constantFrom("a", "b", "ab", "ab!")), spaces, tie("value")), { maxLength: 5, selector: ([k]) => k })
      .map((members) => `{${members.map(([k, s, v]) => `"${k}"${s}:${s}${v}`).join(", ")}}`),
  ),
})).value;

describe("hashBytesOfPlain", () => {
  it("gives the general path's top-hash text, or leaves the value to it", () => {
    fc.assert(
      fc.property(spaces, jsonText, spaces, (before, text, after) => {
        const whole = before + text + after;
        const got = fast(whole);
        if (got !== undefined) expect(got).toBe(general(whole));
        // Keys are unique here: it settles everything but the non-finite spellings.
        if (general(whole) !== undefined && !/NaN|Infinity/.test(whole)) expect(got).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });

  it("never accepts broken text", () => {
    fc.assert(
      fc.property(jsonText, fc.nat(), fc.constantFrom("", "x", "{", "}", "[", "]", ",", ":", '"', "01", "."), (text, at, insert) => {
        const cut = at % (text.length + 1);
        const broken = text.slice(0, cut) + insert + text.slice(cut + (insert === "" ? 1 : 0));
        const got = fast(broken);
        if (got !== undefined) expect(got).toBe(general(broken));
      }),
      { numRuns: 2000 },
    );
  });

  it("takes no text that is not plain: escapes, controls, DEL, bytes above ASCII", () => {
    fc.assert(
      fc.property(jsonText, fc.nat(), fc.constantFrom("\\", "\\n", "\t", "\u007f", "\u00e9", "\u0000", "\u001f"), (text, at, bad) => {
        const cut = at % (text.length + 1);
        const inserted = text.slice(0, cut) + bad + text.slice(cut);
        expect(fast(inserted)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it("sorts by code point, collapses no repeated key, and prints numbers as Python does", () => {
    expect(fast('{"ab!": 1, "ab": 2, "a b": 3}')).toBe('{"a b":3,"ab":2,"ab!":1}');
    expect(fast('{"a": 1, "a": 2}')).toBeUndefined();
    expect(fast('{"b": {"y": -0, "x": 2.50}, "a": [1E5, 1e400, -0.0]}')).toBe('{"a":[100000.0,Infinity,-0.0],"b":{"x":2.5,"y":0}}');
    expect(fast("[NaN]")).toBeUndefined();
    expect(fast("[1.]")).toBeUndefined();
    expect(fast("{} x")).toBeUndefined();
    expect(fast('xx{"a": 1}}', 2, 10)).toBe('{"a":1}');
    expect(fast("[" + "1e300, ".repeat(50) + "1.0]")).toBe("[" + "1e+300,".repeat(50) + "1.0]"); // floats longer than their text
    expect(fast('{"b": 1, "a": {"d": [1, {"f": 0, "e": 0}], "c": 2}}')).toBe('{"a":{"c":2,"d":[1,{"e":0,"f":0}]},"b":1}');
    expect(fast("[0.0001, 0.00001, 100.0, 1.10, 123456789012345.6, 0.1234567890123456, -0.0]")).toBe(
      "[0.0001,1e-05,100.0,1.1,123456789012345.6,0.1234567890123456,-0.0]",
    );
  });
});
