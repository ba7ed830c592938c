/**
 * Partial installs with the built `quilt`: `--glob` (repeatable), `--filter EXPR` on entry
 * metadata, key and size, and both with `--path`; exactly the selected files are installed.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PackageBuilder, openRegistry, parsePyJson } from "../src/index.js";
import { HashPool } from "../src/hash/index.js";
import { expectJsonError, expectOk, runQuilt, type RunResult } from "./helpers/cli.js";
import { filesUnder, writeTree } from "./helpers/tree.js";

/** Logical key → [content, user metadata]. */
const ENTRIES: Record<string, [string, string]> = {
  "train/a.csv": ["1,2\n", '{"split": "train", "n": 1.0}'],
  "train/empty.csv": ["", '{"split": "train", "n": 2.0}'],
  "train/img/x.jpg": ["jpg", '{"split": "train", "n": 3.5}'],
  "val/b.csv": ["3,4\n", '{"split": "val", "n": 0.5}'],
  "val/deep/c.csv": ["5\n", '{"split": "val", "n": 4.0}'],
  "README.md": ["# readme\n", "{}"],
};

let root = "";
let reg = "";
let pool: HashPool | undefined;
let run = 0;

/** `quilt install u/split --dest <fresh> ARGS --json`: the run and the installed files. */
async function install(...args: string[]): Promise<{ result: RunResult; files: string[]; dest: string }> {
  const dest = join(root, `dest-${run++}`);
  const result = await runQuilt(["install", "u/split", "--dest", dest, ...args, "--registry", reg, "--json"]);
  const files = result.code === 0 ? filesUnder(dest).filter((f) => !f.startsWith(".quiltkit/")) : [];
  return { result, files, dest };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "quiltkit-partial-"));
  reg = join(root, "registry");
  const data = join(root, "data");
  writeTree(data, Object.fromEntries(Object.entries(ENTRIES).map(([key, [content]]) => [key, content])));
  pool = new HashPool({ size: 1 });
  const builder = new PackageBuilder({ name: "u/split", pool });
  try {
    for (const [key, [, meta]] of Object.entries(ENTRIES)) await builder.set(key, join(data, ...key.split("/")), parsePyJson(meta));
    await builder.push({ registry: await openRegistry(reg), name: "u/split", message: "splits" });
  } finally {
    await builder.dispose();
  }
});

afterAll(async () => {
  await pool?.close();
  if (root !== "") rmSync(root, { recursive: true, force: true });
});

describe("quilt install --filter / --glob", () => {
  it("--filter on metadata and size", async () => {
    const { result, files } = await install("--filter", 'meta.split == "train" and size > 0');
    expectOk(result);
    expect(files).toEqual(["train/a.csv", "train/img/x.jpg"]);
    expect(result.json()).toMatchObject({ name: "u/split", files: 2 });
  });

  it("--glob ** matches any depth, including the top", async () => {
    expect((await install("--glob", "**/*.csv")).files).toEqual(["train/a.csv", "train/empty.csv", "val/b.csv", "val/deep/c.csv"]);
    expect((await install("--glob", "*.md", "--glob", "train/*/*.jpg")).files).toEqual(["README.md", "train/img/x.jpg"]);
  });

  it("--glob, --filter and --path together: all must hold", async () => {
    const { result, files } = await install("--path", "val/", "--glob", "**/*.csv", "--filter", "meta.n >= 1");
    expectOk(result);
    // --path installs the folder's contents at dest; globs still match the whole logical key.
    expect(files).toEqual(["deep/c.csv"]);
    expect((await install("--path", "val/", "--glob", "val/*.csv")).files).toEqual(["b.csv"]);
    expect((await install("--path", "train", "--filter", 'meta.split in ["val"]')).files).toEqual([]);
  });

  it("verify --path checks a folder installed with --path against that folder of the package only", async () => {
    const { result, dest } = await install("--path", "val/");
    expectOk(result);
    expectOk(await runQuilt(["verify", "u/split", dest, "--path", "val/", "--registry", reg]));
    // Without --path the rest of the package is missing: exit 1.
    expectOk(await runQuilt(["verify", "u/split", dest, "--registry", reg]), 1);
    const [first] = filesUnder(dest).filter((f) => !f.startsWith(".quiltkit/"));
    if (first === undefined) throw new Error("nothing installed under val/");
    writeFileSync(join(dest, first), "changed");
    const changed = expectOk(await runQuilt(["verify", "u/split", dest, "--path", "val/", "--registry", reg, "--json"]), 1);
    expect(changed.stdout).toContain(first);
  });

  it("copy takes the same options", async () => {
    const to = join(root, "copy");
    expectOk(await runQuilt(["copy", "u/split", "--to", to, "--filter", "not endswith(key, '.csv')", "--registry", reg]));
    expect(filesUnder(to).filter((f) => !f.startsWith(".quiltkit/"))).toEqual(["README.md", "train/img/x.jpg"]);
  });

  it("a bad filter or glob is a usage error (exit 2) before anything is written", async () => {
    const bad = await install("--filter", 'meta.split = "train"');
    expectJsonError(bad.result, 2, "FILTER_INVALID");
    expect(bad.result.error().message).toContain("column 12");
    expect(bad.result.error().hint).toContain("meta.split");
    expectJsonError((await install("--glob", "train/[a")).result, 2, "GLOB_INVALID");
  });
});
