/**
 * Putting an object into the cache, in the manner of pnpm's store: the bytes land in a temp file in
 * the object's own folder, checked against the hash as they pass (write-file.ts), made read-only,
 * then published with link(2), which fails when the name exists: the first intact copy wins and keeps
 * its inode, so the installs hard-linked to it stay shared. A corrupt file in the way is replaced.
 * Filesystems without hard links publish with rename(2) instead, equally atomic.
 */
import { chmod, link, rename, utimes } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { HashType } from "../../hash/index.js";
import { QuiltError } from "../../errors/index.js";
import { tempNameFor, writeVerified } from "../../transfer/write-file.js";
import type { EntryRef, ReadEntry } from "../../transfer/types.js";
import { cacheWriteFailed, errnoOf } from "./errors.js";
import { ensureFolder, removeFile, statOf, wholeSeconds } from "./files.js";
import { markVerified } from "./memo.js";

export interface WriteObjectOptions {
  readonly read: ReadEntry;
  readonly signal: AbortSignal;
  readonly fsync: boolean;
  readonly now: number;
  readonly onBytes?: ((n: number) => void) | undefined;
  /** Keep the bytes and return them (getBytes wants them in memory anyway). */
  readonly keep?: boolean;
  /** Whether the file already at the object's path is intact (the loser of a race checks the winner). */
  readonly intact: (path: string) => Promise<boolean>;
}

/** Link errors meaning "this filesystem has no hard links", not "something is wrong". */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK"]);

/** Writes `entry`'s bytes to `path`, verified; returns them when `keep`. */
export async function writeObject(path: string, entry: EntryRef, type: HashType, o: WriteObjectOptions): Promise<Buffer | undefined> {
  const dir = dirname(path);
  await ensureFolder(dir);
  const staged = tempNameFor(basename(path));
  const chunks: Buffer[] | undefined = o.keep === true ? [] : undefined;
  const read: ReadEntry = chunks === undefined ? o.read : teeInto(o.read, chunks);
  try {
    await writeVerified(dir, staged, entry, type, { readEntry: read, signal: o.signal, onBytes: o.onBytes, fsync: o.fsync }).catch((error: unknown) => {
      throw asCacheError(error, path);
    });
    const stagedPath = join(dir, staged);
    await stamp(stagedPath, o.now);
    // The published file is this inode (link keeps it): what was verified is what the memo records.
    const sealed = await statOf(stagedPath);
    if (await publish(stagedPath, path, o.intact) && sealed !== undefined) markVerified(path, sealed);
  } finally {
    await removeFile(join(dir, staged)).catch(() => undefined);
  }
  return chunks === undefined ? undefined : Buffer.concat(chunks);
}

/** Read-only (so an install that hard-links it cannot be edited in place by accident), dated in whole seconds. */
async function stamp(path: string, now: number): Promise<void> {
  try {
    await chmod(path, 0o444);
    await utimes(path, now / 1000, wholeSeconds(now));
  } catch (error) {
    throw cacheWriteFailed(path, "seal", error);
  }
}

/** Publishes the staged file at `path`; true when ours was published, false when an intact one was already there. */
async function publish(staged: string, path: string, intact: (path: string) => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await link(staged, path);
      return true;
    } catch (error) {
      const code = errnoOf(error);
      if (code === "EEXIST") {
        // Another writer got there first: theirs stands when intact, else it is corrupt and goes.
        if ((await statOf(path))?.isFile() === true && (await intact(path))) return false;
        await removeFile(path);
        continue;
      }
      if (code === undefined || !NO_HARD_LINKS.has(code)) throw cacheWriteFailed(path, "publish", error);
      break;
    }
  }
  // No hard links here (or a writer that keeps losing): the bytes are verified, so replacing is safe.
  await rename(staged, path).catch((error: unknown) => {
    throw cacheWriteFailed(path, "publish", error);
  });
  return true;
}

function teeInto(read: ReadEntry, chunks: Buffer[]): ReadEntry {
  return async function* (entry, signal) {
    for await (const chunk of read(entry, signal)) {
      chunks.push(Buffer.from(chunk));
      yield chunk;
    }
  };
}

/** Failures of writing the temp file are the cache's (full, read-only); source errors stay as they are. */
function asCacheError(error: unknown, path: string): unknown {
  if (error instanceof QuiltError && (error.code === "INSTALL_WRITE_FAILED" || error.code === "INSTALL_NO_SPACE")) {
    return cacheWriteFailed(path, "write", error.cause ?? new Error(error.message));
  }
  return error;
}
