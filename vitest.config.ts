import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: "forks",
    // One S3 server (versitygw) for the run; fails when it is not built (bash scripts/versitygw.sh).
    globalSetup: ["test/global-s3.ts"],
  },
});
