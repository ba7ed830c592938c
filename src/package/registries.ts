import { fileURLToPath } from "node:url";
import { StorageError } from "../errors/index.js";
import { normalizeRegistry } from "../registry/handle.js";
import { Registry, type RegistryOptions } from "../registry/registry.js";
import { LocalStorage } from "../storage/index.js";

/** A registry from its URL: a folder (path or `file://` URL) now; S3 buckets with the S3 storage. */
export function openRegistry(url: string, options: RegistryOptions = {}): Registry {
  const normalized = normalizeRegistry(url);
  if (normalized.startsWith("s3://")) {
    throw new StorageError("S3_NOT_AVAILABLE", `Cannot open ${normalized}: this build has no S3 storage yet.`, {
      hint: "Use a local registry (a folder path or file:// URL) for now.",
    });
  }
  const path = normalized.startsWith("file:") ? fileURLToPath(normalized) : normalized;
  return new Registry(new LocalStorage(path), options);
}

/** Whether entries of this registry's manifests may point at local files (spec: local registries only). */
export function isLocalRegistry(registry: Registry): boolean {
  return registry.storage instanceof LocalStorage;
}
