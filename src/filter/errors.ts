import { UsageError } from "../errors/index.js";

const HINT =
  'Example: --filter \'meta.split == "train" and size > 0\'. Available: meta.a.b, meta["k"], key, size; ' +
  "== != < <= > >= in; and or not; startswith(x, s), endswith(x, s), glob(key, \"*.csv\"); strings in quotes, numbers, true, false, null, [lists].";

/** FILTER_INVALID, naming the expression and the 1-based column of the fault. */
export function filterError(source: string, pos: number, what: string): UsageError {
  return new UsageError("FILTER_INVALID", `Filter ${JSON.stringify(source)} is invalid at column ${pos + 1}: ${what}.`, { hint: HINT });
}
