/**
 * The built `quilt` with its object cache, against a real S3 server seen through a proxy that logs
 * every request: `quilt cat` fetches a file once and then reads it from the cache (no GET of the
 * data key), a damaged cached file is fetched again, `install --link hardlink` twice reads S3 once,
 * and `quilt cache ls|size|prune|clear` report and empty the cache.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { expectJsonError, expectOk, runQuilt, type RunResult } from "./helpers/cli.js";
import { startFaultProxy, type FaultProxy } from "./helpers/fault-proxy.js";
import { writeTree } from "./helpers/tree.js";
import { awsEnvOf } from "./helpers/s3-server.js";

const s3 = inject("s3");
const name = `cache-cli-${randomBytes(4).toString("hex")}/data`;
const registry = `s3://${s3.bucket}`;
const FILES = { "README.md": "# cached on the command line\n", "labels/a.json": '{"label": "cat"}', "labels/b.json": '{"label": "dog"}' };
let root = "";
let proxy: FaultProxy;
let env: Record<string, string> = {};

const quilt = (...args: string[]): Promise<RunResult> => runQuilt([...args, "--registry", registry], { env });
const cache = (...args: string[]): Promise<RunResult> => runQuilt(["cache", ...args], { env });

/** GETs of one data key through the proxy (path-style: /bucket/name/key?versionId=…). */
function getsOf(key: string): number {
  const path = `/${s3.bucket}/${name}/${key}`;
  return proxy.requestLog().filter((line) => line.startsWith(`GET ${path}?`) || line === `GET ${path}`).length;
}

interface CachedJson {
  type: string;
  hash: string;
  size: number;
  links: number;
  path: string;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "quiltkit-cache-cli-"));
  proxy = await startFaultProxy(s3.endpoint, { rate: 0 });
  env = {
    QUILT_HOME: join(root, "home"),
    ...awsEnvOf(s3, proxy.endpoint),
  };
  writeTree(join(root, "data"), FILES);
  expectOk(await runQuilt(["push", name, "--dir", join(root, "data"), "--registry", registry, "-m", "cached", "--json"], { env }));
}, 120_000);

afterAll(async () => {
  await proxy.close();
  rmSync(root, { recursive: true, force: true });
});

describe("quilt cat and install through the object cache", () => {
  it("cat fetches a file once, then reads it from the cache", async () => {
    expect(expectOk(await quilt("cat", name, "README.md")).stdout).toBe(FILES["README.md"]);
    expect(getsOf("README.md")).toBe(1);
    expect(expectOk(await quilt("cat", name, "README.md")).stdout).toBe(FILES["README.md"]);
    expect(getsOf("README.md")).toBe(1);
    const [entry] = expectOk(await quilt("ls", name, "--json")).lines<{ logicalKey: string; hash: { type: string; value: string } }>().filter((e) => e.logicalKey === "README.md");
    const listed = expectOk(await cache("ls", "--json")).lines<CachedJson>();
    expect(listed).toEqual([expect.objectContaining({ type: entry?.hash.type, hash: entry?.hash.value, size: FILES["README.md"].length, links: 1 })]);
  });

  it("a damaged cached file is never printed: cat fetches it again", async () => {
    const [object] = expectOk(await cache("ls", "--json")).lines<CachedJson>();
    const path = object?.path ?? "";
    chmodSync(path, 0o644);
    writeFileSync(path, "# damaged on the command line\n"); // same size
    const before = getsOf("README.md");
    expect(expectOk(await quilt("cat", name, "README.md")).stdout).toBe(FILES["README.md"]);
    expect(getsOf("README.md")).toBe(before + 1);
  });

  it("install --link hardlink twice reads S3 once; both installs share the cache's inodes, read-only", async () => {
    const [one, two] = [join(root, "one"), join(root, "two")];
    const first = expectOk(await quilt("install", name, "--dest", one, "--link", "hardlink"));
    expect(first.stdout).toContain("3 hard-linked (read-only)");
    if (process.getuid?.() === 0) expect(first.stderr).toContain("running as root");
    const second = expectOk(await quilt("install", name, "--dest", two, "--link", "hardlink", "--json")).json<{ cache: Record<string, number> }>();
    expect(second.cache).toEqual({ reflink: 0, hardlink: 3, copy: 0, fetched: 0 });
    for (const key of ["labels/a.json", "labels/b.json"]) expect(getsOf(key)).toBe(1);
    expect(statSync(join(one, "labels/a.json")).ino).toBe(statSync(join(two, "labels/a.json")).ino);
    expect(statSync(join(two, "labels/a.json")).mode & 0o222).toBe(0);
    const plain = expectOk(await quilt("install", name, "--dest", join(root, "three"), "--json")).json<{ cache: Record<string, number> }>();
    expect(plain.cache.hardlink).toBe(0);
    expect(statSync(join(root, "three", "labels/a.json")).ino).not.toBe(statSync(join(two, "labels/a.json")).ino);
  });

  it("--link takes only auto, reflink, hardlink or copy", async () => {
    const run = await runQuilt(["install", name, "--dest", join(root, "bad"), "--link", "symlink", "--registry", registry, "--json"], { env });
    expectJsonError(run, 2, "USAGE");
  });
});

describe("quilt cache", () => {
  it("size, prune --max-size and clear report and empty the cache", async () => {
    const dir = join(root, "home", "cache", "objects");
    expect(expectOk(await cache("size", "--json")).json()).toEqual({ dir, objects: 3, bytes: 61 });
    expect(expectOk(await cache("size")).stdout).toBe(`3 objects (61 B) in ${dir}\n`);
    const pruned = expectOk(await cache("prune", "--max-size", "40", "--json")).json<{ kept: { bytes: number } }>();
    expect(pruned.kept.bytes).toBeLessThanOrEqual(40);
    expectJsonError(await cache("prune", "--max-size", "ten", "--json"), 2, "CACHE_BAD_MAX_SIZE");
    expectJsonError(await cache("prune", "--json"), 2, "USAGE");
    expect(expectOk(await cache("clear")).stdout).toMatch(/^\d objects? \(\d+ B\) removed from /);
    expect(expectOk(await cache("size", "--json")).json()).toMatchObject({ objects: 0, bytes: 0 });
    expect(expectOk(await cache("ls")).stdout).toBe("");
  });

  it("lives in QUILT_CACHE_DIR when set", async () => {
    const elsewhere = join(root, "elsewhere");
    const run = await runQuilt(["cache", "size", "--json"], { env: { ...env, QUILT_CACHE_DIR: elsewhere } });
    expect(expectOk(run).json()).toEqual({ dir: elsewhere, objects: 0, bytes: 0 });
  });
});
