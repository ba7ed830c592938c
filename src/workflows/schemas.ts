/**
 * The JSON Schemas a workflow names, loaded as quilt3's `WorkflowConfig.make_validator_from_schema`
 * does: looked up by id in the config's `schemas`, read from S3 (any bucket) or, for local
 * registries only, from a `file://` URL; parsed with Python's `json` (so `$ref` anywhere is refused,
 * as quilt3's object hook refuses it); draft-07 only; checked against the draft-07 meta-schema.
 * Each URL is read once per validation, and the URL stored is the one read (with its versionId).
 */
import type { ValidateFunction } from "ajv";
import { parsePyJson, type PyValue } from "../json/index.js";
import type { Registry } from "../registry/registry.js";
import { formatPhysicalKey, parsePhysicalKey, type PhysicalKey, type Remotes } from "../storage/index.js";
import { compileProblem, compileSchema } from "./ajv.js";
import type { LoadedConfig } from "./config.js";
import { WorkflowConfigError } from "./errors.js";
import { bucketStorage, readLocalFile, readVersioned } from "./objects.js";
import { toSchemaValue } from "./values.js";

const DRAFT_07 = "http://json-schema.org/draft-07/schema#";

export interface LoadedSchema {
  /** The schema as plain JSON (what ajv compiled). */
  readonly schema: unknown;
  readonly validate: ValidateFunction;
  /** The URL quilt3 stores for it in the header's `workflow.schemas`. */
  readonly storedUrl: string;
}

/** Loads the schemas of one validation, each URL once (quilt3's `loaded_schemas`). */
export class SchemaLoader {
  private readonly byUrl = new Map<string, LoadedSchema>();
  /** Schema id to what it loaded, in load order: this is the header's `schemas` dict. */
  readonly byId = new Map<string, LoadedSchema>();

  constructor(
    private readonly loaded: LoadedConfig,
    private readonly registry: Registry,
    private readonly remotes: Remotes | undefined,
  ) {}

  async load(id: string): Promise<LoadedSchema> {
    const known = this.byId.get(id);
    if (known !== undefined) return known;
    const pk = this.keyOf(id);
    const url = formatPhysicalKey(pk);
    const schema = this.byUrl.get(url) ?? (await this.read(id, pk));
    this.byUrl.set(url, schema);
    this.byId.set(id, schema);
    return schema;
  }

  private keyOf(id: string): PhysicalKey {
    const entry = this.loaded.config.schemas?.[id];
    if (entry === undefined) throw new WorkflowConfigError(`There is no '${id}' in schemas.`);
    let pk: PhysicalKey;
    try {
      pk = parsePhysicalKey(entry.url);
    } catch (cause) {
      throw new WorkflowConfigError(`Couldn't parse URL '${entry.url}'.`, { cause, hint: "Schema URLs are s3://BUCKET/KEY or, for local registries, file:///PATH." });
    }
    if (pk.kind === "file" && !this.loaded.local) {
      throw new WorkflowConfigError(`Local schema '${formatPhysicalKey(pk)}' can't be used on the remote registry.`, {
        hint: "Upload the schema to S3 and name it by its s3:// URL in config.yml.",
      });
    }
    return pk;
  }

  private async read(id: string, pk: PhysicalKey): Promise<LoadedSchema> {
    const { bytes, stored } = await this.fetch(pk);
    let text: string;
    let value: PyValue;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      value = parsePyJson(text);
    } catch (cause) {
      throw new WorkflowConfigError(`Couldn't parse ${formatPhysicalKey(pk)} as JSON.`, { cause });
    }
    const schema = toSchemaValue(checkSchemaValue(value));
    let validate: ValidateFunction;
    try {
      validate = compileSchema(schema);
    } catch (cause) {
      throw new WorkflowConfigError(`Schema '${id}' is not valid: ${compileProblem(cause)}.`, { cause });
    }
    return { schema, validate, storedUrl: formatPhysicalKey(stored) };
  }

  private async fetch(pk: PhysicalKey): Promise<{ bytes: Buffer; stored: PhysicalKey }> {
    const missing = (): WorkflowConfigError => new WorkflowConfigError(`Couldn't load schema at ${formatPhysicalKey(pk)}.`);
    if (pk.kind === "file") {
      const bytes = await readLocalFile(pk.path);
      if (bytes === undefined) throw missing();
      return { bytes, stored: pk };
    }
    const storage = await bucketStorage(pk, this.registry, this.remotes);
    const read = await readVersioned(storage, pk.path, pk.versionId);
    if (read === undefined) throw missing();
    return { bytes: read.bytes, stored: read.versionId === undefined ? { kind: "s3", bucket: pk.bucket, path: pk.path } : { ...pk, versionId: read.versionId } };
  }
}

/** quilt3's checks on the decoded schema: no `$ref` anywhere, and draft-07 if `$schema` is given. */
function checkSchemaValue(value: PyValue): PyValue {
  if (hasRef(value)) throw new WorkflowConfigError("Currently we don't support $ref in schema.");
  if (value instanceof Map && value.has("$schema")) {
    const meta = value.get("$schema");
    if (typeof meta !== "string") throw new WorkflowConfigError("$schema must be a string.");
    if (meta !== DRAFT_07) throw new WorkflowConfigError(`Unsupported meta-schema: ${meta}.`, { hint: `Use "$schema": "${DRAFT_07}" (or none).` });
  }
  return value;
}

/** Whether any object in the value has a `$ref` key (quilt3's `object_hook` sees every object). */
function hasRef(value: PyValue): boolean {
  if (Array.isArray(value)) return value.some(hasRef);
  if (!(value instanceof Map)) return false;
  if (value.has("$ref")) return true;
  for (const inner of value.values()) if (hasRef(inner)) return true;
  return false;
}
