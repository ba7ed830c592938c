/** The shapes of S3Storage's transfer methods (uploadFile, copyFrom, head, chunkedChecksumOf). */

export interface TransferOptions {
  readonly signal?: AbortSignal;
  /** Called with the byte count of each part (or whole small object) once S3 has it: increments, not totals. */
  readonly onBytes?: (n: number) => void;
  /** Parts in flight at once (default 4). An upload also holds one more part being read: memory is about (this + 1) parts. */
  readonly partConcurrency?: number;
}

export interface UploadFileOptions extends TransferOptions {
  /** The size the caller expects (e.g. from a scan); the upload fails with FILE_SIZE_MISMATCH when the file differs. */
  readonly size?: number;
  /** Create only: fail with ConflictError OBJECT_EXISTS when the key already exists. */
  readonly ifNoneMatch?: true;
}

export interface CopyFromOptions extends TransferOptions {
  /** The source's size, as the caller knows it; the copy fails with OBJECT_SIZE_MISMATCH when the source differs. */
  readonly size: number;
}

export interface CopySource {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

export interface UploadResult {
  readonly key: string;
  readonly size: number;
  readonly versionId?: string;
  readonly etag?: string;
  /** S3's ChecksumSHA256 as returned: `<b64>` for a single put or copy, `<b64>-<N>` for a multipart upload. */
  readonly checksumSha256: string;
  /** quilt3's sha2-256-chunked value of the bytes (spec §3.2). */
  readonly chunked: string;
}

/** HeadObject's answer, with the SHA-256 checksum S3 keeps (if any). */
export interface S3Head {
  readonly size: number;
  readonly versionId?: string;
  readonly etag?: string;
  readonly checksumSha256?: string;
}

export type VersioningStatus = "Enabled" | "Suspended" | "Off";

/** A multipart upload that was started and neither completed nor aborted. */
export interface PendingUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly initiated?: Date;
}
