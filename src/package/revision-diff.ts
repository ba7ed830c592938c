/**
 * What changed between two package revisions, for `quilt diff HANDLE HANDLE`: quilt3's
 * `Package.diff` (added, modified, deleted; spec §8.1) plus what it does not say, the metadata
 * changes: which modified entries changed their metadata only, and whether the package's own
 * metadata or message changed. Lines are streamed (merge join, line-diff.ts); only the differences are kept.
 */
import { pyEquals, type PyValue } from "../json/index.js";
import type { ChangedField } from "../transfer/index.js";
import { diffCheckedManifests } from "./line-diff.js";
import type { Package } from "./package.js";

export interface ValueChange<T> {
  readonly changed: boolean;
  readonly before: T;
  readonly after: T;
}

export interface RevisionDiff {
  /** Keys in the second revision only. */
  readonly added: string[];
  /** Keys in both whose size, hash or metadata differ (quilt3's `modified`). */
  readonly modified: string[];
  /** Keys in the first revision only. */
  readonly deleted: string[];
  /** The modified keys whose size and hash are equal: only their metadata changed. */
  readonly metaOnly: string[];
  /** The package metadata (`user_meta`; `{}` when absent, as quilt3's `pkg.meta`). */
  readonly packageMeta: ValueChange<PyValue>;
  readonly message: ValueChange<string | null>;
}

/** Whether anything at all differs. */
export function isDifferent(diff: RevisionDiff): boolean {
  return diff.added.length + diff.modified.length + diff.deleted.length > 0 || diff.packageMeta.changed || diff.message.changed;
}

/** Compares revision `a` (old) with revision `b` (new). */
export async function diffRevisions(a: Package, b: Package, options: { signal?: AbortSignal } = {}): Promise<RevisionDiff> {
  const metaOnly: string[] = [];
  const onDifference = (kind: string, key: string, fields?: readonly ChangedField[]): void => {
    if (kind === "modified" && fields?.length === 1 && fields[0] === "meta") metaOnly.push(key);
  };
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  // Same top hash, same content: skip the walk over two copies of the same manifest.
  const entries =
    a.topHash === b.topHash
      ? { added: [], modified: [], deleted: [] }
      : await diffCheckedManifests(a.checkedManifest(), b.checkedManifest(), { onDifference, ...signal });
  const before = userMeta(a);
  const after = userMeta(b);
  return {
    added: entries.added,
    modified: entries.modified,
    deleted: entries.deleted,
    metaOnly,
    packageMeta: { changed: !pyEquals(before, after), before, after },
    message: { changed: a.message !== b.message, before: a.message, after: b.message },
  };
}

function userMeta(pkg: Package): PyValue {
  return pkg.header.has("user_meta") ? (pkg.header.get("user_meta") as PyValue) : new Map();
}
