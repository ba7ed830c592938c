/**
 * S3Storage through a fault-injecting proxy (test/helpers/fault-proxy.ts) in front of versitygw:
 * dropped connections, 500 InternalError, 503 SlowDown and stalls are retried by the SDK, and what
 * lands in the bucket is exactly what was written (checked directly, not through the proxy). A
 * response cut mid-body on a GET is not retried by the SDK: it must surface as an error, never as
 * short data.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { QuiltError, StorageError } from "../src/errors/index.js";
import { S3Storage } from "../src/storage/s3/index.js";
import { collect, rejectionOf } from "./helpers/expect.js";
import { startFaultProxy, type FaultKind, type FaultProxy } from "./helpers/fault-proxy.js";
import { clientOptionsOf } from "./helpers/s3-server.js";

const s3 = inject("s3");
/** The bucket as it really is: every check of stored bytes goes this way, around the proxy. */
const direct = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3) });

/**
 * Longer than the client's requestTimeoutMs (1500), so a stall is a real stall. Note: with
 * @smithy/node-http-handler 4.x, `requestTimeout` alone only logs a warning (it throws only with
 * `throwOnRequestTimeout`, and the idle timeout is `socketTimeout`), so today a stall ends when the
 * proxy cuts the socket after STALL_MS, and the SDK retries the reset connection.
 */
const STALL_MS = 2_000;
const MiB = 1024 * 1024;

let proxy: FaultProxy;
const storages: S3Storage[] = [direct];
/** An S3Storage whose requests all go through the proxy, with small timeouts. */
function viaProxy(maxAttempts: number): S3Storage {
  const storage = new S3Storage({
    bucket: s3.bucket,
    ...clientOptionsOf(s3),
    endpoint: proxy.endpoint,
    requestTimeoutMs: 1_500,
    connectionTimeoutMs: 1_000,
    maxAttempts,
  });
  storages.push(storage);
  return storage;
}

beforeAll(async () => {
  proxy = await startFaultProxy(s3.endpoint, { seed: 20240601, rate: 0, stallMs: STALL_MS });
});
afterAll(async () => {
  for (const storage of storages) storage.destroy();
  await proxy.close();
});

const run = randomBytes(4).toString("hex");
let n = 0;
/** A fresh key prefix per test: `faults-<run>/t<n>/`. */
const fresh = (): string => `faults-${run}/t${n++}/`;

const objectKeys = async (storage: S3Storage, prefix: string): Promise<string[]> =>
  (await collect(storage.list(prefix))).flatMap((item) => (item.kind === "object" ? [item.key] : []));

describe("through the proxy", () => {
  it("forwards requests unchanged when no fault is set (SigV4 verifies with the original Host)", async () => {
    const storage = viaProxy(1);
    const p = fresh();
    const before = proxy.stats();
    await storage.write(`${p}f`, Buffer.from("hello"));
    expect((await storage.readAll(`${p}f`)).toString()).toBe("hello");
    expect((await storage.stat(`${p}f`))?.size).toBe(5);
    expect(await objectKeys(storage, p)).toEqual([`${p}f`]);
    const after = proxy.stats();
    expect(after.requests - before.requests).toBe(4);
    expect(after.forwarded - before.forwarded).toBe(4);
    expect(after.faults).toEqual(before.faults);
  });

  const kinds: FaultKind[] = ["drop", "500", "503", "stall", "drop-mid-body"];
  it.each(kinds)("writes, stats, lists and reads exactly right despite %s faults on 30 percent of requests", async (kind) => {
    const storage = viaProxy(8);
    const p = fresh();
    const small = [randomBytes(1), randomBytes(1_000), randomBytes(70_000)];
    const big = randomBytes(20 * MiB); // over the 16 MiB threshold: a multipart upload of 3 parts
    const before = proxy.stats();
    proxy.configure({ rate: 0.3, kinds: [kind], onlyMethods: undefined, maxFaults: undefined });
    try {
      for (const [i, body] of small.entries()) await storage.write(`${p}small-${i}`, body);
      expect((await storage.write(`${p}big`, big)).size).toBe(big.length);
      for (const [i, body] of small.entries()) expect((await storage.stat(`${p}small-${i}`))?.size).toBe(body.length);
      expect(await storage.stat(`${p}missing`)).toBeUndefined();
      expect(await objectKeys(storage, p)).toEqual([`${p}big`, `${p}small-0`, `${p}small-1`, `${p}small-2`]);
      // A response cut mid-body is not retried on a GET of an object (see the next describe).
      if (kind !== "drop-mid-body") {
        for (const [i, body] of small.entries()) expect((await storage.readAll(`${p}small-${i}`)).equals(body)).toBe(true);
        expect((await storage.readAll(`${p}big`)).equals(big)).toBe(true);
      }
    } finally {
      proxy.configure({ rate: 0 });
    }
    expect(proxy.stats().faults[kind]).toBeGreaterThan(before.faults[kind]);
    for (const [i, body] of small.entries()) expect((await direct.readAll(`${p}small-${i}`)).equals(body)).toBe(true);
    expect((await direct.readAll(`${p}big`)).equals(big)).toBe(true);
  });
});

