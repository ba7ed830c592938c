import { describe, expect, it } from "vitest";
import { bypassesProxy } from "./client.js";

describe("bypassesProxy (NO_PROXY as curl reads it)", () => {
  it("matches *, exact hosts and domain suffixes, ignoring ports and case", () => {
    expect(bypassesProxy("s3.amazonaws.com", undefined)).toBe(false);
    expect(bypassesProxy("s3.amazonaws.com", "*")).toBe(true);
    expect(bypassesProxy("127.0.0.1", "localhost, 127.0.0.1:9000")).toBe(true);
    expect(bypassesProxy("bucket.s3.amazonaws.com", ".amazonaws.com")).toBe(true);
    expect(bypassesProxy("bucket.s3.amazonaws.com", "AMAZONAWS.com")).toBe(true);
    expect(bypassesProxy("notamazonaws.com", "amazonaws.com")).toBe(false);
    expect(bypassesProxy("minio.internal", "example.com,,")).toBe(false);
  });
});
