import { describe, expect, it } from "vitest";
import { parsePyJson, type PyObject } from "../json/index.js";
import { compileFilter } from "./expr.js";
import { parseFilter } from "./parse.js";

interface Fake {
  logicalKey: string;
  size: number;
  meta: PyObject;
}
const entry = (logicalKey: string, size: number, userMeta?: string): Fake => ({
  logicalKey,
  size,
  meta: parsePyJson(userMeta === undefined ? "{}" : `{"user_meta": ${userMeta}}`) as PyObject,
});

const ENTRIES: Fake[] = [
  entry("train/a.csv", 10, '{"split": "train", "n": 1.0, "tags": ["x", "y"], "class name": "cat"}'),
  entry("train/b.jpg", 0, '{"split": "train", "n": 2}'),
  entry("val/c.csv", 5, '{"split": "val", "n": 0.5, "deep": {"a": {"b": true}}}'),
  entry("val/d.txt", 7, '{"split": "val", "n": 18446744073709551616}'),
  entry("README.md", 3),
  entry("odd.bin", 1, '["not", "a", "dict"]'),
];
const keys = (expr: string): string[] => ENTRIES.filter(compileFilter(expr)).map((e) => e.logicalKey);

function errorOf(expr: string): { code: string; message: string; hint?: string } {
  try {
    compileFilter(expr);
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error(`${expr} parsed`);
}

describe("filter expressions", () => {
  it("compares metadata, key and size", () => {
    expect(keys('meta.split == "train" and size > 0')).toEqual(["train/a.csv"]);
    expect(keys("meta.n >= 1")).toEqual(["train/a.csv", "train/b.jpg", "val/d.txt"]);
    expect(keys("meta.n < 1 or size == 3")).toEqual(["val/c.csv", "README.md"]);
    expect(keys("key == 'README.md'")).toEqual(["README.md"]);
    expect(keys('logical_key <= "train/b.jpg" && size != 10')).toEqual(["train/b.jpg", "README.md", "odd.bin"]);
  });

  it("paths: nested, quoted keys, list indexes; missing is null", () => {
    expect(keys("meta.deep.a.b")).toEqual(["val/c.csv"]);
    expect(keys('meta["class name"] == "cat"')).toEqual(["train/a.csv"]);
    expect(keys('meta.tags[1] == "y"')).toEqual(["train/a.csv"]);
    expect(keys("meta.split == null")).toEqual(["README.md", "odd.bin"]);
    expect(keys("meta.nope.deeper == null and meta.tags[9] == null")).toHaveLength(ENTRIES.length);
    expect(keys("meta[0] == 'not'")).toEqual(["odd.bin"]);
  });

  it("in: list membership, substring, object key; not in", () => {
    expect(keys('meta.split in ["val", "test"]')).toEqual(["val/c.csv", "val/d.txt"]);
    expect(keys('"csv" in key')).toEqual(["train/a.csv", "val/c.csv"]);
    expect(keys('"x" in meta.tags')).toEqual(["train/a.csv"]);
    expect(keys('"deep" in meta')).toEqual(["val/c.csv"]);
    expect(keys('meta.split not in ["train"]')).toEqual(["val/c.csv", "val/d.txt", "README.md", "odd.bin"]);
  });

  it("functions", () => {
    expect(keys('startswith(key, "val/")')).toEqual(["val/c.csv", "val/d.txt"]);
    expect(keys('endswith(key, ".csv") and not startswith(key, "val")')).toEqual(["train/a.csv"]);
    expect(keys('glob(key, "**/*.{csv,md}")')).toEqual(["train/a.csv", "val/c.csv", "README.md"]);
    expect(keys("startswith(size, 1)")).toEqual([]);
  });

  it("comparisons across types are false and never throw; big ints compare as numbers", () => {
    expect(keys('meta.n > "a"')).toEqual([]);
    expect(keys("meta.split > 1 or meta.split < 1")).toEqual([]);
    expect(keys("meta.missing < 1 or meta.missing >= 1")).toEqual([]);
    expect(keys("meta.n > 1e19")).toEqual(["val/d.txt"]);
    expect(keys('meta.n != "x"')).toHaveLength(ENTRIES.length);
    expect(keys("meta.n == 1")).toEqual(["train/a.csv"]); // 1.0 and 1 are equal, as in Python
    expect(keys('meta.tags == ["x", "y"]')).toEqual(["train/a.csv"]);
  });

  it("precedence: not > and > or; parentheses override", () => {
    expect(keys('size == 3 or size == 10 and meta.split == "val"')).toEqual(["README.md"]);
    expect(keys('(size == 3 or size == 10) and meta.split == "train"')).toEqual(["train/a.csv"]);
    expect(keys('not meta.split == "train" and size > 4')).toEqual(["val/c.csv", "val/d.txt"]);
    expect(keys("!(size > 1) || false")).toEqual(["train/b.jpg", "odd.bin"]);
    expect(parseFilter("not a or b_c in []".replace("a", "size").replace("b_c", "key"))).toMatchObject({ kind: "or", left: { kind: "not" } });
  });

  it("literals: negative numbers, true/false/null, empty and trailing-comma lists, escapes", () => {
    expect(keys("size > -1 and true and not false and null == null")).toHaveLength(ENTRIES.length);
    expect(keys("size in [] or meta.split in ['val',]")).toEqual(["val/c.csv", "val/d.txt"]);
    expect(keys('"a\\"b" == \'a"b\'')).toHaveLength(ENTRIES.length);
  });

  it("errors are FILTER_INVALID with the column and a hint", () => {
    const cases: [string, number, string][] = [
      ["", 1, "empty"],
      ['meta.split == "train', 15, "unclosed string"],
      ["meta.split = 1", 12, "unexpected character"],
      ["size > 1 and", 13, "expected a value"],
      ["(size > 1", 10, "expected `)`"],
      ["split == 1", 1, 'unknown name "split"'],
      ["size < 1 < 2", 10, "do not chain"],
      ["startswith(key)", 1, "2 arguments"],
      ["glob(key, size)", 1, "quoted string"],
      ['glob(key, "[a")', 1, "bad glob"],
      ["meta.", 6, "expected a name"],
      ["meta[key]", 6, "quoted key"],
      ["size > 1 size", 10, "expected the end"],
    ];
    for (const [expr, column, what] of cases) {
      const e = errorOf(expr);
      expect(e.code, expr).toBe("FILTER_INVALID");
      expect(e.message, expr).toContain(`column ${column}:`);
      expect(e.message, expr).toContain(what);
      expect(e.hint).toContain("meta.split");
    }
  });

  it("no code runs: names outside the language are refused at parse time", () => {
    for (const expr of ["constructor", "process.exit(1)", "meta.__proto__ == null and require('fs')"]) expect(errorOf(expr).code).toBe("FILTER_INVALID");
    expect(keys("meta.__proto__ == null and meta.constructor == null")).toHaveLength(ENTRIES.length);
  });

  it("streams over many entries with one parse", () => {
    const filter = compileFilter('meta.split == "train" and meta.n >= 500');
    let count = 0;
    for (let i = 0; i < 2000; i++) {
      if (filter(entry(`k${i}`, i, `{"split": "${i % 2 === 0 ? "train" : "val"}", "n": ${i}}`))) count++;
    }
    expect(count).toBe(750);
  });
});
