/**
 * Small filesystem steps of the cache, each tolerant of the races a shared folder brings: another
 * process may publish, use or remove the same object at any moment.
 */
import type { BigIntStats } from "node:fs";
import { chmod, lstat, mkdir, unlink, utimes } from "node:fs/promises";
import { cacheReadFailed, cacheWriteFailed, errnoOf } from "./errors.js";
import { forget } from "./memo.js";

/** A used object's atime is stamped again only when older than this (one syscall saved per hot read). */
const TOUCH_EVERY_MS = 60_000;

/** lstat with nanosecond times; undefined when nothing is there. */
export async function statOf(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (error) {
    const code = errnoOf(error);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw cacheReadFailed(path, error);
  }
}

/** Removes a file (never a folder); false when it was already gone. Read-only files go too (Windows refuses them). */
export async function removeFile(path: string): Promise<boolean> {
  forget(path);
  try {
    await unlink(path);
    return true;
  } catch (error) {
    const code = errnoOf(error);
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    if (code !== "EPERM" && code !== "EACCES") throw cacheWriteFailed(path, "remove", error);
    await chmod(path, 0o644).catch(() => undefined);
    await unlink(path).catch((again: unknown) => {
      if (errnoOf(again) !== "ENOENT") throw cacheWriteFailed(path, "remove", again);
    });
    return true;
  }
}

export async function ensureFolder(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    throw cacheWriteFailed(path, "create the folder", error);
  }
}

/**
 * Stamps `now` as the object's atime, its last use, which is what prune orders by. We set it ourselves
 * because mounts with noatime or relatime do not. The mtime is written back unchanged: it is a whole
 * number of seconds in our own objects, which a double holds exactly, so the memo's identity stays.
 */
export async function touch(path: string, st: BigIntStats, now: number): Promise<void> {
  if (now - Number(st.atimeMs) < TOUCH_EVERY_MS) return;
  const mtime = Number(st.mtimeNs / 1000n) / 1e6;
  // Another user's object in a shared cache cannot be stamped; it is still served.
  await utimes(path, now / 1000, mtime).catch(() => undefined);
}

/** The mtime given to a new object: its write time, in whole seconds (see `touch`). */
export function wholeSeconds(now: number): number {
  return Math.floor(now / 1000);
}
