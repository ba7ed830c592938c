/**
 * quilt3 8.0.0 on the test S3 server (versitygw, started by test/global-s3.ts), no Quiltkit in the
 * loop: quilt3 pushes a folder (nested folders, unicode and URL-hostile names, an empty file, a file
 * over 8 MiB that goes up in multipart with SHA-256 checksums, metadata with floats, big integers
 * and unicode), then browses, lists and installs it back, and Package.verify passes. This is the
 * ground the S3 interop tests stand on: if quilt3 cannot round-trip on versitygw, neither can we.
 *
 * quilt3 runs through test/helpers/quilt3_driver.py with the Python of `scripts/quilt3.sh`'s
 * virtualenv. Without a usable quilt3 these tests are skipped locally (with a warning naming the
 * script), and FAIL when `CI` is set, as in quilt3-interop.test.ts.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from "vitest";
import { hashFile } from "../src/hash/index.js";
import { dumpsCompact, parsePyJson } from "../src/json/index.js";
import {
  needQuilt3 as needQuilt3For,
  QUILT3_VERSION,
  runQuilt3Driver,
  type Quilt3DriverInstall,
  type Quilt3DriverList,
  type Quilt3DriverPackage,
  type Quilt3DriverVerify,
} from "./helpers/quilt3.js";
import { filesUnder, writeTree } from "./helpers/tree.js";
import { deterministicBytes } from "./helpers/bytes.js";

const s3 = inject("s3");
const registry = `s3://${s3.bucket}`;
/** A fresh package per run: the bucket is shared by the test files and by runs of this one. */
const name = `quilt3-smoke/p${randomBytes(4).toString("hex")}`;

const MIB = 1024 * 1024;
/** Over 8 MiB: quilt3 uploads it in three parts (8 MiB, 8 MiB, 4097 bytes). */
const BIG_SIZE = 16 * MIB + 4097;

const FILES: Record<string, string | Buffer> = {
  "README.md": "# pushed by quilt3 to versitygw\n",
  "data/nested/deep/values.csv": "a,b\n1,2.5\n",
  "données/été.csv": "x\n1\n",
  "emoji 😀.txt": "😀\n",
  "dir with space/50% off #1.txt": "sale\n",
  "empty.txt": "",
  "big/over-8mib.bin": deterministicBytes(BIG_SIZE, "quiltkit-smoke"),
};
const KEYS = Object.keys(FILES).sort();

const META = '{"f": 1.0, "big": 18446744073709551616, "neg": -9007199254740993, "tiny": 1e-07, "s": "Grüße 😀 日本", "nested": {"z": [1, 2.5, null, true], "a": {}}}';
const META_COMPACT = '{"f":1.0,"big":18446744073709551616,"neg":-9007199254740993,"tiny":1e-07,"s":"Grüße 😀 日本","nested":{"z":[1,2.5,null,true],"a":{}}}';
const ENTRY_META: Record<string, unknown> = { "data/nested/deep/values.csv": { rows: 1, ratio: 0.5, label: "été" } };
const MESSAGE = "smoke: quilt3 on versitygw";

let work = "";
let src = "";
let pushed: Quilt3DriverPackage | undefined;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "quiltkit-quilt3-s3-"));
  src = join(work, "src");
  writeTree(src, FILES);
});

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

const needQuilt3 = (ctx: TestContext): void => needQuilt3For(ctx, "quilt3-s3-smoke");

/** The package the first test pushed (later tests build on it). */
function thePush(): Quilt3DriverPackage {
  if (pushed === undefined) throw new Error("the push (first test) failed; nothing to read back");
  return pushed;
}

/** `s3://bucket/<key>?versionId=<id>` → its key and version id. */
function splitPhysicalKey(pk: string): { bucket: string; key: string; versionId: string | null } {
  const url = new URL(pk);
  expect(url.protocol).toBe("s3:");
  return { bucket: url.hostname, key: decodeURIComponent(url.pathname.slice(1)), versionId: url.searchParams.get("versionId") };
}

