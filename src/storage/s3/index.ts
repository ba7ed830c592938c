/** `Storage` over S3 and S3-compatible servers. The only module that may import the AWS SDK. */
export { S3Storage, type S3StorageOptions } from "./s3.js";
export {
  createS3Client,
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type S3ClientOptions,
  type S3Credentials,
} from "./client.js";
export { createVersionedBucket, pingS3 } from "./bucket.js";
export { mapS3Error } from "./errors.js";
export { chunkedFromChecksum, EMPTY_CHUNKED, MULTIPART_FROM, parseS3Sha256, partSizesMatch, type DerivedChunked, type S3Sha256 } from "./checksum.js";
export { DEFAULT_PART_CONCURRENCY } from "./upload.js";
export type {
  CopyFromOptions,
  CopySource,
  PendingUpload,
  S3Head,
  TransferOptions,
  UploadFileOptions,
  UploadResult,
  VersioningStatus,
} from "./transfer-types.js";
