/**
 * A registry's workflows config, `<registry>/.quilt/workflows/config.yml` (quilt3
 * `WorkflowConfig.load`): read with its S3 version, parsed as PyYAML would, checked against the
 * config schema, and refused when its version is newer than 1.1.0.
 */
import type { ValidateFunction } from "ajv";
import type { Registry } from "../registry/registry.js";
import { fileKeyFromPath, formatPhysicalKey, isS3Storage, joinPhysicalKey, LocalStorage, type PhysicalKey } from "../storage/index.js";
import { compileSchema, failuresOf } from "./ajv.js";
import { CONFIG_DATA_VERSION, CONFIG_SCHEMA, type WorkflowsConfig } from "./config-schema.js";
import { WorkflowConfigError } from "./errors.js";
import { readVersioned } from "./objects.js";
import { parsePyYaml } from "./yaml.js";

export const CONFIG_KEY = ".quilt/workflows/config.yml";

export interface LoadedConfig {
  readonly config: WorkflowsConfig;
  /** Where it was read from, as quilt3 stores it: `file:///…` or `s3://bucket/…?versionId=…`. */
  readonly url: string;
  /** Whether the registry is a local folder (local schemas are refused on S3 registries). */
  readonly local: boolean;
}

/** The registry's config, or `undefined` when it has none. */
export async function loadWorkflowsConfig(registry: Registry): Promise<LoadedConfig | undefined> {
  const read = await readVersioned(registry.storage, CONFIG_KEY);
  if (read === undefined) return undefined;
  const url = formatPhysicalKey(configKey(registry, read.versionId));
  const config = parseConfig(read.bytes, url);
  return { config, url, local: !isS3Storage(registry.storage) };
}

/** quilt3: the registry's base key (a local one resolved with `realpath`) joined with the config path. */
function configKey(registry: Registry, versionId: string | undefined): PhysicalKey {
  const storage = registry.storage;
  if (isS3Storage(storage)) {
    return versionId === undefined
      ? { kind: "s3", bucket: storage.bucket, path: CONFIG_KEY }
      : { kind: "s3", bucket: storage.bucket, path: CONFIG_KEY, versionId };
  }
  if (!(storage instanceof LocalStorage)) throw new WorkflowConfigError(`Workflows need a local or S3 registry, not ${storage.url}.`);
  return joinPhysicalKey(fileKeyFromPath(storage.root), CONFIG_KEY);
}

/** The config's text as a checked config object. */
export function parseConfig(bytes: Uint8Array, url: string): WorkflowsConfig {
  let data: unknown;
  try {
    data = parsePyYaml(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new WorkflowConfigError(`Couldn't parse workflows config as YAML (${url}): ${firstLine(cause)}`, { cause });
  }
  const validate = configValidator();
  if (!validate(data)) {
    const problems = failuresOf(validate).map((f) => `${f.instancePath || "(top level)"} ${f.message}`);
    throw new WorkflowConfigError(`Workflows config failed validation (${url}): ${problems.join("; ")}.`);
  }
  const config = data as WorkflowsConfig;
  const version = typeof config.version === "string" ? config.version : config.version.base;
  if (!isSupportedVersion(version)) {
    throw new WorkflowConfigError(`Version '${fullVersion(version)}' is not supported`, {
      hint: `This Quiltkit reads workflows configs up to version ${CONFIG_DATA_VERSION.join(".")}, as quilt3 8.0.0 does.`,
    });
  }
  return config;
}

let compiledConfigSchema: ValidateFunction | undefined;

function configValidator(): ValidateFunction {
  compiledConfigSchema ??= compileSchema(CONFIG_SCHEMA);
  return compiledConfigSchema;
}

/** quilt3 `ConfigDataVersion.parse`: missing parts are 0; compared as a tuple with 1.1.0. */
function versionParts(version: string): number[] {
  return [...version.split(".").map(Number), 0, 0].slice(0, 3);
}

function fullVersion(version: string): string {
  return versionParts(version).join(".");
}

export function isSupportedVersion(version: string): boolean {
  const parts = versionParts(version);
  for (let i = 0; i < 3; i++) {
    const a = parts[i] as number;
    const b = CONFIG_DATA_VERSION[i] as number;
    if (a !== b) return a < b;
  }
  return true;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}
