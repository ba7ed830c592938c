/**
 * What `quilt init` names: a package in a registry. `quilt init data/dataset --registry s3://bucket`
 * and `quilt init s3://bucket/data/dataset` are the same workspace; without a registry, the
 * default one (QUILT_REGISTRY, the config) is used. The seed's `bucket/dataset` is how status
 * shows it: the registry's bucket (or folder name) and the package name, `bucket/data/dataset`.
 */
import { basename, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors/index.js";
import { parseHandle, normalizeRegistry } from "../registry/handle.js";
import { validatePackageName } from "../registry/names.js";

export interface InitTarget {
  readonly name: string;
  /** `s3://bucket`, or an absolute folder path (a relative one is made absolute at init). */
  readonly registry: string;
}

/** The package and registry of `quilt init NAME [--registry URL]`; a NAME with its own registry must agree with `--registry`. */
export function initTarget(text: string, registryFlag: string | undefined, defaultRegistry: string): InitTarget {
  const handle = parseHandle(text);
  if (handle.tag !== undefined || handle.hash !== undefined || handle.path !== undefined) {
    throw new UsageError("INIT_NAME_INVALID", `quilt init takes a package name, not a revision: ${JSON.stringify(text)}.`, {
      hint: "Give ns/name (with --registry URL) or s3://BUCKET/ns/name; add an existing revision with `quilt add ./ HANDLE`.",
    });
  }
  validatePackageName(handle.name);
  const flag = registryFlag === undefined ? undefined : absoluteRegistry(registryFlag);
  const own = handle.registry === undefined ? undefined : absoluteRegistry(handle.registry);
  if (own !== undefined && flag !== undefined && own !== flag) {
    throw new UsageError("INIT_REGISTRY_CONFLICT", `${text} names the registry ${own}, but --registry says ${flag}.`, { hint: "Give the registry once." });
  }
  return { name: handle.name, registry: own ?? flag ?? absoluteRegistry(defaultRegistry) };
}

/** `s3://bucket` as it is; a folder path or `file://` URL as an absolute path. */
export function absoluteRegistry(url: string): string {
  const normalized = normalizeRegistry(url);
  if (normalized.startsWith("s3://")) return normalized;
  return resolve(normalized.startsWith("file:") ? fileURLToPath(normalized) : normalized);
}

/** The seed's `bucket/dataset`: the bucket (or the registry folder's name), then the package name. */
export function displayName(registry: string, name: string): string {
  const where = registry.startsWith("s3://") ? registry.slice(5) : basename(registry);
  return `${where}/${name}`;
}
