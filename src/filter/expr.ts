/**
 * `--filter EXPR`: a small, safe expression language over one entry (no eval: tokens.ts,
 * parse.ts and evaluate.ts are a hand-written tokenizer, parser and evaluator). Examples:
 *   meta.split == "train" and size > 0
 *   meta["class name"] in ["cat", "dog"] or not startswith(key, "raw/")
 *   glob(key, "**\/*.csv") and meta.n >= 0.5
 * Names: `meta` (the entry's user metadata, `meta.a.b`, `meta["k"]`, `meta.list[0]`), `key`
 * (or `logical_key`), `size`. Missing paths are null; comparing different types is false.
 */
import type { ManifestEntry } from "../manifest/types.js";
import { evaluate } from "./evaluate.js";
import { parseFilter } from "./parse.js";

export type EntryFilter = (entry: Pick<ManifestEntry, "logicalKey" | "size" | "meta">) => boolean;

/** Parse once (throws UsageError FILTER_INVALID with the column); the result tests entries. */
export function compileFilter(source: string): EntryFilter {
  const ast = parseFilter(source);
  return (entry) => evaluate(ast, entry);
}
