import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isHashPrefix,
  isTimestampPointer,
  isTopHash,
  packageNameProblem,
  splitPackageName,
  tagProblem,
  validatePackageName,
  validatePointerName,
  validateTag,
} from "./names.js";
import { errorOf } from "../../test/helpers/expect.js";

describe("package names (quilt3 rule)", () => {
  it.each(["user/pkg", "test/revs", "ünï/cødé", "日本/語", "١٢/٣", "-/-", "a_b/c-d", "Ⅻ/²"])("accepts %j", (name) => {
    expect(validatePackageName(name)).toBe(name);
  });

  it.each([
    ["", "empty"],
    ["user", "1 part"],
    ["user/pkg/extra", "3 parts"],
    ["/pkg", "empty"],
    ["user/", "empty"],
    ["user/pk.g", "'.'"],
    ["a/b c", "U+0020"],
    ["user/pkg\n\n", "U+000A"],
    ["e\u0301/x", "U+0301"], // combining mark: not \w in Python
    ["a\u203fb/x", "U+203F"], // connector punctuation other than '_'
  ])("refuses %j (%s)", (name, why) => {
    const error = errorOf(() => validatePackageName(name));
    expect(error.code).toBe("PACKAGE_NAME_INVALID");
    expect(error.kind).toBe("usage");
    expect(error.message).toContain(why);
    expect(error.hint).toContain("user/dataset");
  });

  it("refuses the trailing newline quilt3 lets through, saying so", () => {
    const error = errorOf(() => validatePackageName("user/pkg\n"));
    expect(error.code).toBe("PACKAGE_NAME_INVALID");
    expect(error.message).toContain("newline");
  });

  it("splits namespace and name", () => {
    expect(splitPackageName("ns/na-me")).toEqual(["ns", "na-me"]);
  });

  it("agrees with Python's re.match(r'^[\\w-]+/[\\w-]+$') except for the trailing newline", () => {
    const char = fc.oneof(
      { arbitrary: fc.constantFrom("a", "Z", "0", "_", "-", "é", "٣", "語", "Ⅻ", "²", "\u00aa", "\u02b0"), weight: 20 },
      { arbitrary: fc.constantFrom("/", "\n", ".", " ", "\u0301", "😀", "\u203f"), weight: 1 },
      { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 1 },
    );
    const part = fc.array(char, { maxLength: 5 }).map((chars) => chars.join(""));
    const names = fc.sample(
      fc.tuple(part, fc.constantFrom("/", "/", "/", "", "//"), part).map(([a, sep, b]) => a + sep + b),
      { numRuns: 1500, seed: 42 },
    );
    names.push("user/pkg\n", "user/pkg\n\n", "a/b", "\n", "a/\n");
    const script = [
      "import json, re, sys, unicodedata",
      "names = json.load(sys.stdin)",
      // null: the name has a character this Python's Unicode database does not know yet (Node's is newer).
      "print(json.dumps([None if any(unicodedata.category(c) == 'Cn' and not 0xd800 <= ord(c) <= 0xdfff for c in n)",
      "  else re.match(r'^[\\w-]+/[\\w-]+$', n) is not None for n in names]))",
    ].join("\n");
    const run = spawnSync("python3", ["-c", script], { input: JSON.stringify(names), encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const python = JSON.parse(run.stdout) as (boolean | null)[];
    const bad = names.filter(
      (name, i) => python[i] !== null && (packageNameProblem(name) === undefined) !== (python[i] === true && !name.endsWith("\n")),
    );
    expect(bad).toEqual([]);
    expect(python.filter(Boolean).length).toBeGreaterThan(200);
    expect(python.filter((ok) => ok === false).length).toBeGreaterThan(200);
  });
});

describe("tags", () => {
  it.each(["latest", "v1", "v1.0.0", "stable_2024-01", "a", "0x1", "1.0", "ABCDEF"])("accepts %j", (tag) => {
    expect(validateTag(tag)).toBe(tag);
  });

  it.each([
    ["", "empty"],
    ["1700000000", "timestamp"],
    ["0", "timestamp"],
    [".", "file name"],
    ["..", "file name"],
    ["v 1", "U+0020"],
    ["v/1", "'/'"],
    ["v:1", "':'"],
    ["v@1", "'@'"],
    ["é", "'é'"],
    ["a".repeat(256), "longer"],
    ["ab".repeat(32), "top hash"],
    ["AB".repeat(32), "top hash"],
  ])("refuses %j (%s)", (tag, why) => {
    const error = errorOf(() => validateTag(tag));
    expect(error.code).toBe("TAG_INVALID");
    expect(error.message).toContain(why);
    expect(error.hint).toBeDefined();
  });

  it("a tag never contains a handle or path delimiter (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        if (tagProblem(s) === undefined) expect(s).toMatch(/^[A-Za-z0-9._-]+$/);
      }),
    );
  });
});

describe("hashes and pointers", () => {
  const hash = "2a5a67156ca9238c14d12042db51c5b52260fdd5511b61ea89b58929d6e1769b";
  it("isTopHash: exactly 64 lowercase hex", () => {
    expect(isTopHash(hash)).toBe(true);
    expect(isTopHash(hash.toUpperCase())).toBe(false);
    expect(isTopHash(`${hash}\n`)).toBe(false);
    expect(isTopHash(hash.slice(1))).toBe(false);
  });

  it("isHashPrefix: 6 to 63 lowercase hex", () => {
    expect(isHashPrefix("2a5a67")).toBe(true);
    expect(isHashPrefix("2a5a6")).toBe(false);
    expect(isHashPrefix(hash)).toBe(false);
    expect(isHashPrefix(hash.slice(0, 63))).toBe(true);
  });

  it("isTimestampPointer: all digits", () => {
    expect(isTimestampPointer("1700000100")).toBe(true);
    expect(isTimestampPointer("latest")).toBe(false);
    expect(isTimestampPointer("")).toBe(false);
    expect(isTimestampPointer("17e5")).toBe(false);
  });

  it("pointer names: latest, timestamps, tags", () => {
    for (const p of ["latest", "1700000100", "v1"]) expect(validatePointerName(p)).toBe(p);
    for (const p of ["", "..", "a/b", "x\n"]) expect(errorOf(() => validatePointerName(p)).code).toBe("POINTER_NAME_INVALID");
  });
});
