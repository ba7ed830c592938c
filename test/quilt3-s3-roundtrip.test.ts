/**
 * quilt3 8.0.0 and Quiltkit on the same S3 registry (versitygw, started by test/global-s3.ts), in
 * both directions:
 *
 * 1. quilt3 pushes; we browse (by name, `s3://` handle, `quilt+s3://` handle with a hash prefix),
 *    list folders, read files, install (whole and a sub-folder) and verify, with the library and
 *    once with the CLI;
 * 2. we push (library and CLI); quilt3 browses, installs, verifies and lists;
 * 3. quilt3 pushes a revision on top of ours, and we push on top of quilt3's;
 * 4. we push again what quilt3 pushed: the data is there already, nothing is copied.
 *
 * Same package means: same top hash, same header metadata (Python values: 1.0 stays a float, big
 * integers exact, key order kept, compared as the text Python's json.dumps writes), same entries
 * (logical keys in order, sizes, hashes, physical keys with their versionIds, entry metadata).
 *
 * The input: three levels of folders, unicode and `%` `#` `+` space in names, an empty file, one
 * file of exactly 8 MiB and one of 8 MiB + 1 byte (quilt3's multipart threshold), metadata full of
 * floats, big ints, unicode and nesting on the package and on some entries.
 *
 * quilt3 runs through test/helpers/quilt3_driver.py; its `batch` command runs several steps in one
 * process (each process costs about 2 s). Without a usable quilt3 these tests are skipped locally
 * (with a warning naming the script) and FAIL when `CI` is set, as in quilt3-s3-smoke.test.ts.
 * The CLI tests need dist/ (`npm run build`).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from "vitest";
import { HashPool } from "../src/hash/index.js";
import { dumpsCompact, parsePyJson, pyEquals, type PyObject, type PyValue } from "../src/json/index.js";
import type { ManifestEntry } from "../src/manifest/index.js";
import { Package, PackageBuilder, openRegistry } from "../src/package/index.js";
import type { Registry } from "../src/registry/registry.js";
import { Remotes } from "../src/storage/index.js";
import { describeRun, runQuilt } from "./helpers/cli.js";
import { collect } from "./helpers/expect.js";
import {
  needQuilt3 as needQuilt3For,
  QUILT3_VERSION,
  runQuilt3Driver,
  type Quilt3DriverEntry,
  type Quilt3DriverInstall,
  type Quilt3DriverList,
  type Quilt3DriverPackage,
  type Quilt3DriverVerify,
} from "./helpers/quilt3.js";
import { clientOptionsOf } from "./helpers/s3-server.js";
import { filesUnder, writeTree } from "./helpers/tree.js";
import { deterministicBytes } from "./helpers/bytes.js";

const s3 = inject("s3");
const REGISTRY = `s3://${s3.bucket}`;
/** A fresh namespace per run: the bucket is shared by the test files and by runs of this one. */
const NS = `q3rt${randomBytes(4).toString("hex")}`;
/** Pushed by quilt3 (1, 4). */
const NAME_Q = `${NS}/from-quilt3`;
/** Pushed by our library (2), then by quilt3 on top (3), then by us on top of that (3). */
const NAME_L = `${NS}/from-library`;
/** Pushed by our CLI (2). */
const NAME_C = `${NS}/from-cli`;
/** Pushed by our library with quilt3's exact content and message, so quilt3's top hash (the last test). */
const NAME_D = `${NS}/same-top-hash`;

const MIB = 1024 * 1024;
const OVER_8MIB = "big/over-8mib.bin";
const EXACTLY_8MIB = "big/exactly-8mib.bin";

const FILES: Record<string, string | Buffer> = {
  "README.md": "# quilt3 ⇄ quiltkit round trip\n",
  "a/top.json": '{"k": 1}\n',
  "a/b/mid.txt": "middle\n",
  "a/b/c/deep.csv": "x,y\n1,2.5\n",
  "données/été 😀.csv": "é\n",
  "odd/50% off #1 +x.txt": "sale\n",
  "odd/space name.txt": " \n",
  "empty.txt": "",
  [OVER_8MIB]: deterministicBytes(8 * MIB + 1, "rt-over"),
  [EXACTLY_8MIB]: deterministicBytes(8 * MIB, "rt-exact"),
};
const KEYS = Object.keys(FILES).sort();
const FILE_COUNT = KEYS.length;

