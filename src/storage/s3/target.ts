/** What the transfer modules need of an S3Storage: its client, its bucket, and URLs for messages. */
import type { S3Client } from "@aws-sdk/client-s3";
import { formatPhysicalKey } from "../physical-key.js";

export interface S3Target {
  readonly client: S3Client;
  readonly bucket: string;
  urlOf(key: string, versionId?: string): string;
}

/** `s3://bucket/key?versionId=…` in quilt3's encoding, for messages (never fails). */
export function s3Url(bucket: string, key: string, versionId?: string): string {
  try {
    return formatPhysicalKey(versionId === undefined ? { kind: "s3", bucket, path: key } : { kind: "s3", bucket, path: key, versionId });
  } catch {
    return `s3://${bucket}/${key}`;
  }
}

/** S3's version id as we report it: "null" (written while versioning was off) and "" name no version. */
export function versionIdOf(versionId: string | undefined): string | undefined {
  return versionId === undefined || versionId === "" || versionId === "null" ? undefined : versionId;
}

/** Another bucket through the same client: a copy's source, read with the helpers written for the destination. */
export function otherBucket(target: S3Target, bucket: string): S3Target {
  return { client: target.client, bucket, urlOf: (key, versionId) => s3Url(bucket, key, versionId) };
}
