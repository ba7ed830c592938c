/**
 * quilt3 workflows end to end (spec §6.1): a registry's .quilt/workflows/config.yml with schemas
 * for package and entry metadata, a name pattern and a required message. A push that breaks them
 * is refused with every violation listed and nothing written; a valid one stores the header's
 * `workflow` object exactly as quilt3 8.0.0 does, so the manifest's header line and the top hash
 * equal quilt3's for the same folder, metadata and config. Local registries (file:// schemas) and
 * S3 (versitygw; config and schema read with their versionId), the library and the CLI.
 *
 * quilt3 runs with the Python of scripts/quilt3.sh (skipped locally without it, failing on CI).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from "vitest";
import { openRegistry, PackageBuilder, parsePyJson, type PyObject } from "../src/index.js";
import type { Registry } from "../src/registry/registry.js";
import { Remotes } from "../src/storage/index.js";
import { createVersionedBucket } from "../src/storage/s3/index.js";
import { WorkflowConfigError, WorkflowValidationError } from "../src/workflows/index.js";
import { describeRun, runQuilt } from "./helpers/cli.js";
import { QUILT3_DRIVER, QUILT3_SETUP_HINT, quilt3Available, quilt3Python } from "./helpers/quilt3.js";
import { awsEnvOf, clientOptionsOf } from "./helpers/s3-server.js";

const s3 = inject("s3");
const DRAFT_07 = "http://json-schema.org/draft-07/schema#";

const META_SCHEMA = {
  $schema: DRAFT_07,
  type: "object",
  required: ["author", "year"],
  properties: { author: { type: "string", minLength: 1 }, year: { type: "integer", minimum: 2000 } },
};
const ENTRIES_SCHEMA = {
  type: "array",
  minItems: 1,
  items: {
    type: "object",
    properties: {
      logical_key: { type: "string", pattern: "\\.(csv|txt)$" },
      size: { type: "integer", maximum: 1000 },
      meta: { type: "object", required: ["kind"], properties: { kind: { enum: ["raw", "derived"] } } },
    },
  },
};

function configYaml(schemaUrl: (name: string) => string): string {
  return [
    "version: '1.1'",
    "is_workflow_required: false",
    "default_workflow: strict",
    "workflows:",
    "  strict:",
    "    name: Strict",
    "    handle_pattern: ^(lab|test)/\\w+$",
    "    is_message_required: true",
    "    metadata_schema: meta",
    "    entries_schema: entries",
    "  loose:",
    "    name: Loose",
    "    description: Anything goes",
    "schemas:",
    "  meta:",
    `    url: ${schemaUrl("meta.schema.json")}`,
    "  entries:",
    `    url: ${schemaUrl("entries.schema.json")}`,
    "",
  ].join("\n");
}

let work = "";
let goodDir = "";
let badDir = "";

function writeFiles(root: string, files: Record<string, string | Buffer>): string {
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), body);
  }
  return root;
}

/** A local registry with the config and its schemas in `.quilt/workflows/`, named by file:// URLs. */
function localRegistry(name: string): string {
  const root = join(work, name);
  const at = (file: string): string => join(root, ".quilt/workflows", file);
  writeFiles(root, {
    ".quilt/workflows/meta.schema.json": JSON.stringify(META_SCHEMA),
    ".quilt/workflows/entries.schema.json": JSON.stringify(ENTRIES_SCHEMA),
    ".quilt/workflows/config.yml": configYaml((file) => pathToFileURL(at(file)).href),
  });
  return root;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "quiltkit-workflows-"));
  goodDir = writeFiles(join(work, "good"), { "a.csv": "x,y\n1,2\n", "sub/b.txt": "hello\n" });
  badDir = writeFiles(join(work, "bad"), { "a.csv": "x,y\n1,2\n", "c.bin": Buffer.alloc(2000, 7) });
});
afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// quilt3, one Python process per call
// ---------------------------------------------------------------------------------------------

