/**
 * The built `quilt` command end to end, on local registries in a temp folder: every command with
 * its text and `--json` output and its exit codes (0 ok, 1 differences, 2 usage, 3 not found,
 * 4 conflict, 5 integrity). Each run gets its own QUILT_HOME (helpers/cli.ts).
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, EXIT_CODES, Package, PackageBuilder, openRegistry, parsePyJson } from "../src/index.js";
import { exitCodeFor } from "../src/errors/index.js";
import { HashPool } from "../src/hash/index.js";
import { CLI_MODULES, expectJsonError, expectOk, runQuilt, type RunResult } from "./helpers/cli.js";
import { materializeSetAInputs } from "./helpers/inputs.js";
import { loadQuilt3Vectors, QUILT3_VECTORS, ROOT } from "./helpers/shared.js";
import { filesUnder, snapshot, writeTree } from "./helpers/tree.js";

const META = '{"f": 1.0, "big": 18446744073709551616}';
const META_EXACT = '{"f":1.0,"big":18446744073709551616}';
const A04_TOP_HASH = "dec0b93d9433ee61262b351ce5f93796b03a2696604ec23321e9dda09b9dc71d";
const ALL_BYTES = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));

const FILES_V1: Record<string, string | Buffer> = {
  "README.md": "# Demo package\n",
  "a.txt": "alpha\n",
  "bin/all-bytes.bin": ALL_BYTES,
  "sub/b.txt": "beta\n",
  "sub/deep/c.txt": "gamma\n",
  "données/été.csv": "a,b\n1,2\n",
  "dir with space/50% off #1.txt": "sale\n",
};
const KEYS_V1 = ["README.md", "a.txt", "bin/all-bytes.bin", "dir with space/50% off #1.txt", "données/été.csv", "sub/b.txt", "sub/deep/c.txt"];

interface PushJson {
  name: string;
  topHash: string;
  registry: string;
  manifestKey: string;
  timestamp: string;
  pointers: string[];
  deduped: boolean;
  data: { copied: number; exists: number; referenced: number; bytes: number };
}
interface EntryJson {
  logicalKey: string;
  physicalKey: string;
  size: number;
  hash: { type: string; value: string };
  meta: unknown;
}
interface DiffJson {
  added: string[];
  modified: string[];
  deleted: string[];
}

let root = "";
let reg = "";
let dataV1 = "";
let dataV2 = "";
let v1: PushJson;
let v2: PushJson;
/** One small hash pool for the library calls (from the sources, each worker start costs a compiler load). */
let pool: HashPool | undefined;

/** `quilt ARGS --registry <reg>`. */
const q = (...args: string[]): Promise<RunResult> => runQuilt([...args, "--registry", reg]);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "quiltkit-e2e-"));
  reg = join(root, "registry");
  dataV1 = join(root, "data-v1");
  dataV2 = join(root, "data-v2");
  writeTree(dataV1, FILES_V1);
  cpSync(dataV1, dataV2, { recursive: true });
  writeFileSync(join(dataV2, "a.txt"), "ALPHA, changed\n");
  writeFileSync(join(dataV2, "new.txt"), "new file\n");
  rmSync(join(dataV2, "sub", "deep"), { recursive: true });

  const first = await q("push", "u/pkg", "--dir", dataV1, "-m", "first", "--meta", META, "-t", "v1", "--json");
  expectOk(first);
  v1 = first.json<PushJson>();
  const second = await q("push", "u/pkg", "--dir", dataV2, "-m", "second", "--json");
  expectOk(second);
  v2 = second.json<PushJson>();

  // A package with per-entry metadata, pushed with the library into the same registry.
  pool = new HashPool({ size: 1 });
  const builder = new PackageBuilder({ name: "u/lib", pool });
  try {
    await builder.set("a.txt", join(dataV1, "a.txt"), parsePyJson('{"f": 1.0, "n": [1, 2.5, 18446744073709551616], "s": "é😀"}'));
    await builder.setMeta(parsePyJson('{"lib": true}'));
    await builder.push({ registry: await openRegistry(reg), name: "u/lib", message: "from the library" });
  } finally {
    await builder.dispose();
  }
});

afterAll(async () => {
  await pool?.close();
  if (root !== "") rmSync(root, { recursive: true, force: true });
});

