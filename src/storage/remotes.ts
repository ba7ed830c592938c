/**
 * The storages a process talks to, by URL: local folders, and S3 buckets sharing one S3 client
 * (one connection pool, one credential chain). Built from the configuration by whoever read it
 * (the CLI, or a library user) and passed down; nothing here reads the environment.
 */
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors/index.js";
import { LocalStorage } from "./local.js";
// Types only: the AWS SDK takes about 0.3 s to load, so it is imported on first use of a bucket.
import type { S3ClientOptions, S3Storage } from "./s3/index.js";
import type { Storage } from "./types.js";

export type RemoteOptions = Omit<S3ClientOptions, "region"> & { readonly region?: string };

export class Remotes {
  private readonly buckets = new Map<string, S3Storage>();

  constructor(private readonly options: RemoteOptions = {}) {}

  /** The storage of one S3 bucket (made once, then shared). */
  async s3(bucket: string): Promise<S3Storage> {
    let storage = this.buckets.get(bucket);
    if (storage === undefined) {
      const { S3Storage } = await import("./s3/index.js");
      storage = this.buckets.get(bucket); // another caller may have made it meanwhile
      if (storage !== undefined) return storage;
      const first = this.buckets.values().next().value;
      storage = new S3Storage({
        bucket,
        ...this.options,
        region: this.options.region ?? DEFAULT_REGION,
        ...(first === undefined ? {} : { client: first.client }),
      });
      this.buckets.set(bucket, storage);
    }
    return storage;
  }

  /** A registry's storage from its normalized URL: `s3://bucket`, `file://…` or a folder path. */
  async storageOf(url: string): Promise<Storage> {
    if (url.startsWith("s3://")) {
      const bucket = url.slice(5).replace(/\/+$/, "");
      if (bucket === "" || bucket.includes("/")) {
        throw new UsageError("REGISTRY_INVALID", `An S3 registry is a whole bucket: ${url} is not s3://BUCKET.`, {
          hint: "Give the bucket alone, e.g. s3://my-bucket.",
        });
      }
      return this.s3(bucket);
    }
    return new LocalStorage(url.startsWith("file:") ? fileURLToPath(url) : url);
  }

  /** Close the shared client's sockets. */
  close(): void {
    // Every bucket shares the first storage's client.
    this.buckets.values().next().value?.destroy();
    this.buckets.clear();
  }
}

/** Where requests go when neither the environment nor the settings name a region (quilt3 does the same). */
export const DEFAULT_REGION = "us-east-1";

/** Whether a storage is an S3 bucket (without loading the AWS SDK to ask `instanceof`). */
export function isS3Storage(storage: Storage): storage is S3Storage {
  return storage.url.startsWith("s3://");
}