const QUILT3_SCRIPT = String.raw`
import json, os, sys
sys.path.insert(0, os.path.dirname(os.environ["QUILT3_DRIVER"]))
import quilt3, quilt3.hooks
from quilt3.data_transfer import get_bytes
from quilt3.util import PhysicalKey
import quilt3_driver
quilt3.hooks.set_build_s3_client_hook(quilt3_driver.build_s3_client_hook)

r = json.load(sys.stdin)
pkg = quilt3.Package()
pkg.set_dir(".", r["dir"], meta=json.loads(r["meta_json"]))
for lk, meta in r["entry_meta"].items():
    pkg[lk].set_meta(meta)
kwargs = {"workflow": r["workflow"]} if "workflow" in r else {}
try:
    if r["registry"].startswith("s3://"):
        top_hash = pkg.push(r["name"], registry=r["registry"], message=r["message"], **kwargs).top_hash
    else:
        top_hash = pkg.build(r["name"], registry=r["registry"], message=r["message"], **kwargs)
except Exception as e:
    print(json.dumps({"error_type": type(e).__name__, "error": str(e)}))
    sys.exit(0)
manifest = get_bytes(PhysicalKey.from_url(r["registry"].rstrip("/") + "/.quilt/packages/" + top_hash))
print(json.dumps({"top_hash": top_hash, "header_line": manifest.decode("utf-8").split("\n")[0]}))
`;

interface Quilt3Push {
  readonly registry: string;
  readonly name: string;
  readonly dir: string;
  readonly metaJson: string;
  readonly entryMeta: Record<string, unknown>;
  readonly message: string | null;
  /** Absent: not given (quilt3's `...`). */
  readonly workflow?: string | null;
}

type Quilt3Answer = { top_hash: string; header_line: string } | { error_type: string; error: string };

