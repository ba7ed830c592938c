import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { PyObject, PyValue } from "../json/index.js";
import { Registry } from "../registry/registry.js";
import { LocalStorage } from "../storage/index.js";
import { applyWorkflow, validateWorkflow, type WorkflowRequest } from "./index.js";

const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A local registry with `config` as its config.yml and `files` under .quilt/workflows/; `{dir}` in the config is that folder's URL. */
function registryWith(config: string | undefined, files: Record<string, string> = {}): Registry {
  const root = mkdtempSync(join(tmpdir(), "quiltkit-wf-unit-"));
  roots.push(root);
  const dir = join(root, ".quilt/workflows");
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  if (config !== undefined) writeFileSync(join(dir, "config.yml"), config.replaceAll("{dir}", pathToFileURL(dir).href));
  return new Registry(new LocalStorage(root));
}

async function* noEntries(): AsyncGenerator<never> {}

function request(registry: Registry, extra: Partial<WorkflowRequest> = {}): WorkflowRequest {
  return { registry, name: "lab/pkg", message: "m", entries: noEntries, ...extra };
}

const ONE = (workflow: string, top = "") => `version: "1"\n${top}workflows:\n  w:\n    name: W\n${workflow}`;
const WITH_SCHEMA = (url: string) => `${ONE("    metadata_schema: s\n")}schemas:\n  s:\n    url: ${url}\n`;

describe("which workflow runs", () => {
  it("none without a config, unless one is asked for", async () => {
    const registry = registryWith(undefined);
    expect(await validateWorkflow(request(registry), undefined)).toBeUndefined();
    await expect(validateWorkflow(request(registry, { workflow: "w" }), undefined)).rejects.toMatchObject({
      code: "WORKFLOW_CONFIG_MISSING",
      message: "'w' workflow is specified, but no workflows config exist.",
    });
    await expect(validateWorkflow(request(registry, { workflow: null }), undefined)).rejects.toThrow(
      "None workflow is specified, but no workflows config exist.",
    );
  });

  it("is required by default, and must exist", async () => {
    const registry = registryWith(ONE(""));
    await expect(validateWorkflow(request(registry), undefined)).rejects.toMatchObject({ code: "WORKFLOW_REQUIRED", message: "Workflow required, but none specified." });
    await expect(validateWorkflow(request(registry, { workflow: null }), undefined)).rejects.toMatchObject({ code: "WORKFLOW_REQUIRED" });
    await expect(validateWorkflow(request(registry, { workflow: "x" }), undefined)).rejects.toMatchObject({
      code: "WORKFLOW_NOT_FOUND",
      message: "There is no 'x' workflow in config.",
    });
    const stored = await validateWorkflow(request(registry, { workflow: "w" }), undefined);
    expect([...(stored ?? new Map()).keys()]).toEqual(["id", "config"]);
  });

  it("the default_workflow when none is named, and {id: null} when none is required", async () => {
    const registry = registryWith(ONE("", "default_workflow: w\nis_workflow_required: false\n"));
    expect((await validateWorkflow(request(registry), undefined))?.get("id")).toBe("w");
    expect((await validateWorkflow(request(registry, { workflow: null }), undefined))?.get("id")).toBe(null);
  });
});

