/**
 * The multipart-upload lifecycle shared by uploadFile and copyFrom: create it with COMPOSITE
 * SHA-256 checksums (the composite of parts cut at quilt3's chunk size is the sha2-256-chunked
 * value), run the parts, complete with every part's checksum. On any failure or abort the parts in
 * flight are stopped first, then the upload is aborted, so that no invisible, billed parts stay behind.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type CompleteMultipartUploadCommandOutput,
} from "@aws-sdk/client-s3";
import { conditionalWriteError, mapS3Error, transferError } from "./errors.js";
import { listPendingUploads } from "./inspect.js";
import { linkedController } from "./pool.js";
import type { S3Target } from "./target.js";

/** One stored part: what CompleteMultipartUpload needs, and the raw SHA-256 of its bytes. */
export interface PartOutcome {
  readonly part: CompletedPart;
  readonly digest: Buffer;
}

export interface MultipartJob {
  readonly key: string;
  readonly signal: AbortSignal | undefined;
  readonly ifNoneMatch?: true;
  /** What the upload is doing, for messages: "upload", "copy …". */
  readonly action: string;
  /** Stores every part, in order; `controller` aborts when the caller's signal does, and may be aborted to stop. */
  readonly parts: (uploadId: string, controller: AbortController) => Promise<PartOutcome[]>;
}

export interface MultipartOutcome {
  readonly out: CompleteMultipartUploadCommandOutput;
  readonly digests: Buffer[];
}

export async function runMultipart(target: S3Target, job: MultipartJob): Promise<MultipartOutcome> {
  const url = target.urlOf(job.key);
  const started = new Date();
  const { uploadId, retried } = await create(target, job);
  const { controller, dispose } = linkedController(job.signal);
  // A create whose first answer was lost (and was retried) may have started an upload we never
  // saw: abort such strays once ours is settled, whatever the outcome.
  const sweep = retried ? () => abortStrays(target, job.key, uploadId, started) : () => Promise.resolve();
  try {
    const outcomes = await job.parts(uploadId, controller);
    const out = await target.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: job.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: outcomes.map((o) => o.part) },
        IfNoneMatch: job.ifNoneMatch === true ? "*" : undefined,
      }),
      { abortSignal: job.signal },
    );
    await sweep();
    return { out, digests: outcomes.map((o) => o.digest) };
  } catch (error) {
    controller.abort(error);
    await abortUpload(target, job.key, uploadId);
    await sweep().catch(() => undefined);
    throw conditionalWriteError(error, job, url) ?? transferError(error, job.signal, job.action, url);
  } finally {
    dispose();
  }
}

/** Uploads of `key` begun since `since` (clock skew allowed) other than `ours`: aborted. */
async function abortStrays(target: S3Target, key: string, ours: string, since: Date): Promise<void> {
  const from = since.getTime() - STRAY_SKEW_MS;
  for (const upload of await listPendingUploads(target, key)) {
    if (upload.key !== key || upload.uploadId === ours) continue;
    if (upload.initiated !== undefined && upload.initiated.getTime() < from) continue; // someone else's, older
    await abortUpload(target, key, upload.uploadId);
  }
}

const STRAY_SKEW_MS = 5_000;

async function create(target: S3Target, job: MultipartJob): Promise<{ uploadId: string; retried: boolean }> {
  const url = target.urlOf(job.key);
  try {
    const out = await target.client.send(
      new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: job.key, ChecksumAlgorithm: "SHA256", ChecksumType: "COMPOSITE" }),
      { abortSignal: job.signal },
    );
    if (out.UploadId === undefined) throw new Error("CreateMultipartUpload answered without an UploadId");
    return { uploadId: out.UploadId, retried: (out.$metadata.attempts ?? 1) > 1 };
  } catch (error) {
    throw transferError(error, job.signal, `start a multipart ${job.action} of`, url);
  }
}

/**
 * Best effort, without the caller's (maybe aborted) signal: if it fails too, the original error is
 * the one worth reporting, and a bucket lifecycle rule for incomplete uploads is the backstop.
 */
async function abortUpload(target: S3Target, key: string, uploadId: string): Promise<void> {
  // A part the server was still storing when we stopped waiting can bring an aborted upload back
  // (S3's documentation says so): abort again until the listing no longer shows it, twice in a
  // row a moment apart, since such a part may land just after a first clean listing (seen with
  // versitygw under load).
  let clean = 0;
  for (let attempt = 0; attempt < ABORT_ATTEMPTS && clean < 2; attempt++) {
    try {
      if (clean === 0) await target.client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId }));
      const left = await listPendingUploads(target, key);
      clean = left.some((u) => u.uploadId === uploadId) ? 0 : clean + 1;
    } catch {
      clean = 0; // see above
    }
    if (clean < 2) await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)));
  }
}

const ABORT_ATTEMPTS = 6;

/** Upload one part's bytes with their SHA-256, which S3 checks (BadDigest otherwise). */
export async function sendPart(target: S3Target, key: string, uploadId: string, index: number, data: Buffer, digest: Buffer, signal: AbortSignal): Promise<PartOutcome> {
  const PartNumber = index + 1;
  const ChecksumSHA256 = digest.toString("base64");
  try {
    const out = await target.client.send(
      new UploadPartCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId, PartNumber, Body: data, ContentLength: data.length, ChecksumSHA256 }),
      { abortSignal: signal },
    );
    return { part: { PartNumber, ETag: out.ETag, ChecksumSHA256 }, digest };
  } catch (error) {
    throw mapS3Error(error, `upload part ${PartNumber} of`, target.urlOf(key));
  }
}
