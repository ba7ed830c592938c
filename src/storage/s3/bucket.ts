/**
 * Bucket-level operations for setting up S3-compatible servers (the test gateway, or a new
 * registry bucket): create a bucket with versioning enabled, and check that an endpoint answers.
 */
import {
  CreateBucketCommand,
  GetBucketVersioningCommand,
  ListBucketsCommand,
  PutBucketVersioningCommand,
} from "@aws-sdk/client-s3";
import { createS3Client, type S3ClientOptions } from "./client.js";
import { mapS3Error, s3ErrorName } from "./errors.js";

/** Create `bucket` (reusing one we already own) and enable versioning on it; returns the versioning status. */
export async function createVersionedBucket(options: S3ClientOptions, bucket: string): Promise<string | undefined> {
  const client = createS3Client(options);
  try {
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      if (s3ErrorName(error) !== "BucketAlreadyOwnedByYou") throw mapS3Error(error, "create the bucket", `s3://${bucket}`);
    }
    try {
      await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
      const out = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
      return out.Status;
    } catch (error) {
      throw mapS3Error(error, "enable versioning on", `s3://${bucket}`);
    }
  } finally {
    client.destroy();
  }
}

/** One signed ListBuckets request: resolves when the endpoint answers it, throws (mapped) otherwise. */
export async function pingS3(options: S3ClientOptions): Promise<void> {
  const client = createS3Client({ ...options, maxAttempts: 1 });
  try {
    await client.send(new ListBucketsCommand({}));
  } catch (error) {
    throw mapS3Error(error, "list the buckets of", options.endpoint ?? "S3");
  } finally {
    client.destroy();
  }
}