/** Package metadata as Python's json module reads it (key "10" first in a JS object, not here). */
const META = String.raw`{"version": 1.0, "huge": 1e100, "negzero": -0.0, "tenth": 0.1, "big": 1180591620717411303424, "negbig": -1180591620717411303425, "mixed": [1, 1.0, -0.0, 1e-07, 2.5e-300, 1.7976931348623157e308, 123456789012345678901234567890], "text": "Grüße 😀 日本 \"q\" back\\slash tab\t", "10": "int-like key", "nested": {"z": {"y": [[], {}, null, true, false]}, "a": "é", "deeper": {"l": [{"f": 2.0}, [0.5, [1e-300]]]}}}`;
/** Per-entry metadata (a JSON text, so that 1.0 reaches quilt3 as a float). */
const ENTRY_META = String.raw`{"a/b/c/deep.csv": {"rows": 1, "ratio": 1.0, "neg": -0.0, "tiny": 1e-300, "big": 1180591620717411303424}, "données/été 😀.csv": {"label": "été 😀", "nested": {"list": [0.1, 0.2, 0.30000000000000004], "b": {}}}, "big/over-8mib.bin": {"parts": [8388608, 1], "ok": true, "none": null, "f": 8388609.0}}`;
const MESSAGE = "round trip: pushed by quilt3";
const MESSAGE_LIB = "round trip: pushed by the quiltkit library";
const MESSAGE_CLI = "round trip: pushed by the quilt CLI";

let work = "";
let src = "";
let remotes: Remotes | undefined;
/** One hash worker pool for every verify and install of the file (not one per call). */
let pool: HashPool | undefined;
let registryPromise: Promise<Registry> | undefined;
const opened: Package[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "quiltkit-q3-roundtrip-"));
  src = join(work, "src");
  writeTree(src, FILES);
  writeFileSync(join(work, "entry-meta.json"), ENTRY_META);
  remotes = new Remotes(clientOptionsOf(s3));
  pool = new HashPool({ size: 2 });
});

