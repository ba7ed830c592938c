/**
 * S3 → S3 copy into this storage's bucket, server-side, as quilt3 does it (spec §6): CopyObject
 * with a SHA-256 checksum below 8 MiB, else UploadPartCopy parts cut at quilt3's chunk size. The
 * source is pinned first (its version id, and its ETag as CopySourceIfMatch) so that every part
 * comes from the same object. The chunked value comes from the checksums S3 computes.
 */
import { CopyObjectCommand, GetObjectCommand, UploadPartCopyCommand, type CopyObjectCommandOutput, type UploadPartCopyCommandOutput } from "@aws-sdk/client-s3";
import { ConflictError, IntegrityError, NotFoundError, StorageError, type QuiltError } from "../../errors/index.js";
import { combineParts } from "../../hash/index.js";
import { chunkedFromChecksum, compositeOf, isPlainSha256, MULTIPART_FROM, partPlan, partRange, sha256, type PartPlan } from "./checksum.js";
import { checksumMissing, isPreconditionFailed, s3ErrorName, transferError } from "./errors.js";
import { headObject } from "./inspect.js";
import { runMultipart, sendPart, type PartOutcome } from "./multipart.js";
import { pooled } from "./pool.js";
import { otherBucket, versionIdOf, type S3Target } from "./target.js";
import type { CopyFromOptions, CopySource, UploadResult } from "./transfer-types.js";
import { assertSize, partConcurrencyOf, storedChecksum, uploadResult, type WriteAnswer } from "./upload.js";

/** The source as it was when the copy started. */
interface PinnedSource {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
  readonly checksumSha256?: string;
  readonly size: number;
  readonly url: string;
  /** `bucket/key?versionId=…`, URL-encoded as CopySource wants it. */
  readonly copySource: string;
}

export async function copyIntoBucket(target: S3Target, source: CopySource, key: string, options: CopyFromOptions): Promise<UploadResult> {
  assertSize(options.size, `copying s3://${source.bucket}/${source.key}`);
  const limit = partConcurrencyOf(options);
  const from = await pinSource(target, source, options);
  return from.size < MULTIPART_FROM ? copyWhole(target, key, from, options) : copyParts(target, key, from, limit, options);
}

async function pinSource(target: S3Target, source: CopySource, options: CopyFromOptions): Promise<PinnedSource> {
  const bucket = otherBucket(target, source.bucket);
  const head = await headObject(bucket, source.key, source.versionId, options.signal);
  const asked = bucket.urlOf(source.key, source.versionId);
  if (head === undefined) throw new NotFoundError("OBJECT_NOT_FOUND", `Cannot copy ${asked}: it does not exist.`, { hint: "Check the key, the version id and the bucket." });
  if (head.size !== options.size) {
    throw new ConflictError("OBJECT_SIZE_MISMATCH", `Cannot copy ${asked}: it is ${head.size} bytes, expected ${options.size}.`, {
      hint: "The object changed since it was listed; list it again.",
    });
  }
  const versionId = source.versionId ?? head.versionId;
  const path = `${source.bucket}/${encodeURIComponent(source.key).replace(/%2F/g, "/")}`;
  return {
    ...head,
    bucket: source.bucket,
    key: source.key,
    versionId,
    url: bucket.urlOf(source.key, versionId),
    copySource: versionId === undefined ? path : `${path}?versionId=${encodeURIComponent(versionId)}`,
  };
}

async function copyWhole(target: S3Target, key: string, from: PinnedSource, options: CopyFromOptions): Promise<UploadResult> {
  const url = target.urlOf(key);
  let out: CopyObjectCommandOutput;
  try {
    out = await target.client.send(
      new CopyObjectCommand({ Bucket: target.bucket, Key: key, CopySource: from.copySource, CopySourceIfMatch: from.etag, ChecksumAlgorithm: "SHA256" }),
      { abortSignal: options.signal },
    );
  } catch (error) {
    throw copyError(error, from, url, options.signal, `copy ${from.url} to`);
  }
  options.onBytes?.(from.size);
  const answer: WriteAnswer = { VersionId: out.VersionId, ETag: out.CopyObjectResult?.ETag, ChecksumSHA256: out.CopyObjectResult?.ChecksumSHA256 };
  const stored = answer.ChecksumSHA256 ?? (await headObject(target, key, versionIdOf(out.VersionId), options.signal))?.checksumSha256;
  if (stored === undefined) throw checksumMissing(url);
  // The same bytes have the same full-object digest: a source that has one must agree.
  if (isPlainSha256(from.checksumSha256) && stored !== from.checksumSha256) {
    throw new IntegrityError("S3_CHECKSUM_DISAGREES", `Copying ${from.url} to ${url} gave ChecksumSHA256 ${stored}, but the source has ${from.checksumSha256}.`, {
      hint: "The server damaged the data or computes checksums differently; delete the copy and retry.",
    });
  }
  const chunked = chunkedFromChecksum(stored, from.size);
  if (chunked === undefined || chunked.check) {
    throw new StorageError("S3_CHECKSUM_UNUSABLE", `Copying ${from.url} to ${url} gave ChecksumSHA256 ${stored}, which is not the SHA-256 of the object.`, {
      hint: "The server does not compute a full-object SHA-256 on CopyObject; upload the file instead.",
    });
  }
  return uploadResult(key, from.size, answer, stored, chunked.value);
}

