import { EXIT_CODES } from "../../errors/index.js";
import type { Package } from "../../package/index.js";
import { diffRevisions, isDifferent, type RevisionDiff } from "../../package/revision-diff.js";
import type { CliContext } from "../context.js";
import { json, objectJson, pyJson } from "../format.js";

/** Text and JSON shapes of `quilt diff HANDLE HANDLE`, for its --help. */
export const REVISION_DIFF_HELP = `
Two packages: one line per added, modified or deleted key ("modified" counts size, hash or
metadata, as quilt3; "(metadata only)" when only the entry's metadata changed), then changes of
the package metadata and message, then "N added, N modified, N deleted". Exit 1 when anything
differs, 0 when nothing does.
--json: {"from", "to", "added", "modified", "deleted", "metaOnly", "counts": {"added", "modified",
"deleted", "metaOnly"}, "packageMeta": {"changed", "before", "after"}, "message": {"changed",
"before", "after"}, "hash"} (metadata with exact numbers; hash: the first 8 digits of "from").`;

/** `quilt diff A B` for two package revisions: A is the old one, B the new one. */
export async function reportRevisionDiff(context: CliContext, a: Package, b: Package): Promise<void> {
  const diff = await diffRevisions(a, b, { signal: context.signal });
  if (context.output.json) context.output.raw(diffJson(a, b, diff));
  else printDiff(context, diff);
  if (isDifferent(diff)) process.exitCode = EXIT_CODES.differences;
}

function diffJson(a: Package, b: Package, diff: RevisionDiff): string {
  const counts = { added: diff.added.length, modified: diff.modified.length, deleted: diff.deleted.length, metaOnly: diff.metaOnly.length };
  return objectJson({
    from: json({ name: a.name, topHash: a.topHash }),
    to: json({ name: b.name, topHash: b.topHash }),
    added: json(diff.added),
    modified: json(diff.modified),
    deleted: json(diff.deleted),
    metaOnly: json(diff.metaOnly),
    counts: json(counts),
    packageMeta: objectJson({
      changed: json(diff.packageMeta.changed),
      before: pyJson(diff.packageMeta.before),
      after: pyJson(diff.packageMeta.after),
    }),
    message: json(diff.message),
    hash: json(a.topHash.slice(0, 8)),
  });
}

function printDiff(context: CliContext, diff: RevisionDiff): void {
  if (!isDifferent(diff)) return context.output.text("No changes");
  const metaOnly = new Set(diff.metaOnly);
  for (const key of diff.added) context.output.text(`added    ${key}`);
  for (const key of diff.modified) context.output.text(`modified ${key}${metaOnly.has(key) ? " (metadata only)" : ""}`);
  for (const key of diff.deleted) context.output.text(`deleted  ${key}`);
  const { packageMeta, message } = diff;
  if (packageMeta.changed) context.output.text(`package metadata: ${pyJson(packageMeta.before)} -> ${pyJson(packageMeta.after)}`);
  if (message.changed) context.output.text(`message: ${JSON.stringify(message.before)} -> ${JSON.stringify(message.after)}`);
  const extra = [
    ...(diff.metaOnly.length > 0 ? [`${diff.metaOnly.length} with metadata changes only`] : []),
    ...(packageMeta.changed ? ["package metadata changed"] : []),
    ...(message.changed ? ["message changed"] : []),
  ];
  context.output.text(`${diff.added.length} added, ${diff.modified.length} modified, ${diff.deleted.length} deleted${extra.length ? `; ${extra.join(", ")}` : ""}`);
}
