/** Every example of spec §2.2–2.5, and two real top-hash preimages from vector set A. */
import { describe, expect, it } from "vitest";
import { UsageError } from "../errors/index.js";
import { dumpsCompact, dumpsHash, dumpsManifest, parsePyJson, type PyValue } from "./index.js";

const roundTrip = (text: string): string => dumpsManifest(parsePyJson(text));

describe("lexeme normalization on load (§2.4 table)", () => {
  const table: [string, string][] = [
    ["1.50", "1.5"],
    ["1E5", "100000.0"],
    ["0.1e1", "1.0"],
    ["2.5E+3", "2500.0"],
    ["1.0e-5", "1e-05"],
    ["123456789.123456789", "123456789.12345679"],
    ["12345678901234567890.0", "1.2345678901234567e+19"],
    ["1e0", "1.0"],
    ["9007199254740993", "9007199254740993"],
    ["18446744073709551616", "18446744073709551616"],
    ["-0", "0"],
    ["-0.0", "-0.0"],
  ];
  it.each(table)("%s -> %s in both encoders", (input, output) => {
    expect(roundTrip(input)).toBe(output);
    expect(dumpsHash(parsePyJson(input))).toBe(output);
  });

  it("1e400 parses as inf: the manifest dump fails, the hash dump writes Infinity", () => {
    expect(parsePyJson("1e400")).toBe(Infinity);
    expect(() => roundTrip("1e400")).toThrow(UsageError);
    expect(() => roundTrip("1e400")).toThrow("Out of range float values are not JSON compliant: inf");
    expect(dumpsHash(parsePyJson("-1e400"))).toBe("-Infinity");
  });

  it("ints and floats keep their identity", () => {
    expect(parsePyJson("1")).toBe(1n);
    expect(parsePyJson("1.0")).toBe(1);
    expect(dumpsHash(parsePyJson("[1, 1.0, 1e100, 1e16, 1e15]"))).toBe("[1,1.0,1e+100,1e+16,1000000000000000.0]");
  });
});

describe("NaN and Infinity tokens (§2.5)", () => {
  it("are accepted and hash as NaN/Infinity/-Infinity", () => {
    const v = parsePyJson('{"a": NaN, "b": Infinity, "c": -Infinity}');
    expect(dumpsHash(v)).toBe('{"a":NaN,"b":Infinity,"c":-Infinity}');
  });
  it("make the manifest and compact encoders fail like allow_nan=False", () => {
    const v = parsePyJson("[NaN]");
    for (const dump of [dumpsManifest, dumpsCompact]) {
      expect(() => dump(v)).toThrow(expect.objectContaining({ code: "JSON_NAN_FORBIDDEN" }));
      expect(() => dump(v)).toThrow("Out of range float values are not JSON compliant: nan");
    }
  });
});

describe("duplicate keys (§2.5)", () => {
  it("keep the first position and take the last value", () => {
    const v = parsePyJson('{"k":1,"j":0,"k":2}');
    expect(dumpsManifest(v)).toBe('{"k": 2, "j": 0}');
  });
});

describe("escapes (§2.5)", () => {
  it("decode \\uXXXX and surrogate pairs, and re-dump raw UTF-8", () => {
    const v = parsePyJson('"\\u00e9\\ud83d\\ude00\\u4E16"');
    expect(v).toBe("é😀世");
    expect(dumpsManifest(v)).toBe('"é😀世"');
    expect(dumpsHash(v)).toBe('"\\u00e9\\ud83d\\ude00\\u4e16"');
  });
});

describe("key order in the hashed JSON (§2.2)", () => {
  const sortedKeys = ["", "10", "9", "Z", "_", "a", "e\u0301", "\u00e9", "\uff01bang", "\ud83d\ude00grin"];
  it("sorts by code point, recursively, with the astral key last", () => {
    const shuffled = [...sortedKeys].reverse();
    const inner: PyValue = new Map(shuffled.map((k) => [k, 1n]));
    const v: PyValue = new Map<string, PyValue>([["z", [inner]], ["a", inner]]);
    const expectedInner =
      '{"":1,"10":1,"9":1,"Z":1,"_":1,"a":1,"e\\u0301":1,"\\u00e9":1,"\\uff01bang":1,"\\ud83d\\ude00grin":1}';
    expect(dumpsHash(v)).toBe(`{"a":${expectedInner},"z":[${expectedInner}]}`);
  });
  it("sorts large key sets too, with and without surrogates", () => {
    const keys = Array.from({ length: 40 }, (_, i) => String.fromCharCode(0x61 + ((i * 7) % 26)) + i);
    const plain = new Map(keys.map((k) => [k, null]));
    expect([...(parsePyJson(dumpsHash(plain)) as Map<string, PyValue>).keys()]).toEqual([...keys].sort());
    const withAstral = new Map([...keys, "\ud83d\ude00", "\uffff", "\ue000x"].map((k) => [k, null]));
    const order = [...(parsePyJson(dumpsHash(withAstral)) as Map<string, PyValue>).keys()];
    expect(order.slice(-3)).toEqual(["\ue000x", "\uffff", "\ud83d\ude00"]);
  });
  it("keeps insertion order in the manifest encoder", () => {
    const v = parsePyJson('{"b": 1, "10": 2, "a": 3, "9": 4}');
    expect(dumpsManifest(v)).toBe('{"b": 1, "10": 2, "a": 3, "9": 4}');
    expect(dumpsCompact(v)).toBe('{"b":1,"10":2,"a":3,"9":4}');
  });
});

