/**
 * Quiltkit and quilt3 on the same local registries, both ways: quilt3 browses what we push (same
 * top hash, same entries, same metadata, same pointers); we browse, install and verify what quilt3
 * builds; `quilt hash` equals quilt3's `set_dir('.', DIR, meta)` + build, `.quiltignore` included.
 *
 * quilt3 runs in one Python process for the whole file (helpers below), with the Python of
 * `scripts/quilt3.sh`'s virtualenv (else `python3`). Without an importable quilt3 these tests are
 * skipped locally, and FAIL when `CI` is set (CI runs scripts/quilt3.sh: quilt3 8.0.0).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { openRegistry, PackageBuilder, parsePyJson } from "../src/index.js";
import { HashPool } from "../src/hash/index.js";
import { describeRun, runQuilt, type RunResult } from "./helpers/cli.js";
import { materializeSetAInputs } from "./helpers/inputs.js";
import { QUILT3_SETUP_HINT, quilt3Python } from "./helpers/quilt3.js";
import { filesUnder, writeTree } from "./helpers/tree.js";

/** The Python side: one JSON request per line on stdin, one JSON answer per line on stdout. */
const QUILT3_SERVER = String.raw`
import json, sys, traceback
try:
    import quilt3
    from quilt3 import Package
except BaseException as e:
    print(json.dumps({"ready": False, "error": "%s: %s" % (type(e).__name__, e)}), flush=True)
    sys.exit(0)
print(json.dumps({"ready": True, "version": quilt3.__version__}), flush=True)

def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

def loads(text):
    return None if text is None else json.loads(text)

def entries_of(pkg):
    return [{"logical_key": lk, "physical_key": str(e.physical_key), "size": e.size, "hash": e.hash,
             "meta_json": compact(e._meta)} for lk, e in pkg.walk()]

def browse(r):
    pkg = Package.browse(r["name"], registry=r["registry"], top_hash=r.get("top_hash"))
    return {"top_hash": pkg.top_hash, "message": pkg._meta.get("message"), "meta_json": compact(pkg.meta),
            "entries": entries_of(pkg),
            "versions": sorted([list(v) for v in quilt3.list_package_versions(r["name"], registry=r["registry"])]),
            "packages": sorted(quilt3.list_packages(r["registry"]))}

def build(r):
    pkg = Package()
    for f in r["files"]:
        pkg.set(f["logical_key"], f["path"], meta=loads(f.get("meta_json")))
    if r.get("meta_json") is not None:
        pkg.set_meta(json.loads(r["meta_json"]))
    pkg.build(r["name"], registry=r["registry"], message=r.get("message"))
    return {"top_hash": pkg.top_hash}

def hash_dir(r):
    pkg = Package()
    pkg.set_dir(".", r["dir"], meta=loads(r.get("meta_json")))
    pkg.build("hash/dir", registry=r["registry"], message=r.get("message"))
    return {"top_hash": pkg.top_hash, "keys": [lk for lk, _ in pkg.walk()]}

OPS = {"browse": browse, "build": build, "hash_dir": hash_dir}
for line in sys.stdin:
    request = json.loads(line)
    try:
        answer = {"ok": True, "result": OPS[request["op"]](request)}
    except BaseException as e:
        answer = {"ok": False, "error": "%s: %s" % (type(e).__name__, e), "trace": traceback.format_exc()}
    print(json.dumps(answer), flush=True)
`;

interface Quilt3Entry {
  logical_key: string;
  physical_key: string;
  size: number;
  hash: { type: string; value: string };
  meta_json: string;
}
interface Quilt3Browse {
  top_hash: string;
  message: string | null;
  meta_json: string;
  entries: Quilt3Entry[];
  versions: [string, string][];
  packages: string[];
}

