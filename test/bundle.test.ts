/**
 * The `quilt` bin is a bundle (scripts/bundle-cli.mjs): modules that find a file from their own URL
 * now run from dist/bin/. Every such URL in the bundle must name a file that is there, or a worker
 * (hashing, the top hash's line workers) would be missing from the command alone.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/shared.js";

const BIN = join(ROOT, "dist", "bin");

describe("the quilt bundle", () => {
  it("finds every file it names relative to itself (the worker modules)", () => {
    const named: string[] = [];
    for (const file of readdirSync(BIN).filter((f) => f.endsWith(".js"))) {
      const text = readFileSync(join(BIN, file), "utf8");
      for (const m of text.matchAll(/new URL\("([^"]+)", import\.meta\.url\)/g)) named.push(m[1] as string);
    }
    expect(named.sort()).toEqual(["../hash/worker.js", "../manifest/line-worker.js"]);
    for (const rel of named) expect(existsSync(new URL(rel, pathToFileURL(join(BIN, "quilt.js"))))).toBe(true);
  });

  it("is the package's bin, runnable as it is", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: { quilt: string } };
    expect(pkg.bin.quilt).toBe("dist/bin/quilt.js");
    expect(readFileSync(join(BIN, "quilt.js"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });
});
