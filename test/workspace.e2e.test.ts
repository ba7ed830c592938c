/**
 * The seed's command-line transcript ("Command Line code samples that aren't realistic in the
 * near-term"), run with the built `quilt` in a workspace, against a local registry and against an
 * S3 registry on versitygw: init, add, status, build-manifest, push-data --local-files-only,
 * push-data, push-manifest -t v0, add, set, status, the local-files error, push-data,
 * push-manifest, status. Every printed state is checked, with temp names normalized to the
 * seed's `bucket` and `otherbucket`. The val2017/ source is an S3 prefix of another bucket in both.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createVersionedBucket, S3Storage } from "../src/storage/s3/index.js";
import { describeRun, expectJsonError, expectOk, runQuilt, type RunResult } from "./helpers/cli.js";
import { awsEnvOf, clientOptionsOf } from "./helpers/s3-server.js";
import { writeTree } from "./helpers/tree.js";

const s3 = inject("s3");
const env = awsEnvOf(s3);
const run = randomBytes(3).toString("hex");
const other = `qk-ws-other-${run}`;
const base = mkdtempSync(join(tmpdir(), "quiltkit-ws-e2e-"));
const topHashes = new Map<string, string[]>();

beforeAll(async () => {
  await createVersionedBucket(clientOptionsOf(s3), other);
  const bucket = new S3Storage({ bucket: other, ...clientOptionsOf(s3) });
  try {
    await bucket.write("abc/validation/v1.jpg", Buffer.from("validation one"));
    await bucket.write("abc/validation/deep/v2.jpg", Buffer.from("validation two"));
    await bucket.write("abc/validationX/not-under-the-prefix.jpg", Buffer.from("x"));
  } finally {
    bucket.destroy();
  }
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

interface Variant {
  readonly kind: "local" | "s3";
  /** Where the error says the data must go first. */
  readonly where: string;
}

const variants: Variant[] = [
  { kind: "local", where: "the registry" },
  { kind: "s3", where: "s3" },
];

const H = /[0-9a-f]{64}/;

