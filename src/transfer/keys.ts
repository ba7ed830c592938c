/**
 * Logical keys as paths on a disk: which keys are safe, where an entry goes under a sub-tree
 * install (`path`), and which keys would land on the same file of a case-insensitive or
 * Unicode-normalizing filesystem (macOS APFS/HFS+, Windows NTFS), found in bounded memory by an
 * external sort of folded keys.
 */
import { hashTypeOf, type HashType } from "../hash/index.js";
import { logicalKeyProblem } from "../manifest/index.js";
import { compareLogicalKeys, externalSort } from "../sort/index.js";
import { duplicateKey, fileFolderConflict, keyCollision, unsafeKey } from "./errors.js";
import { IntegrityError } from "../errors/index.js";
import { pyRepr } from "../manifest/index.js";
import type { EntryRef } from "./types.js";

/** Why `key` must not become a path, or `undefined`. quilt3's rules plus NUL (and `\` on Windows). */
export function pathKeyProblem(key: string): string | undefined {
  const problem = logicalKeyProblem(key);
  if (problem !== undefined) return problem;
  if (process.platform === "win32" && key.includes("\\")) return "it contains '\\', a path separator on Windows";
  return undefined;
}

/** Throws INSTALL_UNSAFE_KEY for a key that could write outside a destination. */
export function assertPathKey(key: string): void {
  const problem = pathKeyProblem(key);
  if (problem !== undefined) throw unsafeKey(key, problem);
}

/** The entry's hash type (refusing unknown ones) after checking its size is a byte count. */
export function checkedEntry(entry: EntryRef): HashType {
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new IntegrityError("INSTALL_BAD_SIZE", `Logical key ${pyRepr(entry.logicalKey)} has an invalid size ${String(entry.size)}.`, {
      hint: "The manifest is corrupt.",
    });
  }
  return hashTypeOf(entry.hash.type);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A key as a case-insensitive, normalization-insensitive filesystem sees it: NFC, then a full
 * case fold approximated by upper-then-lower case (`ß` → `SS` → `ss`, `ς` → `σ`), NFC again. Lone
 * surrogates become U+FFFD, as they do when Node turns a name into UTF-8 bytes. Deliberately
 * conservative: two keys that fold alike are refused even where the disk would keep them apart.
 */
export function foldKey(key: string): string {
  return key.normalize("NFC").toUpperCase().toLowerCase().normalize("NFC").replace(LONE_SURROGATE, "\uFFFD");
}

/**
 * Where `key` goes relative to the destination when installing the sub-tree `prefix`:
 * the key itself without a prefix, the part after `prefix/` inside it, the basename for the
 * single file `prefix` (as quilt3), or `undefined` when the key is outside the sub-tree.
 */
export function installTarget(key: string, prefix: string | undefined): string | undefined {
  if (prefix === undefined) return key;
  if (key === prefix) return prefix.slice(prefix.lastIndexOf("/") + 1);
  if (key.length > prefix.length && key.startsWith(prefix) && key.charCodeAt(prefix.length) === 0x2f) {
    return key.slice(prefix.length + 1);
  }
  return undefined;
}

/** One key to check: folded target, logical key, target path (when it differs from the key). */
type KeyRecord = [folded: string, key: string, target?: string];

function targetOf(r: KeyRecord): string {
  return r[2] ?? r[1];
}

function compareRecords(a: KeyRecord, b: KeyRecord): number {
  return compareLogicalKeys(a[0], b[0]) || compareLogicalKeys(targetOf(a), targetOf(b));
}

export interface CollisionOptions {
  tmpDir?: string;
  signal?: AbortSignal;
  maxBytesInMemory?: number;
}

/**
 * Consumes `(key, target)` pairs (any order) and throws at the first pair that cannot both be
 * files on a portable filesystem: a duplicate target, targets that fold alike, or a file whose
 * (folded) path is a folder of another. In tree-walk order the keys inside folder `p/` directly
 * follow `p`, so after sorting the folded targets, comparing neighbours finds every conflict.
 */
export async function checkCollisions(
  pairs: AsyncIterable<{ key: string; target: string }>,
  options: CollisionOptions = {},
): Promise<void> {
  const records = (async function* (): AsyncGenerator<KeyRecord> {
    for await (const { key, target } of pairs) {
      yield target === key ? [foldKey(target), key] : [foldKey(target), key, target];
    }
  })();
  let prev: KeyRecord | undefined;
  const sorted = externalSort(records, {
    compare: compareRecords,
    serialize: (r) => JSON.stringify(r),
    deserialize: (bytes) => JSON.parse(bytes.toString("utf8")) as KeyRecord,
    sizeOf: (r) => 96 + 4 * (r[0].length + r[1].length + (r[2]?.length ?? 0)),
    tmpDir: options.tmpDir,
    signal: options.signal,
    maxBytesInMemory: options.maxBytesInMemory ?? 64 * 1024 * 1024,
  });
  for await (const cur of sorted) {
    if (prev !== undefined) checkPair(prev, cur);
    prev = cur;
  }
}

function checkPair(prev: KeyRecord, cur: KeyRecord): void {
  const [pf, pk] = prev;
  const [cf, ck] = cur;
  const pt = targetOf(prev);
  const ct = targetOf(cur);
  if (pf === cf) {
    throw pt === ct ? duplicateKey(ck) : keyCollision(pk, ck, false);
  }
  if (cf.length > pf.length && cf.startsWith(pf) && cf.charCodeAt(pf.length) === 0x2f) {
    const exact = ct.length > pt.length && ct.startsWith(pt) && ct.charCodeAt(pt.length) === 0x2f;
    throw exact ? fileFolderConflict(pk, ck) : keyCollision(pk, ck, true);
  }
}