async function quilt3Push(request: Quilt3Push, withS3 = false): Promise<Quilt3Answer> {
  const home = mkdtempSync(join(work, "quilt3-home-"));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    PYTHONDONTWRITEBYTECODE: "1",
    XDG_DATA_HOME: join(home, "data"),
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_STATE_HOME: join(home, "state"),
    QUILT_DISABLE_USAGE_METRICS: "true",
    QUILT_MINIMIZE_STDOUT: "true",
    QUILT_DISABLE_CACHE: "true",
    QUILT3_DRIVER,
    AWS_CONFIG_FILE: join(home, "none"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "none"),
    AWS_EC2_METADATA_DISABLED: "true",
    ...(withS3
      ? awsEnvOf(s3)
      : {}),
  };
  const input = {
    registry: request.registry,
    name: request.name,
    dir: request.dir,
    meta_json: request.metaJson,
    entry_meta: request.entryMeta,
    message: request.message,
    ...("workflow" in request ? { workflow: request.workflow } : {}),
  };
  const child = spawn(quilt3Python(), ["-c", QUILT3_SCRIPT], { cwd: home, env, stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  child.stdin.end(JSON.stringify(input));
  const code = await new Promise<number | null>((done) => child.on("close", done));
  const stdout = Buffer.concat(out).toString("utf8").trim();
  if (code !== 0) throw new Error(`quilt3 failed (${code}): ${Buffer.concat(err).toString("utf8")}`);
  return JSON.parse(stdout.split("\n").pop() ?? "") as Quilt3Answer;
}

function needQuilt3(ctx: TestContext): void {
  const reason = quilt3Available();
  if (reason === undefined) return;
  if (process.env.CI) throw new Error(`quilt3 is required on CI but ${reason}. ${QUILT3_SETUP_HINT}`);
  ctx.skip(`quilt3 not available: ${reason}. ${QUILT3_SETUP_HINT}`);
}

// ---------------------------------------------------------------------------------------------
// Quiltkit
// ---------------------------------------------------------------------------------------------

const GOOD_META = { author: "Ann", year: 2024 };
const GOOD_ENTRY_META = { "a.csv": { kind: "raw" }, "sub/b.txt": { kind: "derived" } };

interface OurPush {
  readonly registry: Registry;
  readonly name: string;
  readonly dir: string;
  readonly meta: unknown;
  readonly entryMeta: Record<string, unknown>;
  readonly message: string | null;
  readonly workflow?: string | null;
}

async function ourPush(request: OurPush): Promise<{ topHash: string; headerLine: string }> {
  const builder = new PackageBuilder();
  try {
    await builder.setDir(".", request.dir, { meta: request.meta });
    for (const [key, meta] of Object.entries(request.entryMeta)) await builder.setEntryMeta(key, meta);
    const pushed = await builder.push({
      registry: request.registry,
      name: request.name,
      message: request.message,
      ...("workflow" in request ? { workflow: request.workflow } : {}),
    });
    return { topHash: pushed.topHash, headerLine: await headerLine(request.registry, pushed.topHash) };
  } finally {
    await builder.dispose();
  }
}

async function headerLine(registry: Registry, topHash: string): Promise<string> {
  const bytes = await registry.storage.readAll(`.quilt/packages/${topHash}`);
  return bytes.toString("utf8").split("\n")[0] ?? "";
}

function workflowOf(line: string): PyObject | undefined {
  return (parsePyJson(line) as PyObject).get("workflow") as PyObject | undefined;
}

// ---------------------------------------------------------------------------------------------

describe("workflows on a local registry", () => {
  it("refuse a push that breaks them, listing every violation, and write nothing", async (ctx) => {
    const root = localRegistry("refuse");
    const registry = await openRegistry(root);
    const attempt = ourPush({ registry, name: "misc/bad", dir: badDir, meta: { year: "1999" }, entryMeta: { "a.csv": { kind: "other" } }, message: null });
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowValidationError);
    const refused = error as WorkflowValidationError;
    expect(refused.code).toBe("WORKFLOW_INVALID");
    expect(refused.workflow).toBe("strict");
    expect(refused.violations.map((v) => [v.rule, v.logicalKey ?? null, v.instancePath ?? null, v.schemaPath ?? null])).toEqual([
      ["message", null, null, null],
      ["name", null, null, null],
      ["metadata", null, "", "#/required"],
      ["metadata", null, "/year", "#/properties/year/type"],
      ["entries", "a.csv", "/0/meta/kind", "#/items/properties/meta/properties/kind/enum"],
      ["entries", "c.bin", "/1/logical_key", "#/items/properties/logical_key/pattern"],
      ["entries", "c.bin", "/1/size", "#/items/properties/size/maximum"],
      ["entries", "c.bin", "/1/meta", "#/items/properties/meta/required"],
    ]);
    expect(refused.message).toContain("(8 problems)");
    expect(refused.message).toContain("Commit message is required by workflow, but none was provided.");
    expect(refused.message).toContain("Package name doesn't match required pattern: 'misc/bad' does not match '^(lab|test)/\\\\w+$'.");
    expect(refused.message).toContain(`Package entries failed validation: entry "c.bin" /1/size must be <= 1000`);
    expect(existsSync(join(root, ".quilt/named_packages"))).toBe(false);
    expect(existsSync(join(root, ".quilt/packages"))).toBe(false);
    // The library's push checks before copying: no data under the package's folder either.
    expect(existsSync(join(root, "misc/bad"))).toBe(false);

    needQuilt3(ctx);
    const theirs = await quilt3Push({
      registry: pathToFileURL(root).href,
      name: "misc/bad",
      dir: badDir,
      metaJson: '{"year": "1999"}',
      entryMeta: { "a.csv": { kind: "other" } },
      message: null,
    });
    expect(theirs).toEqual({ error_type: "WorkflowValidationError", error: "Commit message is required by workflow, but none was provided." });
  });

  it("record quilt3's header `workflow` for a valid push: same header line, same top hash", async (ctx) => {
    const root = localRegistry("accept");
    const registry = await openRegistry(root);
    const config = pathToFileURL(join(root, ".quilt/workflows/config.yml")).href;
    const ours = await ourPush({ registry, name: "lab/ours", dir: goodDir, meta: GOOD_META, entryMeta: GOOD_ENTRY_META, message: "first" });
    const stored = workflowOf(ours.headerLine);
    expect(stored).toEqual(
      new Map<string, unknown>([
        ["id", "strict"],
        ["config", config],
        [
          "schemas",
          new Map([
            ["meta", pathToFileURL(join(root, ".quilt/workflows/meta.schema.json")).href],
            ["entries", pathToFileURL(join(root, ".quilt/workflows/entries.schema.json")).href],
          ]),
        ],
      ]),
    );
    expect(ours.headerLine.indexOf('"user_meta"')).toBeLessThan(ours.headerLine.indexOf('"workflow"'));
    expect(ours.headerLine.indexOf('"workflow"')).toBeLessThan(ours.headerLine.indexOf('"message"'));

    needQuilt3(ctx);
    const theirs = await quilt3Push({
      registry: pathToFileURL(root).href,
      name: "lab/theirs",
      dir: goodDir,
      metaJson: JSON.stringify(GOOD_META),
      entryMeta: GOOD_ENTRY_META,
      message: "first",
    });
    expect(theirs).toEqual({ top_hash: ours.topHash, header_line: ours.headerLine });
  });

  it("store {id: null} when no workflow is asked for, and no schemas for a workflow without any, as quilt3 does", async (ctx) => {
    const root = localRegistry("choices");
    const registry = await openRegistry(root);
    // Parsed with Python's meaning, so that 1.0 stays a float as in quilt3.
    const base = { registry, dir: goodDir, meta: parsePyJson('{"any": 1.0}'), entryMeta: {}, message: null };
    const none = await ourPush({ ...base, name: "misc/none", workflow: null });
    const loose = await ourPush({ ...base, name: "misc/loose", workflow: "loose" });
    const config = pathToFileURL(join(root, ".quilt/workflows/config.yml")).href;
    expect(workflowOf(none.headerLine)).toEqual(new Map<string, unknown>([["id", null], ["config", config]]));
    expect(workflowOf(loose.headerLine)).toEqual(new Map<string, unknown>([["id", "loose"], ["config", config]]));

    needQuilt3(ctx);
    const request = { registry: pathToFileURL(root).href, dir: goodDir, metaJson: '{"any": 1.0}', entryMeta: {}, message: null };
    expect(await quilt3Push({ ...request, name: "misc/none3", workflow: null })).toEqual({ top_hash: none.topHash, header_line: none.headerLine });
    expect(await quilt3Push({ ...request, name: "misc/loose3", workflow: "loose" })).toEqual({ top_hash: loose.topHash, header_line: loose.headerLine });
  });
});