describe("the seed's workspace transcript", () => {
  // About 25 runs of the CLI each: ~30 s on an idle machine, several times that on a loaded one.
  it.concurrent.each(variants)("runs against a $kind registry", { timeout: 300_000 }, async ({ kind, where }) => {
    const root = mkdtempSync(join(base, `${kind}-`));
    const ws = join(root, "ws");
    writeTree(ws, { "train2017/1.jpg": "one", "train2017/2.jpg": "two", "train2017/sub/3.jpg": "three", "replacement/1.jpg": "ONE, fixed", "notes.txt": "not added" });
    writeTree(join(root, "test2017"), { "t1.jpg": "test one" });
    const bucket = kind === "s3" ? `qk-ws-${kind}-${run}` : "bucket";
    if (kind === "s3") await createVersionedBucket(clientOptionsOf(s3), bucket);
    const registry = kind === "s3" ? `s3://${bucket}` : join(root, "bucket");
    const home = join(root, "home");
    const quilt = (...args: string[]): Promise<RunResult> => runQuilt(args, { cwd: ws, env: { ...env, QUILT_HOME: home } });
    // The seed's names: the registry is s3://bucket, the other bucket otherbucket.
    const normalize = (text: string): string => {
      let out = text.replaceAll(other, "otherbucket").replaceAll(bucket, "bucket");
      if (kind === "local") {
        out = out.replaceAll(`file://${registry}`, "s3://bucket").replaceAll("../bucket/", "s3://bucket/");
        // A local folder keeps no object versions: new data for a key already pushed goes beside it.
        out = out.replace(/\.versions\/[0-9a-f]{16}\//g, "");
      }
      return out;
    };
    const step = async (what: string, args: string[], expected: string | RegExp, code = 0): Promise<RunResult> => {
      const result = await quilt(...args);
      expect(result.code, `${what}: ${describeRun(result)}`).toBe(code);
      const stdout = normalize(result.stdout);
      if (typeof expected === "string") expect(stdout, `${what}: ${describeRun(result)}`).toBe(expected);
      else expect(stdout, `${what}: ${describeRun(result)}`).toMatch(expected);
      return result;
    };
    const data = (lines: string[]): string => ["", "Data:", ...lines].join("\n");

    await step("init", ["init", "data/dataset", "--registry", registry], "New PackageBuilder bucket/data/dataset created\n");
    await step("add train2017/", ["add", "train2017/"], "Adding contents of directory ./train2017/ to bucket/data/dataset as train2017/...\n");
    await step("add val2017/", ["add", "val2017/", `s3://${other}/abc/validation/`], "Adding objects in s3://otherbucket/abc/validation/ to bucket/data/dataset as val2017/...\n");
    const twoSources = ["  train2017/    ->  ./train2017/", "  val2017/      ->  s3://otherbucket/abc/validation/"];
    await step("status, pre-manifest", ["status"], `PackageBuilder: bucket/data/dataset (pre-manifest)\n${data(twoSources)}\n`);

    const built = await step("build-manifest", ["build-manifest"], /^Building manifest\.\.\.\nTophash: [0-9a-f]{64}\n$/);
    const v0 = H.exec(built.stdout)?.[0] as string;
    await step("status, built", ["status"], `PackageBuilder: bucket/data/dataset (${v0.slice(0, 9)})\n${data(twoSources)}\n`);

    await step("push-data --local-files-only", ["push-data", "--prefix=data/dataset/v0/", "--local-files-only"], "Pushing ./train2017/ to s3://bucket/data/dataset/v0/train2017/...\n");
    await step(
      "status after the local files",
      ["status"],
      `PackageBuilder: bucket/data/dataset (${v0.slice(0, 9)})\n${data(["  train2017/    ->  s3://bucket/data/dataset/v0/train2017/", "  val2017/      ->  s3://otherbucket/abc/validation/"])}\n`,
    );
    await step(
      "push-data",
      ["push-data", "--prefix=data/dataset/v0/"],
      [
        "Copying s3://bucket/data/dataset/v0/train2017/ to s3://bucket/data/dataset/v0/train2017/... (data exists, skipping)",
        "Copying s3://otherbucket/abc/validation/ to s3://bucket/data/dataset/v0/val2017/...",
        "",
      ].join("\n"),
    );
    const pushedSources = ["  train2017/    ->  s3://bucket/data/dataset/v0/train2017/", "  val2017/      ->  s3://bucket/data/dataset/v0/val2017/"];
    await step("status after push-data", ["status"], `PackageBuilder: bucket/data/dataset (${v0.slice(0, 9)})\n${data(pushedSources)}\n`);

    const pushed = await step(
      "push-manifest -t v0",
      ["push-manifest", "-t", "v0"],
      new RegExp(`^Building manifest\\.\\.\\.\\nTophash: ${v0}\\nPushing manifest to s3://bucket/\\.quilt/packages/${v0}\\nLinking data/dataset:v0 to manifest ${v0.slice(0, 7)}[0-9a-f]*\\n$`),
    );
    expect(pushed.stderr).toBe("");
    await step("status, pushed with a tag", ["status"], `Package: bucket/data/dataset:v0 (${v0.slice(0, 9)})\nData matches manifest\n`);
    const json = (await step("status --json", ["status", "--json"], /^\{.*\}\n$/)).json<Record<string, unknown>>();
    expect(json).toMatchObject({ kind: "workspace", name: "data/dataset", registry, topHash: v0, tag: "v0", state: "pushed", entries: 5 });

    await step("add test2017/", ["add", "test2017/", "../test2017/"], "Adding contents of directory ../test2017/ to bucket/data/dataset as test2017/...\n");
    await step("status, pre-manifest again", ["status"], `PackageBuilder: bucket/data/dataset (pre-manifest)\n${data([...pushedSources, "  test2017/     ->  ../test2017/"])}\n`);
    await step("set", ["set", "train2017/1.jpg", "./replacement/1.jpg"], "Setting logical key train2017/1.jpg as ./replacement/1.jpg\n");
    await step(
      "status with an override",
      ["status"],
      `PackageBuilder: bucket/data/dataset (pre-manifest)\n${data([
        "  train2017/         ->  s3://bucket/data/dataset/v0/train2017/",
        "  train2017/1.jpg    ->  ./replacement/1.jpg",
        "  val2017/           ->  s3://bucket/data/dataset/v0/val2017/",
        "  test2017/          ->  ../test2017/",
      ])}\n`,
    );

    const refused = await step("push-manifest with local files", ["push-manifest", "-t", "v0"], "", 2);
    expect(refused.stderr.split("\n")[0]).toBe(
      `Error: Manifest contains pointers to local files. Use push-data to first push those files to ${where} or --force-allow-local-files if this is intentional`,
    );

    await step(
      "push-data of the rest",
      ["push-data", "--prefix=data/dataset/v0/"],
      [
        "Copying s3://bucket/data/dataset/v0/train2017/ to s3://bucket/data/dataset/v0/train2017/... (data exists, skipping)",
        "Pushing ./replacement/1.jpg to s3://bucket/data/dataset/v0/train2017/1.jpg",
        "Copying s3://bucket/data/dataset/v0/val2017/ to s3://bucket/data/dataset/v0/val2017/... (data exists, skipping)",
        "Pushing ../test2017/ to s3://bucket/data/dataset/v0/test2017/...",
        "",
      ].join("\n"),
    );
    const second = await step("push-manifest", ["push-manifest"], /^Building manifest\.\.\.\nTophash: [0-9a-f]{64}\nPushing manifest to s3:\/\/bucket\/\.quilt\/packages\/[0-9a-f]{64}\n$/);
    const v1 = H.exec(second.stdout)?.[0] as string;
    expect(v1).not.toBe(v0);
    await step("status, pushed without a tag", ["status"], `Package: bucket/data/dataset@${v1.slice(0, 9)}\nData matches manifest\n`);
    topHashes.set(kind, [v0, v1]);

    // The registry holds both revisions, each with its own data.
    const reg = ["--registry", registry];
    expect(expectOk(await quilt("cat", "data/dataset:v0", "train2017/1.jpg", ...reg)).stdout).toBe("one");
    expect(expectOk(await quilt("cat", `data/dataset@${v1}`, "train2017/1.jpg", ...reg)).stdout).toBe("ONE, fixed");
    expect(expectOk(await quilt("cat", "data/dataset", "val2017/deep/v2.jpg", ...reg)).stdout).toBe("validation two");

    // The two extras below split between the variants: each costs a few commands, and the machine may be slow.
    if (kind === "s3") await packagesAsSources();
    else await installedStatus();

    /** Packages as sources: another workspace takes v0 under base/ and the newest revision under latest/. */
    async function packagesAsSources(): Promise<void> {
      const ws2 = join(root, "ws2");
      mkdirSync(ws2);
      const derived = (...args: string[]): Promise<RunResult> => runQuilt(args, { cwd: ws2, env: { ...env, QUILT_HOME: home } });
      expectOk(await derived("init", "data/derived", "--registry", registry));
      const handle = (hash: string): string => (kind === "s3" ? `s3://bucket/data/dataset@${hash.slice(0, 10)}` : `data/dataset@${hash.slice(0, 10)}`);
      const added = expectOk(await derived("add", "base/", "data/dataset:v0"));
      expect(normalize(added.stdout)).toBe(`Adding package ${handle(v0)} to bucket/data/derived as base/...\n`);
      const newest = kind === "s3" ? `s3://${bucket}/data/dataset@${v1.slice(0, 8)}` : `data/dataset@${v1.slice(0, 8)}`;
      expectOk(await derived("add", "latest/", newest));
      expectOk(await derived("add", "base/", "data/dataset:v0"), 4); // every key collides
      expect(normalize(expectOk(await derived("status")).stdout)).toBe(
        `PackageBuilder: bucket/data/derived (pre-manifest)\n\nData:\n  base/      ->  ${handle(v0)}\n  latest/    ->  ${handle(v1)}\n`,
      );
      expectOk(await derived("push", "-t", "v1", "--json"));
      expect(expectOk(await derived("cat", "data/derived:v1", "latest/train2017/1.jpg", ...reg)).stdout).toBe("ONE, fixed");
      expect(expectOk(await derived("cat", "data/derived:v1", "base/train2017/1.jpg", ...reg)).stdout).toBe("one");
    }

    /** Part 2 of the issue: `quilt status` in a folder made by `quilt install`. */
    async function installedStatus(): Promise<void> {
      const installed = join(root, "installed");
      expectOk(await quilt("install", "data/dataset:v0", "--dest", installed, ...reg));
      const inInstalled = (...args: string[]): Promise<RunResult> => runQuilt(args, { cwd: installed, env: { ...env, QUILT_HOME: home } });
      const clean = expectOk(await inInstalled("status"));
      expect(normalize(clean.stdout)).toBe(`Package: bucket/data/dataset:v0 (${v0.slice(0, 9)})\nData matches manifest\n`);
      writeFileSync(join(installed, "train2017", "2.jpg"), "changed");
      writeFileSync(join(installed, "new.txt"), "new");
      const changed = expectOk(await inInstalled("status"), 1);
      expect(normalize(changed.stdout)).toBe(`Package: bucket/data/dataset:v0 (${v0.slice(0, 9)})\nAdded (1):\n  new.txt\nModified (1):\n  train2017/2.jpg\n`);
      expect(expectOk(await inInstalled("status", "--json"), 1).json()).toMatchObject({ kind: "installed", topHash: v0, tag: "v0", state: "changed", added: ["new.txt"], modified: ["train2017/2.jpg"], deleted: [] });
    }
  });

  it.concurrent("refuses colliding adds and moves (seed message) unless --overwrite; rm, set-meta, mv; clear errors outside a workspace", async () => {
    const ws = join(base, "cmds");
    const quilt = (...args: string[]): Promise<RunResult> => runQuilt(args, { cwd: ws, env: { ...env, QUILT_HOME: join(base, "cmds-home") } });
    writeTree(ws, { "a/1.txt": "1", "a/2.txt": "2", "b/1.txt": "other 1", "c.txt": "c" });
    expectOk(await quilt("init", `s3://${s3.bucket}/ws-${run}/cmds`));
    expectOk(await quilt("add", "a/"));
    expectOk(await quilt("add", "b/"));
    expectJsonError(await quilt("add", "a/", "b/", "--json"), 4, "LOGICAL_KEY_COLLISION");
    const refused = await quilt("add", "a/", "b/");
    expect(refused.stderr).toMatch(/^Error: Adding .*\/b would replace 'a\/1\.txt', which the package already has\.\nHint: .*--overwrite/);
    const collision = await quilt("mv", "b/", "a/");
    expect(collision.code).toBe(4);
    expect(collision.stderr.split("\n")[0]).toBe(
      'Error: Collision detected. moving "b/1.txt" to "a/1.txt", but "a/1.txt" already exists. Use --overwrite if you would like to replace "a/1.txt" with "b/1.txt".',
    );
    expect(expectOk(await quilt("mv", "b/", "a/", "--overwrite")).stdout).toBe("Moved b/ to a/\n");
    expectOk(await quilt("set-meta", ".", '{"f": 1.0}'));
    expectOk(await quilt("set-meta", "a/", '{"split": "train"}'));
    expectJsonError(await quilt("set-meta", "nope/", "{}", "--json"), 3, "ENTRY_NOT_FOUND");
    expectOk(await quilt("add", "c.txt", "--json"));
    expect(expectOk(await quilt("mv", "c.txt", "a/")).stdout).toBe("Moved c.txt to a/c.txt\n");
    expect(expectOk(await quilt("rm", "a/2.txt")).stdout).toBe("Removed a/2.txt (1 entry)\n");
    expectJsonError(await quilt("rm", "a/2.txt", "--json"), 3, "ENTRY_NOT_FOUND");
    const status = expectOk(await quilt("status", "--json")).json<{ entries: number; sources: { logical: string }[] }>();
    expect(status.entries).toBe(2);
    // a/ now holds what came from ./a/ and from ./b/: both lines stay.
    expect(status.sources.map((s) => s.logical)).toEqual(["a/", "a/", "a/c.txt"]);
    // A file where a folder is: refused when it is added, nothing changes.
    writeFileSync(join(ws, "x"), "x");
    expectOk(await quilt("add", "a/c.txt/deeper", "x"), 4);
    expect(readFileSync(join(ws, ".quiltkit", "workspace.json"), "utf8")).toContain('"entries": 2');

    expectJsonError(await runQuilt(["status", "--json"], { cwd: base, env: { QUILT_HOME: join(base, "cmds-home") } }), 3, "NOT_A_WORKSPACE");
    const state = join(ws, ".quiltkit", "workspace.json");
    const saved = readFileSync(state, "utf8");
    writeFileSync(state, saved.replace('"version": 1', '"version": 99'));
    try {
      expectJsonError(await quilt("status", "--json"), 2, "STATE_VERSION");
    } finally {
      writeFileSync(state, saved);
    }
  });
});

describe("the same content on both registries", () => {
  it("has the same top hashes", () => {
    expect(topHashes.get("local")).toHaveLength(2);
    expect(topHashes.get("s3")).toEqual(topHashes.get("local"));
  });
});
