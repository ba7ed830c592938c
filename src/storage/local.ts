/**
 * `Storage` over a local folder. Keys are checked so that none can name a file outside the root;
 * writes are atomic (temporary file in the same folder, fsync, then `rename`, or `link` for
 * create-only writes); listings walk the folders lazily, in S3's key order.
 */
import { assertListDelimiter } from "./list-options.js";
import { randomBytes } from "node:crypto";
import { constants as fsConstants, type Dirent, type Stats } from "node:fs";
import { link, lstat, mkdir, open, opendir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { compareCodePoints } from "../json/code-point-order.js";
import {
  ConflictError,
  InterruptedError,
  NotFoundError,
  QuiltError,
  StorageError,
  UsageError,
} from "../errors/index.js";
import { formatPhysicalKey } from "./physical-key.js";
import type { ListItem, ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "./types.js";

/** Temporary files of in-flight writes start with this; listings skip them and keys may not use it. */
export const TEMP_PREFIX = ".quiltkit-tmp-";

const CHUNK_SIZE = 1 << 20;
const KEY_HINT = "Use a relative key of non-empty '/'-separated segments, without '.', '..' or NUL.";

/** Why `key` is not an acceptable storage key, or `undefined` if it is. */
export function storageKeyProblem(key: string): string | undefined {
  if (key === "") return "it is empty";
  if (key.includes("\0")) return "it contains a NUL character";
  if (key.startsWith("/")) return "it is absolute (starts with '/')";
  if (sep === "\\" && key.includes("\\")) return "it contains '\\'";
  for (const segment of key.split("/")) {
    if (segment === "") return "it has an empty segment ('//' or a trailing '/')";
    if (segment === "." || segment === "..") return `it has a '${segment}' segment`;
    if (segment.startsWith(TEMP_PREFIX)) return `a segment starts with '${TEMP_PREFIX}' (reserved for temporary files)`;
  }
  return undefined;
}

function assertKey(key: string, root: string): void {
  const problem = storageKeyProblem(key);
  if (problem !== undefined) {
    throw new UsageError("STORAGE_KEY_INVALID", `Invalid key ${JSON.stringify(key)} under ${root}: ${problem}.`, {
      hint: KEY_HINT,
    });
  }
}

function errnoOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new InterruptedError(`Interrupted: ${what}`, { cause: signal.reason });
}

interface DirEntry {
  readonly name: string;
  readonly isDir: boolean;
  /** `name`, or `name/` for a folder: sorting on this gives the order of the full keys. */
  readonly sortKey: string;
}

export class LocalStorage implements Storage {
  /** The absolute path of the root folder. */
  readonly root: string;
  readonly url: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.url = fileUrl(this.root);
  }

  /** The absolute path of `key` (checked). */
  pathOf(key: string): string {
    assertKey(key, this.url);
    return join(this.root, ...key.split("/"));
  }

  /** The URL of `key`, for messages. */
  urlOf(key: string): string {
    return fileUrl(join(this.root, ...key.split("/")));
  }

  read(key: string, options: ReadOptions = {}): AsyncIterable<Uint8Array> {
    return this.readChunks(key, options);
  }

  private async *readChunks(key: string, options: ReadOptions): AsyncGenerator<Uint8Array> {
    const path = this.pathOf(key);
    if (options.versionId !== undefined) {
      throw new UsageError("VERSION_ID_UNSUPPORTED", `Cannot read version ${options.versionId} of ${this.urlOf(key)}: local folders keep no versions.`, {
        hint: "Drop the versionId, or read from a versioned S3 bucket.",
      });
    }
    const range = options.range;
    if (range !== undefined && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
      throw new UsageError("RANGE_INVALID", `Invalid byte range ${range.start}-${range.end} for ${this.urlOf(key)}.`, {
        hint: "Give 0 <= start <= end (end exclusive), as whole numbers.",
      });
    }
    throwIfAborted(options.signal, `reading ${this.urlOf(key)}`);
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      throw this.readError(key, error);
    }
    try {
      let info: Stats;
      try {
        info = await handle.stat();
      } catch (error) {
        throw this.ioError("stat", key, error);
      }
      if (!info.isFile()) throw this.notFound(key);
      let position = range?.start ?? 0;
      const end = range === undefined ? Infinity : Math.min(range.end, info.size);
      while (position < end) {
        throwIfAborted(options.signal, `reading ${this.urlOf(key)}`);
        const want = Math.min(CHUNK_SIZE, end - position);
        const buffer = Buffer.allocUnsafe(want);
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(buffer, 0, want, position));
        } catch (error) {
          throw this.readError(key, error);
        }
        if (bytesRead === 0) break;
        position += bytesRead;
        yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  async readAll(key: string, options: ReadOptions = {}): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.read(key, options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    let info: Stats;
    try {
      info = await stat(path);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.ioError("stat", key, error);
    }
    return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    const slash = key.lastIndexOf("/");
    const dir = slash < 0 ? this.root : join(this.root, ...key.slice(0, slash).split("/"));
    throwIfAborted(options.signal, `writing ${this.urlOf(key)}`);
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw this.ioError("create the folder of", key, error);
    }
    // Exclusive create of a unique name: two writers never share a temporary file.
    const temp = join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString("hex")}`);
    let handle: FileHandle;
    try {
      handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o666);
    } catch (error) {
      throw this.ioError("create a temporary file for", key, error);
    }
    let placed = false;
    try {
      let info: Stats;
      try {
        if (body instanceof Uint8Array) {
          await writeFully(handle, body);
        } else {
          for await (const chunk of body) {
            throwIfAborted(options.signal, `writing ${this.urlOf(key)}`);
            await writeFully(handle, chunk);
          }
        }
        throwIfAborted(options.signal, `writing ${this.urlOf(key)}`);
        await handle.sync();
        info = await handle.stat();
      } finally {
        await handle.close();
      }
      if (options.ifNoneMatch === true) {
        // link() fails if the target exists, atomically: create-only without a race.
        try {
          await link(temp, path);
        } catch (error) {
          if (errnoOf(error) === "EEXIST") {
            throw new ConflictError("OBJECT_EXISTS", `${this.urlOf(key)} already exists.`, {
              hint: "Another writer created it first; read it, or write under another key.",
              cause: error,
            });
          }
          throw this.ioError("create", key, error);
        }
      } else {
        try {
          await rename(temp, path);
          placed = true;
        } catch (error) {
          throw this.ioError("write", key, error);
        }
      }
      await syncDir(dir);
      return { key, size: info.size, lastModified: info.mtime };
    } catch (error) {
      if (error instanceof QuiltError) throw error;
      throw this.ioError("write", key, error);
    } finally {
      if (!placed) await unlink(temp).catch(() => undefined);
    }
  }

  list(prefix: string, options: ListOptions = {}): AsyncIterable<ListItem> {
    return this.listItems(prefix, options);
  }

  private async *listItems(prefix: string, options: ListOptions): AsyncGenerator<ListItem> {
    assertListDelimiter(this.url, options);
    const slash = prefix.lastIndexOf("/");
    const dirKey = slash < 0 ? "" : prefix.slice(0, slash);
    const partial = prefix.slice(slash + 1);
    if (dirKey !== "") assertKey(dirKey, this.url);
    if (partial.includes("\0") || (sep === "\\" && partial.includes("\\"))) {
      throw new UsageError("STORAGE_KEY_INVALID", `Invalid list prefix ${JSON.stringify(prefix)} under ${this.url}.`, {
        hint: KEY_HINT,
      });
    }
    yield* this.walk(dirKey, partial, options.delimiter === "/");
  }

  private async *walk(dirKey: string, filter: string, delimited: boolean): AsyncGenerator<ListItem> {
    for (const entry of await this.readDirSorted(dirKey, filter)) {
      const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDir) {
        if (!delimited) yield* this.walk(key, "", false);
        else if (await this.hasObjects(key)) yield { kind: "prefix", prefix: `${key}/` };
      } else {
        const info = await this.stat(key);
        if (info !== undefined) yield { kind: "object", ...info };
      }
    }
  }

  /** The files and folders of one folder whose names start with `filter`, sorted as S3 sorts keys. */
  private async readDirSorted(dirKey: string, filter: string): Promise<DirEntry[]> {
    const dirPath = dirKey === "" ? this.root : join(this.root, ...dirKey.split("/"));
    const entries: DirEntry[] = [];
    let dir;
    try {
      dir = await opendir(dirPath, { bufferSize: 256 });
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return entries;
      throw this.ioError("list", dirKey === "" ? "." : dirKey, error);
    }
    // Streamed: only the names that pass the filter are kept (a prefix listing of a huge folder,
    // e.g. `.quilt/packages/ab12`, holds the matches only).
    try {
      for await (const dirent of dir) {
        const name = dirent.name;
        if (!name.startsWith(filter) || name.startsWith(TEMP_PREFIX)) continue;
        const isDir = await this.direntIsDir(dirPath, dirent);
        if (isDir === undefined) continue;
        entries.push({ name, isDir, sortKey: isDir ? `${name}/` : name });
      }
    } catch (error) {
      throw this.ioError("list", dirKey === "" ? "." : dirKey, error);
    }
    return entries.sort((a, b) => compareCodePoints(a.sortKey, b.sortKey));
  }

  /** true for a folder, false for a file, undefined for anything else (or a vanished entry). */
  private async direntIsDir(dirPath: string, dirent: Dirent): Promise<boolean | undefined> {
    if (dirent.isDirectory()) return true;
    if (dirent.isFile()) return false;
    if (!dirent.isSymbolicLink()) return undefined;
    try {
      const target = await stat(join(dirPath, dirent.name));
      return target.isDirectory() ? true : target.isFile() ? false : undefined;
    } catch {
      return undefined; // a dangling link is no object
    }
  }

  /** Whether any object lies under the folder `dirKey` (stops at the first one found). */
  private async hasObjects(dirKey: string): Promise<boolean> {
    const dirPath = join(this.root, ...dirKey.split("/"));
    let dir;
    try {
      dir = await opendir(dirPath);
    } catch {
      return false;
    }
    const subdirs: string[] = [];
    try {
      for await (const dirent of dir) {
        if (dirent.name.startsWith(TEMP_PREFIX)) continue;
        const isDir = await this.direntIsDir(dirPath, dirent);
        if (isDir === false) return true; // leaving the loop closes the folder
        if (isDir === true) subdirs.push(`${dirKey}/${dirent.name}`);
      }
    } catch (error) {
      throw this.ioError("list", dirKey, error);
    }
    for (const sub of subdirs) if (await this.hasObjects(sub)) return true;
    return false;
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      const info = await lstat(path);
      if (info.isDirectory()) return; // a folder is no object
      await unlink(path);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw this.ioError("delete", key, error);
    }
  }

  private notFound(key: string, cause?: unknown): NotFoundError {
    return new NotFoundError("OBJECT_NOT_FOUND", `${this.urlOf(key)} does not exist.`, {
      hint: "Check the key and the storage location.",
      cause,
    });
  }

  private readError(key: string, error: unknown): QuiltError {
    const code = errnoOf(error);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return this.notFound(key, error);
    return this.ioError("read", key, error);
  }

  private ioError(action: string, key: string, error: unknown): StorageError {
    const code = errnoOf(error);
    const denied = code === "EACCES" || code === "EPERM";
    const full = code === "ENOSPC" || code === "EDQUOT";
    return new StorageError(
      denied ? "STORAGE_ACCESS_DENIED" : full ? "STORAGE_FULL" : "STORAGE_IO_ERROR",
      `Could not ${action} ${this.urlOf(key)}${code === undefined ? "" : ` (${code})`}: ${error instanceof Error ? error.message : String(error)}`,
      {
        hint: denied
          ? "Check the permissions of the folder and its parents."
          : full
            ? "Free some disk space, then retry."
            : code === "ENOTDIR" || code === "EEXIST"
              ? "A parent of this key is a file: a local folder cannot hold both a key and keys below it (a and a/b)."
              : "Check that the folder exists, is writable and is on a working disk, then retry.",
        cause: error,
      },
    );
  }
}

async function writeFully(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** fsync a folder so that a rename in it survives a crash; best effort where unsupported. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Some platforms and filesystems cannot open or fsync folders; the data itself was synced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function fileUrl(path: string): string {
  try {
    return formatPhysicalKey({ kind: "file", path });
  } catch {
    return `file://${path}`;
  }
}
