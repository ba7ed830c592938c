/**
 * `Storage` over an S3 bucket (AWS S3 or an S3-compatible server). Reads stream the body; writes
 * are single PutObjects with an explicit SHA-256 checksum, or multipart uploads (lib-storage) for
 * bodies over `multipartThresholdBytes`; create-only writes use `If-None-Match: *`, pointer moves
 * `If-Match: <etag>`; listings page through ListObjectsV2 lazily. Package data goes through
 * `uploadFile` / `copyFrom` instead, which cut parts as quilt3 does (upload.ts, copy.ts).
 */
import { assertListDelimiter } from "../list-options.js";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { InterruptedError, QuiltError, StorageError, UsageError } from "../../errors/index.js";
import { compareCodePoints } from "../../json/code-point-order.js";
import { storageKeyProblem } from "../local.js";
import type { ListItem, ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "../types.js";
import { createS3Client, type S3ClientOptions } from "./client.js";
import { copyIntoBucket } from "./copy.js";
import { conditionalWriteError, httpStatusOf, isNotFound, mapS3Error, s3ErrorName } from "./errors.js";
import { deriveChunked, getVersioningStatus, headObject, listPendingUploads } from "./inspect.js";
import { s3Url } from "./target.js";
import type { CopyFromOptions, CopySource, PendingUpload, S3Head, UploadFileOptions, UploadResult, VersioningStatus } from "./transfer-types.js";
import { uploadLocalFile } from "./upload.js";

export interface S3StorageOptions extends S3ClientOptions {
  readonly bucket: string;
  /** Bodies larger than this go up as multipart uploads. Default 16 MiB; at least 5 MiB (S3's minimum part). */
  readonly multipartThresholdBytes?: number;
  /** Part size of multipart uploads. Default 8 MiB; at least 5 MiB. */
  readonly partSizeBytes?: number;
  /** A client to share between storages (its settings are then the caller's); built from the options otherwise. */
  readonly client?: S3Client;
}

const MIN_PART = 5 * 1024 * 1024;
const KEY_HINT = "Use a relative key of non-empty '/'-separated segments, without '.', '..' or NUL.";

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw new InterruptedError(`Interrupted: ${what}`, { cause: signal.reason });
}

function sha256Base64(chunks: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest("base64");
}

export class S3Storage implements Storage {
  readonly bucket: string;
  readonly url: string;
  readonly client: S3Client;
  private readonly multipartThreshold: number;
  private readonly partSize: number;

  constructor(options: S3StorageOptions) {
    if (options.bucket === "" || options.bucket.includes("/")) {
      throw new UsageError("S3_BUCKET_INVALID", `Invalid S3 bucket name ${JSON.stringify(options.bucket)}.`, {
        hint: "Give the bare bucket name, e.g. my-bucket.",
      });
    }
    this.bucket = options.bucket;
    this.url = `s3://${options.bucket}`;
    this.client = options.client ?? createS3Client(options);
    this.multipartThreshold = Math.max(MIN_PART, options.multipartThresholdBytes ?? 16 * 1024 * 1024);
    this.partSize = Math.max(MIN_PART, options.partSizeBytes ?? 8 * 1024 * 1024);
  }

  /** The `s3://bucket/key` URL of `key` (quilt3's encoding), for messages. */
  urlOf(key: string, versionId?: string): string {
    return s3Url(this.bucket, key, versionId);
  }

  private assertKey(key: string): void {
    const problem = storageKeyProblem(key);
    if (problem !== undefined) {
      throw new UsageError("STORAGE_KEY_INVALID", `Invalid key ${JSON.stringify(key)} under ${this.url}: ${problem}.`, { hint: KEY_HINT });
    }
  }

  read(key: string, options: ReadOptions = {}): AsyncIterable<Uint8Array> {
    return this.readChunks(key, options);
  }