afterAll(async () => {
  for (const pkg of opened) await pkg.close();
  remotes?.close();
  await pool?.close();
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

const needQuilt3 = (ctx: TestContext): void => needQuilt3For(ctx, "quilt3-s3-roundtrip");

function theRemotes(): Remotes {
  if (remotes === undefined) throw new Error("beforeAll did not run");
  return remotes;
}

function theRegistry(): Promise<Registry> {
  registryPromise ??= openRegistry(REGISTRY, { remotes: theRemotes() });
  return registryPromise;
}

/** Package.browse with our remotes; closed after the run. */
async function browse(handle: string, options: { hash?: string } = {}): Promise<Package> {
  const pkg = await Package.browse(handle, { remotes: theRemotes(), registry: REGISTRY, ...(pool === undefined ? {} : { pool }), ...options });
  opened.push(pkg);
  return pkg;
}

/** Results of earlier tests that later ones build on; each names the test that sets it. */
const state: {
  q3Push?: Quilt3DriverPackage;
  q3PathInstall?: Quilt3DriverInstall;
  libPushTopHash?: string;
  cliPushTopHash?: string;
  q3Amend?: Quilt3DriverPackage & { parent: string };
} = {};

function need<K extends keyof typeof state>(key: K, by: string): NonNullable<(typeof state)[K]> {
  const value = state[key];
  if (value === undefined) throw new Error(`${by} (an earlier test) failed; nothing to build on`);
  return value;
}

/** quilt3's `pkg.meta`: the header's user_meta, `{}` when absent. */
function userMeta(header: PyObject): PyValue {
  return header.has("user_meta") ? (header.get("user_meta") as PyValue) : new Map<string, PyValue>();
}

/** An entry as the driver prints it: so ours and quilt3's compare with one toEqual. */
function asDriverEntry(entry: ManifestEntry): Quilt3DriverEntry {
  return {
    logical_key: entry.logicalKey,
    physical_key: entry.physicalKey,
    size: entry.size,
    hash: { type: entry.hash.type, value: entry.hash.value },
    meta_json: dumpsCompact(entry.meta),
  };
}

/** Same top hash, message, metadata (exact Python values and text) and entries (in order). */
async function expectSamePackage(pkg: Package, q3: Quilt3DriverPackage): Promise<void> {
  expect(pkg.topHash).toBe(q3.top_hash);
  expect(pkg.message).toBe(q3.message);
  const meta = userMeta(pkg.header);
  expect(dumpsCompact(meta)).toBe(q3.meta_json);
  expect(pyEquals(meta, parsePyJson(q3.meta_json))).toBe(true);
  const ours = (await collect(pkg.entries())).map(asDriverEntry);
  expect(ours).toEqual(q3.entries);
}

/** `s3://bucket/<key>?versionId=<id>` → its key and version id. */
function splitPhysicalKey(pk: string): { bucket: string; key: string; versionId: string | null } {
  const url = new URL(pk);
  expect(url.protocol).toBe("s3:");
  return { bucket: url.hostname, key: decodeURIComponent(url.pathname.slice(1)), versionId: url.searchParams.get("versionId") };
}

/** Every entry in the package's own prefix of the registry's bucket, pinned to a version. */
function expectPushedUnder(entries: readonly Pick<Quilt3DriverEntry, "logical_key" | "physical_key">[], name: string): void {
  for (const entry of entries) {
    const physical = splitPhysicalKey(entry.physical_key);
    expect(physical.bucket, entry.physical_key).toBe(s3.bucket);
    expect(physical.key, entry.physical_key).toBe(`${name}/${entry.logical_key}`);
    expect(physical.versionId, `${entry.physical_key} has a versionId`).toMatch(/^\S+$/);
  }
}

/** Every file of `root` (but our `.quiltkit/` state) byte-identical to FILES under `prefix`. */
function expectInstalled(root: string, prefix = ""): void {
  const expected = KEYS.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  expect(filesUnder(root).filter((f) => !f.startsWith(".quiltkit/"))).toEqual(expected.sort());
  for (const rel of expected) {
    const want = FILES[prefix + rel] as string | Buffer;
    expect(readFileSync(join(root, ...rel.split("/"))).equals(Buffer.from(want)), rel).toBe(true);
  }
}

/** The driver's `batch`: several commands in one quilt3 process, answers in order. */
async function quilt3Batch(steps: readonly (readonly string[])[]): Promise<unknown[]> {
  const file = join(work, `steps-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(file, JSON.stringify(steps));
  const answer = await runQuilt3Driver<{ results: unknown[] }>(s3, ["batch", "--steps", file]);
  expect(answer.results).toHaveLength(steps.length);
  return answer.results;
}

/** Our builder holding FILES as quilt3's `set_dir('.', src, meta)` + `set_meta` per entry does. */
async function builderOfSource(name: string, withEntryMeta: boolean): Promise<PackageBuilder> {
  const builder = new PackageBuilder({ name, ...(pool === undefined ? {} : { pool }) });
  await builder.setDir("", src, { meta: parsePyJson(META) });
  if (withEntryMeta) {
    const perEntry = parsePyJson(ENTRY_META) as PyObject;
    for (const [key, meta] of perEntry) await builder.setMeta(key, meta);
  }
  return builder;
}

/** The environment of a `quilt` CLI run against the test server, nothing of the developer's AWS setup. */
function cliEnv(): Record<string, string | undefined> {
  return {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL: undefined,
    AWS_REGION: s3.region,
    AWS_DEFAULT_REGION: undefined,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: join(work, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(work, "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    QUILT_REGISTRY: undefined,
  };
}

/** Flip one byte of a file in place (same size). */
function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] ?? 0) ^ 0x01;
  writeFileSync(path, bytes);
}

describe(`quilt3 ${QUILT3_VERSION} pushes, Quiltkit reads (${s3.server})`, () => {
  it("quilt3 pushes the folder (and installs a sub-folder, for comparison)", async (ctx) => {
    needQuilt3(ctx);
    const [push, pathInstall] = (await quilt3Batch([
      ["push", "--registry", REGISTRY, "--name", NAME_Q, "--dir", src, "--meta", META, "--message", MESSAGE, "--entry-meta-file", join(work, "entry-meta.json")],
      ["install", "--registry", REGISTRY, "--name", NAME_Q, "--dest", join(work, "q3-path-install"), "--path", "a/b"],
    ])) as [Quilt3DriverPackage, Quilt3DriverInstall];
    state.q3Push = push;
    state.q3PathInstall = pathInstall;
    expect(push.top_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(push.message).toBe(MESSAGE);
    // Python's json.dumps of what json.loads read, and ours of what parsePyJson read: the same text.
    expect(push.meta_json).toBe(dumpsCompact(parsePyJson(META)));
    expect(push.entries.map((e) => e.logical_key).sort()).toEqual(KEYS);
    expectPushedUnder(push.entries, NAME_Q);
    const byKey = new Map(push.entries.map((e) => [e.logical_key, e]));
    for (const [key, meta] of parsePyJson(ENTRY_META) as PyObject) {
      expect(byKey.get(key)?.meta_json, key).toBe(dumpsCompact(new Map([["user_meta", meta]])));
    }
    expect(byKey.get(OVER_8MIB)?.size).toBe(8 * MIB + 1);
    expect(byKey.get(EXACTLY_8MIB)?.size).toBe(8 * MIB);
    expect(byKey.get("empty.txt")?.size).toBe(0);
    expect(pathInstall.top_hash).toBe(push.top_hash);
  });

  it("we browse it by name, by s3:// handle and by quilt+s3:// handle with a hash prefix: the same package", async (ctx) => {
    needQuilt3(ctx);
    const q3 = need("q3Push", "the quilt3 push");
    const byName = await browse(NAME_Q);
    const byS3 = await browse(`s3://${s3.bucket}/${NAME_Q}`);
    const byQuiltPlus = await browse(`quilt+s3://${s3.bucket}#package=${NAME_Q}@${q3.top_hash.slice(0, 10)}`);
    for (const pkg of [byName, byS3, byQuiltPlus]) await expectSamePackage(pkg, q3);
    // The header as quilt3 wrote it, and plain-JS metadata with the big integers exact.
    expect([...byName.header.keys()]).toEqual(["version", "user_meta", "message"]);
    const plain = byName.meta as Record<string, unknown>;
    expect(plain.big).toBe(2n ** 70n);
    expect(plain.negbig).toBe(-(2n ** 70n) - 1n);
    expect(Object.is(plain.negzero, -0)).toBe(true);
    expect(plain.huge).toBe(1e100);
    expect(await byName.getMetadata("a/b/c/deep.csv")).toEqual({ rows: 1, ratio: 1, neg: -0, tiny: 1e-300, big: 2n ** 70n });
    expect(await byName.stats()).toEqual({ entries: FILE_COUNT, bytes: KEYS.reduce((n, k) => n + Buffer.from(FILES[k] as string | Buffer).length, 0) });
  });

  it("ls of folders, and getBytes of files (unicode, URL-hostile, empty, over 8 MiB)", async (ctx) => {
    needQuilt3(ctx);
    const pkg = await browse(NAME_Q);
    const ls = async (folder: string): Promise<{ files: string[]; dirs: string[] }> => {
      const result = await pkg.ls(folder);
      return { files: result.files.map((e) => e.logicalKey), dirs: result.dirs };
    };
    expect(await ls("")).toEqual({ files: ["README.md", "empty.txt"], dirs: ["a/", "big/", "données/", "odd/"] });
    expect(await ls("a/")).toEqual({ files: ["a/top.json"], dirs: ["a/b/"] });
    expect(await ls("a/b")).toEqual({ files: ["a/b/mid.txt"], dirs: ["a/b/c/"] });
    expect(await ls("odd/")).toEqual({ files: ["odd/50% off #1 +x.txt", "odd/space name.txt"], dirs: [] });
    for (const key of ["odd/50% off #1 +x.txt", "données/été 😀.csv", "empty.txt", OVER_8MIB, EXACTLY_8MIB]) {
      const bytes = await pkg.getBytes(key);
      expect(bytes.equals(Buffer.from(FILES[key] as string | Buffer)), key).toBe(true);
    }
  });

  it("we install it whole and one sub-folder (as quilt3 does); verify passes, then fails after one byte changes", async (ctx) => {
    needQuilt3(ctx);
    const q3Path = need("q3PathInstall", "the quilt3 push");
    const pkg = await browse(`quilt+s3://${s3.bucket}#package=${NAME_Q}@${need("q3Push", "the quilt3 push").top_hash.slice(0, 8)}`);
    const whole = join(work, "installed-q");
    const result = await pkg.install(whole);
    expect(result.files).toBe(FILE_COUNT);
    expectInstalled(whole);
    const clean = await pkg.verify(whole);
    expect(clean).toMatchObject({ added: [], modified: [], deleted: [], matches: true });

    // The last byte of the big file is its own 8 MiB chunk; then one byte in the middle of the other.
    flipByte(join(whole, ...OVER_8MIB.split("/")), 8 * MIB);
    expect(await pkg.verify(whole)).toMatchObject({ added: [], modified: [OVER_8MIB], deleted: [], matches: false });
    flipByte(join(whole, ...EXACTLY_8MIB.split("/")), 4 * MIB);
    expect(await pkg.verify(whole)).toMatchObject({ added: [], modified: [EXACTLY_8MIB, OVER_8MIB], deleted: [], matches: false });

    const sub = join(work, "installed-q-path");
    await pkg.install(sub, { path: "a/b" });
    expectInstalled(sub, "a/b/");
    expect(filesUnder(sub).filter((f) => !f.startsWith(".quiltkit/"))).toEqual(q3Path.files);
  });

  it("the CLI: quilt install quilt+s3://…@prefix&path=…, and quilt ls --json", async (ctx) => {
    needQuilt3(ctx);
    const q3 = need("q3Push", "the quilt3 push");
    const env = cliEnv();
    const dest = join(work, "cli-install");
    const handle = `quilt+s3://${s3.bucket}#package=${NAME_Q}@${q3.top_hash.slice(0, 12)}&path=a/b/`;
    const install = await runQuilt(["install", handle, "--dest", dest, "--json"], { env });
    expect(install.code, describeRun(install)).toBe(0);
    expect(install.json()).toMatchObject({ name: NAME_Q, topHash: q3.top_hash, dest, files: 2, skipped: 0 });
    expectInstalled(dest, "a/b/");
    expect(filesUnder(dest).filter((f) => !f.startsWith(".quiltkit/"))).toEqual(need("q3PathInstall", "the quilt3 push").files);

    const ls = await runQuilt(["ls", `s3://${s3.bucket}/${NAME_Q}`, "a/", "--json"], { env });
    expect(ls.code, describeRun(ls)).toBe(0);
    const lines = ls.stdout.split("\n").filter((l) => l !== "");
    expect(lines[0]).toBe('{"logicalKey":"a/b/","kind":"dir"}');
    expect(lines).toHaveLength(2);
    // The entry line, read with Python's number semantics, is quilt3's entry.
    const byKey = new Map(q3.entries.map((e) => [e.logical_key, e]));
    const entryLine = (line: string): Quilt3DriverEntry => {
      const value = parsePyJson(line) as PyObject;
      const hash = value.get("hash") as PyObject;
      return {
        logical_key: value.get("logicalKey") as string,
        physical_key: value.get("physicalKey") as string,
        size: Number(value.get("size")),
        hash: { type: hash.get("type") as string, value: hash.get("value") as string },
        meta_json: dumpsCompact(value.get("meta") ?? null),
      };
    };
    expect(entryLine(lines[1] ?? "")).toEqual(byKey.get("a/top.json"));

    // Recursive, the whole package: every entry as quilt3 has it, in quilt3's walk order.
    const all = await runQuilt(["ls", `quilt+s3://${s3.bucket}#package=${NAME_Q}`, "-r", "--json"], { env });
    expect(all.code, describeRun(all)).toBe(0);
    expect(all.stdout.split("\n").filter((l) => l !== "").map(entryLine)).toEqual(q3.entries);
  });
});

