import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../errors/index.js";
import { DEFAULT_MAX_RECORD_SIZE } from "../manifest/index.js";

/**
 * Everything Quiltkit reads from its environment, read once (by the CLI, or by a library user
 * who wants the same behaviour) and passed down. No other module looks at `process.env`.
 */
export interface QuiltConfig {
  /** `$QUILT_HOME`, default `~/.local/share/quiltkit`: our registry, cache and config live here. */
  readonly home: string;
  /** quilt3's QUILT_MANIFEST_MAX_RECORD_SIZE. */
  readonly maxRecordSize: number;
  readonly tmpDir: string | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): QuiltConfig {
  return {
    home: env.QUILT_HOME ?? join(env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "quiltkit"),
    maxRecordSize: positiveInt(env, "QUILT_MANIFEST_MAX_RECORD_SIZE") ?? DEFAULT_MAX_RECORD_SIZE,
    tmpDir: env.QUILT_TMPDIR,
  };
}

/** quilt3's `get_pos_int_from_env`: a positive integer, or an error naming the variable. */
function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0 || !/^\s*\+?\d+\s*$/.test(raw)) {
    throw new UsageError("CONFIG_INVALID", `${name} must be a positive integer, not ${JSON.stringify(raw)}.`, {
      hint: `Unset ${name} or give it a whole number of bytes.`,
    });
  }
  return value;
}
