/**
 * Errors raised while hashing, and their transport across the worker-thread boundary
 * (structured clone keeps neither the class nor `code`/`hint`, so they travel as plain data).
 */
import {
  ConflictError,
  IntegrityError,
  InterruptedError,
  NotFoundError,
  QuiltError,
  StorageError,
  UsageError,
  type ErrorKind,
} from "../errors/index.js";

export function unsupportedHashType(type: unknown): IntegrityError {
  // Same wording as quilt3 so messages match across clients.
  return new IntegrityError("UNSUPPORTED_HASH_TYPE", `Unsupported hash type: ${JSON.stringify(type)}`, {
    hint: "Supported: sha2-256-chunked, SHA256, CRC64NVME. The manifest may come from a newer client.",
  });
}

export function fileChanged(path: string, detail: string): ConflictError {
  return new ConflictError("FILE_CHANGED_DURING_HASH", `File changed while being hashed: ${path} (${detail})`, {
    hint: "Retry once nothing is writing to the file.",
  });
}

export function notAFile(path: string): UsageError {
  return new UsageError("NOT_A_FILE", `Not a regular file: ${path}`, {
    hint: "Only regular files can be hashed; directories, FIFOs and devices are refused.",
  });
}

/** Maps a Node fs error on `path` to a QuiltError; QuiltErrors pass through. */
export function fsError(path: string, err: unknown): QuiltError {
  if (err instanceof QuiltError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new NotFoundError("FILE_NOT_FOUND", `File not found: ${path}`, { cause: err });
  }
  if (code === "EISDIR") return notAFile(path);
  return new StorageError("FILE_READ_FAILED", `Cannot read ${path}: ${code ?? String(err)}`, {
    hint: code === "EACCES" || code === "EPERM" ? "Check the file's permissions." : undefined,
    cause: err,
  });
}

export function interrupted(reason?: unknown): InterruptedError {
  return new InterruptedError("Hashing interrupted", { cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interrupted(signal.reason);
}

export interface SerializedError {
  kind: ErrorKind;
  code: string;
  message: string;
  hint?: string;
  cause?: { code?: string; message: string };
}

export function serializeError(err: unknown): SerializedError {
  const q = err instanceof QuiltError ? err : new StorageError("HASH_FAILED", String(err), { cause: err });
  const out: SerializedError = { kind: q.kind, code: q.code, message: q.message };
  if (q.hint !== undefined) out.hint = q.hint;
  if (q.cause instanceof Error) {
    out.cause = { message: q.cause.message, code: (q.cause as NodeJS.ErrnoException).code };
  }
  return out;
}

const CLASSES: Record<Exclude<ErrorKind, "interrupted">, new (c: string, m: string, o?: object) => QuiltError> = {
  usage: UsageError,
  "not-found": NotFoundError,
  conflict: ConflictError,
  integrity: IntegrityError,
  storage: StorageError,
};

export function deserializeError(s: SerializedError): QuiltError {
  const cause = s.cause && Object.assign(new Error(s.cause.message), { code: s.cause.code });
  const options = { hint: s.hint, cause };
  if (s.kind === "interrupted") return new InterruptedError(s.message, options);
  return new CLASSES[s.kind](s.code, s.message, options);
}