describe(`quilt3 ${QUILT3_VERSION} round trip on ${s3.server}`, () => {
  it("pushes a folder: entries in the package's prefix, versioned keys, the hashes we compute, metadata exact", async (ctx) => {
    needQuilt3(ctx);
    const entryMetaFile = join(work, "entry-meta.json");
    writeFileSync(entryMetaFile, JSON.stringify(ENTRY_META));
    pushed = await runQuilt3Driver<Quilt3DriverPackage>(s3, [
      "push",
      "--registry", registry,
      "--name", name,
      "--dir", src,
      "--meta", META,
      "--message", MESSAGE,
      "--entry-meta-file", entryMetaFile,
    ]);
    expect(pushed.top_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(pushed.message).toBe(MESSAGE);
    // Python's json.dumps of what it parsed: 1.0 stays a float, big integers exact, unicode raw.
    expect(pushed.meta_json).toBe(META_COMPACT);
    expect(dumpsCompact(parsePyJson(pushed.meta_json))).toBe(dumpsCompact(parsePyJson(META)));
    expect(pushed.entries.map((e) => e.logical_key)).toEqual(KEYS);

    for (const entry of pushed.entries) {
      const path = join(src, ...entry.logical_key.split("/"));
      const ours = await hashFile(path);
      expect(entry.size, entry.logical_key).toBe(readFileSync(path).length);
      // quilt3 takes the hash from the server's SHA-256 checksums (a composite one for multipart).
      expect(entry.hash, entry.logical_key).toEqual({ type: "sha2-256-chunked", value: ours.hashes["sha2-256-chunked"] });
      const physical = splitPhysicalKey(entry.physical_key);
      expect(physical.bucket).toBe(s3.bucket);
      expect(physical.key).toBe(`${name}/${entry.logical_key}`);
      expect(physical.versionId, `${entry.physical_key} has a versionId`).toMatch(/^\S+$/);
    }
    const byKey = new Map(pushed.entries.map((e) => [e.logical_key, e]));
    expect(byKey.get("data/nested/deep/values.csv")?.meta_json).toBe('{"user_meta":{"rows":1,"ratio":0.5,"label":"été"}}');
    expect(byKey.get("big/over-8mib.bin")?.size).toBe(BIG_SIZE);
    expect(byKey.get("empty.txt")?.meta_json).toBe("{}");
  });

  it("browses it back (latest and by top hash) and lists it: the same package", async (ctx) => {
    needQuilt3(ctx);
    const push = thePush();
    const latest = await runQuilt3Driver<Quilt3DriverPackage>(s3, ["browse", "--registry", registry, "--name", name]);
    const byHash = await runQuilt3Driver<Quilt3DriverPackage>(s3, ["browse", "--registry", registry, "--name", name, "--top-hash", push.top_hash]);
    for (const seen of [latest, byHash]) {
      expect(seen.top_hash).toBe(push.top_hash);
      expect(seen.message).toBe(MESSAGE);
      expect(seen.meta_json).toBe(META_COMPACT);
      expect(seen.entries).toEqual(push.entries);
    }
    const list = await runQuilt3Driver<Quilt3DriverList>(s3, ["list", "--registry", registry]);
    const ours = list.packages.find((p) => p.name === name);
    expect(ours, `${name} in ${JSON.stringify(list.packages.map((p) => p.name))}`).toBeDefined();
    expect(ours?.versions).toContainEqual(["latest", push.top_hash]);
    expect(ours?.versions.every(([, hash]) => hash === push.top_hash)).toBe(true);
    expect(ours?.versions.length).toBeGreaterThanOrEqual(2); // latest and a timestamp
  });

  it("installs it: every file byte-identical; verify passes, and fails once a file changes", async (ctx) => {
    needQuilt3(ctx);
    const push = thePush();
    const dest = join(work, "installed");
    const install = await runQuilt3Driver<Quilt3DriverInstall>(s3, ["install", "--registry", registry, "--name", name, "--dest", dest]);
    expect(install.top_hash).toBe(push.top_hash);
    expect(install.files).toEqual(KEYS);
    expect(filesUnder(dest)).toEqual(KEYS);
    for (const key of KEYS) {
      expect(readFileSync(join(dest, ...key.split("/"))).equals(Buffer.from(FILES[key] as string | Buffer)), key).toBe(true);
    }
    const verify = await runQuilt3Driver<Quilt3DriverVerify>(s3, ["verify", "--registry", registry, "--name", name, "--dir", dest]);
    expect(verify).toEqual({ name, top_hash: push.top_hash, verified: true });

    // Same size, one byte different, in the last part of the big file: verify must notice.
    const big = join(dest, "big", "over-8mib.bin");
    const bytes = readFileSync(big);
    bytes[BIG_SIZE - 1] = (bytes[BIG_SIZE - 1] ?? 0) ^ 0xff;
    writeFileSync(big, bytes);
    const tampered = await runQuilt3Driver<Quilt3DriverVerify>(s3, ["verify", "--registry", registry, "--name", name, "--dir", dest, "--top-hash", push.top_hash]);
    expect(tampered.verified).toBe(false);
  });

  it("installs one folder with --path", async (ctx) => {
    needQuilt3(ctx);
    const dest = join(work, "installed-path");
    const install = await runQuilt3Driver<Quilt3DriverInstall>(s3, ["install", "--registry", registry, "--name", name, "--dest", dest, "--path", "données"]);
    expect(install.top_hash).toBe(thePush().top_hash);
    expect(install.files).toEqual(["été.csv"]);
    expect(readFileSync(join(dest, "été.csv"), "utf8")).toBe(FILES["données/été.csv"]);
  });

  it("a second push of the same folder: same top hash, the big object reused (versitygw's composite checksum on HEAD)", async (ctx) => {
    needQuilt3(ctx);
    const push = thePush();
    const entryMetaFile = join(work, "entry-meta.json");
    const again = await runQuilt3Driver<Quilt3DriverPackage>(s3, [
      "push",
      "--registry", registry,
      "--name", name,
      "--dir", src,
      "--meta", META,
      "--message", MESSAGE,
      "--entry-meta-file", entryMetaFile,
      "--force",
    ]);
    expect(again.top_hash).toBe(push.top_hash);
    const physicalOf = (p: Quilt3DriverPackage, key: string): string | undefined => p.entries.find((e) => e.logical_key === key)?.physical_key;
    // quilt3 skips uploading a file >= 1 KiB whose HEAD (ChecksumMode=ENABLED) shows the same size and SHA-256.
    expect(physicalOf(again, "big/over-8mib.bin")).toBe(physicalOf(push, "big/over-8mib.bin"));
    // Small files are uploaded again: new versions of the same keys.
    expect(physicalOf(again, "README.md")).not.toBe(physicalOf(push, "README.md"));
    expect(splitPhysicalKey(physicalOf(again, "README.md") ?? "").key).toBe(`${name}/README.md`);
  });
});