describe.concurrent("quilt push", () => {
  it("pushes data, manifest, timestamp, latest and the tag; --json reports them", () => {
    expect(v1).toMatchObject({ name: "u/pkg", registry: pathToFileURL(reg).href, deduped: false });
    expect(v1.topHash).toMatch(/^[0-9a-f]{64}$/);
    expect(v1.pointers).toEqual([v1.timestamp, "latest", "v1"]);
    expect(v1.timestamp).toMatch(/^\d{10}$/);
    expect(v1.data).toMatchObject({ copied: 7, referenced: 0 });
    expect(v1.manifestKey).toBe(`.quilt/packages/${v1.topHash}`);
    expect(existsSync(join(reg, ".quilt", "packages", v1.topHash))).toBe(true);
    const pointers = join(reg, ".quilt", "named_packages", "u", "pkg");
    expect(readFileSync(join(pointers, "v1"), "utf8")).toBe(v1.topHash);
    expect(readFileSync(join(pointers, "latest"), "utf8")).toBe(v2.topHash);
    expect(readFileSync(join(pointers, v1.timestamp), "utf8")).toBe(v1.topHash);
    expect(v2.pointers).toEqual([v2.timestamp, "latest"]);
    expect(Number(v2.timestamp)).toBeGreaterThan(Number(v1.timestamp));
    // Data lands at <registry>/<name>/<logical key>, as quilt3 lays it out.
    expect(readFileSync(join(reg, "u", "pkg", "bin", "all-bytes.bin"))).toEqual(ALL_BYTES);
  });

  it("the pushed top hash is the one `quilt hash` gives the folder (same message and metadata)", async () => {
    const withMeta = await runQuilt(["hash", dataV1, "-m", "first", "--meta", META, "--json"]);
    expect(expectOk(withMeta).json()).toEqual({ topHash: v1.topHash, entries: 7 });
  });

  it("prints quilt3's lines in text mode", async () => {
    const registry = join(root, "registry-text");
    const run = expectOk(await runQuilt(["push", "u/text", "--dir", dataV1, "-m", "text", "-t", "stable", "--registry", registry]));
    expect(run.stdout).toMatch(/^Tophash: [0-9a-f]{64}$/m);
    expect(run.stdout).toContain("Linking u/text:latest to manifest");
    expect(run.stdout).toContain("Linking u/text:stable to manifest");
  });
});

describe.concurrent("quilt meta and show", () => {
  it("meta --json prints package metadata with numbers exact (1.0 stays 1.0, big ints whole)", async () => {
    const [tagged, latest, entry, text] = await Promise.all([
      q("meta", "u/pkg:v1", "--json"),
      q("meta", "u/pkg", "--json"),
      q("meta", "u/lib", "a.txt", "--json"),
      q("meta", "u/pkg:v1"),
    ]);
    expect(expectOk(tagged).stdout).toBe(`${META_EXACT}\n`);
    // quilt3's CLI push without --meta: set_dir('.') stores user_meta null.
    expect(expectOk(latest).stdout).toBe("null\n");
    expect(expectOk(entry).stdout).toBe('{"f":1.0,"n":[1,2.5,18446744073709551616],"s":"é😀"}\n');
    expect(expectOk(text).stdout).toContain('"f"');
    expect(text.stdout).toContain("18446744073709551616");
  });

  it("show --json: name, registry, top hash, message, exact metadata, entries and bytes", async () => {
    const [json, text] = await Promise.all([q("show", "u/pkg:v1", "--json"), q("show", "u/pkg")]);
    expectOk(json);
    expect(json.stdout).toContain(`"meta":${META_EXACT}`);
    const bytes = Object.values(FILES_V1).reduce((n, c) => n + Buffer.byteLength(c), 0);
    expect(json.json()).toMatchObject({ name: "u/pkg", registry: pathToFileURL(reg).href, topHash: v1.topHash, message: "first", entries: 7, bytes });
    expect(expectOk(text).stdout).toContain(`Top hash: ${v2.topHash}`);
    expect(text.stdout).toContain("Message: second");
  });
});

