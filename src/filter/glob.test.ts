import { describe, expect, it } from "vitest";
import { QuiltError } from "../errors/index.js";
import { compileGlob, globMatcher } from "./glob.js";

const KEYS = ["a.csv", "t/b.csv", "t/u/c.csv", "t/x.txt", "img/1.jpg", "img/22.jpg", "img/a.png", "a+b (1).csv", "[x].txt"];
const match = (pattern: string): string[] => KEYS.filter((k) => compileGlob(pattern).test(k));

describe("compileGlob", () => {
  it("`*` stays within a folder; `?` is one character", () => {
    expect(match("*.csv")).toEqual(["a.csv", "a+b (1).csv"]);
    expect(match("t/*")).toEqual(["t/b.csv", "t/x.txt"]);
    expect(match("img/?.jpg")).toEqual(["img/1.jpg"]);
  });

  it("`**` is any depth, including none", () => {
    expect(match("**/*.csv")).toEqual(["a.csv", "t/b.csv", "t/u/c.csv", "a+b (1).csv"]);
    expect(match("t/**/*.csv")).toEqual(["t/b.csv", "t/u/c.csv"]);
    expect(match("t/**")).toEqual(["t/b.csv", "t/u/c.csv", "t/x.txt"]);
    expect(match("**")).toEqual(KEYS);
  });

  it("classes, negated classes and ranges never match `/`", () => {
    expect(match("img/[12].jpg")).toEqual(["img/1.jpg"]);
    expect(match("img/[!1]*")).toEqual(["img/22.jpg", "img/a.png"]);
    expect(match("img/[0-9]*.jpg")).toEqual(["img/1.jpg", "img/22.jpg"]);
    expect(compileGlob("t[/]x").test("t/x")).toBe(false);
    expect(compileGlob("t[!a]x").test("t/x")).toBe(false);
  });

  it("braces are alternatives, which may hold globs and nest", () => {
    expect(match("img/*.{jpg,png}")).toEqual(["img/1.jpg", "img/22.jpg", "img/a.png"]);
    expect(match("{t/{u/,},img/}*.csv")).toEqual(["t/b.csv", "t/u/c.csv"]);
  });

  it("regex characters are literal", () => {
    expect(match("a+b (1).csv")).toEqual(["a+b (1).csv"]);
    expect(match("[[]x].txt")).toEqual(["[x].txt"]);
    expect(compileGlob("a.csv").test("abcsv")).toBe(false);
  });

  it("unclosed `[` or `{` is GLOB_INVALID with the column", () => {
    for (const [pattern, column] of [["a[bc", 2], ["x/{a,b", 3]] as const) {
      const error = (() => {
        try {
          compileGlob(pattern);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(QuiltError);
      expect(error).toMatchObject({ code: "GLOB_INVALID", kind: "usage", message: expect.stringContaining(`column ${column}`) as unknown });
    }
  });

  it("globMatcher: any pattern matches; none given matches all", () => {
    const m = globMatcher(["*.csv", "img/*.png"]);
    expect(KEYS.filter(m)).toEqual(["a.csv", "img/a.png", "a+b (1).csv"]);
    expect(KEYS.filter(globMatcher([]))).toEqual(KEYS);
  });
});
