/**
 * The one place an `S3Client` is built, with every setting chosen on purpose: request and connect
 * timeouts, the SDK's standard retry with a bounded number of attempts, and checksums only when an
 * operation requires them (our puts send an explicit SHA-256 instead; see `S3Storage.write`).
 */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** How to reach S3 (or an S3-compatible server). Passed in by the caller; nothing here reads the environment. */
export interface S3ClientOptions {
  /** e.g. `us-east-1`. */
  readonly region: string;
  /** An S3-compatible endpoint such as `http://127.0.0.1:7070`; absent for AWS S3. */
  readonly endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true when `endpoint` is set, else false. */
  readonly forcePathStyle?: boolean;
  /**
   * Static credentials. Absent: the SDK's default provider chain (environment, shared config files,
   * instance roles), which the SDK itself reads.
   */
  readonly credentials?: S3Credentials;
  /** Give up on a request whose socket is idle this long. Default 60 s. */
  readonly requestTimeoutMs?: number;
  /** Give up on connecting after this long. Default 10 s. */
  readonly connectionTimeoutMs?: number;
  /** Attempts per request including the first, with the SDK's standard retry (backoff, throttling). Default 5. */
  readonly maxAttempts?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 5;

export function createS3Client(options: S3ClientOptions): S3Client {
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: "standard",
    requestHandler: new NodeHttpHandler({
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    }),
    // No automatic CRC32 on every put, no checksum-mode on every get: our puts send ChecksumSHA256
    // themselves, and package integrity is checked against manifest hashes above this layer.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.credentials !== undefined) config.credentials = { ...options.credentials };
  return new S3Client(config);
}
