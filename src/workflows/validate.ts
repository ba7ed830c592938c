/**
 * quilt3's `workflows.validate` (spec §6.1): which workflow runs, its checks, and the value the
 * header stores. Config problems stop at once, as in quilt3; the package's own violations
 * (message, name, metadata, entries) are all gathered and reported together.
 */
import type { PyObject, PyValue } from "../json/index.js";
import { pyRepr } from "../manifest/index.js";
import type { Registry } from "../registry/registry.js";
import type { Remotes } from "../storage/index.js";
import { compileProblem, failuresOf } from "./ajv.js";
import type { WorkflowEntry } from "./config-schema.js";
import { loadWorkflowsConfig, type LoadedConfig } from "./config.js";
import { checkEntries, type EntryToValidate } from "./entries.js";
import { WorkflowChoiceError, WorkflowConfigError, WorkflowValidationError } from "./errors.js";
import { pythonRegExp } from "./python-regex.js";
import { schemaViolation, ViolationList } from "./report.js";
import { SchemaLoader, type LoadedSchema } from "./schemas.js";
import { toSchemaValue } from "./values.js";

export interface WorkflowRequest {
  readonly registry: Registry;
  readonly name: string;
  readonly message?: string | null;
  /** quilt3's `workflow=`: an id; `null` for none; `undefined` (not given) for the config's `default_workflow`. */
  readonly workflow?: string | null;
  /** The entries in walk order, for `entries_schema` (only iterated when the workflow has one). */
  readonly entries: () => AsyncIterable<EntryToValidate>;
  /** How S3 buckets other than the registry's are reached, for schemas there (default: from the config). */
  readonly remotes?: Remotes;
  readonly maxBufferedEntries?: number;
  readonly signal?: AbortSignal;
}

/** What the workflow checks, with its schemas loaded. */
interface Checks {
  readonly id: string | null;
  readonly pattern?: { readonly regex: RegExp; readonly text: string };
  readonly messageRequired: boolean;
  readonly metadata?: LoadedSchema;
  readonly entries?: LoadedSchema;
}

/**
 * Validate a package about to be pushed. Returns the header's `workflow` value, or `undefined`
 * when the registry has no workflows config and no workflow was asked for (then the header has no
 * `workflow` key). `meta` is the header's `user_meta`, `undefined` when absent (quilt3 validates `{}`).
 */
export async function validateWorkflow(request: WorkflowRequest, meta: PyValue | undefined): Promise<PyObject | undefined> {
  const loaded = await loadWorkflowsConfig(request.registry);
  if (loaded === undefined) {
    if (request.workflow === undefined) return undefined;
    throw new WorkflowChoiceError(
      "WORKFLOW_CONFIG_MISSING",
      `${describeId(request.workflow)} workflow is specified, but no workflows config exist.`,
      `${request.registry.url} has no .quilt/workflows/config.yml: push without --workflow.`,
    );
  }
  const loader = new SchemaLoader(loaded, request.registry, request.remotes);
  const checks = await prepare(loaded, request.workflow, loader);
  const record = storedValue(checks.id, loaded.url, loader);
  const found = new ViolationList();
  if (checks.messageRequired && !request.message) {
    found.add({ rule: "message", message: "Commit message is required by workflow, but none was provided." });
  }
  if (checks.pattern !== undefined && !checks.pattern.regex.test(request.name)) {
    const problem = `${pyRepr(request.name)} does not match ${pyRepr(checks.pattern.text)}`;
    found.add({ rule: "name", message: `Package name doesn't match required pattern: ${problem}.` });
  }
  if (checks.metadata !== undefined && !checks.metadata.validate(toSchemaValue(meta === undefined ? new Map() : meta))) {
    for (const failure of failuresOf(checks.metadata.validate)) found.add(schemaViolation("metadata", failure));
  }
  if (checks.entries !== undefined) {
    await checkEntries(checks.entries, request.entries(), found, {
      ...(request.maxBufferedEntries === undefined ? {} : { maxBufferedEntries: request.maxBufferedEntries }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
  }
  if (found.size > 0) throw new WorkflowValidationError(checks.id, found.kept, found.omitted);
  return record;
}

/** quilt3 `get_workflow_validator`: choose the workflow, compile its pattern, load its schemas. */
async function prepare(loaded: LoadedConfig, requested: string | null | undefined, loader: SchemaLoader): Promise<Checks> {
  const config = loaded.config;
  const id = requested === undefined ? (config.default_workflow ?? null) : requested;
  let workflow: WorkflowEntry | Record<string, never> = {};
  if (id === null) {
    if (config.is_workflow_required ?? true) {
      throw new WorkflowChoiceError("WORKFLOW_REQUIRED", "Workflow required, but none specified.", `Name one of ${listIds(loaded)} (--workflow ID).`);
    }
  } else if (Object.hasOwn(config.workflows, id)) {
    workflow = config.workflows[id] as WorkflowEntry;
  } else {
    throw new WorkflowChoiceError("WORKFLOW_NOT_FOUND", `There is no ${pyRepr(id)} workflow in config.`, `Name one of ${listIds(loaded)}.`);
  }
  const text = workflow.handle_pattern;
  const pattern = text ? { regex: compilePattern(text), text } : undefined;
  // quilt3 loads the metadata schema first, then the entries schema: that is the order of `schemas`.
  const metadata = workflow.metadata_schema ? await loader.load(workflow.metadata_schema) : undefined;
  const entries = workflow.entries_schema ? await loader.load(workflow.entries_schema) : undefined;
  return {
    id,
    messageRequired: workflow.is_message_required ?? false,
    ...(pattern === undefined ? {} : { pattern }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(entries === undefined ? {} : { entries }),
  };
}

function compilePattern(pattern: string): RegExp {
  try {
    return pythonRegExp(pattern);
  } catch (cause) {
    throw new WorkflowConfigError(`handle_pattern ${pyRepr(pattern)} cannot be used: ${compileProblem(cause)}.`, { cause });
  }
}

/** `{"id": …, "config": …, "schemas": {…}}` in quilt3's key order (the manifest line keeps it). */
function storedValue(id: string | null, configUrl: string, loader: SchemaLoader): PyObject {
  const record: PyObject = new Map<string, PyValue>([
    ["id", id],
    ["config", configUrl],
  ]);
  if (loader.byId.size > 0) {
    record.set("schemas", new Map<string, PyValue>(Array.from(loader.byId, ([schemaId, schema]) => [schemaId, schema.storedUrl])));
  }
  return record;
}

function describeId(workflow: string | null): string {
  return workflow === null ? "None" : pyRepr(workflow);
}

function listIds(loaded: LoadedConfig): string {
  const ids = Object.keys(loaded.config.workflows);
  return ids.length === 0 ? "the config's workflows" : ids.map((id) => pyRepr(id)).join(", ");
}
