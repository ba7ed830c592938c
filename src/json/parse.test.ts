import { describe, expect, it } from "vitest";
import { IntegrityError } from "../errors/index.js";
import { parsePyJson, type PyValue } from "./index.js";
import { MAX_DEPTH } from "./parse.js";

function errorOf(text: string): IntegrityError {
  try {
    parsePyJson(text);
  } catch (e) {
    if (e instanceof IntegrityError) return e;
    throw e;
  }
  throw new Error(`parsed: ${text}`);
}

describe("parsePyJson values", () => {
  it("maps JSON to PyValue", () => {
    const v = parsePyJson(' {"a": [1, -2, 3.5, true, false, null, "s"], "b": {}} ');
    expect(v).toEqual(
      new Map<string, PyValue>([
        ["a", [1n, -2n, 3.5, true, false, null, "s"]],
        ["b", new Map()],
      ]),
    );
  });
  it("keeps integer-like keys in document order", () => {
    const v = parsePyJson('{"b": 0, "2": 0, "1": 0}') as Map<string, PyValue>;
    expect([...v.keys()]).toEqual(["b", "2", "1"]);
  });
  it("reads big and small ints exactly", () => {
    expect(parsePyJson("123456789012345")).toBe(123456789012345n);
    expect(parsePyJson("-1234567890123456")).toBe(-1234567890123456n);
    expect(parsePyJson("-0")).toBe(0n);
    expect(parsePyJson("1" + "0".repeat(40))).toBe(10n ** 40n);
  });
  it("reads -0.0, subnormals and overflow like float()", () => {
    expect(Object.is(parsePyJson("-0.0"), -0)).toBe(true);
    expect(parsePyJson("5e-324")).toBe(5e-324);
    expect(parsePyJson("1e-400")).toBe(0);
    expect(parsePyJson("-1e400")).toBe(-Infinity);
    expect(parsePyJson("NaN")).toBeNaN();
  });
  it("decodes all short escapes", () => {
    expect(parsePyJson('"\\"\\\\\\/\\b\\f\\n\\r\\t"')).toBe('"\\/\b\f\n\r\t');
  });
  it("keeps lone surrogates as lone code units", () => {
    expect(parsePyJson('"\\ud83d"')).toBe("\ud83d");
    expect(parsePyJson('"\\udc00\\ud83d"')).toBe("\udc00\ud83d");
    expect(parsePyJson('"\\ud83dx\\ude00"')).toBe("\ud83dx\ude00");
  });
  it("accepts DEL and non-ASCII raw, and only space, tab, LF, CR as whitespace", () => {
    expect(parsePyJson('\t\r\n "\u007f😀é" \n')).toBe("\u007f😀é");
    expect(errorOf("\u00a01").message).toBe("Expecting value: line 1 column 1 (char 0)");
  });
});

describe("parsePyJson errors carry Python's messages", () => {
  const cases: [string, string][] = [
    ["", "Expecting value: line 1 column 1 (char 0)"],
    [" ", "Expecting value: line 1 column 2 (char 1)"],
    ["[", "Expecting value: line 1 column 2 (char 1)"],
    ["{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"],
    ['["a"', "Expecting ',' delimiter: line 1 column 5 (char 4)"],
    ['{"a"', "Expecting ':' delimiter: line 1 column 5 (char 4)"],
    ['{"a":', "Expecting value: line 1 column 6 (char 5)"],
    ['{"a":1', "Expecting ',' delimiter: line 1 column 7 (char 6)"],
    ['{"a":1,}', "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"],
    ["[1,]", "Expecting value: line 1 column 4 (char 3)"],
    ["01", "Extra data: line 1 column 2 (char 1)"],
    ["1.", "Extra data: line 1 column 2 (char 1)"],
    ["1e+", "Extra data: line 1 column 2 (char 1)"],
    ["-", "Expecting value: line 1 column 1 (char 0)"],
    ["-Inf", "Expecting value: line 1 column 1 (char 0)"],
    ['"abc', "Unterminated string starting at: line 1 column 1 (char 0)"],
    ['"a\\', "Unterminated string starting at: line 1 column 1 (char 0)"],
    ['"a\\x"', "Invalid \\escape: line 1 column 3 (char 2)"],
    ['"\\u12"', "Invalid \\uXXXX escape: line 1 column 3 (char 2)"],
    ['"\\u1234', "Invalid \\uXXXX escape: line 1 column 3 (char 2)"],
    ['"\\ud800\\uzzzz"', "Invalid \\uXXXX escape: line 1 column 9 (char 8)"],
    ['"\\ud800\\udc00', "Invalid \\uXXXX escape: line 1 column 9 (char 8)"],
    ['"a\u0001"', "Invalid control character at: line 1 column 3 (char 2)"],
    ["\ufeff1", "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"],
    ["1 2", "Extra data: line 1 column 3 (char 2)"],
    ["NaNx", "Extra data: line 1 column 4 (char 3)"],
    ["[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"],
    ["{1:2}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"],
    ['"😀😀" x', "Extra data: line 1 column 6 (char 5)"],
    ['[\n "😀",\n 1 2]', "Expecting ',' delimiter: line 3 column 4 (char 11)"],
  ];
  it.each(cases)("%j", (text, message) => {
    const e = errorOf(text);
    expect(e.code).toBe("JSON_SYNTAX");
    expect(e.kind).toBe("integrity");
    expect(e.message).toBe(message);
  });

  it("refuses ints of more than 4300 digits, as Python 3.11 does", () => {
    expect(parsePyJson("9".repeat(4300))).toBe(10n ** 4300n - 1n);
    expect(parsePyJson("-" + "9".repeat(4300))).toBe(1n - 10n ** 4300n);
    expect(errorOf("[" + "1".repeat(4301) + "]").message).toBe(
      "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; " +
        "use sys.set_int_max_str_digits() to increase the limit: line 1 column 2 (char 1)",
    );
    // Floats have no such limit.
    expect(parsePyJson("1".repeat(5000) + ".0")).toBe(Infinity);
  });

  it(`limits nesting to ${MAX_DEPTH} levels instead of overflowing the stack`, () => {
    const nested = (n: number): string => "[".repeat(n) + "]".repeat(n);
    expect(() => parsePyJson(nested(MAX_DEPTH))).not.toThrow();
    expect(errorOf(nested(MAX_DEPTH + 1)).message).toMatch(/^maximum nesting depth \(1000\) exceeded/);
    expect(errorOf('{"a":'.repeat(100_000)).code).toBe("JSON_SYNTAX");
  });
});
