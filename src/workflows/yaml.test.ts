import { describe, expect, it } from "vitest";
import { parsePyYaml } from "./yaml.js";

// Expected values are PyYAML 6.0's `yaml.safe_load` (the version quilt3 8.0.0 runs with).
describe("parsePyYaml reads YAML as PyYAML's safe_load", () => {
  it.each([
    ["y: 1\nn: 2", { y: 1, n: 2 }],
    ["a: yes\nb: No\nc: off\nd: ON", { a: true, b: false, c: false, d: true }],
    ["a: 09\nb: 010\nc: 0x1f\nd: 1_000", { a: "09", b: 8, c: 31, d: 1000 }],
    ["a: 1e5\nb: 1.0e+5\nc: 1.5\nd: .5", { a: "1e5", b: 100000, c: 1.5, d: 0.5 }],
    ["a: 1\na: 2", { a: 2 }],
    ["a: ~\nb: null\nc:", { a: null, b: null, c: null }],
    ["v: 1:30", { v: 90 }],
    ["", null],
  ])("%j", (text, expected) => {
    expect(parsePyYaml(text)).toEqual(expected);
  });

  it("refuses more than one document, as safe_load does", () => {
    expect(() => parsePyYaml("a: 1\n---\nb: 2\n")).toThrow(/multiple documents/);
  });
});
