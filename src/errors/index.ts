/**
 * One base class for every failure Quiltkit reports, in the manner of pnpm and isomorphic-git:
 * a stable machine-readable `code`, a `hint` that tells the remedy, and the `cause`.
 * Messages name the key, hash, path or URL involved, never a credential.
 */

/** Broad families of failure; the CLI maps each to an exit code (see `exitCodeFor`). */
export type ErrorKind =
  | "usage" // bad input from the caller: exit 2
  | "not-found" // exit 3
  | "conflict" // exit 4
  | "integrity" // hash mismatch, hostile or malformed manifest: exit 5
  | "storage" // storage or network: exit 6
  | "interrupted"; // exit 130

export interface QuiltErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class QuiltError extends Error {
  override readonly name: string = "QuiltError";
  readonly hint: string | undefined;

  constructor(
    /** Stable identifier, e.g. `MANIFEST_RECORD_TOO_LARGE`; never reworded once published. */
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    options: QuiltErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }

  toJSON(): { code: string; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Bad input: a malformed value, name, key or option. */
export class UsageError extends QuiltError {
  override readonly name = "UsageError";
  constructor(code: string, message: string, options?: QuiltErrorOptions) {
    super(code, "usage", message, options);
  }
}

/** Data that is not what it claims to be: malformed manifests, hash mismatches, hostile keys. */
export class IntegrityError extends QuiltError {
  override readonly name = "IntegrityError";
  constructor(code: string, message: string, options?: QuiltErrorOptions) {
    super(code, "integrity", message, options);
  }
}

export class NotFoundError extends QuiltError {
  override readonly name = "NotFoundError";
  constructor(code: string, message: string, options?: QuiltErrorOptions) {
    super(code, "not-found", message, options);
  }
}

export class ConflictError extends QuiltError {
  override readonly name = "ConflictError";
  constructor(code: string, message: string, options?: QuiltErrorOptions) {
    super(code, "conflict", message, options);
  }
}

export class StorageError extends QuiltError {
  override readonly name = "StorageError";
  constructor(code: string, message: string, options?: QuiltErrorOptions) {
    super(code, "storage", message, options);
  }
}

export class InterruptedError extends QuiltError {
  override readonly name = "InterruptedError";
  constructor(message = "Interrupted", options?: QuiltErrorOptions) {
    super("INTERRUPTED", "interrupted", message, options);
  }
}

/** Exit codes of the `quilt` command, one per error family (issue #3 decisions). */
export const EXIT_CODES = {
  ok: 0,
  differences: 1,
  usage: 2,
  "not-found": 3,
  conflict: 4,
  integrity: 5,
  storage: 6,
  interrupted: 130,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof QuiltError) return EXIT_CODES[error.kind];
  return 1;
}
