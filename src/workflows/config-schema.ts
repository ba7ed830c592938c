/**
 * The shape of `.quilt/workflows/config.yml`, version 1.1.0: the rules of quilt3 8.0.0's
 * `workflows/config-1.schema.json` (JSON Schema draft-07; quilt3 checks them without asserting
 * `format`), restated here without its descriptions and examples.
 */
const version = { type: "string", pattern: "^[1-9][0-9]*(\\.(0|[1-9][0-9]*)){0,2}$" };

const workflow = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: {
    catalog: true,
    name: { type: "string", minLength: 1 },
    description: { type: "string", minLength: 1 },
    handle_pattern: { type: "string", format: "regex" },
    metadata_schema: { type: "string" },
    entries_schema: { type: "string" },
    is_message_required: { type: "boolean", default: false },
  },
};

export const CONFIG_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  required: ["version", "workflows"],
  additionalProperties: false,
  properties: {
    catalog: true,
    version: {
      oneOf: [version, { type: "object", additionalProperties: false, required: ["base"], properties: { base: version, catalog: version } }],
    },
    is_workflow_required: { type: "boolean", default: true },
    default_workflow: { type: "string" },
    workflows: {
      type: "object",
      minProperties: 1,
      propertyNames: { pattern: "^[A-Za-z_-][A-Za-z0-9_-]*$", maxLength: 64 },
      additionalProperties: workflow,
    },
    schemas: {
      type: "object",
      minProperties: 1,
      additionalProperties: { type: "object", required: ["url"], properties: { url: { type: "string", format: "uri" } } },
    },
    successors: {
      type: "object",
      minProperties: 1,
      propertyNames: { format: "uri" },
      additionalProperties: {
        type: "object",
        required: ["title"],
        properties: { title: { type: "string", minLength: 1 }, copy_data: { type: "boolean", default: true } },
      },
    },
  },
} as const;

/** The newest config version understood (quilt3 `WorkflowConfig.CONFIG_DATA_VERSION`). */
export const CONFIG_DATA_VERSION = [1, 1, 0] as const;

/** A config after validation against `CONFIG_SCHEMA`. */
export interface WorkflowsConfig {
  readonly version: string | { readonly base: string; readonly catalog?: string };
  readonly is_workflow_required?: boolean;
  readonly default_workflow?: string;
  readonly workflows: Readonly<Record<string, WorkflowEntry>>;
  readonly schemas?: Readonly<Record<string, { readonly url: string }>>;
}

export interface WorkflowEntry {
  readonly name: string;
  readonly handle_pattern?: string;
  readonly metadata_schema?: string;
  readonly entries_schema?: string;
  readonly is_message_required?: boolean;
}
