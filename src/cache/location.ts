/**
 * Where a folder's stat cache lives. A folder of ours (made by `quilt install`, or a workspace:
 * it has `.quiltkit/`) keeps it inside, so it moves and is deleted with the folder. Any other
 * folder (`quilt hash ~/photos`) is left untouched: its cache goes under `$QUILT_HOME/cache/stat/`,
 * named by the SHA-256 of the folder's real path; nothing removes those when the folder goes away.
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { STATE_DIR } from "../package/installed.js";

export const STAT_CACHE_FILE = "stat-cache.v1.jsonl";

export interface LocationOptions {
  /** The cache file itself, whatever the folder. */
  readonly file?: string;
  /** `$QUILT_HOME`; without it, only folders with `.quiltkit/` get a cache. */
  readonly home?: string;
}

/** The cache file of the folder whose real path is `root`, or `undefined` for none. */
export async function statCacheFile(root: string, options: LocationOptions): Promise<string | undefined> {
  if (options.file !== undefined) return options.file;
  const state = join(root, STATE_DIR);
  if ((await stat(state).catch(() => undefined))?.isDirectory() === true) return join(state, "stat-cache", STAT_CACHE_FILE);
  if (options.home === undefined) return undefined;
  const id = createHash("sha256").update(root, "utf8").digest("hex");
  return join(options.home, "cache", "stat", id, STAT_CACHE_FILE);
}
