/**
 * A lock file shared by processes on one machine (or on one shared folder): `withLock(path, fn)`
 * runs `fn` while holding `path`.
 *
 * - Taking the lock is an exclusive create (`O_CREAT|O_EXCL`) of the lock file, which then holds
 *   JSON `{pid, host, time, token}`. A taken lock is retried with jittered exponential backoff
 *   until `timeoutMs`, then `ConflictError` `LOCK_TIMEOUT` names the holder.
 * - While held, the file's mtime is refreshed every `staleMs / 3`, so a live holder never looks stale.
 * - A lock is stale when its holder is a process of this host that no longer exists, or when it
 *   has not been refreshed for `staleMs`. A stale lock is broken (reported through `onWarning`).
 *   Breaking is itself guarded by `<path>.break` (exclusive create), and the lock is removed only
 *   if it is still the very file judged stale, so two waiters never remove a fresh lock.
 * - The lock is released in `finally`, but only if the file is still ours.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, readFile, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { ConflictError, InterruptedError, StorageError } from "../errors/index.js";

export interface LockOptions {
  /** Give up waiting after this long (default 60 s). */
  readonly timeoutMs?: number;
  /** A lock not refreshed for this long is stale (default 30 s). */
  readonly staleMs?: number;
  /** Told when a stale lock is broken, or when our lock was taken from us. Nothing is printed. */
  readonly onWarning?: (message: string) => void;
  readonly signal?: AbortSignal;
}

/** The content of a lock file. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO 8601 time the lock was taken. */
  readonly time: string;
  /** Random: tells this holding of the lock from any other. */
  readonly token: string;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_STALE_MS = 30_000;
const MAX_BACKOFF_MS = 250;

export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const owner = await acquire(path, options, staleMs);
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, Math.max(10, Math.floor(staleMs / 3)));
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    await release(path, owner, options);
  }
}

async function acquire(path: string, options: LockOptions, staleMs: number): Promise<LockOwner> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (error) {
    throw lockIoError(path, error);
  }
  let backoff = 5;
  for (;;) {
    if (options.signal?.aborted === true) {
      throw new InterruptedError(`Interrupted while waiting for the lock ${path}`, { cause: options.signal.reason });
    }
    const owner: LockOwner = {
      pid: process.pid,
      host: hostname(),
      time: new Date().toISOString(),
      token: randomBytes(12).toString("hex"),
    };
    if (await tryCreate(path, JSON.stringify(owner))) return owner;

    const seen = await inspect(path);
    if (seen === undefined) continue; // released in the meantime: retry at once
    const reason = staleReason(seen, staleMs);
    if (reason !== undefined) {
      await breakStale(path, seen, reason, staleMs, options);
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new ConflictError("LOCK_TIMEOUT", `Timed out after ${timeoutMs} ms waiting for the lock ${path}, held by ${describe(seen)}.`, {
        hint: `Another process is updating the same package; retry when it is done. If no such process is running, delete ${path}.`,
      });
    }
    await sleep(Math.min(left, backoff * (0.5 + Math.random())));
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
}

/** Exclusive create of `path` holding `content`; false if it already exists. */
async function tryCreate(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
  } catch (error) {
    if (errnoOf(error) === "EEXIST") return false;
    throw lockIoError(path, error);
  }
  try {
    await handle.writeFile(content, "utf8");
  } finally {
    await handle.close();
  }
  return true;
}

interface SeenLock {
  /** Raw content, and the parsed owner when it parses. */
  readonly content: string;
  readonly owner: LockOwner | undefined;
  readonly ino: number;
  readonly mtimeMs: number;
}

async function inspect(path: string): Promise<SeenLock | undefined> {
  try {
    const info = await stat(path);
    const content = await readFile(path, "utf8");
    return { content, owner: parseOwner(content), ino: info.ino, mtimeMs: info.mtimeMs };
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw lockIoError(path, error);
  }
}

function parseOwner(content: string): LockOwner | undefined {
  try {
    const value: unknown = JSON.parse(content);
    if (typeof value !== "object" || value === null) return undefined;
    const { pid, host, time, token } = value as Record<string, unknown>;
    if (typeof pid !== "number" || typeof host !== "string" || typeof time !== "string" || typeof token !== "string") {
      return undefined;
    }
    return { pid, host, time, token };
  } catch {
    return undefined; // empty (being written) or damaged: judged by age only
  }
}

function staleReason(seen: SeenLock, staleMs: number): string | undefined {
  const owner = seen.owner;
  if (owner !== undefined && owner.host === hostname() && !processExists(owner.pid)) {
    return `its process ${owner.pid} no longer exists`;
  }
  const age = Date.now() - seen.mtimeMs;
  if (age > staleMs) return `it was last refreshed ${Math.round(age / 1000)} s ago`;
  return undefined;
}

function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === "EPERM"; // exists, owned by someone else
  }
}

async function breakStale(path: string, seen: SeenLock, reason: string, staleMs: number, options: LockOptions): Promise<void> {
  const guard = `${path}.break`;
  if (!(await tryCreate(guard, String(process.pid)))) {
    // Another waiter is breaking it. A guard left by a crashed breaker is removed once old.
    try {
      const info = await stat(guard);
      if (Date.now() - info.mtimeMs > staleMs) await unlink(guard);
    } catch {
      // gone already
    }
    await sleep(5);
    return;
  }
  try {
    const now = await inspect(path);
    if (now !== undefined && now.ino === seen.ino && now.mtimeMs === seen.mtimeMs && now.content === seen.content) {
      await unlink(path);
      options.onWarning?.(`Removed the stale lock ${path} held by ${describe(seen)}: ${reason}.`);
    }
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") throw lockIoError(path, error);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

async function release(path: string, owner: LockOwner, options: LockOptions): Promise<void> {
  const seen = await inspect(path).catch(() => undefined);
  if (seen?.owner?.token === owner.token) {
    await unlink(path).catch(() => undefined);
  } else {
    options.onWarning?.(
      `The lock ${path} was taken over while this process held it (it was judged stale); another process may have updated the package at the same time.`,
    );
  }
}

function describe(seen: SeenLock): string {
  const owner = seen.owner;
  if (owner === undefined) return `an unknown process (unreadable lock file, modified ${new Date(seen.mtimeMs).toISOString()})`;
  return `process ${owner.pid} on ${owner.host} since ${owner.time}`;
}

function lockIoError(path: string, error: unknown): StorageError {
  return new StorageError("LOCK_IO_ERROR", `Could not use the lock file ${path}: ${error instanceof Error ? error.message : String(error)}`, {
    hint: "Check that its folder exists and is writable.",
    cause: error,
  });
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
