/**
 * Checking a stored entry hash (`{type, value}`) against data: pick the hasher from the type
 * (unknown types fail like quilt3: "Unsupported hash type"), then compare values exactly, as
 * quilt3 does (hex is lowercase, base64 standard with padding).
 */
import { UsageError } from "../errors/index.js";
import { hashFile, type HashFileOptions } from "./file.js";
import { hashBuffer } from "./multi.js";
import { hashTypeOf, type EntryHash, type HashType, type HashValues } from "./types.js";

/**
 * True when `actual` (values computed for a file) matches the stored hash. Throws
 * UNSUPPORTED_HASH_TYPE for an unknown type, HASH_NOT_COMPUTED if `actual` lacks that type.
 */
export function verifyHash(type: string, value: string, actual: HashValues): boolean {
  const t = hashTypeOf(type);
  const computed = actual[t];
  if (computed === undefined) {
    throw new UsageError("HASH_NOT_COMPUTED", `No ${t} value was computed to compare with`, {
      hint: `Hash with types: [hashTypeOf(entry.hash.type)].`,
    });
  }
  return computed === value;
}

export interface VerifyResult {
  ok: boolean;
  type: HashType;
  expected: string;
  actual: string;
  size: number;
}

/** Hashes `path` with the entry's hash type and compares. */
export async function verifyFile(path: string, hash: EntryHash, options: HashFileOptions = {}): Promise<VerifyResult> {
  const type = hashTypeOf(hash.type);
  const r = await hashFile(path, { ...options, types: [type] });
  return result(type, hash.value, r.hashes, r.size);
}

/** Same for in-memory bytes. */
export function verifyBytes(data: Uint8Array, hash: EntryHash): VerifyResult {
  const type = hashTypeOf(hash.type);
  return result(type, hash.value, hashBuffer(data, [type]).hashes, data.length);
}

function result(type: HashType, expected: string, hashes: HashValues, size: number): VerifyResult {
  const actual = hashes[type] ?? "";
  return { ok: actual === expected, type, expected, actual, size };
}
