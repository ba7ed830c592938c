/**
 * S3's ChecksumSHA256 values and quilt3's sha2-256-chunked (spec §3.2). The part rule and the
 * combination come from src/hash; this module only knows how S3 spells them:
 * a single put stores `base64(sha256(body))`, a composite multipart upload `base64(sha256(part
 * digests))-N`, which is the chunked value exactly when the parts were cut at quilt3's chunk size.
 */
import { createHash } from "node:crypto";
import { chunkSize, combineParts, MIN_CHUNK_SIZE } from "../../hash/index.js";

/** quilt3 uploads (and copies) in one request below this size, as a multipart upload from it on. */
export const MULTIPART_FROM = MIN_CHUNK_SIZE;

/** The chunked value of an empty body: base64(sha256("")), which is also S3's checksum of it. */
export const EMPTY_CHUNKED = combineParts([]);

export interface PartPlan {
  /** Bytes per part; the last part has the rest. */
  readonly chunk: number;
  readonly count: number;
}

/** quilt3's parts for `size` bytes (at least one part, for an empty body too). */
export function partPlan(size: number): PartPlan {
  const chunk = chunkSize(size);
  return { chunk, count: Math.max(1, Math.ceil(size / chunk)) };
}

/** Byte range of part `index` (0-based): `start` inclusive, `end` exclusive. */
export function partRange(plan: PartPlan, index: number, size: number): { start: number; end: number } {
  const start = index * plan.chunk;
  return { start, end: Math.min(size, start + plan.chunk) };
}

export function sha256(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

/** A parsed ChecksumSHA256: the base64 digest, and the part count of a composite (`-N`) value. */
export interface S3Sha256 {
  readonly digest: string;
  readonly parts?: number;
}

const S3_SHA256 = /^([A-Za-z0-9+/]{43}=)(?:-([1-9]\d{0,4}))?$/;

/** `undefined` for anything that is not `<44-char base64>` or `<44-char base64>-<N>`. */
export function parseS3Sha256(value: string | undefined): S3Sha256 | undefined {
  const match = value === undefined ? null : S3_SHA256.exec(value);
  if (match === null) return undefined;
  const digest = match[1] as string;
  return match[2] === undefined ? { digest } : { digest, parts: Number(match[2]) };
}

/** Whether `value` is one plain SHA-256 digest in base64 (a part's or a single put's checksum). */
export function isPlainSha256(value: string | undefined): value is string {
  const parsed = parseS3Sha256(value);
  return parsed !== undefined && parsed.parts === undefined;
}

/** The chunked value of a single-put body of `size` bytes from S3's `base64(sha256(body))`. */
export function chunkedOfSinglePut(checksum: string, size: number): string {
  return size === 0 ? EMPTY_CHUNKED : combineParts([Buffer.from(checksum, "base64")]);
}

/** What S3 reports after a composite upload of these parts: `base64(sha256(digests))-N`. */
export function compositeOf(digests: readonly Uint8Array[]): string {
  return `${combineParts(digests)}-${digests.length}`;
}

/** A chunked value read off a stored checksum; `check`: it holds only if the object's parts are quilt3's cut. */
export interface DerivedChunked {
  readonly value: string;
  readonly check: boolean;
}

/**
 * The chunked value a stored checksum gives, or `undefined` when it gives none: no or malformed
 * checksum, a full-object digest of a body of more than one quilt3 part, or a composite of another
 * part count. A composite of N > 1 parts needs its part sizes checked (`check`).
 */
export function chunkedFromChecksum(checksum: string | undefined, size: number): DerivedChunked | undefined {
  if (size === 0) return { value: EMPTY_CHUNKED, check: false }; // the value of no bytes, whatever S3 stored
  const parsed = parseS3Sha256(checksum);
  if (parsed === undefined) return undefined;
  const plan = partPlan(size);
  if (parsed.parts === undefined) return plan.count === 1 ? { value: chunkedOfSinglePut(parsed.digest, size), check: false } : undefined;
  if (parsed.parts !== plan.count) return undefined;
  return { value: parsed.digest, check: plan.count > 1 };
}

/** Whether a multipart object's part sizes (all of them, in order) are quilt3's cut of `size`. */
export function partSizesMatch(sizes: readonly number[], size: number): boolean {
  const plan = partPlan(size);
  if (sizes.length !== plan.count) return false;
  return sizes.every((n, i) => {
    const range = partRange(plan, i, size);
    return n === range.end - range.start;
  });
}