describe(`Quiltkit pushes, quilt3 ${QUILT3_VERSION} reads (${s3.server})`, () => {
  it("the library pushes the same folder (its own message): every file uploaded, quilt3's entries but the physical keys", async (ctx) => {
    needQuilt3(ctx);
    const q3 = need("q3Push", "the quilt3 push");
    const registry = await theRegistry();
    const builder = await builderOfSource(NAME_L, true);
    try {
      // Another message than quilt3's, so another top hash: this revision's manifest is ours.
      const pushed = await builder.push({ registry, name: NAME_L, message: MESSAGE_LIB });
      expect(pushed.data).toMatchObject({ copied: FILE_COUNT, exists: 0, referenced: 0 });
      expect(pushed.topHash).not.toBe(q3.top_hash);
      state.libPushTopHash = pushed.topHash;
    } finally {
      await builder.dispose();
    }
    const pkg = await browse(NAME_L);
    const entries = (await collect(pkg.entries())).map(asDriverEntry);
    expectPushedUnder(entries, NAME_L);
    // Everything but the physical keys is quilt3's.
    const strip = (e: Quilt3DriverEntry): Omit<Quilt3DriverEntry, "physical_key"> => ({ logical_key: e.logical_key, size: e.size, hash: e.hash, meta_json: e.meta_json });
    expect(entries.map(strip)).toEqual(q3.entries.map(strip));
  });

  it("the CLI pushes it: quilt push ns/name --dir D --registry s3://bucket -m msg --meta JSON", async (ctx) => {
    needQuilt3(ctx);
    // What the top hash must be: the same folder and metadata, no entry metadata, this message.
    const expected = await builderOfSource(NAME_C, false);
    let expectedTopHash: string;
    try {
      expectedTopHash = (await expected.build({ message: MESSAGE_CLI })).topHash;
    } finally {
      await expected.dispose();
    }
    const push = await runQuilt(["push", NAME_C, "--dir", src, "--registry", REGISTRY, "-m", MESSAGE_CLI, "--meta", META, "--json"], { env: cliEnv() });
    expect(push.code, describeRun(push)).toBe(0);
    const out = push.json<{ topHash: string; name: string; data: { copied: number; exists: number; referenced: number } }>();
    expect(out.name).toBe(NAME_C);
    expect(out.topHash).toBe(expectedTopHash);
    expect(out.data).toMatchObject({ copied: FILE_COUNT, exists: 0, referenced: 0 });
    state.cliPushTopHash = out.topHash;
  });

  it("quilt3 browses both, installs and verifies the library's, verifies the CLI's against its folder, and lists them", async (ctx) => {
    needQuilt3(ctx);
    const libTop = need("libPushTopHash", "the library push");
    const cliTop = need("cliPushTopHash", "the CLI push");
    const destL = join(work, "q3-installed-lib");
    // One install of 16 MiB is enough; the CLI's package is verified against the folder it was pushed from.
    const [browseL, installL, verifyL, browseC, verifyC, list] = (await quilt3Batch([
      ["browse", "--registry", REGISTRY, "--name", NAME_L],
      ["install", "--registry", REGISTRY, "--name", NAME_L, "--dest", destL],
      ["verify", "--registry", REGISTRY, "--name", NAME_L, "--dir", destL],
      ["browse", "--registry", REGISTRY, "--name", NAME_C, "--top-hash", cliTop],
      ["verify", "--registry", REGISTRY, "--name", NAME_C, "--dir", src, "--top-hash", cliTop],
      ["list", "--registry", REGISTRY],
    ])) as [Quilt3DriverPackage, Quilt3DriverInstall, Quilt3DriverVerify, Quilt3DriverPackage, Quilt3DriverVerify, Quilt3DriverList];

    // quilt3 computes the top hash from our manifest's content: the hash we pushed it under.
    expect(browseL.top_hash).toBe(libTop);
    expect(browseL.message).toBe(MESSAGE_LIB);
    await expectSamePackage(await browse(NAME_L), browseL);
    expect(browseL.meta_json).toBe(dumpsCompact(parsePyJson(META)));
    await expectSamePackage(await browse(NAME_C), browseC);
    expect(browseC.message).toBe(MESSAGE_CLI);
    expect(browseC.meta_json).toBe(dumpsCompact(parsePyJson(META)));
    expect(browseC.entries.every((e) => e.meta_json === "{}")).toBe(true);
    expectPushedUnder(browseC.entries, NAME_C);

    expect(installL.top_hash).toBe(libTop);
    expect(installL.files).toEqual(KEYS);
    expectInstalled(destL);
    expect(verifyL).toEqual({ name: NAME_L, top_hash: libTop, verified: true });
    expect(verifyC).toEqual({ name: NAME_C, top_hash: cliTop, verified: true });

    const versionsOf = (name: string): [string, string][] | undefined => list.packages.find((p) => p.name === name)?.versions;
    for (const [name, top] of [
      [NAME_L, libTop],
      [NAME_C, cliTop],
    ] as const) {
      const versions = versionsOf(name);
      expect(versions, `${name} in ${JSON.stringify(list.packages.map((p) => p.name))}`).toBeDefined();
      expect(versions).toContainEqual(["latest", top]);
      const timestamps = (versions ?? []).filter(([pointer]) => /^\d+$/.test(pointer));
      expect(timestamps.map(([, hash]) => hash)).toEqual([top]);
      expect(versions).toHaveLength(2);
    }
    // And our own listing agrees with quilt3's.
    const registry = await theRegistry();
    for (const name of [NAME_L, NAME_C]) {
      const ours = (await collect(registry.listPointers(name))).map((p): [string, string] => [p.pointer, p.topHash]).sort();
      expect(ours).toEqual(versionsOf(name));
    }
  });
});