describe("a response cut mid-body", () => {
  it("surfaces from read as STORAGE_NETWORK after the bytes that came, and readAll never returns them", async () => {
    const storage = viaProxy(8);
    const p = fresh();
    const data = randomBytes(4 * MiB);
    await direct.write(`${p}f`, data);
    // The SDK hands the body over once the headers are in, so nothing retries a break after them.
    proxy.configure({ rate: 1, kinds: ["drop-mid-body"], onlyMethods: ["GET"], maxFaults: 1 });
    const got: Uint8Array[] = [];
    let failure: unknown;
    try {
      for await (const chunk of storage.read(`${p}f`)) got.push(chunk);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(QuiltError);
    expect(failure).toMatchObject({ code: "STORAGE_NETWORK", kind: "storage" });
    expect((failure as Error).message).toContain(`s3://${s3.bucket}/${p}f`);
    const partial = Buffer.concat(got);
    expect(partial.length).toBeGreaterThan(0); // the break came after the headers, mid-body
    expect(partial.length).toBeLessThan(data.length);
    expect(partial.equals(data.subarray(0, partial.length))).toBe(true);

    proxy.configure({ maxFaults: 1 }); // one more cut, for readAll
    expect((await rejectionOf(() => storage.readAll(`${p}f`))).code).toBe("STORAGE_NETWORK");
    proxy.configure({ rate: 0, onlyMethods: undefined, maxFaults: undefined });
    expect((await storage.readAll(`${p}f`)).equals(data)).toBe(true);
  });
});

describe("when every attempt fails", () => {
  it("a write fails with a StorageError and leaves no object, single put or multipart", async () => {
    const storage = viaProxy(2);
    const p = fresh();
    try {
      proxy.configure({ rate: 1, kinds: ["500"], onlyMethods: undefined, maxFaults: undefined });
      const small = await rejectionOf(() => storage.write(`${p}small`, Buffer.from("never stored")));
      expect(small).toBeInstanceOf(StorageError);
      expect(small).toMatchObject({ code: "STORAGE_IO_ERROR" });
      expect(small.message).toContain("InternalError, HTTP 500");
      // Parts fail while creating and aborting the upload get through: lib-storage aborts it.
      proxy.configure({ onlyMethods: ["PUT"] });
      const big = await rejectionOf(() => storage.write(`${p}big`, randomBytes(20 * MiB)));
      expect(big).toBeInstanceOf(StorageError);
      expect(big).toMatchObject({ code: "STORAGE_IO_ERROR" });
    } finally {
      proxy.configure({ rate: 0, onlyMethods: undefined });
    }
    expect(await direct.stat(`${p}small`)).toBeUndefined();
    expect(await direct.stat(`${p}big`)).toBeUndefined();
    expect(await objectKeys(direct, p)).toEqual([]);
  });
});
