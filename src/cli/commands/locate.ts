import { UsageError } from "../../errors/index.js";
import { openRegistry } from "../../package/registries.js";
import { parseHandle, type PackageHandle } from "../../registry/handle.js";
import type { Registry } from "../../registry/registry.js";
import type { CliContext } from "../context.js";
import { registryUrl, type RegistryFlag } from "./common.js";

export interface Located {
  readonly registry: Registry;
  readonly handle: PackageHandle;
}

/** The registry and package a handle names; the handle's own registry wins over `--registry`. */
export async function locate(context: CliContext, text: string, flags: RegistryFlag): Promise<Located> {
  const fallback = registryUrl(context, flags);
  const handle = parseHandle(text, { defaultRegistry: fallback });
  return { registry: await openRegistry(handle.registry ?? fallback, { remotes: context.remotes }), handle };
}

/** For commands about a whole package: a handle without `:tag` or `@hash`. */
export function packageName(located: Located, text: string, command: string): string {
  const { handle } = located;
  if (handle.tag !== undefined || handle.hash !== undefined) {
    throw new UsageError("NAME_EXPECTED", `quilt ${command} takes a package name, not a revision: ${text}.`, {
      hint: `Leave out the :tag or @hash, e.g. quilt ${command} ${handle.name}.`,
    });
  }
  return handle.name;
}

/** quilt3's short hash when the manifest is there; else the first 10 digits (no error for a label). */
export async function shortOf(registry: Registry, topHash: string): Promise<string> {
  return registry.shortHash(topHash).catch(() => topHash.slice(0, 10));
}