  private async *readChunks(key: string, options: ReadOptions): AsyncGenerator<Uint8Array> {
    this.assertKey(key);
    const url = this.urlOf(key, options.versionId);
    const range = options.range;
    if (range !== undefined && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
      throw new UsageError("RANGE_INVALID", `Invalid byte range ${range.start}-${range.end} for ${url}.`, {
        hint: "Give 0 <= start <= end (end exclusive), as whole numbers.",
      });
    }
    throwIfAborted(options.signal, `reading ${url}`);
    if (range !== undefined && range.end === range.start) {
      // An empty range cannot be asked of S3; the object must still exist.
      await this.headInfo(key, options.versionId, options.signal, true);
      return;
    }
    let body: AsyncIterable<unknown>;
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          VersionId: options.versionId,
          Range: range === undefined ? undefined : `bytes=${range.start}-${range.end - 1}`,
        }),
        { abortSignal: options.signal },
      );
      if (out.Body === undefined) return;
      body = out.Body as AsyncIterable<unknown>;
    } catch (error) {
      // 416: the range starts at or past the end of the object, which yields nothing.
      if (range !== undefined && (s3ErrorName(error) === "InvalidRange" || httpStatusOf(error) === 416)) return;
      throw mapS3Error(error, "read", url);
    }
    try {
      for await (const chunk of body) {
        throwIfAborted(options.signal, `reading ${url}`);
        yield chunk as Uint8Array;
      }
    } catch (error) {
      if (error instanceof QuiltError) throw error;
      if (options.signal?.aborted === true) throw new InterruptedError(`Interrupted: reading ${url}`, { cause: error });
      throw new StorageError("STORAGE_NETWORK", `Could not read ${url}: the download broke off (${s3ErrorName(error) ?? "error"}).`, {
        hint: "Check the network, then retry.",
        cause: error,
      });
    } finally {
      // Leaving early (break, error) must release the socket.
      const stream = body as { destroy?: () => void };
      if (typeof stream.destroy === "function") stream.destroy();
    }
  }

  async readAll(key: string, options: ReadOptions = {}): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.read(key, options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    this.assertKey(key);
    return this.headInfo(key, undefined, undefined, false);
  }

  private async headInfo(key: string, versionId: string | undefined, signal: AbortSignal | undefined, mustExist: true): Promise<ObjectInfo>;
  private async headInfo(key: string, versionId: string | undefined, signal: AbortSignal | undefined, mustExist: boolean): Promise<ObjectInfo | undefined>;
  private async headInfo(key: string, versionId: string | undefined, signal: AbortSignal | undefined, mustExist: boolean): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }), { abortSignal: signal });
      return objectInfo(key, out.ContentLength ?? 0, out.VersionId, out.ETag, out.LastModified);
    } catch (error) {
      if (!mustExist && isNotFound(error) && s3ErrorName(error) !== "NoSuchBucket") return undefined;
      throw mapS3Error(error, "stat", this.urlOf(key, versionId));
    }
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    this.assertKey(key);
    const url = this.urlOf(key);
    if (options.ifMatch !== undefined && (options.ifMatch === "" || options.ifNoneMatch === true)) {
      throw new UsageError("WRITE_CONDITION_INVALID", `Invalid write condition for ${url}: ifMatch must be a non-empty ETag, without ifNoneMatch.`, {
        hint: "Give either ifNoneMatch (create only) or ifMatch with the ETag that stat returned.",
      });
    }
    throwIfAborted(options.signal, `writing ${url}`);
    // Gather the body up to the multipart threshold: most objects (pointers, manifests, small
    // files) go up as one PutObject with a SHA-256 checksum the server checks.
    const chunks: Uint8Array[] = [];
    let size = 0;
    let rest: AsyncIterator<Uint8Array> | undefined;
    if (body instanceof Uint8Array) {
      chunks.push(body);
      size = body.length;
    } else {
      const iterator = body[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) break;
          throwIfAborted(options.signal, `writing ${url}`);
          chunks.push(next.value);
          size += next.value.length;
          if (size > this.multipartThreshold) {
            rest = iterator;
            break;
          }
        }
      } catch (error) {
        throw bodyError(error, url);
      }
    }
    if (rest === undefined && size <= this.multipartThreshold) return this.putObject(key, chunks, size, options);
    return this.multipartUpload(key, chunks, rest, options);
  }

  private async putObject(key: string, chunks: Uint8Array[], size: number, options: WriteOptions): Promise<ObjectInfo> {
    const data = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: data,
          ContentLength: size,
          ChecksumSHA256: sha256Base64([data]),
          IfNoneMatch: options.ifNoneMatch === true ? "*" : undefined,
          IfMatch: options.ifMatch,
        }),
        { abortSignal: options.signal },
      );
      return objectInfo(key, size, out.VersionId, out.ETag);
    } catch (error) {
      throw this.writeError(error, key, options);
    }
  }

  private async multipartUpload(key: string, head: Uint8Array[], rest: AsyncIterator<Uint8Array> | undefined, options: WriteOptions): Promise<ObjectInfo> {
    const url = this.urlOf(key);
    let size = 0;
    let bodyFailure: unknown;
    async function* all(): AsyncGenerator<Uint8Array> {
      for (const chunk of head) {
        size += chunk.length;
        yield chunk;
      }
      if (rest === undefined) return;
      try {
        for (;;) {
          const next = await rest.next();
          if (next.done === true) return;
          throwIfAborted(options.signal, `writing ${url}`);
          size += next.value.length;
          yield next.value;
        }
      } catch (error) {
        bodyFailure = error;
        throw error;
      }
    }
    const abortController = new AbortController();
    const onAbort = (): void => abortController.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    // Loaded on first use: most commands never stream an upload, and the module costs start-up time.
    const { Upload } = await import("@aws-sdk/lib-storage");
    const upload = new Upload({
      client: this.client,
      partSize: this.partSize,
      queueSize: 4,
      leavePartsOnError: false, // a failed upload is aborted: nothing is left behind
      abortController,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: Readable.from(all(), { objectMode: false }),
        ChecksumAlgorithm: "SHA256",
        IfNoneMatch: options.ifNoneMatch === true ? "*" : undefined,
        IfMatch: options.ifMatch, // lib-storage passes it on to CompleteMultipartUpload
      },
    });
    try {
      const out = await upload.done();
      return objectInfo(key, size, out.VersionId, out.ETag);
    } catch (error) {
      if (bodyFailure !== undefined) throw bodyError(bodyFailure, url);
      throw this.writeError(error, key, options);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  private writeError(error: unknown, key: string, options: WriteOptions): QuiltError {
    const url = this.urlOf(key);
    const conflict = conditionalWriteError(error, options, url);
    if (conflict !== undefined) return conflict;
    if (options.signal?.aborted === true) return new InterruptedError(`Interrupted: writing ${url}`, { cause: error });
    return mapS3Error(error, "write", url);
  }

  list(prefix: string, options: ListOptions = {}): AsyncIterable<ListItem> {
    return this.listItems(prefix, options);
  }

  private async *listItems(prefix: string, options: ListOptions): AsyncGenerator<ListItem> {
    assertListDelimiter(this.url, options);
    if (prefix.includes("\0") || prefix.startsWith("/")) {
      throw new UsageError("STORAGE_KEY_INVALID", `Invalid list prefix ${JSON.stringify(prefix)} under ${this.url}.`, { hint: KEY_HINT });
    }
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix === "" ? undefined : prefix,
            Delimiter: options.delimiter,
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw mapS3Error(error, "list", `s3://${this.bucket}/${prefix}`);
      }
      yield* pageItems(page);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      if (page.IsTruncated === true && token === undefined) {
        throw new StorageError("STORAGE_IO_ERROR", `Listing s3://${this.bucket}/${prefix} was cut short: the server gave no continuation token.`, {
          hint: "The server does not page ListObjectsV2 correctly.",
        });
      }
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    this.assertKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error) && s3ErrorName(error) !== "NoSuchBucket") return; // S3 itself answers 204
      throw mapS3Error(error, "delete", this.urlOf(key));
    }
  }

  /**
   * Upload a local file as quilt3 does: one PutObject below 8 MiB, else a multipart upload cut at
   * quilt3's chunk size, each with its SHA-256; the file is read once. Returns the chunked value of
   * the bytes read, after checking that S3's stored checksum agrees. A failed or aborted upload
   * leaves no object and no pending multipart upload.
   */
  async uploadFile(key: string, localPath: string, options: UploadFileOptions = {}): Promise<UploadResult> {
    this.assertKey(key);
    return uploadLocalFile(this, key, localPath, options);
  }

  /**
   * Server-side copy of `source` (any bucket this client can read) to `key` in this bucket:
   * CopyObject below 8 MiB, else UploadPartCopy at quilt3's chunk size. `chunked` comes from S3's checksums.
   */
  async copyFrom(source: CopySource, key: string, options: CopyFromOptions): Promise<UploadResult> {
    this.assertKey(key);
    if (source.bucket === "" || source.bucket.includes("/") || source.key === "") {
      throw new UsageError("S3_SOURCE_INVALID", `Invalid copy source s3://${source.bucket}/${source.key}.`, { hint: "Give a bucket name and a non-empty key." });
    }
    return copyIntoBucket(this, source, key, options);
  }

  /** Size, version, ETag and stored SHA-256 checksum of an object; `undefined` when there is none. */
  async head(key: string, versionId?: string): Promise<S3Head | undefined> {
    this.assertKey(key);
    return headObject(this, key, versionId);
  }

  /**
   * quilt3's sha2-256-chunked value of a stored object without reading it, or `undefined` when
   * S3's stored checksum does not decide it. A missing object is `OBJECT_NOT_FOUND`.
   */
  async chunkedChecksumOf(key: string, versionId?: string): Promise<string | undefined> {
    this.assertKey(key);
    return deriveChunked(this, key, versionId);
  }

  /** The bucket's versioning: "Off" when it was never enabled. */
  versioningStatus(): Promise<VersioningStatus> {
    return getVersioningStatus(this);
  }

  /** Multipart uploads under `prefix` that were neither completed nor aborted (they hold billed, invisible parts). */
  pendingUploads(prefix = ""): Promise<PendingUpload[]> {
    return listPendingUploads(this, prefix);
  }

  /** Close the client's sockets (only when the client was built here). */
  destroy(): void {
    this.client.destroy();
  }
}

