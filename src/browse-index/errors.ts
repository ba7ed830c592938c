import { IntegrityError, QuiltError, StorageError } from "../errors/index.js";

const STALE_HINT = "The browse index does not describe the manifest as stored now; it is ignored and the manifest is read whole instead.";

/** The index and the manifest disagree (another manifest, a re-push, a corrupt index). */
export function indexStale(why: string, cause?: unknown): IntegrityError {
  return new IntegrityError("INDEX_STALE", `Browse index is stale: ${why}.`, { hint: STALE_HINT, ...(cause === undefined ? {} : { cause }) });
}

/** The index file itself is malformed. */
export function indexCorrupt(why: string): IntegrityError {
  return new IntegrityError("INDEX_CORRUPT", `Browse index is corrupt: ${why}.`, { hint: STALE_HINT });
}

export function indexUnknownVersion(what: string): StorageError {
  return new StorageError("INDEX_UNKNOWN_FORMAT", `Browse index has an unknown format: ${what}.`, {
    hint: "It was written by another version of Quiltkit; it is ignored, and a new one is built locally.",
  });
}

/** Whether `error` means "do not trust this index": callers then read the manifest whole. */
export function isIndexProblem(error: unknown): error is QuiltError {
  return error instanceof QuiltError && (error.code === "INDEX_STALE" || error.code === "INDEX_CORRUPT" || error.code === "INDEX_UNKNOWN_FORMAT");
}