describe(`revisions on top of each other (${s3.server})`, () => {
  it("quilt3 pushes a second revision on top of ours: we see latest move, and both revisions", async (ctx) => {
    needQuilt3(ctx);
    const first = need("libPushTopHash", "the library push");
    const added = join(work, "added-by-quilt3.txt");
    writeFileSync(added, "added by quilt3 ✓\n");
    const amend = await runQuilt3Driver<Quilt3DriverPackage & { parent: string }>(s3, [
      "amend",
      "--registry", REGISTRY,
      "--name", NAME_L,
      "--set", "extra/from quilt3 ü.txt", added,
      "--message", "second revision, by quilt3",
    ]);
    state.q3Amend = amend;
    expect(amend.parent).toBe(first);
    expect(amend.top_hash).not.toBe(first);

    const latest = await browse(NAME_L);
    await expectSamePackage(latest, amend);
    const before = await browse(NAME_L, { hash: first });
    expect(before.topHash).toBe(first);
    // quilt3 left our entries where they were (same bucket: referenced, not copied).
    const old = new Map((await collect(before.entries())).map((e) => [e.logicalKey, asDriverEntry(e)]));
    for (const entry of amend.entries) {
      if (entry.logical_key === "extra/from quilt3 ü.txt") continue;
      expect(entry, entry.logical_key).toEqual(old.get(entry.logical_key));
    }
    const addedEntry = amend.entries.find((e) => e.logical_key === "extra/from quilt3 ü.txt");
    expect(addedEntry).toBeDefined();
    expectPushedUnder([addedEntry as Quilt3DriverEntry], NAME_L);
    expect(amend.entries).toHaveLength(FILE_COUNT + 1);

    const pointers = await collect((await theRegistry()).listPointers(NAME_L));
    expect(pointers.find((p) => p.pointer === "latest")?.topHash).toBe(amend.top_hash);
    expect(pointers.filter((p) => p.kind === "timestamp").map((p) => p.topHash).sort()).toEqual([first, amend.top_hash].sort());
  });

  it("we push a third revision on top of quilt3's (browse → toBuilder → change → push); quilt3 browses, installs and verifies it", async (ctx) => {
    needQuilt3(ctx);
    const amend = need("q3Amend", "quilt3's second revision");
    const registry = await theRegistry();
    const parent = await browse(NAME_L);
    expect(parent.topHash).toBe(amend.top_hash);
    const builder = await parent.toBuilder();
    const ours = join(work, "added-by-us.txt");
    writeFileSync(ours, "added by quiltkit ✓\n");
    let third: string;
    try {
      await builder.set("extra/from quiltkit.txt", ours, parsePyJson('{"by": "quiltkit", "score": 2.0}'));
      await builder.delete("odd/space name.txt");
      await builder.setMeta("a/top.json", parsePyJson('{"edited": 1.5, "n": 18446744073709551617}'));
      const pushed = await builder.push({ registry, name: NAME_L, message: "third revision, by quiltkit" });
      // Every kept entry is in the registry's bucket already: referenced; only the new file is uploaded.
      expect(pushed.data).toMatchObject({ copied: 1, exists: 0, referenced: FILE_COUNT });
      third = pushed.topHash;
    } finally {
      await builder.dispose();
    }
    const dest = join(work, "q3-installed-third");
    const [seen, install, verify] = (await quilt3Batch([
      ["browse", "--registry", REGISTRY, "--name", NAME_L],
      ["install", "--registry", REGISTRY, "--name", NAME_L, "--dest", dest, "--top-hash", third],
      ["verify", "--registry", REGISTRY, "--name", NAME_L, "--dir", dest, "--top-hash", third],
    ])) as [Quilt3DriverPackage, Quilt3DriverInstall, Quilt3DriverVerify];
    expect(seen.top_hash).toBe(third);
    await expectSamePackage(await browse(NAME_L), seen);
    expect(seen.message).toBe("third revision, by quiltkit");
    expect(seen.meta_json).toBe(dumpsCompact(parsePyJson(META)));
    const byKey = new Map(seen.entries.map((e) => [e.logical_key, e]));
    expect(byKey.get("a/top.json")?.meta_json).toBe('{"user_meta":{"edited":1.5,"n":18446744073709551617}}');
    expect(byKey.get("extra/from quiltkit.txt")?.meta_json).toBe('{"user_meta":{"by":"quiltkit","score":2.0}}');
    expect(byKey.has("odd/space name.txt")).toBe(false);
    expect(byKey.get("extra/from quilt3 ü.txt")).toEqual(amend.entries.find((e) => e.logical_key === "extra/from quilt3 ü.txt"));
    const expectedFiles = [...KEYS.filter((k) => k !== "odd/space name.txt"), "extra/from quilt3 ü.txt", "extra/from quiltkit.txt"].sort();
    expect(install.files).toEqual(expectedFiles);
    expect(readFileSync(join(dest, "extra", "from quiltkit.txt"), "utf8")).toBe("added by quiltkit ✓\n");
    expect(verify).toEqual({ name: NAME_L, top_hash: third, verified: true });
  });
});