/** One page's objects and folders, merged into key order (S3 returns them as two sorted lists). */
function* pageItems(page: ListObjectsV2CommandOutput): Generator<ListItem> {
  const objects = page.Contents ?? [];
  const prefixes = page.CommonPrefixes ?? [];
  let i = 0;
  let j = 0;
  while (i < objects.length || j < prefixes.length) {
    const object = objects[i];
    const folder = prefixes[j]?.Prefix;
    if (object?.Key !== undefined && (folder === undefined || compareCodePoints(object.Key, folder) < 0)) {
      i++;
      yield { kind: "object", ...objectInfo(object.Key, object.Size ?? 0, undefined, object.ETag, object.LastModified) };
    } else if (folder !== undefined) {
      j++;
      yield { kind: "prefix", prefix: folder };
    } else {
      i++; // an entry without a key: skip it
    }
  }
}

function objectInfo(key: string, size: number, versionId: string | undefined, etag: string | undefined, lastModified?: Date): ObjectInfo {
  const info: { key: string; size: number; versionId?: string; etag?: string; lastModified?: Date } = { key, size };
  // "null" is S3's version id of objects written while versioning was off: no version to name.
  if (versionId !== undefined && versionId !== "" && versionId !== "null") info.versionId = versionId;
  if (etag !== undefined) info.etag = etag;
  if (lastModified !== undefined) info.lastModified = lastModified;
  return info;
}

function bodyError(error: unknown, url: string): QuiltError {
  if (error instanceof QuiltError) return error;
  return new StorageError("STORAGE_IO_ERROR", `Could not write ${url}: reading the body failed: ${error instanceof Error ? error.message : String(error)}`, {
    hint: "The data being written could not be read; nothing was stored.",
    cause: error,
  });
}