describe.concurrent("quilt ls and cat", () => {
  it("lists a folder's files and sub-folders, as text and as NDJSON", async () => {
    const [text, json, sub, recursive] = await Promise.all([
      q("ls", "u/pkg:v1"),
      q("ls", "u/pkg:v1", "--json"),
      q("ls", "u/pkg:v1", "sub", "--json"),
      q("ls", "u/pkg:v1", "--recursive", "--json"),
    ]);
    expect(expectOk(text).stdout.split("\n").filter(Boolean)).toEqual(["README.md", "a.txt", "bin/", "dir with space/", "données/", "sub/"]);
    const items = expectOk(json).lines<Record<string, unknown>>();
    expect(items.map((i) => i.logicalKey)).toEqual(["README.md", "a.txt", "bin/", "dir with space/", "données/", "sub/"]);
    expect(items[2]).toEqual({ logicalKey: "bin/", kind: "dir" });
    expect(Object.keys(items[0] ?? {})).toEqual(["logicalKey", "physicalKey", "size", "hash", "meta"]);
    expect(expectOk(sub).lines<{ logicalKey: string }>().map((i) => i.logicalKey)).toEqual(["sub/b.txt", "sub/deep/"]);

    const entries = expectOk(recursive).lines<EntryJson>();
    expect(entries.map((e) => e.logicalKey)).toEqual(KEYS_V1);
    for (const e of entries) {
      expect(e.size).toBe(Buffer.byteLength(FILES_V1[e.logicalKey] as string | Buffer));
      expect(e.hash.type).toBe("sha2-256-chunked");
      expect(e.hash.value).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(e.physicalKey.startsWith(pathToFileURL(join(reg, "u", "pkg")).href + "/")).toBe(true);
      expect(e.meta).toEqual({});
    }
  });

  it("cat writes a file's exact bytes", async () => {
    const [binary, unicode, missing, missingMeta] = await Promise.all([
      q("cat", "u/pkg:v1", "bin/all-bytes.bin"),
      q("cat", "u/pkg:v1", "données/été.csv"),
      q("cat", "u/pkg", "sub/deep/c.txt", "--json"),
      q("meta", "u/pkg", "nope.txt", "--json"),
    ]);
    expect(expectOk(binary).stdoutBytes).toEqual(ALL_BYTES);
    expect(expectOk(unicode).stdout).toBe("a,b\n1,2\n");
    expectJsonError(missing, 3, "ENTRY_NOT_FOUND");
    expectJsonError(missingMeta, 3, "ENTRY_NOT_FOUND");
  });
});

describe.concurrent("quilt install and copy", () => {
  it("installs every file; a second run skips them all", async () => {
    const dest = join(root, "install-all");
    const first = expectOk(await q("install", "u/pkg:v1", "--dest", dest, "--json")).json<Record<string, unknown>>();
    expect(first).toMatchObject({ name: "u/pkg", topHash: v1.topHash, dest, files: 7, skipped: 0 });
    expect(filesUnder(dest).filter((p) => !p.startsWith(".quiltkit/"))).toEqual([...KEYS_V1].sort());
    for (const key of KEYS_V1) expect(readFileSync(join(dest, key))).toEqual(Buffer.from(FILES_V1[key] as string | Buffer));
    const again = expectOk(await q("install", "u/pkg:v1", "--dest", dest, "--json")).json();
    expect(again).toMatchObject({ files: 0, bytes: 0, skipped: 7 });
    const text = expectOk(await q("install", "u/pkg:v1", "--dest", dest));
    expect(text.stdout).toContain("7 already in place");
  });

  it("--path installs a folder (keys relative to it) or a single file (its basename)", async () => {
    const folder = join(root, "install-sub");
    const file = join(root, "install-file");
    const [a, b] = await Promise.all([
      q("install", "u/pkg:v1", "--dest", folder, "--path", "sub/", "--json"),
      q("install", "u/pkg:v1", "--dest", file, "--path", "données/été.csv", "--json"),
    ]);
    expect(expectOk(a).json()).toMatchObject({ files: 2 });
    expect(filesUnder(folder).filter((p) => !p.startsWith(".quiltkit/"))).toEqual(["b.txt", "deep/c.txt"]);
    expect(expectOk(b).json()).toMatchObject({ files: 1 });
    expect(readFileSync(join(file, "été.csv"), "utf8")).toBe("a,b\n1,2\n");
    expectJsonError(await q("install", "u/pkg:v1", "--dest", join(root, "install-none"), "--path", "nope", "--json"), 3, "INSTALL_PATH_NOT_FOUND");
    expect(existsSync(join(root, "install-none"))).toBe(false);
  });

  it("copy HANDLE --to DIR is install", async () => {
    const dest = join(root, "copy-to");
    const run = expectOk(await q("copy", "u/pkg", "--to", dest, "--json"));
    expect(run.json()).toMatchObject({ topHash: v2.topHash, files: 7 });
    expect(readFileSync(join(dest, "new.txt"), "utf8")).toBe("new file\n");
  });
});

