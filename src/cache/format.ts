/**
 * The stat cache file, format `quiltkit-stat-cache` version 1: UTF-8 JSON lines.
 *
 *   {"format":"quiltkit-stat-cache","version":1,"root":"/abs/folder","recordedNs":"1700000000000000000"}
 *   ["a/b.jpg",1234,"<mtimeNs>","<ctimeNs>","<ino>","<dev>","sha2-256-chunked","<hash>"]
 *   …one record per file, keys strictly increasing in tree-walk order…
 *   {"end":true,"records":N,"sha256":"<hex of every byte before this line>"}
 *
 * Nanosecond times, inodes and devices are decimal strings (they exceed 2^53). `recordedNs` is
 * the wall clock when the run that wrote the file started: every record was true then, and is
 * trusted later only if its file's times were older than that by the racy margin.
 *
 * An install adds `"ownWrites":true` to the header: some records describe files the install wrote
 * itself and stat'ed once in place, so their times are newer than `recordedNs`. A reader of such
 * a cache judges its records by its own run's start instead (a file's times must be older than
 * that by the racy margin); file-stat.ts says what that can and cannot see.
 */
import { isHashType, type HashType } from "../hash/index.js";
import type { FileStat } from "./file-stat.js";

export const STAT_CACHE_FORMAT = "quiltkit-stat-cache";
export const STAT_CACHE_VERSION = 1;

export interface CachedHash {
  readonly type: HashType;
  readonly value: string;
}

export interface CacheHeader {
  /** The folder the keys are relative to (its real path). */
  readonly root: string;
  readonly recordedNs: bigint;
  /** Records of files this run wrote itself: judged by the reader's clock, not `recordedNs`. */
  readonly ownWrites?: boolean;
}

export interface CacheRecord {
  readonly key: string;
  readonly stat: FileStat;
  readonly hash: CachedHash;
}

export interface CacheTrailer {
  readonly records: number;
  readonly sha256: string;
}

/** A line that is not what the format says; the reader then ignores the whole file. */
export class MalformedCache extends Error {
  override readonly name = "MalformedCache";
}

export function encodeHeader(header: CacheHeader): string {
  const own = header.ownWrites === true ? { ownWrites: true } : {};
  return JSON.stringify({ format: STAT_CACHE_FORMAT, version: STAT_CACHE_VERSION, root: header.root, recordedNs: String(header.recordedNs), ...own });
}

/** The header, or a reason to ignore the file (foreign format or version, bad fields). */
export function decodeHeader(text: string): CacheHeader | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "its header is not JSON";
  }
  const h = value as { format?: unknown; version?: unknown; root?: unknown; recordedNs?: unknown; ownWrites?: unknown } | null;
  if (h === null || typeof h !== "object" || h.format !== STAT_CACHE_FORMAT) return "it is not a quiltkit stat cache";
  if (h.version !== STAT_CACHE_VERSION) return `it has version ${String(h.version)}, not ${STAT_CACHE_VERSION}`;
  if (typeof h.root !== "string" || typeof h.recordedNs !== "string" || !DIGITS.test(h.recordedNs)) return "its header is malformed";
  if (h.ownWrites !== undefined && typeof h.ownWrites !== "boolean") return "its header is malformed";
  return { root: h.root, recordedNs: BigInt(h.recordedNs), ownWrites: h.ownWrites === true };
}

export function encodeRecord(r: CacheRecord): string {
  return `${encodeRecordHead(r.key, r.stat)}${JSON.stringify(r.hash.type)},${JSON.stringify(r.hash.value)}]`;
}

/**
 * A record's line up to its hash: what proves a file unchanged can be checked against the line
 * itself (src/cache/unchanged.ts), with no parse. The same text as `JSON.stringify` of the array.
 */
export function encodeRecordHead(key: string, s: FileStat): string {
  return `[${JSON.stringify(key)},${s.size},"${s.mtimeNs}","${s.ctimeNs}","${s.ino}","${s.dev}",`;
}

/** A record's key read off its line: sliced when it has no escapes, else parsed (throws `MalformedCache`). */
export function recordKey(line: string): string {
  const end = line.indexOf('"', 2);
  if (line.startsWith('["') && end > 2 && line.lastIndexOf("\\", end) === -1) return line.slice(2, end);
  return decodeRecord(line).key;
}

const DIGITS = /^\d{1,30}$/;

/** Throws `MalformedCache` unless the line is a well-formed record. */
export function decodeRecord(text: string): CacheRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MalformedCache("a record is not JSON");
  }
  if (!Array.isArray(value) || value.length !== 8) throw new MalformedCache("a record is not an 8-item array");
  const [key, size, mtime, ctime, ino, dev, type, hash] = value as unknown[];
  if (typeof key !== "string" || key === "") throw new MalformedCache("a record has no key");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw new MalformedCache("a record has a bad size");
  if (!isHashType(type) || typeof hash !== "string" || hash === "") throw new MalformedCache("a record has a bad hash");
  const stat: FileStat = { size, mtimeNs: bigintOf(mtime), ctimeNs: bigintOf(ctime), ino: bigintOf(ino), dev: bigintOf(dev) };
  return { key, stat, hash: { type, value: hash } };
}

function bigintOf(value: unknown): bigint {
  if (typeof value !== "string" || !DIGITS.test(value)) throw new MalformedCache("a record has a bad time or inode");
  return BigInt(value);
}

export function encodeTrailer(trailer: CacheTrailer): string {
  return JSON.stringify({ end: true, records: trailer.records, sha256: trailer.sha256 });
}

export function decodeTrailer(text: string): CacheTrailer | undefined {
  try {
    const t = JSON.parse(text) as { end?: unknown; records?: unknown; sha256?: unknown } | null;
    if (t === null || t.end !== true || typeof t.records !== "number" || typeof t.sha256 !== "string") return undefined;
    return { records: t.records, sha256: t.sha256 };
  } catch {
    return undefined;
  }
}