describe("string escaping (§1.1, §2.3)", () => {
  const sCtl = "tab\there\nnl\rcr\u0000nul\u001fus\u007fdel\bbs\fff";
  it("s_ctl in the hash encoder", () => {
    expect(dumpsHash(sCtl)).toBe('"tab\\there\\nnl\\rcr\\u0000nul\\u001fus\\u007fdel\\bbs\\fff"');
  });
  it("s_ctl in the manifest encoder: DEL stays raw", () => {
    expect(dumpsManifest(sCtl)).toBe('"tab\\there\\nnl\\rcr\\u0000nul\\u001fus\u007fdel\\bbs\\fff"');
  });
  it("quotes, backslashes, slash, U+2028/2029", () => {
    const s = 'q"b\\s/\u2028\u2029é';
    expect(dumpsManifest(s)).toBe('"q\\"b\\\\s/\u2028\u2029é"');
    expect(dumpsHash(s)).toBe('"q\\"b\\\\s/\\u2028\\u2029\\u00e9"');
  });
  it("a lone surrogate: escaped by the hash encoder, refused by the UTF-8 encoders", () => {
    const v = parsePyJson('["\\ud800", "x\\udc00"]');
    expect(dumpsHash(v)).toBe('["\\ud800","x\\udc00"]');
    for (const dump of [dumpsManifest, dumpsCompact]) {
      expect(() => dump(v)).toThrow(expect.objectContaining({ code: "JSON_LONE_SURROGATE" }));
    }
  });
  it("NaN wins over a lone surrogate that comes first, as in Python", () => {
    const v = parsePyJson('["\\ud800", NaN]');
    expect(() => dumpsManifest(v)).toThrow(expect.objectContaining({ code: "JSON_NAN_FORBIDDEN" }));
  });
});

describe("vector set A (A03-full)", () => {
  const header =
    '{"version": "v0", "user_meta": {"title": "Vector package A3", "version": 3, "float_one": 1.0, "float_big": 1e+100, "float_tenth": 0.1, "negative": -7, "ratio": 0.5, "flag": true, "nothing": null, "unicode": "Grüße, 世界, emoji 😀", "nested": {"z": [1, 2.5, {"deep": "yes"}], "a": {}}, "list_of_lists": [[1], [], ["x"]]}, "message": "Unicode message ✓ — ünïcødé 😀"}';
  const headerPart =
    '{"message":"Unicode message \\u2713 \\u2014 \\u00fcn\\u00efc\\u00f8d\\u00e9 \\ud83d\\ude00","user_meta":{"flag":true,"float_big":1e+100,"float_one":1.0,"float_tenth":0.1,"list_of_lists":[[1],[],["x"]],"negative":-7,"nested":{"a":{},"z":[1,2.5,{"deep":"yes"}]},"nothing":null,"ratio":0.5,"title":"Vector package A3","unicode":"Gr\\u00fc\\u00dfe, \\u4e16\\u754c, emoji \\ud83d\\ude00","version":3},"version":"v0"}';
  const entry =
    '{"logical_key": "a/b/c/d/e/f/g/deep.txt", "physical_keys": ["file:///tmp/quilt3-vectors/A/inputs/a/b/c/d/e/f/g/deep.txt"], "size": 5, "hash": {"type": "sha2-256-chunked", "value": "t0Ne043FwlvxonRv2FX/8wgDbjlAsjteUBpSC705PlE="}, "meta": {"user_meta": {"depth": 7}}}';
  const entryPart =
    '{"hash":{"type":"sha2-256-chunked","value":"t0Ne043FwlvxonRv2FX/8wgDbjlAsjteUBpSC705PlE="},"logical_key":"a/b/c/d/e/f/g/deep.txt","meta":{"user_meta":{"depth":7}},"size":5}';

  it("manifest lines re-dump byte for byte", () => {
    expect(roundTrip(header)).toBe(header);
    expect(roundTrip(entry)).toBe(entry);
  });
  it("the header and an entry hash to quilt3's preimage parts", () => {
    expect(dumpsHash(parsePyJson(header))).toBe(headerPart);
    const e = parsePyJson(entry) as Map<string, PyValue>;
    e.delete("physical_keys");
    expect(dumpsHash(e)).toBe(entryPart);
  });
});