describe("the checks", () => {
  it("an empty message is no message; the name is searched, not matched whole", async () => {
    const registry = registryWith(ONE("    is_message_required: true\n    handle_pattern: 'b/'\n"));
    await expect(validateWorkflow(request(registry, { workflow: "w", message: "" }), undefined)).rejects.toThrow(
      "Commit message is required by workflow, but none was provided.",
    );
    // re.search: "b/" is found inside "lab/pkg" (re.match would not find it at the start).
    expect(await validateWorkflow(request(registry, { workflow: "w", name: "lab/pkg" }), undefined)).toBeDefined();
    await expect(validateWorkflow(request(registry, { workflow: "w", name: "la/pkg" }), undefined)).rejects.toMatchObject({ violations: [{ rule: "name" }] });
  });

  it("metadata: absent is {}, null is null", async () => {
    const registry = registryWith(WITH_SCHEMA("{dir}/s.json"), { "s.json": '{"type": "object"}' });
    expect(await validateWorkflow(request(registry, { workflow: "w" }), undefined)).toBeDefined();
    await expect(validateWorkflow(request(registry, { workflow: "w" }), null)).rejects.toThrow("Metadata failed validation: (top level) must be object (schema #/type)");
  });

  it("stores each schema id once, in load order, even when two ids share a URL", async () => {
    const config = `version: "1"\nworkflows:\n  w:\n    name: W\n    metadata_schema: m\n    entries_schema: e\nschemas:\n  e:\n    url: {dir}/s.json\n  m:\n    url: {dir}/s.json\n`;
    const registry = registryWith(config, { "s.json": "true" });
    const stored = await validateWorkflow(request(registry, { workflow: "w" }), undefined);
    const schemas = stored?.get("schemas") as PyObject;
    expect([...schemas.keys()]).toEqual(["m", "e"]);
    expect(schemas.get("m")).toBe(schemas.get("e"));
  });
});

describe("schema problems are config errors", () => {
  it.each([
    ["a $ref anywhere", '{"properties": {"a": {"items": {"$ref": "#"}}}}', "Currently we don't support $ref in schema."],
    ["another meta-schema", '{"$schema": "http://json-schema.org/draft-04/schema#"}', "Unsupported meta-schema: http://json-schema.org/draft-04/schema#."],
    ["a $schema that is no string", '{"$schema": 7}', "$schema must be a string."],
    ["text that is not JSON", "{type: object}", "as JSON."],
    ["a schema the meta-schema refuses", '{"type": 5}', "Schema 's' is not valid:"],
    ["a pattern Python refuses", '{"pattern": "(?<x>a)"}', "Schema 's' is not valid: a regular expression is not supported"],
  ])("%s", async (_what, schema, message) => {
    const registry = registryWith(WITH_SCHEMA("{dir}/s.json"), { "s.json": schema });
    await expect(validateWorkflow(request(registry, { workflow: "w" }), undefined)).rejects.toMatchObject({ code: "WORKFLOW_CONFIG_INVALID" });
    await expect(validateWorkflow(request(registry, { workflow: "w" }), undefined)).rejects.toThrow(message);
  });

  it.each([
    ["a missing file", "{dir}/missing.json", /Couldn't load schema at file:\/\/\/.*missing\.json\./],
    ["a URL of another scheme", "https://example.com/s.json", "Couldn't parse URL 'https://example.com/s.json'."],
  ])("%s", async (_what, url, message) => {
    const registry = registryWith(WITH_SCHEMA(url));
    await expect(validateWorkflow(request(registry, { workflow: "w" }), undefined)).rejects.toThrow(message);
  });

  it("an id that schemas lacks, and a handle_pattern that cannot be used", async () => {
    await expect(validateWorkflow(request(registryWith(ONE("    metadata_schema: nope\n")), { workflow: "w" }), undefined)).rejects.toThrow(
      "There is no 'nope' in schemas.",
    );
    await expect(validateWorkflow(request(registryWith(ONE("    handle_pattern: '(?i:a)'\n")), { workflow: "w" }), undefined)).rejects.toMatchObject({
      code: "WORKFLOW_CONFIG_INVALID",
    });
  });
});

describe("applyWorkflow", () => {
  it("drops a stale workflow key when none applies, and keeps the key's place when it is set again", async () => {
    const header: PyObject = new Map<string, PyValue>([["version", "v0"], ["workflow", "old"], ["message", "m"]]);
    await applyWorkflow(header, request(registryWith(undefined)));
    expect([...header.keys()]).toEqual(["version", "message"]);
    const again: PyObject = new Map<string, PyValue>([["version", "v0"], ["workflow", "old"], ["message", "m"]]);
    await applyWorkflow(again, request(registryWith(ONE("")), { workflow: "w" }));
    expect([...again.keys()]).toEqual(["version", "workflow", "message"]);
    expect((again.get("workflow") as PyObject).get("id")).toBe("w");
  });
});
