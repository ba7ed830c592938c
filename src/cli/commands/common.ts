import { ObjectCache } from "../../cache/index.js";
import { join } from "node:path";
import { parsePyJson } from "../../json/index.js";
import { UsageError } from "../../errors/index.js";
import { Package, py, type PyMeta } from "../../package/index.js";
import { openRegistry } from "../../package/registries.js";
import type { Registry } from "../../registry/registry.js";
import type { CliContext } from "../context.js";

export interface RegistryFlag {
  registry?: string;
}

/** `--registry`, else QUILT_REGISTRY / the config file / our default folder (read in loadConfig). */
export function registryUrl(context: CliContext, flags: RegistryFlag): string {
  return flags.registry ?? context.config.registry;
}

export function registryOf(context: CliContext, flags: RegistryFlag): Promise<Registry> {
  return openRegistry(registryUrl(context, flags), { remotes: context.remotes });
}

/**
 * Open the package a handle names; the handle's own registry wins over `--registry`. Lazy when
 * a browse index exists (`--verify` checks the top hash first anyway); indexes built here are
 * kept in `$QUILT_HOME/cache/index`.
 */
export async function browse(context: CliContext, handle: string, flags: RegistryFlag & { verify?: boolean }): Promise<Package> {
  const pkg = await Package.browse(handle, {
    registry: registryUrl(context, flags),
    remotes: context.remotes,
    signal: context.signal,
    indexCacheDir: join(context.config.home, "cache", "index"),
    verify: flags.verify === true,
    onWarning: (message) => context.output.warn(`Warning: ${message}`),
    ...(context.config.tmpDir === undefined ? {} : { tmpDir: context.config.tmpDir }),
    cache: new ObjectCache(context.config.cacheDir),
  });
  context.onExit(() => pkg.close());
  return pkg;
}

/** `--meta JSON`, parsed with Python's meaning (quilt3's CLI uses json.loads), marked so floats stay floats. */
export function parseMetaFlag(text: string | undefined): PyMeta | undefined {
  if (text === undefined) return undefined;
  try {
    return py(parsePyJson(text));
  } catch (error) {
    throw new UsageError("META_INVALID", `--meta is not valid JSON: ${(error as Error).message}`, {
      hint: `Give a JSON value, e.g. --meta '{"source": "lab"}'.`,
      cause: error,
    });
  }
}

export const REGISTRY_HELP = "registry: a folder, file:// URL or s3://BUCKET (default: QUILT_REGISTRY, the config, or $QUILT_HOME/registry)";