describe.concurrent("quilt diff and verify", () => {
  it("diff of two handles (tag, hash prefix, full hash): exit 1 with the lists", async () => {
    const [json, text] = await Promise.all([q("diff", "u/pkg:v1", "u/pkg", "--json"), q("diff", `u/pkg@${v1.topHash.slice(0, 6)}`, `u/pkg@${v2.topHash}`)]);
    expectOk(json, 1);
    expect(json.json<DiffJson>()).toMatchObject({ added: ["new.txt"], modified: ["a.txt"], deleted: ["sub/deep/c.txt"] });
    expectOk(text, 1);
    expect(text.stdout).toContain("1 added, 1 modified, 1 deleted");
  });

  it("diff of a package and a folder: exit 1 with the lists, exit 0 when equal", async () => {
    const [differs, equal] = await Promise.all([q("diff", "u/pkg:v1", dataV2, "--json"), q("diff", "u/pkg", dataV2, "--json")]);
    expect(expectOk(differs, 1).json<DiffJson>()).toMatchObject({ added: ["new.txt"], modified: ["a.txt"], deleted: ["sub/deep/c.txt"] });
    expect(expectOk(equal).json<DiffJson>()).toMatchObject({ added: [], modified: [], deleted: [] });
  });

  it("verify: exit 0 on an exact install, exit 1 with the differences after edits", async () => {
    const dest = join(root, "verify");
    expectOk(await q("install", "u/pkg:v1", "--dest", dest, "--json"));
    expect(expectOk(await q("verify", "u/pkg:v1", dest, "--json")).json<DiffJson>()).toMatchObject({ added: [], modified: [], deleted: [] });
    writeFileSync(join(dest, "a.txt"), "edited\n");
    writeFileSync(join(dest, "extra.txt"), "extra\n");
    rmSync(join(dest, "sub", "b.txt"));
    const [json, text] = await Promise.all([q("verify", "u/pkg:v1", dest, "--json"), q("verify", "u/pkg:v1", dest)]);
    expect(expectOk(json, 1).json<DiffJson>()).toMatchObject({ added: ["extra.txt"], modified: ["a.txt"], deleted: ["sub/b.txt"] });
    expectOk(text, 1);
    expect(text.stdout).toContain("1 added, 1 modified, 1 deleted");
  });
});

describe.concurrent("quilt force-match", () => {
  it("--dry-run lists the changes and changes nothing; --yes makes the folder match", async () => {
    const dir = join(root, "force-match");
    expectOk(await q("install", "u/pkg:v1", "--dest", dir, "--json"));
    writeFileSync(join(dir, "a.txt"), "edited\n");
    writeFileSync(join(dir, "extra.txt"), "extra\n");
    rmSync(join(dir, "sub", "deep", "c.txt"));
    const before = snapshot(dir);

    const dry = expectOk(await q("force-match", "u/pkg:v1", dir, "--dry-run", "--json")).json<{ dryRun: boolean; changes: { kind: string; key: string }[] }>();
    expect(dry.dryRun).toBe(true);
    expect(dry.changes.map((c) => `${c.kind} ${c.key}`).sort()).toEqual(["add sub/deep/c.txt", "remove extra.txt", "replace a.txt"]);
    expect(snapshot(dir)).toEqual(before);

    // Removing files needs --yes when not on a terminal.
    expectJsonError(await q("force-match", "u/pkg:v1", dir, "--json"), 2, "CONFIRMATION_NEEDED");
    expect(snapshot(dir)).toEqual(before);

    const done = expectOk(await q("force-match", "u/pkg:v1", dir, "--yes", "--json")).json<{ dryRun: boolean; changes: unknown[] }>();
    expect(done).toMatchObject({ dryRun: false });
    expect(done.changes).toHaveLength(3);
    expectOk(await q("verify", "u/pkg:v1", dir, "--json"));
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("alpha\n");
    expect(existsSync(join(dir, "extra.txt"))).toBe(false);
  });
});

