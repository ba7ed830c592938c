/**
 * Proving a whole folder unchanged from its stat cache alone, for a reinstall with nothing to do
 * (Package.install). The install that wrote the cache recorded every file it placed or proved,
 * and its receipt names the cache file by record count and checksum: if every record's file
 * still has the recorded stat, and none is racy, the folder holds what that install left, so
 * neither the manifest nor any file needs reading. One `lstat` a file, compared with the record's
 * line as written (no parse); memory: one read chunk.
 */
import { lstatSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { sep } from "node:path";
import { DEFAULT_RACY_MS, fileStatOf, isRacy } from "./file-stat.js";
import { encodeRecordHead, recordKey } from "./format.js";
import { statCacheFile } from "./location.js";
import { openCacheFile } from "./reader.js";
import type { StatCacheOptions } from "./stat-cache.js";

/** The cache file an install left, as its receipt names it. */
export interface CacheIdentity {
  readonly records: number;
  /** The trailer's SHA-256 (`StatCacheStats.checksum`). */
  readonly checksum: string;
}

export type UnchangedResult =
  | { readonly unchanged: true; readonly files: number; readonly bytes: number; readonly file: string }
  | { readonly unchanged: false; readonly reason: string };

/** Whether every file `dir`'s stat cache records is provably as recorded; the cache must be `expected`. */
export async function provenUnchanged(dir: string, expected: CacheIdentity, options: StatCacheOptions = {}): Promise<UnchangedResult> {
  // The clock first, so that it precedes every stat taken below (as StatCacheRun.open).
  const nowNs = BigInt(Math.floor((options.now ?? Date.now)())) * 1_000_000n;
  const racyNs = BigInt(Math.round((options.racyMs ?? DEFAULT_RACY_MS) * 1e6));
  const root = await realpath(dir).catch(() => undefined);
  if (root === undefined) return no(`${dir} does not exist`);
  const file = await statCacheFile(root, options);
  if (file === undefined) return no("the folder has no stat cache");
  const opened = await openCacheFile(file, root);
  if (opened.kind !== "ok") return no(opened.kind === "missing" ? "the stat cache is missing" : `the stat cache is not usable: ${opened.reason}`);
  const { cursor, header } = opened;
  try {
    if (opened.records !== expected.records || opened.checksum !== expected.checksum) return no("the stat cache changed since the install");
    // Files an install wrote are newer than its start: judged by this run's clock (file-stat.ts).
    const since = header.ownWrites === true ? nowNs : header.recordedNs;
    let files = 0;
    let bytes = 0;
    for (let lines = await cursor.nextLines(); lines !== undefined; lines = await cursor.nextLines()) {
      for (const line of lines) {
        const size = provenSize(root, line, since, racyNs);
        if (typeof size === "string") return no(size);
        files++;
        bytes += size;
      }
    }
    if (cursor.problem !== undefined) return no(`the stat cache is not usable: ${cursor.problem}`);
    if (files !== expected.records) return no("the stat cache ended early");
    return { unchanged: true, files, bytes, file };
  } finally {
    await cursor.close();
  }
}

/**
 * The size of the file a record line names, if its stat is still the recorded one and not racy;
 * else why not. The stat is compared with the line's own text (the file's checksum vouches for it).
 */
function provenSize(root: string, line: string, since: bigint, racyNs: bigint): number | string {
  let key: string;
  try {
    key = recordKey(line);
  } catch (error) {
    return `the stat cache is not usable: ${(error as Error).message}`;
  }
  // Concatenated, not `join`ed: the keys are ours, relative and normalized, and `join` costs more than the lstat's own JS.
  const info = lstatSync(`${root}${sep}${key}`, { bigint: true, throwIfNoEntry: false });
  if (info === undefined || !info.isFile()) return `${key} is gone or no longer a file`;
  const now = fileStatOf(info);
  if (!line.startsWith(encodeRecordHead(key, now))) return `${key} changed`;
  if (isRacy(now, since, racyNs)) return `${key} changed too recently to trust its stat`;
  return now.size;
}

const no = (reason: string): UnchangedResult => ({ unchanged: false, reason });
