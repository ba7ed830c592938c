/**
 * The three hash types a quilt3 manifest entry may carry (spec §3) and the shapes shared by
 * every hasher in this folder.
 */
import { UsageError } from "../errors/index.js";
import { unsupportedHashType } from "./errors.js";

/** quilt3's default and the only type it writes (`checksums.py` SHA256_CHUNKED_HASH_NAME). */
export const SHA2_256_CHUNKED = "sha2-256-chunked";
/** Legacy: hex SHA-256 of the whole file. */
export const SHA256 = "SHA256";
/** Verify-only in quilt3; written by quilt-rs and the platform. */
export const CRC64NVME = "CRC64NVME";

export const HASH_TYPES = [SHA2_256_CHUNKED, SHA256, CRC64NVME] as const;
export type HashType = (typeof HASH_TYPES)[number];
export const DEFAULT_HASH_TYPE: HashType = SHA2_256_CHUNKED;

/** Computed values, keyed by type; only the requested types are present. */
export type HashValues = Partial<Record<HashType, string>>;

/** A manifest entry's `hash` field. */
export interface EntryHash {
  type: string;
  value: string;
}

/** What hashing one file yields. */
export interface FileHashes {
  size: number;
  hashes: HashValues;
  /**
   * Raw 32-byte SHA-256 of each sha2-256-chunked part, in order (the S3 multipart part
   * checksums); present only with `withParts: true` and sha2-256-chunked requested.
   */
  parts?: Buffer[];
}

export interface HashOptions {
  /** Default: `["sha2-256-chunked"]`. All requested types are computed in one read. */
  types?: readonly HashType[];
  signal?: AbortSignal;
  withParts?: boolean;
}

export function isHashType(type: unknown): type is HashType {
  return (HASH_TYPES as readonly unknown[]).includes(type);
}

/** The hasher to use for a manifest entry's hash type; throws UNSUPPORTED_HASH_TYPE otherwise. */
export function hashTypeOf(type: unknown): HashType {
  if (!isHashType(type)) throw unsupportedHashType(type);
  return type;
}

/** Validates and de-duplicates a caller's type list, keeping its order. */
export function normalizeTypes(types: readonly unknown[] | undefined): HashType[] {
  if (types === undefined) return [DEFAULT_HASH_TYPE];
  const out = [...new Set(types.map(hashTypeOf))];
  if (out.length === 0) {
    throw new UsageError("NO_HASH_TYPES", "No hash type requested", {
      hint: `Pass at least one of ${HASH_TYPES.join(", ")}, or omit \`types\` for ${DEFAULT_HASH_TYPE}.`,
    });
  }
  return out;
}