describe.concurrent("quilt hash", () => {
  beforeAll(() => {
    materializeSetAInputs();
  });

  it("gives quilt3's top hash for set A's A04 (set_dir root, no metadata: user_meta null)", async () => {
    const inputs = materializeSetAInputs();
    const [text, json] = await Promise.all([
      runQuilt(["hash", join(inputs, "tree"), "-m", "set_dir root"]),
      runQuilt(["hash", join(inputs, "tree"), "--message", "set_dir root", "--json"]),
    ]);
    expect(expectOk(text).stdout).toBe(`${A04_TOP_HASH}\n`);
    expect(expectOk(json).json()).toEqual({ topHash: A04_TOP_HASH, entries: 3 });
  });

  it("bad --meta: exit 2; a missing folder: exit 3", async () => {
    const [meta, missing] = await Promise.all([
      runQuilt(["hash", dataV1, "--meta", "{nope", "--json"]),
      runQuilt(["hash", join(root, "no-such-dir"), "--json"]),
    ]);
    expectJsonError(meta, 2, "META_INVALID");
    expectJsonError(missing, 3);
  });
});

describe.concurrent("quilt packages and versions", () => {
  it("packages lists the registry's packages, sorted; NDJSON with --json", async () => {
    const [json, text] = await Promise.all([q("packages", "--json"), q("packages")]);
    expect(expectOk(json).lines()).toEqual([{ name: "u/lib" }, { name: "u/pkg" }]);
    expect(expectOk(text).stdout).toBe("u/lib\nu/pkg\n");
  });

  it("versions lists timestamps, latest and tags with their hashes", async () => {
    const [json, text] = await Promise.all([q("versions", "u/pkg", "--json"), q("versions", "u/pkg")]);
    expect(expectOk(json).lines()).toEqual([
      { pointer: v1.timestamp, topHash: v1.topHash, kind: "timestamp" },
      { pointer: v2.timestamp, topHash: v2.topHash, kind: "timestamp" },
      { pointer: "latest", topHash: v2.topHash, kind: "latest" },
      { pointer: "v1", topHash: v1.topHash, kind: "tag" },
    ]);
    expect(expectOk(text).stdout).toContain(v1.topHash);
  });
});

describe.concurrent("quilt config", () => {
  it("get/set the registry in $QUILT_HOME/config.json; QUILT_REGISTRY overrides it", async () => {
    const home = join(root, "config-home");
    mkdirSync(home);
    const env = { QUILT_HOME: home };
    expect(expectOk(await runQuilt(["config", "get", "registry"], { env })).stdout).toBe(`${join(home, "registry")}\n`);
    expect(expectOk(await runQuilt(["config", "set", "registry", reg, "--json"], { env })).json()).toEqual({ registry: reg });
    expect(JSON.parse(readFileSync(join(home, "config.json"), "utf8"))).toEqual({ version: 1, values: { registry: reg } });

    const [get, all, viaConfig, overridden, unknown] = await Promise.all([
      runQuilt(["config", "get", "registry"], { env }),
      runQuilt(["config", "get", "--json"], { env }),
      runQuilt(["ls", "u/pkg:v1", "--json"], { env }),
      runQuilt(["config", "get", "registry"], { env: { ...env, QUILT_REGISTRY: join(root, "elsewhere") } }),
      runQuilt(["config", "get", "nope", "--json"], { env }),
    ]);
    expect(expectOk(get).stdout).toBe(`${reg}\n`);
    expect(expectOk(all).json()).toEqual({ registry: reg, "s3.endpoint": "", "s3.region": "", "s3.path-style": "false" });
    expect(expectOk(viaConfig).lines()).toHaveLength(6);
    expect(expectOk(overridden).stdout).toBe(`${join(root, "elsewhere")}\n`);
    expectJsonError(unknown, 2, "CONFIG_UNKNOWN_KEY");

    // S3 settings: the config file, overridden by the standard AWS variables.
    expectOk(await runQuilt(["config", "set", "s3.endpoint", "http://127.0.0.1:9"], { env }));
    const [s3File, s3Env] = await Promise.all([
      runQuilt(["config", "get", "--json"], { env }),
      runQuilt(["config", "get", "--json"], { env: { ...env, AWS_ENDPOINT_URL_S3: "http://minio:9000", AWS_REGION: "eu-west-3" } }),
    ]);
    expect(expectOk(s3File).json()).toMatchObject({ "s3.endpoint": "http://127.0.0.1:9", "s3.path-style": "true" });
    expect(expectOk(s3Env).json()).toMatchObject({ "s3.endpoint": "http://minio:9000", "s3.region": "eu-west-3" });
    expectOk(await runQuilt(["config", "set", "s3.endpoint", ""], { env }));

    // QUILT_REGISTRY is also the registry of handles.
    const viaEnv = await runQuilt(["show", "u/pkg", "--json"], { env: { QUILT_REGISTRY: reg } });
    expect(expectOk(viaEnv).json()).toMatchObject({ topHash: v2.topHash });

    expectOk(await runQuilt(["config", "set", "registry", ""], { env }));
    expect(expectOk(await runQuilt(["config", "get", "registry"], { env })).stdout).toBe(`${join(home, "registry")}\n`);
  });
});

