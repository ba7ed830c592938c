import { describe, expect, it } from "vitest";
import { errorOf } from "../../../test/helpers/expect.js";
import { parseByteSize } from "./cache.js";

describe("parseByteSize", () => {
  it("reads bytes, binary suffixes (K..P, KiB..PiB) and decimal ones (KB..PB)", () => {
    expect(parseByteSize("4096")).toBe(4096);
    expect(parseByteSize("0")).toBe(0);
    expect(parseByteSize("10G")).toBe(10 * 2 ** 30);
    expect(parseByteSize("10g")).toBe(10 * 2 ** 30);
    expect(parseByteSize("10GiB")).toBe(10 * 2 ** 30);
    expect(parseByteSize("10GB")).toBe(10 * 10 ** 9);
    expect(parseByteSize("1.5T")).toBe(1.5 * 2 ** 40);
    expect(parseByteSize(" 500 M ")).toBe(500 * 2 ** 20);
    expect(parseByteSize("7B")).toBe(7);
  });

  it("refuses anything else with CACHE_BAD_MAX_SIZE", () => {
    for (const bad of ["", "G", "-1G", "10X", "1e9", "10 GBs", "99999999999P"]) {
      expect(errorOf(() => parseByteSize(bad)).code).toBe("CACHE_BAD_MAX_SIZE");
    }
  });
});
