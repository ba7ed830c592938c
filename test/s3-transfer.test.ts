/**
 * S3Storage's quilt3-style transfers against a real S3 server (versitygw, test/global-s3.ts):
 * uploadFile, copyFrom, head, chunkedChecksumOf, conditional overwrites (If-Match), versioning.
 * Every chunked value is checked against src/hash computing it from the same bytes. Test data is
 * deterministic (AES-CTR keystream) and lives in temp files removed afterwards.
 */
import { createHash } from "node:crypto";
import { appendFileSync, truncateSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { hashBuffer, hashFile, SHA2_256_CHUNKED } from "../src/hash/index.js";
import { createVersionedBucket, S3Storage } from "../src/storage/s3/index.js";
import { chunkedFromChecksum, EMPTY_CHUNKED, parseS3Sha256, partPlan, partSizesMatch } from "../src/storage/s3/checksum.js";
import { pooled } from "../src/storage/s3/pool.js";
import { clientOptionsOf } from "./helpers/s3-server.js";
import { rejectionOf } from "./helpers/expect.js";
import { deterministicBytes } from "./helpers/bytes.js";

const MiB = 1024 * 1024;
const s3 = inject("s3");
const run = createHash("sha256").update(`${process.pid}-${Date.now()}`).digest("hex").slice(0, 8);
const storage = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3) });
const otherBucket = `quiltkit-xfer-${run}`;
const other = new S3Storage({ bucket: otherBucket, ...clientOptionsOf(s3) });
let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "quiltkit-s3-transfer-"));
  await createVersionedBucket(clientOptionsOf(s3), otherBucket);
});
afterAll(async () => {
  storage.destroy();
  other.destroy();
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh key prefix per test: `xfer-<run>/t<n>/`. */
const fresh = (): string => `xfer-${run}/t${n++}/`;

const bytes = deterministicBytes;

async function fileOf(data: Buffer): Promise<string> {
  const path = join(dir, `f${n++}.bin`);
  await writeFile(path, data);
  return path;
}

const chunkedOf = (data: Buffer): string => hashBuffer(data, [SHA2_256_CHUNKED]).hashes[SHA2_256_CHUNKED] as string;
const sha256b64 = (data: Uint8Array): string => createHash("sha256").update(data).digest("base64");

describe("checksum helpers (no server)", () => {
  it("parses plain and composite ChecksumSHA256 values, and nothing else", () => {
    const digest = sha256b64(Buffer.from("x"));
    expect(parseS3Sha256(digest)).toEqual({ digest });
    expect(parseS3Sha256(`${digest}-3`)).toEqual({ digest, parts: 3 });
    for (const bad of [undefined, "", "abc", `${digest}-0`, `${digest}-`, `${digest}-1x`, digest.slice(1), `${digest}=`]) expect(parseS3Sha256(bad)).toBeUndefined();
  });

  it("derives the chunked value from a stored checksum only when it decides it", () => {
    const hello = Buffer.from("Hello, World!");
    // quilt3's own test value (spec §3.2).
    expect(chunkedFromChecksum(sha256b64(hello), 13)).toEqual({ value: "BCp9ZKWB7y7pg/IQWIAcw1ZjtwXmxV9i+o4PGOzHCYk=", check: false });
    expect(chunkedFromChecksum(undefined, 0)).toEqual({ value: EMPTY_CHUNKED, check: false });
    expect(EMPTY_CHUNKED).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    const d = sha256b64(Buffer.from("d"));
    expect(chunkedFromChecksum(d, 8 * MiB)?.check).toBe(false); // exactly 8 MiB: one part
    expect(chunkedFromChecksum(d, 8 * MiB + 1)).toBeUndefined(); // a full-object digest of two parts
    expect(chunkedFromChecksum(`${d}-1`, 5)).toEqual({ value: d, check: false });
    expect(chunkedFromChecksum(`${d}-2`, 8 * MiB + 1)).toEqual({ value: d, check: true });
    expect(chunkedFromChecksum(`${d}-3`, 8 * MiB + 1)).toBeUndefined();
    expect(chunkedFromChecksum(undefined, 5)).toBeUndefined();
  });

  it("accepts only quilt3's cut of an object into parts", () => {
    expect(partSizesMatch([8 * MiB, 8 * MiB, 20_000_000 - 16 * MiB], 20_000_000)).toBe(true);
    expect(partSizesMatch([7 * MiB, 7 * MiB, 20_000_000 - 14 * MiB], 20_000_000)).toBe(false);
    expect(partSizesMatch([8 * MiB, 8 * MiB], 20_000_000)).toBe(false);
    expect(partPlan(83_886_080_001)).toEqual({ chunk: 16 * MiB, count: 5001 });
  });

  it("pooled: results in order, at most limit tasks and limit + 1 prepared parts, first failure wins", async () => {
    let prepared = 0;
    let running = 0;
    let maxPrepared = 0;
    let maxRunning = 0;
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    const results = await pooled(
      20,
      3,
      new AbortController(),
      async (i) => {
        maxPrepared = Math.max(maxPrepared, ++prepared);
        await tick();
        return i * 2;
      },
      async (_i, value) => {
        maxRunning = Math.max(maxRunning, ++running);
        for (let t = 0; t < 10; t++) await tick(); // tasks outlast a prepare, so slots fill up
        running--;
        prepared--;
        return value;
      },
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(maxRunning).toBe(3);
    expect(maxPrepared).toBeLessThanOrEqual(4);

    const controller = new AbortController();
    const started: number[] = [];
    const failing = pooled(10, 2, controller, () => Promise.resolve(), async (i) => {
      started.push(i);
      await tick();
      if (i === 1) throw new Error("part 2 failed");
      return i;
    });
    await expect(failing).rejects.toThrow("part 2 failed");
    expect(controller.signal.aborted).toBe(true);
    expect(started.length).toBeLessThan(10);
  });
});

describe("uploadFile", () => {
  const sizes = [0, 13, 8 * MiB - 1, 8 * MiB, 8 * MiB + 1, 20_000_000];

  it.each(sizes)("uploads %i bytes as quilt3 does, with the chunked value of the bytes", async (size) => {
    const p = fresh();
    const data = bytes(size, size);
    const path = await fileOf(data);
    let reported = 0;
    const result = await storage.uploadFile(`${p}f`, path, { size, onBytes: (k) => (reported += k) });
    const expected = (await hashFile(path)).hashes[SHA2_256_CHUNKED];
    expect(result.chunked).toBe(expected);
    expect(result.chunked).toBe(chunkedOf(data));
    expect(result).toMatchObject({ key: `${p}f`, size });
    expect(result.versionId).toBeTruthy();
    expect(result.etag).toMatch(/^".+"$/);
    // S3's own value: the body's digest for a single put, the composite of the parts from 8 MiB on.
    const parts = Math.ceil(size / (8 * MiB));
    expect(result.checksumSha256).toBe(size < 8 * MiB ? sha256b64(data) : `${expected}-${parts}`);
    expect(reported).toBe(size);
    expect((await storage.readAll(`${p}f`)).equals(data)).toBe(true);
    expect(await storage.head(`${p}f`)).toEqual({ size, versionId: result.versionId, etag: result.etag, checksumSha256: result.checksumSha256 });
    expect(await storage.chunkedChecksumOf(`${p}f`, result.versionId)).toBe(expected);
    expect(await storage.chunkedChecksumOf(`${p}f`)).toBe(expected);
  });

  it("ifNoneMatch: a second upload is OBJECT_EXISTS, single put and multipart, leaving nothing pending", async () => {
    const p = fresh();
    for (const size of [100, 9 * MiB]) {
      const path = await fileOf(bytes(size, 7));
      const first = await storage.uploadFile(`${p}${size}`, path, { ifNoneMatch: true });
      const error = await rejectionOf(() => storage.uploadFile(`${p}${size}`, path, { ifNoneMatch: true }));
      expect(error.code).toBe("OBJECT_EXISTS");
      expect(error.message).toContain(`s3://${s3.bucket}/${p}${size}`);
      expect((await storage.head(`${p}${size}`))?.versionId).toBe(first.versionId);
    }
    expect(await storage.pendingUploads(p)).toEqual([]);
  });

  it("fails with FILE_SIZE_MISMATCH when the file is not the expected size, storing nothing", async () => {
    const p = fresh();
    const path = await fileOf(bytes(1000));
    const error = await rejectionOf(() => storage.uploadFile(`${p}f`, path, { size: 999 }));
    expect(error.code).toBe("FILE_SIZE_MISMATCH");
    expect(error.message).toContain(path);
    expect(await storage.head(`${p}f`)).toBeUndefined();
  });

  it("a missing file is FILE_NOT_FOUND; bad options are usage errors", async () => {
    const p = fresh();
    expect((await rejectionOf(() => storage.uploadFile(`${p}f`, join(dir, "absent")))).code).toBe("FILE_NOT_FOUND");
    const path = await fileOf(bytes(10));
    expect((await rejectionOf(() => storage.uploadFile(`${p}f`, path, { partConcurrency: 0 }))).code).toBe("PART_CONCURRENCY_INVALID");
    expect((await rejectionOf(() => storage.uploadFile("../f", path))).code).toBe("STORAGE_KEY_INVALID");
    expect((await rejectionOf(() => storage.uploadFile(`${p}f`, dir))).code).toBe("NOT_A_FILE");
  });

  it("an abort mid-multipart is INTERRUPTED and leaves no object and no pending upload", async () => {
    const p = fresh();
    const path = await fileOf(bytes(20_000_000, 3));
    const controller = new AbortController();
    const error = await rejectionOf(() => storage.uploadFile(`${p}f`, path, { signal: controller.signal, partConcurrency: 1, onBytes: () => controller.abort() }));
    expect(error.code).toBe("INTERRUPTED");
    expect(await storage.head(`${p}f`)).toBeUndefined();
    expect(await storage.pendingUploads(p)).toEqual([]);
    const aborted = await rejectionOf(() => storage.uploadFile(`${p}g`, path, { signal: controller.signal }));
    expect(aborted.code).toBe("INTERRUPTED");
    expect(await storage.pendingUploads(p)).toEqual([]);
  });

  it("a file that grows or shrinks during the upload fails, leaving nothing behind", async () => {
    const p = fresh();
    const grows = await fileOf(bytes(17 * MiB, 4));
    const grew = await rejectionOf(() => storage.uploadFile(`${p}grows`, grows, { partConcurrency: 1, onBytes: () => appendFileSync(grows, "more") }));
    expect(grew.code).toBe("FILE_CHANGED_DURING_UPLOAD");
    const shrinks = await fileOf(bytes(17 * MiB, 5));
    const shrank = await rejectionOf(() => storage.uploadFile(`${p}shrinks`, shrinks, { partConcurrency: 1, onBytes: () => truncateSync(shrinks, 9 * MiB) }));
    expect(shrank.code).toBe("FILE_CHANGED_DURING_UPLOAD");
    expect(shrank.message).toContain(shrinks);
    expect(await storage.head(`${p}grows`)).toBeUndefined();
    expect(await storage.head(`${p}shrinks`)).toBeUndefined();
    expect(await storage.pendingUploads(p)).toEqual([]);
  });
});

describe("copyFrom another bucket", () => {
  it.each([13, 5 * MiB, 8 * MiB, 20_000_000])("copies %i bytes server-side with the right chunked value", async (size) => {
    const p = fresh();
    const data = bytes(size, 100 + size);
    const source = await other.uploadFile(`${p}dir/a b+c%.bin`, await fileOf(data));
    let reported = 0;
    const result = await storage.copyFrom({ bucket: otherBucket, key: `${p}dir/a b+c%.bin` }, `${p}copy`, { size, onBytes: (k) => (reported += k) });
    expect(result.chunked).toBe(chunkedOf(data));
    expect(result.chunked).toBe(source.chunked);
    expect(result.versionId).toBeTruthy();
    expect(result.size).toBe(size);
    expect(reported).toBe(size);
    expect(result.checksumSha256).toBe(size < 8 * MiB ? sha256b64(data) : `${result.chunked}-${Math.ceil(size / (8 * MiB))}`);
    expect((await storage.readAll(`${p}copy`)).equals(data)).toBe(true);
    expect(await storage.chunkedChecksumOf(`${p}copy`, result.versionId)).toBe(result.chunked);
    expect(await storage.pendingUploads(p)).toEqual([]);
  });

  it("copies a multipart source that has a full-object SHA-256 (single put of 10 MiB)", async () => {
    const p = fresh();
    const data = bytes(10 * MiB, 9);
    await other.write(`${p}src`, data); // one PutObject: below S3Storage's 16 MiB multipart threshold
    const result = await storage.copyFrom({ bucket: otherBucket, key: `${p}src` }, `${p}copy`, { size: data.length, partConcurrency: 2 });
    expect(result.chunked).toBe(chunkedOf(data));
    expect((await storage.readAll(`${p}copy`)).equals(data)).toBe(true);
  });

  it("copies the version asked for", async () => {
    const p = fresh();
    const v1 = await other.write(`${p}src`, Buffer.from("version one"));
    await other.write(`${p}src`, Buffer.from("version two!"));
    const result = await storage.copyFrom({ bucket: otherBucket, key: `${p}src`, versionId: v1.versionId }, `${p}copy`, { size: 11 });
    expect((await storage.readAll(`${p}copy`)).toString()).toBe("version one");
    expect(result.chunked).toBe(chunkedOf(Buffer.from("version one")));
  });

  it("refuses a source of another size or that does not exist, and an aborted copy leaves nothing", async () => {
    const p = fresh();
    await other.write(`${p}src`, Buffer.from("12345"));
    const sized = await rejectionOf(() => storage.copyFrom({ bucket: otherBucket, key: `${p}src` }, `${p}copy`, { size: 6 }));
    expect(sized.code).toBe("OBJECT_SIZE_MISMATCH");
    expect(sized.message).toContain(`s3://${otherBucket}/${p}src`);
    const missing = await rejectionOf(() => storage.copyFrom({ bucket: otherBucket, key: `${p}nothing` }, `${p}copy`, { size: 1 }));
    expect(missing.code).toBe("OBJECT_NOT_FOUND");
    const big = bytes(20_000_000, 11);
    await other.uploadFile(`${p}big`, await fileOf(big));
    const controller = new AbortController();
    const aborted = await rejectionOf(() =>
      storage.copyFrom({ bucket: otherBucket, key: `${p}big` }, `${p}copy`, { size: big.length, signal: controller.signal, partConcurrency: 1, onBytes: () => controller.abort() }),
    );
    expect(aborted.code).toBe("INTERRUPTED");
    expect(await storage.head(`${p}copy`)).toBeUndefined();
    expect(await storage.pendingUploads(p)).toEqual([]);
  });
});

describe("chunkedChecksumOf", () => {
  it("derives the value of single puts (plain write), including an empty one", async () => {
    const p = fresh();
    const data = bytes(13);
    await storage.write(`${p}small`, data);
    expect(await storage.chunkedChecksumOf(`${p}small`)).toBe(chunkedOf(data));
    await storage.write(`${p}empty`, Buffer.alloc(0));
    expect(await storage.chunkedChecksumOf(`${p}empty`)).toBe(EMPTY_CHUNKED);
  });

  it("is undefined when the stored checksum does not decide it", async () => {
    const p = fresh();
    // A single put of more than one quilt3 part: S3 has only the full-object digest.
    await storage.write(`${p}full`, bytes(10 * MiB, 21));
    expect(await storage.chunkedChecksumOf(`${p}full`)).toBeUndefined();
    // Multipart with 7 MiB parts: the same part count as quilt3's (3) but other cuts.
    const seven = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3), multipartThresholdBytes: 5 * MiB, partSizeBytes: 7 * MiB });
    const five = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3), multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB });
    try {
      await seven.write(`${p}seven`, bytes(20_000_000, 22));
      expect((await storage.head(`${p}seven`))?.checksumSha256).toMatch(/-3$/);
      expect(await storage.chunkedChecksumOf(`${p}seven`)).toBeUndefined();
      await five.write(`${p}five`, bytes(12 * MiB, 23)); // 3 parts where quilt3 cuts 2
      expect(await storage.chunkedChecksumOf(`${p}five`)).toBeUndefined();
    } finally {
      seven.destroy();
      five.destroy();
    }
  });

  it("gives the value of a multipart object that another client cut at quilt3's part size", async () => {
    const p = fresh();
    const data = bytes(20_000_000, 24);
    const eight = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3), multipartThresholdBytes: 5 * MiB, partSizeBytes: 8 * MiB });
    try {
      await eight.write(`${p}eight`, data); // lib-storage, 8 MiB parts
    } finally {
      eight.destroy();
    }
    expect(await storage.chunkedChecksumOf(`${p}eight`)).toBe(chunkedOf(data));
  });

  it("reads the version asked for; a missing object is OBJECT_NOT_FOUND, and head gives undefined", async () => {
    const p = fresh();
    const v1 = await storage.write(`${p}f`, Buffer.from("one"));
    await storage.write(`${p}f`, Buffer.from("two"));
    expect(await storage.chunkedChecksumOf(`${p}f`, v1.versionId)).toBe(chunkedOf(Buffer.from("one")));
    expect(await storage.chunkedChecksumOf(`${p}f`)).toBe(chunkedOf(Buffer.from("two")));
    expect((await rejectionOf(() => storage.chunkedChecksumOf(`${p}missing`))).code).toBe("OBJECT_NOT_FOUND");
    expect(await storage.head(`${p}missing`)).toBeUndefined();
  });
});