describe.concurrent("quilt manifest hash", () => {
  it("gives the top hash of every set-A manifest file", async () => {
    const vectors = loadQuilt3Vectors();
    const expected = new Map<string, string>();
    for (const c of vectors.cases.filter((c) => c.id.startsWith("A"))) {
      expected.set(c.dump_file, c.top_hash);
      for (const w of c.registry_writes) if (w.kind === "manifest" && w.file !== undefined) expected.set(w.file, w.path.slice(-64));
    }
    const onDisk = readdirSync(resolve(QUILT3_VECTORS, "manifests")).filter((f) => f.startsWith("A"));
    expect([...expected.keys()].map((f) => f.replace(/^manifests\//, "")).sort()).toEqual(onDisk.sort());
    // Files with the same bytes (a case's dump and its registry manifest) need one run between them.
    const byContent = new Map<string, { file: string; topHash: string }[]>();
    for (const [file, topHash] of expected) {
      const digest = createHash("sha256").update(readFileSync(resolve(QUILT3_VECTORS, file))).digest("hex");
      byContent.set(digest, [...(byContent.get(digest) ?? []), { file, topHash }]);
    }
    const groups = [...byContent.values()];
    const runs = await Promise.all(
      groups.map((group, i) => runQuilt(["manifest", "hash", resolve(QUILT3_VECTORS, (group[0] as { file: string }).file), ...(i % 2 === 0 ? ["--json"] : [])])),
    );
    groups.forEach((group, i) => {
      const run = expectOk(runs[i] as RunResult);
      const printed = i % 2 === 0 ? run.json<{ topHash: string }>().topHash : run.stdout.replace(/\n$/, "");
      for (const { file, topHash } of group) expect(printed, file).toBe(topHash);
    });
  });

  it("a missing file: exit 3; a file that is not a manifest: exit 5", async () => {
    const notJson = join(root, "not-a-manifest.jsonl");
    writeFileSync(notJson, "hello\n");
    const [missing, bad] = await Promise.all([
      runQuilt(["manifest", "hash", join(root, "nope.jsonl"), "--json"]),
      runQuilt(["manifest", "hash", notJson, "--json"]),
    ]);
    expectJsonError(missing, 3, "FILE_NOT_FOUND");
    expectJsonError(bad, 5, "MANIFEST_BAD_JSON");
  });
});

describe.concurrent("usage errors (exit 2) and not found (exit 3)", () => {
  it("reports usage mistakes with exit 2 and, with --json, one {code, message, hint} on stderr", async () => {
    const [unknown, noDest, badHandle, badTag, badPushTag, shortHash, unknownText] = await Promise.all([
      runQuilt(["frobnicate", "--json"]),
      q("install", "u/pkg", "--json"),
      q("ls", "a/b/c", "--json"),
      q("ls", "u/pkg:bad tag", "--json"),
      q("push", "u/badtag", "--dir", dataV1, "-t", "bad tag", "--json"),
      q("ls", "u/pkg@abc", "--json"),
      runQuilt(["frobnicate"]),
    ]);
    expectJsonError(unknown, 2, "USAGE");
    expect(unknown.error().message).toContain("frobnicate");
    expectJsonError(noDest, 2, "USAGE");
    expect(noDest.error().message).toContain("--dest");
    expectJsonError(badHandle, 2, "HANDLE_INVALID");
    expectJsonError(badTag, 2, "HANDLE_INVALID");
    expectJsonError(badPushTag, 2, "TAG_INVALID");
    expectJsonError(shortHash, 2, "HANDLE_INVALID");
    expect(unknownText.code).toBe(2);
    expect(unknownText.stderr).toContain("unknown command");
    // The refused tag is refused before anything is written: no data, no manifest, no pointer.
    expect(existsSync(join(reg, "u", "badtag"))).toBe(false);
    expect(existsSync(join(reg, ".quilt", "named_packages", "u", "badtag"))).toBe(false);
  });

  it("an ambiguous hash prefix lists the candidates (exit 2)", async () => {
    const copy = join(root, "registry-ambiguous");
    cpSync(reg, copy, { recursive: true });
    const twin = v1.topHash.slice(0, 6) + "0".repeat(58) === v1.topHash ? "f".repeat(58) : "0".repeat(58);
    writeFileSync(join(copy, ".quilt", "packages", v1.topHash.slice(0, 6) + twin), "{}\n");
    const run = await runQuilt(["ls", `u/pkg@${v1.topHash.slice(0, 6)}`, "--registry", copy, "--json"]);
    expectJsonError(run, 2, "HASH_PREFIX_AMBIGUOUS");
    expect(run.error().message).toContain(v1.topHash);
    expect(run.error().message).toContain(v1.topHash.slice(0, 6) + twin);
  });

  it("unknown package, tag or hash: exit 3", async () => {
    const [pkg, tag, hash] = await Promise.all([
      q("ls", "u/nope", "--json"),
      q("install", "u/pkg:v9", "--dest", join(root, "not-installed"), "--json"),
      q("show", "u/pkg@abcdef", "--json"),
    ]);
    expectJsonError(pkg, 3, "PACKAGE_NOT_FOUND");
    expectJsonError(tag, 3, "REVISION_NOT_FOUND");
    expectJsonError(hash, 3, "REVISION_NOT_FOUND");
    expect(existsSync(join(root, "not-installed"))).toBe(false);
  });
});

describe.concurrent("conflicts (exit 4)", () => {
  it("push refuses when latest moved since it was read (PACKAGE_LATEST_MOVED) unless --force", async () => {
    const registry = join(root, "registry-race");
    const dirA = join(root, "race-a");
    const dirB = join(root, "race-b");
    writeTree(dirA, { "x.txt": "x\n" });
    writeTree(dirB, { "x.txt": "x\n", "y.txt": "y\n" });
    const base = expectOk(await runQuilt(["push", "u/race", "--dir", dirA, "--registry", registry, "--json"])).json<PushJson>();
    const other = expectOk(await runQuilt(["push", "u/other", "--dir", dirB, "-m", "other", "--registry", registry, "--json"])).json<PushJson>();
    // Another writer moves latest between our read of it and our pointer update: a test hook
    // wraps Registry.pushManifest of the built CLI to do exactly that, at that moment.
    const hook = join(root, "move-latest.mjs");
    writeFileSync(
      hook,
      `import { Registry } from ${JSON.stringify(pathToFileURL(resolve(ROOT, "dist/registry/registry.js")).href)};\n` +
        "const original = Registry.prototype.pushManifest;\n" +
        "Registry.prototype.pushManifest = async function (name, ...rest) {\n" +
        "  await this.writePointer(name, 'latest', process.env.QK_TEST_MOVE_LATEST_TO);\n" +
        "  return original.call(this, name, ...rest);\n" +
        "};\n",
    );
    const pointers = join(registry, ".quilt", "named_packages", "u", "race");
    const before = readdirSync(pointers).sort();
    // The hook patches tsc's module, so the command runs from those modules, not the bundle.
    const options = { nodeArgs: ["--import", pathToFileURL(hook).href], env: { QK_TEST_MOVE_LATEST_TO: other.topHash }, script: CLI_MODULES };
    const refused = await runQuilt(["push", "u/race", "--dir", dirB, "-m", "b", "--registry", registry, "--json"], options);
    expectJsonError(refused, 4, "PACKAGE_LATEST_MOVED");
    expect(refused.error().message).toContain(other.topHash);
    expect(readdirSync(pointers).sort()).toEqual(before);
    expect(readFileSync(join(pointers, "latest"), "utf8")).toBe(other.topHash);

    const forced = expectOk(await runQuilt(["push", "u/race", "--dir", dirB, "-m", "b", "--force", "--registry", registry, "--json"], options)).json<PushJson>();
    expect(readFileSync(join(pointers, "latest"), "utf8")).toBe(forced.topHash);
    expect(forced.topHash).not.toBe(base.topHash);
  });

  it("two builders from the same revision: the second push is refused (library, exit code 4)", async () => {
    const registry = await openRegistry(join(root, "registry-builders"));
    writeTree(join(root, "builders"), { "base.txt": "base\n", "one.txt": "1\n", "two.txt": "2\n" });
    const withPool = pool === undefined ? {} : { pool };
    const first = new PackageBuilder({ name: "u/builders", ...withPool });
    await first.set("base.txt", join(root, "builders", "base.txt"));
    await first.push({ registry, name: "u/builders", message: "base" });
    await first.dispose();
    const base = await Package.browse("u/builders", { registry });
    const one = await base.toBuilder(withPool);
    const two = await base.toBuilder(withPool);
    await base.close();
    try {
      await one.set("one.txt", join(root, "builders", "one.txt"));
      await two.set("two.txt", join(root, "builders", "two.txt"));
      await one.push({ registry, name: "u/builders", message: "one" });
      const error = await two.push({ registry, name: "u/builders", message: "two" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).code).toBe("PACKAGE_LATEST_MOVED");
      expect(exitCodeFor(error)).toBe(EXIT_CODES.conflict);
    } finally {
      await one.dispose();
      await two.dispose();
    }
  });

  it("a tag and a hash that disagree: exit 4; a file where install needs a folder: exit 4", async () => {
    const dest = join(root, "conflict-dest");
    writeTree(dest, { sub: "a file where the package has a folder\n" });
    const before = snapshot(dest);
    const [tagHash, path] = await Promise.all([
      q("ls", `u/pkg:v1@${v2.topHash.slice(0, 8)}`, "--json"),
      q("install", "u/pkg:v1", "--dest", dest, "--json"),
    ]);
    expectJsonError(tagHash, 4, "TAG_HASH_MISMATCH");
    expectJsonError(path, 4, "INSTALL_PATH_CONFLICT");
    expect(snapshot(dest)).toEqual(before);
  });
});

describe.concurrent("integrity (exit 5)", () => {
  it("a data file edited in the registry after push: install and cat refuse it, nothing at its name", async () => {
    const registry = join(root, "registry-corrupt");
    const dir = join(root, "corrupt-src");
    writeTree(dir, { "good.txt": "good\n", "bad.txt": "original\n", "z/late.txt": "late\n" });
    expectOk(await runQuilt(["push", "u/corrupt", "--dir", dir, "--registry", registry, "--json"]));
    writeFileSync(join(registry, "u", "corrupt", "bad.txt"), "tampered\n");
    const dest = join(root, "corrupt-dest");
    const [install, cat] = await Promise.all([
      runQuilt(["install", "u/corrupt", "--dest", dest, "--registry", registry, "--json"]),
      runQuilt(["cat", "u/corrupt", "bad.txt", "--registry", registry, "--json"]),
    ]);
    expectJsonError(install, 5, "HASH_MISMATCH");
    expect(install.error().message).toContain("bad.txt");
    expect(existsSync(join(dest, "bad.txt"))).toBe(false);
    // No temp file left behind, and only package files (if any) were written, besides the stat
    // cache of what landed (.quiltkit/stat-cache/), so that a rerun skips those files unread.
    for (const file of existsSync(dest) ? filesUnder(dest) : []) expect(["good.txt", "z/late.txt", ".quiltkit/stat-cache/stat-cache.v1.jsonl"]).toContain(file);
    expectJsonError(cat, 5, "HASH_MISMATCH");
    expect(cat.stdout).toBe("");
  });
});
