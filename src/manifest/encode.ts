import { createHash, type Hash } from "node:crypto";
import { IntegrityError, UsageError } from "../errors/index.js";
import { dumpsHash, dumpsManifest, type PyObject, type PyValue } from "../json/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import { pyRepr } from "./py-repr.js";
import type { DirMeta, EntryHash, ManifestEntry } from "./types.js";

/** quilt3's DEFAULT_MANIFEST_MAX_RECORD_SIZE: S3 Select's 1 MB record limit, rounded down. */
export const DEFAULT_MAX_RECORD_SIZE = 1_000_000;

function hashObject(hash: EntryHash): PyObject {
  return hash.raw ?? new Map<string, PyValue>([["type", hash.type], ["value", hash.value]]);
}

/** The manifest line of an entry, without its `\n` (spec §1.3: fixed key order). */
export function entryLine(entry: ManifestEntry): string {
  return (
    `{"logical_key": ${dumpsManifest(entry.logicalKey)}, ` +
    `"physical_keys": [${dumpsManifest(entry.physicalKey)}], ` +
    `"size": ${entry.size}, ` +
    `"hash": ${dumpsManifest(hashObject(entry.hash))}, ` +
    `"meta": ${dumpsManifest(entry.meta)}}`
  );
}

export function dirLine(dir: DirMeta): string {
  return `{"logical_key": ${dumpsManifest(dir.logicalKey)}, "meta": ${dumpsManifest(dir.meta)}}`;
}

export function headerLine(header: PyObject): string {
  return dumpsManifest(header);
}

/**
 * quilt3's record size check (packages.py `_dump`): the UTF-8 length of a line, without its
 * newline, may not exceed the limit; the message is quilt3's, word for word.
 */
export function checkRecordSize(line: string, logicalKey: string | undefined, maxRecordSize: number): void {
  // Cheap bound first: a UTF-16 length times 3 bounds the UTF-8 length.
  if (line.length * 3 <= maxRecordSize) return;
  const size = Buffer.byteLength(line, "utf8");
  if (size <= maxRecordSize) return;
  const what = logicalKey === undefined ? "package metadata" : `entry with logical key ${pyRepr(logicalKey)}`;
  throw new UsageError(
    "MANIFEST_RECORD_TOO_LARGE",
    `Size of manifest record for ${what} is ${size} bytes, but must be less than ${maxRecordSize} bytes. ` +
      "Quilt recommends less than 1 MB of metadata per object, and less than 1 MB of package-level metadata. " +
      "This enables S3 select, Athena and downstream services to work correctly. " +
      "This limit can be overridden with the QUILT_MANIFEST_MAX_RECORD_SIZE environment variable.",
    { hint: "Move large metadata into a file of the package and reference it." },
  );
}

/** The top-hash pre-image part of the header (spec §2.1): everything but `top_hash`. */
export function headerHashPart(header: PyObject): string {
  if (!header.has("top_hash")) return dumpsHash(header);
  const copy = new Map(header);
  copy.delete("top_hash");
  return dumpsHash(copy);
}

/** The top-hash pre-image part of an entry: sorted keys hash, logical_key, meta, size. */
export function entryHashPart(entry: ManifestEntry): string {
  return (
    `{"hash":${dumpsHash(hashObject(entry.hash))},"logical_key":${dumpsHash(entry.logicalKey)},` +
    `"meta":${dumpsHash(entry.meta)},"size":${entry.size}}`
  );
}

/**
 * The top hash in one streaming pass: header first, then entries in tree-walk order. It refuses
 * entries out of order or repeated, since quilt3's walk could never produce them.
 */
export class TopHasher {
  private readonly sha: Hash = createHash("sha256");
  private previousKey: string | undefined;
  private count = 0;

  constructor(header: PyObject) {
    this.sha.update(headerHashPart(header), "utf8");
  }

  add(entry: ManifestEntry): void {
    assertOrdered(this.previousKey, entry.logicalKey);
    this.previousKey = entry.logicalKey;
    this.count += 1;
    this.sha.update(entryHashPart(entry), "utf8");
  }

  get entries(): number {
    return this.count;
  }

  digest(): string {
    return this.sha.digest("hex");
  }
}

/** Entries must come in strictly increasing tree-walk order; equal keys are duplicates. */
export function assertOrdered(previous: string | undefined, key: string): void {
  if (successorProblem(previous, key) === "unsorted") {
    throw new IntegrityError(
      "MANIFEST_UNSORTED",
      `Entry ${pyRepr(key)} comes after ${pyRepr(previous ?? "")}, out of tree-walk order.`,
      { hint: "Entries must be sorted by path segment, by code point, before they are hashed or written." },
    );
  }
}

/**
 * Check `key` against the entry before it in tree-walk order: a duplicate, or a key under a
 * file (`a` then `a/b`: quilt3 cannot load both, one would be a file and a folder), is an error;
 * a key out of order is reported to the caller, which may sort.
 */
export function successorProblem(previous: string | undefined, key: string): "unsorted" | undefined {
  if (previous === undefined) return undefined;
  const order = compareLogicalKeys(previous, key);
  if (order === 0) throw duplicateKey(key);
  if (order > 0) return "unsorted";
  // In tree-walk order every key under `a/` comes right after `a`, so one look back suffices.
  if (key.length > previous.length && key.charCodeAt(previous.length) === 47 && key.startsWith(previous)) {
    throw new IntegrityError(
      "MANIFEST_KEY_CONFLICT",
      `Logical key ${pyRepr(previous)} is a file, but ${pyRepr(key)} uses it as a folder.`,
      { hint: "A logical key cannot be both a file and a directory; the manifest is corrupt or hostile." },
    );
  }
  return undefined;
}

export function duplicateKey(key: string): IntegrityError {
  return new IntegrityError("MANIFEST_DUPLICATE_KEY", `Duplicate logical key ${pyRepr(key)} in the manifest.`, {
    hint: "quilt3 refuses such a manifest too (PackageException); it is corrupt or hostile.",
  });
}
