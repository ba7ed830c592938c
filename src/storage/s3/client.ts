/**
 * The one place an `S3Client` is built, with every setting chosen on purpose: request and connect
 * timeouts, the SDK's standard retry with a bounded number of attempts, and checksums only when an
 * operation requires them (our puts send an explicit SHA-256 instead; see `S3Storage.write`).
 */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { HttpProxyAgent } from "http-proxy-agent";
import { HttpsProxyAgent } from "https-proxy-agent";

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
  /** Give up on (and retry) a request whose socket is idle this long. Default 60 s. */
  readonly requestTimeoutMs?: number;
  /** Give up on connecting after this long. Default 10 s. */
  readonly connectionTimeoutMs?: number;
  /** Attempts per request including the first, with the SDK's standard retry (backoff, throttling). Default 5. */
  readonly maxAttempts?: number;
  /** An HTTP(S) proxy URL (from HTTPS_PROXY / HTTP_PROXY); not used for hosts `noProxy` lists. */
  readonly proxy?: string;
  /** NO_PROXY: comma-separated host names or suffixes (`.example.com`), or `*`. */
  readonly noProxy?: string;
  /** Sockets per client (shared by every transfer in flight). Default 64. */
  readonly maxSockets?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 5;

export function createS3Client(options: S3ClientOptions): S3Client {
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    // A bucket in another region answers 301: follow it rather than fail (AWS only).
    followRegionRedirects: options.endpoint === undefined,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: "standard",
    requestHandler: new NodeHttpHandler({
      // An idle socket (a stalled server) fails the attempt, which the retry then repeats. Not
      // `requestTimeout`: that bounds a whole transfer (a 1 GiB part may rightly take minutes),
      // and in this SDK it only warns unless told to throw.
      socketTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      ...agents(options),
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

/** Keep-alive agents sized for parallel transfers, through the proxy when one applies. */
function agents(options: S3ClientOptions): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
  const host = new URL(options.endpoint ?? "https://s3.amazonaws.com").hostname;
  const proxy = options.proxy !== undefined && !bypassesProxy(host, options.noProxy) ? options.proxy : undefined;
  if (proxy === undefined) return { httpAgent: new HttpAgent(agentOptions), httpsAgent: new HttpsAgent(agentOptions) };
  return { httpAgent: new HttpProxyAgent(proxy, agentOptions), httpsAgent: new HttpsProxyAgent(proxy, agentOptions) };
}

/** curl's NO_PROXY rules: `*`, an exact host, or a domain suffix (with or without a leading dot). */
export function bypassesProxy(host: string, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  return noProxy
    .split(",")
    .map((item) => item.trim().toLowerCase().replace(/:\d+$/, ""))
    .filter((item) => item !== "")
    .some((item) => item === "*" || host === item.replace(/^\./, "") || host.endsWith(item.startsWith(".") ? item : `.${item}`));
}
