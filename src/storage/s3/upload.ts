/**
 * Local file → S3 the way quilt3 does it (spec §6 "How it is copied"): one PutObject with its
 * SHA-256 below 8 MiB, else a multipart upload cut at quilt3's chunk size with each part's SHA-256.
 * Hand-rolled rather than lib-storage, which neither lets us give each part's checksum nor keeps
 * the digests. The file is read once; the digests of the bytes read give the chunked value, and
 * the checksum S3 reports for the object must agree with them.
 */
import { PutObjectCommand, type PutObjectCommandOutput } from "@aws-sdk/client-s3";
import { InterruptedError, UsageError } from "../../errors/index.js";
import { combineParts } from "../../hash/index.js";
import { compositeOf, MULTIPART_FROM, partPlan, partRange, sha256 } from "./checksum.js";
import { checksumDisagrees, checksumMissing, conditionalWriteError, transferError } from "./errors.js";
import { FileSource } from "./file-source.js";
import { headObject } from "./inspect.js";
import { runMultipart, sendPart } from "./multipart.js";
import { pooled } from "./pool.js";
import { versionIdOf, type S3Target } from "./target.js";
import type { TransferOptions, UploadFileOptions, UploadResult } from "./transfer-types.js";

export const DEFAULT_PART_CONCURRENCY = 4;

export async function uploadLocalFile(target: S3Target, key: string, path: string, options: UploadFileOptions): Promise<UploadResult> {
  const url = target.urlOf(key);
  const limit = partConcurrencyOf(options);
  if (options.size !== undefined) assertSize(options.size, `uploading ${path} to ${url}`);
  if (options.signal?.aborted === true) throw new InterruptedError(`Interrupted: uploading ${path} to ${url}`, { cause: options.signal.reason });
  const file = await FileSource.open(path, url, options.size);
  try {
    return file.size < MULTIPART_FROM ? await putWhole(target, key, file, options) : await putParts(target, key, file, limit, options);
  } finally {
    await file.close();
  }
}

async function putWhole(target: S3Target, key: string, file: FileSource, options: UploadFileOptions): Promise<UploadResult> {
  const url = target.urlOf(key);
  const data = await file.read(0, file.size);
  await file.assertUnchanged();
  const digest = sha256(data);
  const ours = digest.toString("base64");
  let out: PutObjectCommandOutput;
  try {
    out = await target.client.send(
      new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: data, ContentLength: data.length, ChecksumSHA256: ours, IfNoneMatch: options.ifNoneMatch === true ? "*" : undefined }),
      { abortSignal: options.signal },
    );
  } catch (error) {
    throw conditionalWriteError(error, options, url) ?? transferError(error, options.signal, "upload", url);
  }
  options.onBytes?.(data.length);
  const stored = await storedChecksum(target, key, out, ours, false);
  // An empty body has no parts: its chunked value is sha256("") itself, not hashed again.
  return uploadResult(key, file.size, stored, stored.ChecksumSHA256, combineParts(file.size === 0 ? [] : [digest]));
}

async function putParts(target: S3Target, key: string, file: FileSource, limit: number, options: UploadFileOptions): Promise<UploadResult> {
  const plan = partPlan(file.size);
  const readPart = async (index: number): Promise<Buffer> => {
    const { start, end } = partRange(plan, index, file.size);
    return file.read(start, end);
  };
  const { out, digests } = await runMultipart(target, {
    key,
    signal: options.signal,
    ifNoneMatch: options.ifNoneMatch,
    action: "upload",
    parts: async (uploadId, controller) => {
      const outcomes = await pooled(plan.count, limit, controller, readPart, async (index, data) => {
        const outcome = await sendPart(target, key, uploadId, index, data, sha256(data), controller.signal);
        options.onBytes?.(data.length);
        return outcome;
      });
      await file.assertUnchanged(); // before completing: a changed file leaves nothing behind
      return outcomes;
    },
  });
  const stored = await storedChecksum(target, key, out, compositeOf(digests), true);
  return uploadResult(key, file.size, stored, stored.ChecksumSHA256, combineParts(digests));
}

/**
 * The write's answer, completed and checked: the ChecksumSHA256 S3 stored must be `ours`. A write's
 * answer normally carries it and the VersionId; when one is missing (a retried CompleteMultipartUpload
 * can answer without them), HeadObject is asked once, and its version is taken only if it holds
 * our checksum (so a physical key is pinned whenever the bucket is versioned).
 */
export async function storedChecksum(
  target: S3Target,
  key: string,
  out: WriteAnswer,
  ours: string,
  multipart: boolean,
): Promise<WriteAnswer & { ChecksumSHA256: string }> {
  let answer: WriteAnswer = out;
  // Only a retried CompleteMultipartUpload answers without its version; a PutObject without one
  // is an unversioned bucket, where a HEAD per file would find none either.
  if (out.ChecksumSHA256 === undefined || (multipart && versionIdOf(out.VersionId) === undefined)) {
    const head = await headObject(target, key, versionIdOf(out.VersionId));
    if (head !== undefined && head.checksumSha256 === ours) {
      answer = { VersionId: out.VersionId ?? head.versionId, ETag: out.ETag ?? head.etag, ChecksumSHA256: ours };
    } else if (out.ChecksumSHA256 === undefined) {
      answer = { ...out, ChecksumSHA256: head?.checksumSha256 };
    }
  }
  const stored = answer.ChecksumSHA256;
  const versionId = versionIdOf(answer.VersionId);
  if (stored === undefined) throw checksumMissing(target.urlOf(key, versionId));
  if (stored !== ours) throw checksumDisagrees(target.urlOf(key, versionId), stored, ours);
  return { ...answer, ChecksumSHA256: stored };
}

/** What PutObject, CopyObject and CompleteMultipartUpload answer that we keep. */
export interface WriteAnswer {
  readonly VersionId?: string | undefined;
  readonly ETag?: string | undefined;
  readonly ChecksumSHA256?: string | undefined;
}

export function uploadResult(key: string, size: number, out: WriteAnswer, checksumSha256: string, chunked: string): UploadResult {
  const result: { -readonly [K in keyof UploadResult]: UploadResult[K] } = { key, size, checksumSha256, chunked };
  const versionId = versionIdOf(out.VersionId);
  if (versionId !== undefined) result.versionId = versionId;
  if (out.ETag !== undefined) result.etag = out.ETag;
  return result;
}

export function partConcurrencyOf(options: TransferOptions): number {
  const limit = options.partConcurrency ?? DEFAULT_PART_CONCURRENCY;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new UsageError("PART_CONCURRENCY_INVALID", `Invalid partConcurrency ${String(limit)}.`, { hint: "Give a whole number of at least 1." });
  }
  return limit;
}

export function assertSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new UsageError("INVALID_SIZE", `Invalid size ${String(size)} for ${what}.`, { hint: "Give the size in bytes, a whole number >= 0." });
  }
}
