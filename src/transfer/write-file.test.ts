import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { childPath, tempNameFor } from "./write-file.js";

describe("tempNameFor", () => {
  it("gives a fresh `.<name>.quiltkit-<16 hex>.tmp` at every call", () => {
    const names = Array.from({ length: 1000 }, () => tempNameFor("data.csv"));
    for (const name of names) expect(name).toMatch(/^\.data\.csv\.quiltkit-[0-9a-f]{16}\.tmp$/);
    expect(new Set(names).size).toBe(names.length);
  });

  it("leaves a long name out, so the temp name stays within NAME_MAX", () => {
    expect(tempNameFor("x".repeat(200))).toMatch(/^\.quiltkit-[0-9a-f]{16}\.tmp$/);
  });
});

describe("childPath", () => {
  it("is path.join for a resolved folder and one segment, the root included", () => {
    for (const [dir, name] of [["/a/b", "c.txt"], ["/", "c"], ["/a/b/", "c"], ["/a", ".hidden"]] as const) {
      expect(childPath(dir, name)).toBe(join(dir, name));
    }
  });
});
