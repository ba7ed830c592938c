/**
 * Where an object lives in the cache: `<dir>/v1/<type>/<hex[0:2]>/<hex[2:]>`, named by the hex of
 * its hash value whatever encoding the manifest uses (sha2-256-chunked is base64 there, SHA256 hex),
 * so a name is always 64 safe characters and never anything a hostile manifest chose.
 *
 * Only cryptographic hashes key the cache. CRC64NVME is refused: a 64-bit CRC is easy to forge,
 * and one package could then plant bytes that another package, from another registry, is served.
 */
import { join } from "node:path";
import { SHA256, SHA2_256_CHUNKED, type EntryHash, type HashType } from "../../hash/index.js";

/** The layout version: bump it (a new folder beside v1) for any change to names or contents. */
export const LAYOUT_VERSION = "v1";

/** Hash types that key the cache, with their folder names (lowercase: safe on case-folding filesystems). */
const FOLDERS = { [SHA2_256_CHUNKED]: "sha2-256-chunked", [SHA256]: "sha256" } as const;
export type CacheableType = keyof typeof FOLDERS;
export const CACHEABLE_TYPES = Object.keys(FOLDERS) as CacheableType[];

/** An object's identity in the cache: its hash type and the 64 hex digits of its value. */
export interface ObjectKey {
  readonly type: CacheableType;
  readonly hex: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;

/** The cache key of an entry hash; undefined when the type does not key the cache or the value is malformed. */
export function objectKeyOf(hash: EntryHash): ObjectKey | undefined {
  if (hash.type === SHA256) return HEX64.test(hash.value) ? { type: SHA256, hex: hash.value } : undefined;
  if (hash.type !== SHA2_256_CHUNKED || !BASE64_32.test(hash.value)) return undefined;
  const bytes = Buffer.from(hash.value, "base64");
  // Only the canonical encoding: two spellings of one hash must not make two objects.
  return bytes.length === 32 && bytes.toString("base64") === hash.value ? { type: SHA2_256_CHUNKED, hex: bytes.toString("hex") } : undefined;
}

/** The entry hash an object key stands for, in the manifest's encoding. */
export function hashOfKey(key: ObjectKey): { type: HashType; value: string } {
  return { type: key.type, value: key.type === SHA256 ? key.hex : Buffer.from(key.hex, "hex").toString("base64") };
}

export function layoutRoot(dir: string): string {
  return join(dir, LAYOUT_VERSION);
}

export function typeFolder(dir: string, type: CacheableType): string {
  return join(layoutRoot(dir), FOLDERS[type]);
}

export function objectPath(dir: string, key: ObjectKey): string {
  return join(typeFolder(dir, key.type), key.hex.slice(0, 2), key.hex.slice(2));
}

/** The key of a file found at `<type folder>/<shard>/<name>`; undefined for anything else (temp files, strays). */
export function keyOfName(type: CacheableType, shard: string, name: string): ObjectKey | undefined {
  const hex = shard + name;
  return shard.length === 2 && HEX64.test(hex) ? { type, hex } : undefined;
}