/** One quilt3 Python process, asked one thing at a time. */
class Quilt3 {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly answers: AsyncIterator<string>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly version: string,
    answers: AsyncIterator<string>,
  ) {
    this.answers = answers;
  }

  /** Start it; resolves to the process, or to why quilt3 cannot be used. */
  static async start(dir: string): Promise<Quilt3 | string> {
    const script = join(dir, "quilt3_server.py");
    writeFileSync(script, QUILT3_SERVER);
    // quilt3 keeps its config and cache under platformdirs' XDG folders: point them at temp ones.
    const env = {
      ...process.env,
      QUILT_DISABLE_USAGE_METRICS: "true",
      QUILT_DISABLE_CACHE: "true",
      XDG_DATA_HOME: join(dir, "xdg-data"),
      XDG_CACHE_HOME: join(dir, "xdg-cache"),
      XDG_CONFIG_HOME: join(dir, "xdg-config"),
      XDG_STATE_HOME: join(dir, "xdg-state"),
    };
    const python = quilt3Python();
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(python, ["-u", script], { env, stdio: ["pipe", "pipe", "pipe"] });
    } catch (error) {
      return `${python} could not be started: ${String(error)}`;
    }
    const stderr: Buffer[] = [];
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const failed = new Promise<string>((done) => {
      child.on("error", (error) => done(`${python} could not be started: ${error.message}`));
      child.on("close", (code) => done(`${python} exited (${code}) before answering: ${Buffer.concat(stderr).toString().trim()}`));
    });
    const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await Promise.race([answers.next().then((r) => (r.done ? undefined : r.value)), failed]);
    if (first === undefined) return failed;
    if (!first.startsWith("{")) return first;
    const hello = JSON.parse(first) as { ready: boolean; version?: string; error?: string };
    if (!hello.ready) {
      child.stdin.end();
      return `${python} cannot import quilt3 (${hello.error ?? "?"})`;
    }
    return new Quilt3(child, hello.version ?? "?", answers);
  }

  call<T>(op: string, request: Record<string, unknown>): Promise<T> {
    const run = this.queue.then(async () => {
      this.child.stdin.write(JSON.stringify({ op, ...request }) + "\n");
      const line = await this.answers.next();
      if (line.done) throw new Error(`quilt3 process ended during ${op}`);
      const answer = JSON.parse(line.value) as { ok: boolean; result?: T; error?: string; trace?: string };
      if (!answer.ok) throw new Error(`quilt3 ${op} failed: ${answer.error ?? ""}\n${answer.trace ?? ""}`);
      return answer.result as T;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.child.stdin.end();
    await new Promise<void>((done) => (this.child.exitCode === null ? this.child.once("exit", () => done()) : done()));
  }
}

let work = "";
let quilt3: Quilt3 | string = "not started";
let inputs = "";

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "quiltkit-interop-"));
  inputs = materializeSetAInputs();
  quilt3 = await Quilt3.start(work);
});

