/**
 * SDK failures in our error classes. Messages name the `s3://bucket/key` involved, the S3 error code
 * and HTTP status, never a credential (the SDK's own messages carry none, and we never add any).
 */
import { ConflictError, IntegrityError, InterruptedError, NotFoundError, QuiltError, StorageError } from "../../errors/index.js";

/** What we look at in an SDK error (an `S3ServiceException`, or a Node network error). */
interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === "object" && error !== null ? error : {};
}

/** The S3 error code (`NoSuchKey`, `AccessDenied`, …) or Node error code (`ECONNREFUSED`), if any. */
export function s3ErrorName(error: unknown): string | undefined {
  const e = shape(error);
  if (typeof e.code === "string") return e.code;
  return typeof e.name === "string" ? e.name : undefined;
}

/** The HTTP status the server answered with, or `undefined` when no answer came (network failure). */
export function httpStatusOf(error: unknown): number | undefined {
  const status = shape(error).$metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

const NOT_FOUND = new Set(["NoSuchKey", "NotFound", "NoSuchVersion"]);
const DENIED = new Set(["AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AllAccessDisabled"]);
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "TimeoutError",
  "RequestTimeout",
  "NetworkingError",
]);

export function isNotFound(error: unknown): boolean {
  const name = s3ErrorName(error);
  return (name !== undefined && NOT_FOUND.has(name)) || httpStatusOf(error) === 404;
}

export function isPreconditionFailed(error: unknown): boolean {
  return s3ErrorName(error) === "PreconditionFailed" || httpStatusOf(error) === 412;
}

function isAbort(error: unknown): boolean {
  return s3ErrorName(error) === "AbortError";
}

/**
 * Map an SDK error met while doing `action` on `url` to a `QuiltError`. `QuiltError`s pass through;
 * a missing bucket is a storage error (the registry is wrong), not a missing object.
 */
export function mapS3Error(error: unknown, action: string, url: string): QuiltError {
  if (error instanceof QuiltError) return error;
  const name = s3ErrorName(error);
  const status = httpStatusOf(error);
  const detail = `${name ?? "error"}${status === undefined ? "" : `, HTTP ${status}`}`;
  const text = typeof shape(error).message === "string" ? (shape(error).message as string) : "";
  const said = text === "" || text === name ? "" : `: ${text}`;
  if (isAbort(error)) return new InterruptedError(`Interrupted: ${action} ${url}`, { cause: error });
  // The SDK found no credentials anywhere: no request was sent, so the bucket is not in question.
  if (name === "CredentialsProviderError") {
    return new StorageError("STORAGE_NO_CREDENTIALS", `Could not ${action} ${url}: no AWS credentials were found${said}`, {
      hint: "Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write ~/.aws/credentials (`aws configure`).",
      cause: error,
    });
  }
  if (name === "NoSuchBucket") {
    return new StorageError("STORAGE_BUCKET_NOT_FOUND", `Could not ${action} ${url} (${detail}): the bucket does not exist.`, {
      hint: "Check the bucket name and the region or endpoint.",
      cause: error,
    });
  }
  if (name === "BadDigest" || name === "XAmzContentChecksumMismatch" || name === "InvalidDigest") {
    return new IntegrityError("S3_CHECKSUM_MISMATCH", `Could not ${action} ${url} (${detail}): the bytes S3 received do not match their checksum.`, {
      hint: "The data was damaged in transit; retry.",
      cause: error,
    });
  }
  if (isNotFound(error)) {
    return new NotFoundError("OBJECT_NOT_FOUND", `${url} does not exist (${detail}).`, {
      hint: "Check the key, the version id and the bucket.",
      cause: error,
    });
  }
  if ((name !== undefined && DENIED.has(name)) || status === 403) {
    return new StorageError("STORAGE_ACCESS_DENIED", `Access denied: could not ${action} ${url} (${detail})${said}`, {
      hint: "Check the credentials and that they grant this action on the bucket.",
      cause: error,
    });
  }
  if (status === undefined && (name === undefined || NETWORK.has(name) || /^E[A-Z_]+$/.test(name))) {
    return new StorageError("STORAGE_NETWORK", `Could not ${action} ${url}: no answer from S3 (${detail})${said}`, {
      hint: "Check the network and the endpoint, then retry.",
      cause: error,
    });
  }
  return new StorageError("STORAGE_IO_ERROR", `Could not ${action} ${url} (${detail})${said}`, {
    hint: status !== undefined && status >= 500 ? "The server failed; retry later." : "Check the request and the bucket's configuration.",
    cause: error,
  });
}

/** A failure of a transfer: `InterruptedError` when `signal` aborted it (whatever the SDK threw), else `mapS3Error`. */
export function transferError(error: unknown, signal: AbortSignal | undefined, action: string, url: string): QuiltError {
  if (error instanceof InterruptedError) return error;
  if (signal?.aborted === true) return new InterruptedError(`Interrupted: ${action} ${url}`, { cause: error });
  return mapS3Error(error, action, url);
}

export interface WriteConditions {
  readonly ifNoneMatch?: true;
  readonly ifMatch?: string;
}

/**
 * The `ConflictError` of a conditional write S3 refused, or `undefined` when `error` is no such
 * refusal. 412 is the condition failing; 409 is S3 refusing a concurrent conditional write; a 404
 * under If-Match means the object was deleted meanwhile, which is a change too.
 */
export function conditionalWriteError(error: unknown, conditions: WriteConditions, url: string): ConflictError | undefined {
  if (error instanceof QuiltError) return undefined; // already mapped: its `code` is ours, not S3's
  const refused = isPreconditionFailed(error) || s3ErrorName(error) === "ConditionalRequestConflict" || httpStatusOf(error) === 409;
  if (conditions.ifNoneMatch === true && refused) {
    return new ConflictError("OBJECT_EXISTS", `${url} already exists.`, {
      hint: "Another writer created it first; read it, or write under another key.",
      cause: error,
    });
  }
  if (conditions.ifMatch !== undefined && (refused || (isNotFound(error) && s3ErrorName(error) !== "NoSuchBucket"))) {
    return new ConflictError("OBJECT_CHANGED", `${url} changed since it was read (its ETag is no longer ${conditions.ifMatch}); nothing was written.`, {
      hint: "Another writer updated it; read it again and retry.",
      cause: error,
    });
  }
  return undefined;
}

/** S3 stored a checksum other than the one of the bytes we sent. */
export function checksumDisagrees(url: string, stored: string, ours: string): IntegrityError {
  return new IntegrityError("S3_CHECKSUM_DISAGREES", `${url} was stored with ChecksumSHA256 ${stored}, but the bytes sent have ${ours}.`, {
    hint: "The server or the network damaged the data, or the server computes checksums differently; delete that version and retry.",
  });
}

/** The server answered without the SHA-256 checksum we asked it to keep. */
export function checksumMissing(url: string): StorageError {
  return new StorageError("S3_CHECKSUM_MISSING", `${url} was stored without a SHA-256 checksum: the server does not keep the ChecksumSHA256 it was sent.`, {
    hint: "Use a server that supports S3 additional checksums (SHA-256); quilt3 relies on them.",
  });
}