describe(`re-pushing what quilt3 pushed (${s3.server})`, () => {
  it("our push of the same folder to quilt3's package: data exists, skipping; nothing copied; quilt3's objects and top hash", async (ctx) => {
    needQuilt3(ctx);
    const q3 = need("q3Push", "the quilt3 push");
    const registry = await theRegistry();
    const builder = await builderOfSource(NAME_Q, true);
    try {
      // latest exists and this builder descends from nothing: quilt3 too would need force.
      const pushed = await builder.push({ registry, name: NAME_Q, message: MESSAGE, force: true });
      expect(pushed.data).toEqual({ copied: 0, exists: FILE_COUNT, referenced: 0, bytes: 0 });
      expect(pushed.topHash).toBe(q3.top_hash);
      // Each entry now points at the object quilt3 uploaded (its version), not at a new one.
      const pointed = new Map((await collect(builder.pendingEntries())).map((e) => [e.logicalKey, e.physicalKey]));
      expect(pointed).toEqual(new Map(q3.entries.map((e) => [e.logical_key, e.physical_key])));
    } finally {
      await builder.dispose();
    }
    // The manifest is quilt3's (same top hash), and its entries point at quilt3's objects.
    await expectSamePackage(await browse(NAME_Q), q3);
  });

  it("our push of quilt3's exact content to another package gets quilt3's top hash and, as quilt3, rewrites the manifest to point at its own data", async (ctx) => {
    needQuilt3(ctx);
    const q3 = need("q3Push", "the quilt3 push");
    const registry = await theRegistry();
    const builder = await builderOfSource(NAME_D, true);
    let uploaded: Map<string, string>;
    try {
      const pushed = await builder.push({ registry, name: NAME_D, message: MESSAGE });
      // The top hash does not depend on where the data is: same content, metadata and message.
      expect(pushed.topHash).toBe(q3.top_hash);
      expect(pushed.data).toMatchObject({ copied: FILE_COUNT, exists: 0, referenced: 0 });
      uploaded = new Map((await collect(builder.pendingEntries())).map((e) => [e.logicalKey, e.physicalKey]));
      expectPushedUnder([...uploaded].map(([logical_key, physical_key]) => ({ logical_key, physical_key })), NAME_D);
    } finally {
      await builder.dispose();
    }
    const pkg = await browse(NAME_D);
    expect(pkg.topHash).toBe(q3.top_hash);
    // quilt3 (PackageRegistryV1.push_manifest) PUTs .quilt/packages/<top hash> unconditionally, so
    // after a push the manifest points at the objects that push uploaded (here: under NAME_D/).
    const pointed = new Map((await collect(pkg.entries())).map((e) => [e.logicalKey, e.physicalKey]));
    expect(pointed).toEqual(uploaded);
  });
});
