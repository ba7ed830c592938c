/** The CLI's `--glob` (any of them) and `--filter` (all must hold) as one entry predicate. */
import { compileFilter, type EntryFilter } from "./expr.js";
import { globMatcher } from "./glob.js";

/** One predicate for install, or undefined when neither is given (every entry). Throws on bad input. */
export function entrySelector(options: { globs?: readonly string[]; expression?: string }): EntryFilter | undefined {
  const globs = options.globs ?? [];
  const matchesGlob = globs.length === 0 ? undefined : globMatcher(globs);
  const matchesExpr = options.expression === undefined ? undefined : compileFilter(options.expression);
  if (matchesGlob === undefined && matchesExpr === undefined) return undefined;
  return (entry) => (matchesGlob?.(entry.logicalKey) ?? true) && (matchesExpr?.(entry) ?? true);
}
