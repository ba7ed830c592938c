import { loadConfig, type QuiltConfig } from "../config/index.js";
import { normalizeRegistry } from "../registry/handle.js";
import { Registry, type RegistryOptions } from "../registry/registry.js";
import { LocalStorage, Remotes } from "../storage/index.js";

export interface OpenRegistryOptions extends RegistryOptions {
  /** How S3 buckets are reached; default: from the environment (`loadConfig`). */
  readonly remotes?: Remotes;
}

/** A registry from its URL: `s3://BUCKET`, a `file://` URL or a folder path. */
export async function openRegistry(url: string, options: OpenRegistryOptions = {}): Promise<Registry> {
  const remotes = options.remotes ?? remotesOf(loadConfig());
  return new Registry(await remotes.storageOf(normalizeRegistry(url)), options);
}

/** The `Remotes` a configuration describes: its S3 endpoint, region, path style and proxy. */
export function remotesOf(config: Pick<QuiltConfig, "s3">): Remotes {
  const s3 = config.s3;
  return new Remotes({
    ...(s3.region === undefined ? {} : { region: s3.region }),
    ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
    ...(s3.forcePathStyle === undefined ? {} : { forcePathStyle: s3.forcePathStyle }),
    ...(s3.proxy === undefined ? {} : { proxy: s3.proxy }),
    ...(s3.noProxy === undefined ? {} : { noProxy: s3.noProxy }),
  });
}

/** Whether entries of this registry's manifests may point at local files (spec: local registries only). */
export function isLocalRegistry(registry: Registry): boolean {
  return registry.storage instanceof LocalStorage;
}
