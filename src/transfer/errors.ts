/**
 * The failures of installing, comparing and matching folders. Every message names the logical
 * key and/or path involved; codes are stable once published.
 */
import {
  ConflictError,
  IntegrityError,
  InterruptedError,
  NotFoundError,
  QuiltError,
  StorageError,
  UsageError,
} from "../errors/index.js";
import { pyRepr } from "../manifest/index.js";

const HOSTILE_HINT = "The manifest may be hostile or corrupt; nothing was written. Do not install it.";

export function unsafeKey(key: string, problem: string): IntegrityError {
  return new IntegrityError("INSTALL_UNSAFE_KEY", `Logical key ${pyRepr(key)} is refused: ${problem}.`, {
    hint: HOSTILE_HINT,
  });
}

export function escapesDest(key: string, target: string, dest: string): IntegrityError {
  return new IntegrityError(
    "INSTALL_PATH_ESCAPES",
    `Logical key ${pyRepr(key)} resolves to ${target}, outside the destination ${dest}.`,
    { hint: HOSTILE_HINT },
  );
}

export function symlinkInDest(path: string, dest: string, key: string | undefined): IntegrityError {
  const forKey = key === undefined ? "" : ` (needed for ${pyRepr(key)})`;
  return new IntegrityError(
    "INSTALL_SYMLINK_IN_DEST",
    `${path} is a symbolic link inside the destination ${dest}${forKey}; Quiltkit never writes through or over a link.`,
    { hint: "Remove or replace the link with a real folder or file, or install into another folder." },
  );
}

export function duplicateKey(key: string): IntegrityError {
  return new IntegrityError("INSTALL_DUPLICATE_KEY", `Logical key ${pyRepr(key)} appears twice in the package.`, {
    hint: HOSTILE_HINT,
  });
}

export function fileFolderConflict(file: string, inside: string): IntegrityError {
  return new IntegrityError(
    "INSTALL_FILE_FOLDER_CONFLICT",
    `Logical key ${pyRepr(file)} is a file, but ${pyRepr(inside)} needs it to be a folder.`,
    { hint: "A package cannot hold a file and a folder of the same name; " + HOSTILE_HINT },
  );
}

export function keyCollision(a: string, b: string, folder: boolean): ConflictError {
  const what = folder
    ? `${pyRepr(a)} (a file) and the folder of ${pyRepr(b)}`
    : `${pyRepr(a)} and ${pyRepr(b)}`;
  return new ConflictError(
    "INSTALL_KEY_COLLISION",
    `Logical keys collide on a case-insensitive or Unicode-normalizing filesystem: ${what}.`,
    {
      hint:
        "They would overwrite each other on macOS or Windows (case folding, NFC/NFD). " +
        "Rename one in the package, or install a sub-tree with `path` that avoids them.",
    },
  );
}

export function pathConflict(path: string, key: string | undefined, detail: string): ConflictError {
  const forKey = key === undefined ? "" : ` (for ${pyRepr(key)})`;
  return new ConflictError("INSTALL_PATH_CONFLICT", `${path}${forKey} ${detail}.`, {
    hint: "Move the existing file or folder away, or install into an empty folder.",
  });
}

export function noSpace(dest: string, needed: number, available: number): StorageError {
  return new StorageError(
    "INSTALL_NO_SPACE",
    `Not enough free space for ${dest}: ${formatBytes(needed)} still to write, ${formatBytes(available)} available.`,
    { hint: `Free at least ${formatBytes(needed - available)} (${needed - available} bytes) on that filesystem, or choose another destination.` },
  );
}

export function pathNotFound(path: string): NotFoundError {
  return new NotFoundError("INSTALL_PATH_NOT_FOUND", `The package has no file or folder ${pyRepr(path)}.`, {
    hint: "Give a logical key or a folder prefix (without a trailing '/') that the package contains.",
  });
}

export function badOption(name: string, detail: string): UsageError {
  return new UsageError("TRANSFER_BAD_OPTION", `Option ${name} ${detail}.`);
}

export function notSorted(previous: string, key: string, what: string): IntegrityError {
  const detail = previous === key ? `${pyRepr(key)} appears twice` : `${pyRepr(key)} comes after ${pyRepr(previous)}`;
  return new IntegrityError("ENTRIES_NOT_SORTED", `The ${what} are not in tree-walk order: ${detail}.`, {
    hint: "Pass entries sorted with compareLogicalKeys (a canonical manifest is), without duplicates.",
  });
}

export interface MismatchInfo {
  key: string;
  physicalKey: string;
  type: string;
  expected: string;
  actual: string;
  expectedSize: number;
  actualSize: number;
  /** The source sent more than `expectedSize` bytes (reading stopped there). */
  overflow?: boolean;
}

export function hashMismatch(m: MismatchInfo): IntegrityError {
  const got = m.overflow === true ? `more than ${m.expectedSize}` : String(m.actualSize);
  const size = m.actualSize === m.expectedSize ? "" : ` Expected ${m.expectedSize} bytes, got ${got}.`;
  return new IntegrityError(
    "HASH_MISMATCH",
    `The bytes of ${pyRepr(m.key)} from ${m.physicalKey} do not match the package: ` +
      `${m.type} expected ${m.expected}, got ${m.actual}.${size}`,
    { hint: "The source changed since the package was made, or the transfer was corrupted. Nothing was written under that name." },
  );
}

export function writeFailed(path: string, what: string, cause: unknown): QuiltError {
  if (cause instanceof QuiltError) return cause;
  const code = errnoOf(cause);
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new StorageError("INSTALL_NO_SPACE", `No space left to ${what} ${path}.`, {
      hint: "Free some space on that filesystem and run again: finished files are skipped.",
      cause,
    });
  }
  return new StorageError("INSTALL_WRITE_FAILED", `Could not ${what} ${path}: ${code ?? String(cause)}.`, {
    hint: code === "EACCES" || code === "EPERM" ? "Check the permissions of the destination." : undefined,
    cause,
  });
}

export function interrupted(what: string, reason: unknown): InterruptedError {
  return new InterruptedError(`Interrupted: ${what}`, { cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw interrupted(what, signal.reason);
}

export function errnoOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i] ?? "B"}`;
}