describe("write with ifMatch", () => {
  it("overwrites while the ETag is unchanged, else OBJECT_CHANGED and the object is kept", async () => {
    const p = fresh();
    const first = await storage.write(`${p}latest`, Buffer.from("a".repeat(64)));
    const second = await storage.write(`${p}latest`, Buffer.from("b".repeat(64)), { ifMatch: first.etag as string });
    expect(second.versionId).not.toBe(first.versionId);
    const error = await rejectionOf(() => storage.write(`${p}latest`, Buffer.from("c".repeat(64)), { ifMatch: first.etag as string }));
    expect(error.code).toBe("OBJECT_CHANGED");
    expect(error.kind).toBe("conflict");
    expect(error.message).toContain(`s3://${s3.bucket}/${p}latest`);
    expect((await storage.readAll(`${p}latest`)).toString()).toBe("b".repeat(64));
    // No object under the key (S3 answers 404) is a change too. Not tested after a delete:
    // versitygw 1.7.0 on a versioned bucket then matches If-Match against the last version
    // under the delete marker (the write succeeds), where AWS S3 answers 404.
    expect((await rejectionOf(() => storage.write(`${p}never`, Buffer.from("d"), { ifMatch: second.etag as string }))).code).toBe("OBJECT_CHANGED");
    expect(await storage.stat(`${p}never`)).toBeUndefined();
  });

  it("also on a multipart write; refuses ifMatch with ifNoneMatch or empty", async () => {
    const p = fresh();
    const big = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3), multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB });
    try {
      const first = await big.write(`${p}f`, bytes(6 * MiB, 31));
      await big.write(`${p}f`, bytes(6 * MiB, 32), { ifMatch: first.etag as string });
      const error = await rejectionOf(() => big.write(`${p}f`, bytes(6 * MiB, 33), { ifMatch: first.etag as string }));
      expect(error.code).toBe("OBJECT_CHANGED");
      expect((await big.readAll(`${p}f`)).equals(bytes(6 * MiB, 32))).toBe(true);
      expect(await big.pendingUploads(p)).toEqual([]);
    } finally {
      big.destroy();
    }
    for (const options of [{ ifMatch: "" }, { ifMatch: '"x"', ifNoneMatch: true as const }]) {
      expect((await rejectionOf(() => storage.write(`${p}g`, Buffer.from("x"), options))).code).toBe("WRITE_CONDITION_INVALID");
    }
  });
});

describe("versioningStatus", () => {
  it("is Enabled on the versioned test buckets", async () => {
    expect(await storage.versioningStatus()).toBe("Enabled");
    expect(await other.versioningStatus()).toBe("Enabled");
  });

  it("maps GetBucketVersioning's Status, Off when unset", async () => {
    for (const [answer, status] of [[{}, "Off"], [{ Status: "Suspended" }, "Suspended"], [{ Status: "Enabled" }, "Enabled"]] as const) {
      const client = { send: () => Promise.resolve(answer), destroy: () => undefined } as unknown as S3Storage["client"];
      expect(await new S3Storage({ bucket: "b", region: "us-east-1", client }).versioningStatus()).toBe(status);
    }
  });
});
