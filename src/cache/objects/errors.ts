/**
 * The failures of the object cache. Codes are stable once published. A cache that cannot be written
 * (full disk, read-only home) is reported as CACHE_WRITE_FAILED, which callers that only use the cache
 * to go faster catch and then read the source directly.
 */
import { QuiltError, StorageError, UsageError } from "../../errors/index.js";

export function errnoOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

export function cacheWriteFailed(path: string, what: string, cause: unknown): QuiltError {
  if (cause instanceof QuiltError) return cause;
  const code = errnoOf(cause);
  const full = code === "ENOSPC" || code === "EDQUOT";
  return new StorageError("CACHE_WRITE_FAILED", `Could not ${what} ${path} in the object cache: ${code ?? String(cause)}.`, {
    hint: full
      ? "The cache's filesystem is full: free space with `quilt cache prune --max-size SIZE` or `quilt cache clear`."
      : "Check the permissions of the cache folder, or point QUILT_CACHE_DIR at a writable folder.",
    cause,
  });
}

export function isCacheWriteFailure(error: unknown): boolean {
  return error instanceof QuiltError && error.code === "CACHE_WRITE_FAILED";
}

export function cacheReadFailed(path: string, cause: unknown): QuiltError {
  if (cause instanceof QuiltError) return cause;
  return new StorageError("CACHE_READ_FAILED", `Could not read ${path} in the object cache: ${errnoOf(cause) ?? String(cause)}.`, {
    hint: "Check the permissions of the cache folder, or clear it with `quilt cache clear`.",
    cause,
  });
}

export function linkUnsupported(mode: "reflink" | "hardlink", cacheDir: string, dest: string): UsageError {
  const what = mode === "reflink" ? "clone files (reflink)" : "hard-link files";
  return new UsageError("CACHE_LINK_UNSUPPORTED", `Cannot ${what} from the cache ${cacheDir} into ${dest}.`, {
    hint:
      mode === "reflink"
        ? "Reflinks need one filesystem that clones (Btrfs, XFS, APFS) under both folders. Install with --link auto or copy."
        : "Hard links need the cache and the destination on one filesystem: set QUILT_CACHE_DIR there, or install with --link auto or copy.",
  });
}

export function badMaxSize(value: number): UsageError {
  return new UsageError("CACHE_BAD_MAX_SIZE", `The cache's maximum size must be a whole number of bytes ≥ 0, not ${value}.`, {
    hint: "Give a size such as 10G, 500M or 0 (empties the cache).",
  });
}

export function notCacheable(entry: { logicalKey: string; hash: { type: string } }): UsageError {
  return new UsageError("CACHE_HASH_TYPE", `${JSON.stringify(entry.logicalKey)} has a ${entry.hash.type} hash, which does not key the object cache.`, {
    hint: "Only sha2-256-chunked and SHA256 hashes are cached (a CRC64NVME checksum is too easy to forge); check `cache.accepts(hash)` first.",
  });
}