describe("workflows on S3", () => {
  const bucket = `quiltkit-wf-${randomBytes(4).toString("hex")}`;
  let remotes: Remotes | undefined;

  beforeAll(async () => {
    await createVersionedBucket(clientOptionsOf(s3), bucket);
    remotes = new Remotes(clientOptionsOf(s3));
  });
  afterAll(() => remotes?.close());

  it("store the config and schema URLs with the versionId read, as quilt3 does, and refuse local schemas", async (ctx) => {
    if (remotes === undefined) throw new Error("beforeAll did not run");
    const storage = await remotes.s3(bucket);
    const key = (file: string): string => `.quilt/workflows/${file}`;
    const meta = await storage.write(key("meta.schema.json"), Buffer.from(JSON.stringify(META_SCHEMA)));
    const entries = await storage.write(key("entries.schema.json"), Buffer.from(JSON.stringify(ENTRIES_SCHEMA)));
    const config = await storage.write(key("config.yml"), Buffer.from(configYaml((file) => `s3://${bucket}/${key(file)}`)));
    for (const written of [meta, entries, config]) expect(written.versionId).toBeTruthy();
    const registry = await openRegistry(`s3://${bucket}`, { remotes });
    const ours = await ourPush({ registry, name: "lab/ours", dir: goodDir, meta: GOOD_META, entryMeta: GOOD_ENTRY_META, message: "on s3" });
    const url = (file: string, versionId: string | undefined): string => `s3://${bucket}/.quilt/workflows/${file}?versionId=${encodeURIComponent(versionId ?? "")}`;
    expect(workflowOf(ours.headerLine)).toEqual(
      new Map<string, unknown>([
        ["id", "strict"],
        ["config", url("config.yml", config.versionId)],
        [
          "schemas",
          new Map([
            ["meta", url("meta.schema.json", meta.versionId)],
            ["entries", url("entries.schema.json", entries.versionId)],
          ]),
        ],
      ]),
    );

    if (quilt3Available() === undefined || process.env.CI) {
      needQuilt3(ctx);
      const theirs = await quilt3Push(
        { registry: `s3://${bucket}`, name: "lab/theirs", dir: goodDir, metaJson: JSON.stringify(GOOD_META), entryMeta: GOOD_ENTRY_META, message: "on s3" },
        true,
      );
      expect(theirs).toEqual({ top_hash: ours.topHash, header_line: ours.headerLine });
    }

    await storage.write(key("config.yml"), Buffer.from(configYaml((file) => pathToFileURL(join(work, file)).href)));
    const refused = ourPush({ registry, name: "lab/local", dir: goodDir, meta: GOOD_META, entryMeta: GOOD_ENTRY_META, message: "m" });
    await expect(refused).rejects.toThrow(WorkflowConfigError);
    await expect(refused).rejects.toThrow(/Local schema 'file:\/\/.*meta\.schema\.json' can't be used on the remote registry\./);
  });
});

describe("quilt push --workflow", () => {
  it("pushes with the workflow named, stores it, and refuses a bad push before copying anything", async () => {
    const root = localRegistry("cli");
    const good = await runQuilt(["--json", "push", "lab/cli", "--dir", goodDir, "--registry", root, "-m", "m", "--meta", '{"author": "Ann", "year": 2024}', "--workflow", "loose"]);
    expect(good.code, describeRun(good)).toBe(0);
    const { topHash } = good.json<{ topHash: string }>();
    const registry = await openRegistry(root);
    expect(workflowOf(await headerLine(registry, topHash))?.get("id")).toBe("loose");

    const none = await runQuilt(["--json", "push", "lab/none", "--dir", goodDir, "--registry", root, "--workflow", ""]);
    expect(none.code, describeRun(none)).toBe(0);
    expect(workflowOf(await headerLine(registry, none.json<{ topHash: string }>().topHash))?.get("id")).toBe(null);

    const bad = await runQuilt(["push", "misc/bad", "--dir", badDir, "--registry", root, "--workflow", "strict"]);
    expect(bad.code, describeRun(bad)).toBe(2);
    expect(bad.stderr).toContain("Error: Package failed validation by workflow 'strict' (7 problems):");
    expect(bad.stderr).toContain("  - Commit message is required by workflow, but none was provided.");
    expect(bad.stderr).toContain(`  - Package entries failed validation: entry "c.bin" /1/logical_key must match pattern`);
    expect(bad.stderr).toMatch(/Hint: /);
    expect(existsSync(join(root, "misc"))).toBe(false);

    const badJson = await runQuilt(["--json", "push", "misc/bad", "--dir", badDir, "--registry", root, "--workflow", "nope"]);
    expect(badJson.code).toBe(2);
    expect(badJson.error()).toMatchObject({ code: "WORKFLOW_NOT_FOUND", message: "There is no 'nope' workflow in config." });
  });
});
