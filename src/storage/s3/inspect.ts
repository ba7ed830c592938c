/**
 * Questions about stored objects and buckets that need no download: the checksum S3 keeps, the
 * sha2-256-chunked value derived from it, the bucket's versioning, unfinished multipart uploads.
 */
import {
  GetBucketVersioningCommand,
  GetObjectAttributesCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
} from "@aws-sdk/client-s3";
import { NotFoundError } from "../../errors/index.js";
import { chunkedFromChecksum, partPlan, partSizesMatch } from "./checksum.js";
import { isNotFound, mapS3Error, s3ErrorName, transferError } from "./errors.js";
import { linkedController, pooled } from "./pool.js";
import { versionIdOf, type S3Target } from "./target.js";
import type { PendingUpload, S3Head, VersioningStatus } from "./transfer-types.js";

/** HeadObject with the stored checksum; `undefined` when there is no such object (or version). */
export async function headObject(target: S3Target, key: string, versionId?: string, signal?: AbortSignal): Promise<S3Head | undefined> {
  try {
    const out = await target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key, VersionId: versionId, ChecksumMode: "ENABLED" }), {
      abortSignal: signal,
    });
    const head: { size: number; versionId?: string; etag?: string; checksumSha256?: string } = { size: out.ContentLength ?? 0 };
    const version = versionIdOf(out.VersionId);
    if (version !== undefined) head.versionId = version;
    if (out.ETag !== undefined) head.etag = out.ETag;
    if (out.ChecksumSHA256 !== undefined) head.checksumSha256 = out.ChecksumSHA256;
    return head;
  } catch (error) {
    if (isNotFound(error) && s3ErrorName(error) !== "NoSuchBucket") return undefined;
    throw transferError(error, signal, "stat", target.urlOf(key, versionId));
  }
}

/**
 * quilt3's sha2-256-chunked value of a stored object, from the checksum S3 keeps: `undefined` when
 * that checksum does not decide it (none, a full-object SHA-256 of more than one quilt3 part, or a
 * composite of other part sizes). Throws `OBJECT_NOT_FOUND` when the object does not exist.
 */
export async function deriveChunked(target: S3Target, key: string, versionId?: string, signal?: AbortSignal): Promise<string | undefined> {
  const head = await headObject(target, key, versionId, signal);
  if (head === undefined) {
    throw new NotFoundError("OBJECT_NOT_FOUND", `${target.urlOf(key, versionId)} does not exist.`, { hint: "Check the key, the version id and the bucket." });
  }
  const derived = chunkedFromChecksum(head.checksumSha256, head.size);
  if (derived?.check !== true) return derived?.value;
  // Pin the version: the part sizes must be those of the object whose checksum we read.
  const sizes = await partSizes(target, key, head.versionId ?? versionId, partPlan(head.size).count, signal);
  return sizes !== undefined && partSizesMatch(sizes, head.size) ? derived.value : undefined;
}

/** The sizes of a multipart object's parts: GetObjectAttributes when the server lists them, else one HeadObject per part. */
async function partSizes(target: S3Target, key: string, versionId: string | undefined, count: number, signal?: AbortSignal): Promise<number[] | undefined> {
  return (await listedPartSizes(target, key, versionId, signal)) ?? (await headPartSizes(target, key, versionId, count, signal));
}

/**
 * AWS lists up to 1000 parts per GetObjectAttributes call. `undefined` when the server does not
 * (versitygw 1.7.0 answers without ObjectParts) or refuses (the call needs its own permission).
 */
async function listedPartSizes(target: S3Target, key: string, versionId: string | undefined, signal?: AbortSignal): Promise<number[] | undefined> {
  const sizes: { number: number; size: number }[] = [];
  let marker: string | undefined;
  try {
    do {
      const out = await target.client.send(
        new GetObjectAttributesCommand({ Bucket: target.bucket, Key: key, VersionId: versionId, ObjectAttributes: ["ObjectParts"], MaxParts: 1000, PartNumberMarker: marker }),
        { abortSignal: signal },
      );
      const parts = out.ObjectParts?.Parts ?? [];
      if (parts.length === 0) return undefined;
      for (const part of parts) {
        if (part.PartNumber === undefined || part.Size === undefined) return undefined;
        sizes.push({ number: part.PartNumber, size: part.Size });
      }
      marker = out.ObjectParts?.IsTruncated === true ? out.ObjectParts.NextPartNumberMarker : undefined;
    } while (marker !== undefined);
  } catch (error) {
    if (signal?.aborted === true) throw transferError(error, signal, "list the parts of", target.urlOf(key, versionId));
    return undefined;
  }
  return sizes.sort((a, b) => a.number - b.number).map((p) => p.size);
}

const HEAD_CONCURRENCY = 8;

async function headPartSizes(target: S3Target, key: string, versionId: string | undefined, count: number, signal?: AbortSignal): Promise<number[] | undefined> {
  const url = target.urlOf(key, versionId);
  const { controller, dispose } = linkedController(signal);
  const headPart = async (index: number): Promise<number | undefined> => {
    try {
      const out = await target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key, VersionId: versionId, PartNumber: index + 1 }), {
        abortSignal: controller.signal,
      });
      return out.PartsCount === count ? out.ContentLength : undefined;
    } catch (error) {
      throw transferError(error, signal, `stat part ${index + 1} of`, url);
    }
  };
  try {
    const sizes = await pooled(count, HEAD_CONCURRENCY, controller, () => Promise.resolve(), headPart);
    return sizes.every((n) => n !== undefined) ? sizes : undefined;
  } finally {
    dispose();
  }
}

export async function getVersioningStatus(target: S3Target): Promise<VersioningStatus> {
  try {
    const out = await target.client.send(new GetBucketVersioningCommand({ Bucket: target.bucket }));
    return out.Status === "Enabled" || out.Status === "Suspended" ? out.Status : "Off";
  } catch (error) {
    throw mapS3Error(error, "read the versioning of", `s3://${target.bucket}`);
  }
}

/** Multipart uploads under `prefix` that were neither completed nor aborted. */
export async function listPendingUploads(target: S3Target, prefix: string): Promise<PendingUpload[]> {
  const uploads: PendingUpload[] = [];
  let page: ListMultipartUploadsCommandOutput | undefined;
  do {
    try {
      page = await target.client.send(
        new ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: prefix === "" ? undefined : prefix, KeyMarker: page?.NextKeyMarker, UploadIdMarker: page?.NextUploadIdMarker }),
      );
    } catch (error) {
      throw mapS3Error(error, "list the multipart uploads of", `s3://${target.bucket}/${prefix}`);
    }
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined) continue;
      uploads.push(upload.Initiated === undefined ? { key: upload.Key, uploadId: upload.UploadId } : { key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated });
    }
  } while (page.IsTruncated === true && (page.NextKeyMarker ?? "") !== "");
  return uploads;
}