afterAll(async () => {
  if (typeof quilt3 !== "string") await quilt3.stop();
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

/** quilt3, or: skip (locally) / fail (CI) with the reason it is missing. */
function need(ctx: TestContext): Quilt3 {
  if (typeof quilt3 !== "string") return quilt3;
  if (process.env.CI) {
    throw new Error(`quilt3 is required on CI but ${quilt3}. ${QUILT3_SETUP_HINT}`);
  }
  return ctx.skip(`quilt3 not available: ${quilt3}. ${QUILT3_SETUP_HINT}`);
}

function expectOk(run: RunResult, code = 0): RunResult {
  expect(run.code, describeRun(run)).toBe(code);
  return run;
}

/** Our `ls -r --json` line for an entry, as quilt3 sees it: compared as text, numbers exact. */
function ndjsonLine(e: Quilt3Entry): string {
  return (
    `{"logicalKey":${JSON.stringify(e.logical_key)},"physicalKey":${JSON.stringify(e.physical_key)},"size":${e.size},` +
    `"hash":{"type":${JSON.stringify(e.hash.type)},"value":${JSON.stringify(e.hash.value)}},"meta":${e.meta_json}}`
  );
}

interface PointerJson {
  pointer: string;
  topHash: string;
}

/** What quilt3 sees of a package of ours equals what we print of it. */
async function expectSameAsQuilt3(q3: Quilt3, registry: string, name: string, topHash: string): Promise<Quilt3Browse> {
  const seen = await q3.call<Quilt3Browse>("browse", { name, registry: pathToFileURL(registry).href });
  expect(seen.top_hash).toBe(topHash);
  const [ls, meta, versions] = await Promise.all([
    runQuilt(["ls", name, "-r", "--json", "--registry", registry]),
    runQuilt(["meta", name, "--json", "--registry", registry]),
    runQuilt(["versions", name, "--json", "--registry", registry]),
  ]);
  expect(expectOk(ls).stdout).toBe(seen.entries.map((e) => ndjsonLine(e) + "\n").join(""));
  expect(expectOk(meta).stdout).toBe(`${seen.meta_json}\n`);
  const ours = expectOk(versions)
    .lines<PointerJson>()
    .map((p) => [p.pointer, p.topHash])
    .sort();
  expect(ours).toEqual(seen.versions);
  return seen;
}

describe("quilt3 reads what Quiltkit writes", () => {
  it("a `quilt push` of a folder: same top hash, entries, metadata and pointers", async (ctx) => {
    const q3 = need(ctx);
    const registry = join(work, "registry-ours");
    const dir = join(work, "pushed");
    writeTree(dir, {
      "README.md": "# pushed by quiltkit\n",
      ".hidden": "dot file\n",
      "données/été.csv": "a,b\n1,2\n",
      "dir with space/50% off #1.txt": "sale\n",
      "emoji 😀.txt": "😀\n",
      "a/b/c/deep.bin": Buffer.from([0, 1, 2, 255]),
      "empty.txt": "",
    });
    const meta = '{"f": 1.0, "big": 18446744073709551616, "tiny": 1e-07, "s": "Grüße 😀", "nested": {"z": [1, 2.5, null], "a": {}}}';
    const push = expectOk(
      await runQuilt(["push", "ours/pushed", "--dir", dir, "-m", "from quiltkit", "--meta", meta, "-t", "v1", "--registry", registry, "--json"]),
    ).json<{ topHash: string }>();
    const seen = await expectSameAsQuilt3(q3, registry, "ours/pushed", push.topHash);
    expect(seen.message).toBe("from quiltkit");
    expect(seen.meta_json).toBe('{"f":1.0,"big":18446744073709551616,"tiny":1e-07,"s":"Grüße 😀","nested":{"z":[1,2.5,null],"a":{}}}');
    expect(seen.entries.map((e) => e.logical_key)).toContain(".hidden");
    expect(seen.packages).toEqual(["ours/pushed"]);
  });

  it("a library push with per-entry metadata and folder metadata: same as quilt3 sees it", async (ctx) => {
    const q3 = need(ctx);
    const registry = join(work, "registry-lib");
    const pool = new HashPool({ size: 1 });
    const builder = new PackageBuilder({ name: "ours/lib", pool });
    try {
      await builder.set("hello.txt", join(inputs, "hello.txt"), parsePyJson('{"greeting": true, "score": 0.5, "n": 1.0}'));
      await builder.set("big/plus-one.bin", join(inputs, "big", "eight_mib_plus_one.bin"), parsePyJson('{"parts": 2}'));
      await builder.setDir("tree", join(inputs, "tree"), { meta: parsePyJson('{"source": "tree"}') });
      await builder.setMeta(parsePyJson('{"title": "library", "ratio": 1e+100}'));
      const pushed = await builder.push({ registry: await openRegistry(registry), name: "ours/lib", message: "library push", tags: ["stable"] });
      const seen = await expectSameAsQuilt3(q3, registry, "ours/lib", pushed.topHash);
      expect(seen.meta_json).toBe('{"title":"library","ratio":1e+100}');
      expect(seen.entries.find((e) => e.logical_key === "hello.txt")?.meta_json).toBe('{"user_meta":{"greeting":true,"score":0.5,"n":1.0}}');
    } finally {
      await builder.dispose();
      await pool.close();
    }
  });
});

describe("Quiltkit reads what quilt3 writes", () => {
  it("browses, installs and verifies a package quilt3 built into a local registry: same top hash", async (ctx) => {
    const q3 = need(ctx);
    const registry = join(work, "registry-quilt3");
    const files = [
      { logical_key: "hello.txt", path: "hello.txt", meta_json: '{"greeting": true, "f": 1.0}' },
      { logical_key: "data/plus-one.bin", path: "big/eight_mib_plus_one.bin" },
      { logical_key: "données/été.csv", path: "données/été.csv" },
      { logical_key: "dir with space/50% off #1.txt", path: "dir with space/50% off #1.txt" },
      { logical_key: "emoji 😀.txt", path: "emoji 😀.txt" },
      { logical_key: "empty.txt", path: "empty.txt", meta_json: "{}" },
    ].map((f) => ({ ...f, path: join(inputs, f.path) }));
    const meta = '{"built_by": "quilt3", "f": 1.0, "big": 18446744073709551616}';
    const built = await q3.call<{ top_hash: string }>("build", {
      name: "theirs/pkg",
      registry: pathToFileURL(registry).href,
      files,
      meta_json: meta,
      message: "built by quilt3",
    });

    const dest = join(work, "installed");
    const [show, metaRun, manifestHash, entryMeta] = await Promise.all([
      runQuilt(["show", "theirs/pkg", "--json", "--registry", registry]),
      runQuilt(["meta", "theirs/pkg", "--json", "--registry", registry]),
      runQuilt(["manifest", "hash", join(registry, ".quilt", "packages", built.top_hash)]),
      runQuilt(["meta", `theirs/pkg@${built.top_hash.slice(0, 6)}`, "hello.txt", "--json", "--registry", registry]),
    ]);
    expect(expectOk(show).json()).toMatchObject({ name: "theirs/pkg", topHash: built.top_hash, message: "built by quilt3", entries: files.length });
    expect(expectOk(metaRun).stdout).toBe('{"built_by":"quilt3","f":1.0,"big":18446744073709551616}\n');
    expect(expectOk(manifestHash).stdout).toBe(`${built.top_hash}\n`);
    expect(expectOk(entryMeta).stdout).toBe('{"greeting":true,"f":1.0}\n');

    const install = expectOk(await runQuilt(["install", "theirs/pkg", "--dest", dest, "--registry", registry, "--json"]));
    expect(install.json()).toMatchObject({ topHash: built.top_hash, files: files.length });
    for (const f of files) expect(readFileSync(join(dest, f.logical_key)).equals(readFileSync(f.path)), f.logical_key).toBe(true);
    expect(filesUnder(dest).filter((p) => !p.startsWith(".quiltkit/"))).toEqual(files.map((f) => f.logical_key).sort());
    expect(expectOk(await runQuilt(["verify", "theirs/pkg", dest, "--registry", registry, "--json"])).json()).toMatchObject({
      added: [],
      modified: [],
      deleted: [],
    });
  });
});

describe("`quilt hash` is quilt3's set_dir('.', DIR, meta) + build", () => {
  it("on set A's inputs with .quiltignore rules and hidden files, with and without --meta", async (ctx) => {
    const q3 = need(ctx);
    const dir = join(work, "inputs-copy");
    cpSync(inputs, dir, { recursive: true });
    // `*.bin` drops the big files, `notes` a top folder, `e` a deep one (a/b/c/d/e); hidden files stay.
    writeTree(dir, {
      ".quiltignore": "*.bin\nnotes\ne\n",
      ".hidden.txt": "hidden\n",
      ".config/settings.json": '{"x": 1}\n',
      "tree/.dotfile": "dot\n",
    });
    const registry = pathToFileURL(join(work, "registry-hash")).href;
    const meta = '{"f": 1.0, "n": 18446744073709551616, "s": "é", "list": [1, 0.1, 1e+100]}';
    const theirs = await q3.call<{ top_hash: string; keys: string[] }>("hash_dir", { dir, meta_json: meta, message: "interop", registry });
    const theirsPlain = await q3.call<{ top_hash: string; keys: string[] }>("hash_dir", { dir, message: null, registry });
    // The rules did something, as intended: no .bin, no notes/, no a/b/c/d/e/; hidden files kept.
    expect(theirs.keys.some((k) => k.endsWith(".bin") || k.startsWith("notes/") || k.includes("/e/"))).toBe(false);
    expect(theirs.keys).toEqual(expect.arrayContaining([".quiltignore", ".hidden.txt", ".config/settings.json", "tree/.dotfile"]));

    const [ours, oursPlain] = await Promise.all([
      runQuilt(["hash", dir, "--meta", meta, "-m", "interop", "--json"]),
      runQuilt(["hash", dir]),
    ]);
    expect(expectOk(ours).json(), `quilt3 keys: ${theirs.keys.join(", ")}`).toEqual({ topHash: theirs.top_hash, entries: theirs.keys.length });
    expect(expectOk(oursPlain).stdout).toBe(`${theirsPlain.top_hash}\n`);
  });
});