async function copyParts(target: S3Target, key: string, from: PinnedSource, limit: number, options: CopyFromOptions): Promise<UploadResult> {
  const plan = partPlan(from.size);
  const { out, digests } = await runMultipart(target, {
    key,
    signal: options.signal,
    action: `copy ${from.url} to`,
    parts: (uploadId, controller) =>
      pooled(plan.count, limit, controller, () => Promise.resolve(), async (index) => {
        const outcome = await copyPart({ target, key, uploadId, from, plan, signal: controller.signal }, index);
        const { start, end } = partRange(plan, index, from.size);
        options.onBytes?.(end - start);
        return outcome;
      }),
  });
  const stored = await storedChecksum(target, key, out, compositeOf(digests), true);
  return uploadResult(key, from.size, stored, stored.ChecksumSHA256, combineParts(digests));
}

interface PartJob {
  readonly target: S3Target;
  readonly key: string;
  readonly uploadId: string;
  readonly from: PinnedSource;
  readonly plan: PartPlan;
  readonly signal: AbortSignal;
}

/**
 * UploadPartCopy of one part, whose SHA-256 S3 computes and answers. versitygw 1.7.0 answers the
 * source object's stored checksum instead when the source has a SHA-256 one (a composite "…-N",
 * or a full-object digest), and then cannot complete the upload; a part without a believable
 * digest is sent again from its bytes (ranged GET, UploadPart with our digest), replacing the copy.
 */
async function copyPart(job: PartJob, index: number): Promise<PartOutcome> {
  const { start, end } = partRange(job.plan, index, job.from.size);
  const PartNumber = index + 1;
  let out: UploadPartCopyCommandOutput;
  try {
    out = await job.target.client.send(
      new UploadPartCopyCommand({
        Bucket: job.target.bucket,
        Key: job.key,
        UploadId: job.uploadId,
        PartNumber,
        CopySource: job.from.copySource,
        CopySourceIfMatch: job.from.etag,
        CopySourceRange: `bytes=${start}-${end - 1}`,
      }),
      { abortSignal: job.signal },
    );
  } catch (error) {
    throw copyError(error, job.from, job.target.urlOf(job.key), job.signal, `copy part ${PartNumber} of ${job.from.url} to`);
  }
  const checksum = out.CopyPartResult?.ChecksumSHA256;
  // A part digest equal to the whole source's is that echo, unless the part is the whole source.
  if (isPlainSha256(checksum) && (job.plan.count === 1 || checksum !== job.from.checksumSha256)) {
    return { part: { PartNumber, ETag: out.CopyPartResult?.ETag, ChecksumSHA256: checksum }, digest: Buffer.from(checksum, "base64") };
  }
  return resendPart(job, index, start, end);
}

async function resendPart(job: PartJob, index: number, start: number, end: number): Promise<PartOutcome> {
  const { from } = job;
  let data: Buffer;
  try {
    const out = await job.target.client.send(
      new GetObjectCommand({ Bucket: from.bucket, Key: from.key, VersionId: from.versionId, IfMatch: from.etag, Range: `bytes=${start}-${end - 1}` }),
      { abortSignal: job.signal },
    );
    data = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } catch (error) {
    throw copyError(error, from, job.target.urlOf(job.key), job.signal, `read part ${index + 1} of ${from.url} to copy it to`);
  }
  if (data.length !== end - start) throw sourceChanged(from, job.target.urlOf(job.key), undefined);
  return sendPart(job.target, job.key, job.uploadId, index, data, sha256(data), job.signal);
}

function copyError(error: unknown, from: PinnedSource, url: string, signal: AbortSignal | undefined, action: string): QuiltError {
  if (isPreconditionFailed(error)) return sourceChanged(from, url, error);
  const name = s3ErrorName(error);
  if (name === "NoSuchKey" || name === "NoSuchVersion") return transferError(error, signal, "copy", from.url);
  return transferError(error, signal, action, url);
}

function sourceChanged(from: PinnedSource, url: string, cause: unknown): ConflictError {
  return new ConflictError("SOURCE_CHANGED", `${from.url} changed while being copied to ${url}; nothing was stored.`, {
    hint: "Another writer replaced the source; list it again and retry.",
    cause,
  });
}
