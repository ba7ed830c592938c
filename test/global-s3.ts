/**
 * Vitest global setup: one versitygw for the whole run, reached by tests through
 * `inject("s3")`. Fails (does not skip) when versitygw is not built: run `bash scripts/versitygw.sh`.
 */
import type { TestProject } from "vitest/node";
import { startS3Server, type S3TestEndpoint } from "./helpers/s3-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    s3: S3TestEndpoint;
  }
}

// The SDK warns on Node 20 that releases after January 2027 need Node 22; test workers inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startS3Server({ buckets: ["quiltkit-test"] });
  const endpoint: S3TestEndpoint = {
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    bucket: server.bucket,
    server: server.server,
  };
  project.provide("s3", endpoint);
  process.stdout.write(`S3 server: ${server.server} at ${server.endpoint}\n`);
  return () => server.stop();
}
