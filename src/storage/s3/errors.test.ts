import { describe, expect, it } from "vitest";
import { mapS3Error } from "./errors.js";

/** An error shaped as the SDK's credential chain throws it when it finds nothing. */
function noCredentials(): Error {
  const error = new Error("Could not load credentials from any providers");
  error.name = "CredentialsProviderError";
  return error;
}

describe("mapS3Error", () => {
  it("says that no credentials were found, and where to set them", () => {
    const error = mapS3Error(noCredentials(), "read", "s3://b/k");
    expect(error.code).toBe("STORAGE_NO_CREDENTIALS");
    expect(error.kind).toBe("storage");
    expect(error.message).toBe("Could not read s3://b/k: no AWS credentials were found: Could not load credentials from any providers");
    expect(error.hint).toContain("AWS_ACCESS_KEY_ID");
  });

  it("keeps the other families as they were", () => {
    const denied = Object.assign(new Error("denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
    expect(mapS3Error(denied, "read", "s3://b/k").code).toBe("STORAGE_ACCESS_DENIED");
    const missing = Object.assign(new Error("gone"), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
    expect(mapS3Error(missing, "read", "s3://b/k").code).toBe("OBJECT_NOT_FOUND");
  });
});
