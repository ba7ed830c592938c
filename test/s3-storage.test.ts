/**
 * S3Storage against a real S3 server (versitygw, started by test/global-s3.ts), no mocks: the
 * Storage contract the local storage keeps, plus what only S3 has (version ids, old versions).
 * Each test works under its own key prefix of one versioned bucket.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { QuiltError } from "../src/errors/index.js";
import { S3Storage } from "../src/storage/s3/index.js";
import type { ListItem } from "../src/storage/types.js";
import { clientOptionsOf } from "./helpers/s3-server.js";
import { rejectionOf, collect } from "./helpers/expect.js";

const s3 = inject("s3");
const storage = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3) });
afterAll(() => storage.destroy());

const run = randomBytes(4).toString("hex");
let n = 0;
/** A fresh key prefix per test: `s3-<run>/t<n>/`. */
const fresh = (): string => `s3-${run}/t${n++}/`;

async function* chunksOf(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield await Promise.resolve(Buffer.from(part));
}

const describeItem = (item: ListItem): string => (item.kind === "object" ? `${item.key}=${item.size}` : `[${item.prefix}]`);

describe("S3Storage on versitygw", () => {
  it("reports its URL", () => {
    expect(storage.url).toBe(`s3://${s3.bucket}`);
  });

  it("refuses invalid keys like the local storage", async () => {
    for (const key of ["", "../x", "a//b", "a/", "/abs", "a\0b"]) {
      const error = await rejectionOf(() => storage.write(key, Buffer.from("x")));
      expect(error.code).toBe("STORAGE_KEY_INVALID");
      expect((await rejectionOf(() => storage.readAll(key))).code).toBe("STORAGE_KEY_INVALID");
      expect((await rejectionOf(() => storage.stat(key))).code).toBe("STORAGE_KEY_INVALID");
    }
  });
});

describe("write and read", () => {
  it("writes, reads whole objects and ranges (end exclusive, clipped)", async () => {
    const p = fresh();
    const info = await storage.write(`${p}f`, Buffer.from("0123456789"));
    expect(info.key).toBe(`${p}f`);
    expect(info.size).toBe(10);
    expect(info.etag).toMatch(/^".+"$/);
    expect((await storage.readAll(`${p}f`)).toString()).toBe("0123456789");
    expect((await storage.readAll(`${p}f`, { range: { start: 2, end: 5 } })).toString()).toBe("234");
    expect((await storage.readAll(`${p}f`, { range: { start: 7, end: 100 } })).toString()).toBe("789");
    expect((await storage.readAll(`${p}f`, { range: { start: 10, end: 20 } })).length).toBe(0);
    expect((await storage.readAll(`${p}f`, { range: { start: 50, end: 60 } })).length).toBe(0);
    expect((await storage.readAll(`${p}f`, { range: { start: 3, end: 3 } })).length).toBe(0);
    expect((await rejectionOf(() => storage.readAll(`${p}f`, { range: { start: 5, end: 2 } }))).code).toBe("RANGE_INVALID");
  });

  it("writes a stream of chunks and an empty object", async () => {
    const p = fresh();
    await storage.write(`${p}s`, chunksOf("ab", "", "cd", "e"));
    expect((await storage.readAll(`${p}s`)).toString()).toBe("abcde");
    const empty = await storage.write(`${p}empty`, Buffer.alloc(0));
    expect(empty.size).toBe(0);
    expect((await storage.readAll(`${p}empty`)).length).toBe(0);
    expect((await storage.stat(`${p}empty`))?.size).toBe(0);
  });

  it("streams a large object in several chunks", async () => {
    const p = fresh();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await storage.write(`${p}big`, data);
    const chunks = await collect(storage.read(`${p}big`));
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    // Stopping early releases the stream (no hang, later requests still work).
    let started = 0;
    for await (const chunk of storage.read(`${p}big`)) {
      started += chunk.length;
      break;
    }
    expect(started).toBeGreaterThan(0);
    expect((await storage.readAll(`${p}big`, { range: { start: 1_000_000, end: 1_000_010 } })).equals(data.subarray(1_000_000, 1_000_010))).toBe(true);
  });

  it("a missing key is OBJECT_NOT_FOUND naming the s3:// URL; stat gives undefined", async () => {
    const p = fresh();
    const error = await rejectionOf(() => storage.readAll(`${p}missing`));
    expect(error.code).toBe("OBJECT_NOT_FOUND");
    expect(error.kind).toBe("not-found");
    expect(error.message).toContain(`s3://${s3.bucket}/${p}missing`);
    expect(error.message).not.toContain(s3.secretAccessKey);
    expect((await rejectionOf(() => storage.readAll(`${p}missing`, { range: { start: 0, end: 0 } }))).code).toBe("OBJECT_NOT_FOUND");
    expect(await storage.stat(`${p}missing`)).toBeUndefined();
  });

  it("stat gives size, etag, version id and mtime", async () => {
    const p = fresh();
    const written = await storage.write(`${p}f`, Buffer.from("hello"));
    const info = await storage.stat(`${p}f`);
    expect(info).toMatchObject({ key: `${p}f`, size: 5, etag: written.etag, versionId: written.versionId });
    expect(info?.lastModified).toBeInstanceOf(Date);
  });

  it("ifNoneMatch creates once, then fails with OBJECT_EXISTS and keeps the first content", async () => {
    const p = fresh();
    await storage.write(`${p}once`, Buffer.from("first"), { ifNoneMatch: true });
    const error = await rejectionOf(() => storage.write(`${p}once`, Buffer.from("second"), { ifNoneMatch: true }));
    expect(error.code).toBe("OBJECT_EXISTS");
    expect(error.kind).toBe("conflict");
    expect(error.message).toContain(`s3://${s3.bucket}/${p}once`);
    expect((await storage.readAll(`${p}once`)).toString()).toBe("first");
  });

  // versitygw v1.7.0 (posix backend) checks If-None-Match before it writes, not atomically with
  // it: in repeated runs 2 of 8 racing creators sometimes both won, so "exactly one" cannot be
  // asserted against this server (AWS S3 guarantees it). What our code owns is asserted: losers
  // map to OBJECT_EXISTS and the object is one writer's whole body. The S3 issue must not rely
  // on this server for the concurrent-push guarantee.
  it("ifNoneMatch: concurrent creators: at least one wins, the others get OBJECT_EXISTS", async () => {
    const p = fresh();
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => storage.write(`${p}race`, Buffer.from(`w${i}`), { ifNoneMatch: true })));
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won.length).toBeGreaterThanOrEqual(1);
    for (const r of results) if (r.status === "rejected") expect((r.reason as QuiltError).code).toBe("OBJECT_EXISTS");
    expect((await storage.readAll(`${p}race`)).toString()).toMatch(/^w\d$/);
  });

  it("a body that throws midway leaves no object (and keeps an existing one)", async () => {
    const p = fresh();
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield await Promise.resolve(Buffer.from("partial"));
      throw new Error("disk vanished");
    }
    const error = await rejectionOf(() => storage.write(`${p}f`, broken()));
    expect(error.message).toContain("disk vanished");
    expect(await storage.stat(`${p}f`)).toBeUndefined();
    await storage.write(`${p}g`, Buffer.from("kept"));
    await rejectionOf(() => storage.write(`${p}g`, broken()));
    expect((await storage.readAll(`${p}g`)).toString()).toBe("kept");
  });

  it("an already aborted signal stops a write and a read", async () => {
    const p = fresh();
    const controller = new AbortController();
    controller.abort();
    expect((await rejectionOf(() => storage.write(`${p}f`, Buffer.from("x"), { signal: controller.signal }))).code).toBe("INTERRUPTED");
    expect(await storage.stat(`${p}f`)).toBeUndefined();
    expect((await rejectionOf(() => storage.readAll(`${p}f`, { signal: controller.signal }))).code).toBe("INTERRUPTED");
  });

  it("keys with unicode, spaces, %, + and other specials round-trip and list", async () => {
    const p = fresh();
    const keys = [`${p}a b.txt`, `${p}a%20b.txt`, `${p}a+b.txt`, `${p}50% off #1?.txt`, `${p}日本語/ファイル.txt`, `${p}é/ü~!$&'()*,;=@.bin`];
    for (const key of keys) await storage.write(key, Buffer.from(key));
    for (const key of keys) {
      expect((await storage.readAll(key)).toString()).toBe(key);
      expect((await storage.stat(key))?.size).toBe(Buffer.byteLength(key));
    }
    const listed = (await collect(storage.list(p))).map((i) => (i.kind === "object" ? i.key : i.prefix));
    expect(listed).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });
});

describe("multipart writes (bodies over the threshold)", () => {
  const big = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3), multipartThresholdBytes: 5 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024 });
  afterAll(() => big.destroy());

  async function* slices(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < data.length; i += size) yield await Promise.resolve(data.subarray(i, i + size));
  }

  it("uploads a streamed body of several parts, with ifNoneMatch", async () => {
    const p = fresh();
    const data = randomBytes(11 * 1024 * 1024 + 5);
    const info = await big.write(`${p}mp`, slices(data, 1024 * 1024), { ifNoneMatch: true });
    expect(info.size).toBe(data.length);
    expect(info.versionId).toBeTruthy();
    expect((await big.readAll(`${p}mp`)).equals(data)).toBe(true);
    const error = await rejectionOf(() => big.write(`${p}mp`, slices(data, 1024 * 1024), { ifNoneMatch: true }));
    expect(error.code).toBe("OBJECT_EXISTS");
  });

  it("a body that throws after the first parts leaves no object", async () => {
    const p = fresh();
    async function* broken(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 12; i++) yield await Promise.resolve(randomBytes(1024 * 1024));
      throw new Error("source gone");
    }
    const error = await rejectionOf(() => big.write(`${p}f`, broken()));
    expect(error.message).toContain("source gone");
    expect(await big.stat(`${p}f`)).toBeUndefined();
  });
});

describe("versions", () => {
  it("returns version ids and reads an old version after an overwrite", async () => {
    const p = fresh();
    const v1 = await storage.write(`${p}f`, Buffer.from("one"));
    const v2 = await storage.write(`${p}f`, Buffer.from("two!"));
    expect(v1.versionId).toBeTruthy();
    expect(v2.versionId).toBeTruthy();
    expect(v2.versionId).not.toBe(v1.versionId);
    expect((await storage.readAll(`${p}f`)).toString()).toBe("two!");
    expect((await storage.readAll(`${p}f`, { versionId: v1.versionId as string })).toString()).toBe("one");
    expect((await storage.readAll(`${p}f`, { versionId: v1.versionId as string, range: { start: 1, end: 3 } })).toString()).toBe("ne");
    expect((await storage.stat(`${p}f`))?.versionId).toBe(v2.versionId);
    // Deleting leaves old versions readable by id.
    await storage.delete(`${p}f`);
    expect(await storage.stat(`${p}f`)).toBeUndefined();
    expect((await storage.readAll(`${p}f`, { versionId: v2.versionId as string })).toString()).toBe("two!");
  });

  it("an unknown version id is OBJECT_NOT_FOUND", async () => {
    const p = fresh();
    const v1 = await storage.write(`${p}f`, Buffer.from("one"));
    const error = await rejectionOf(() => storage.readAll(`${p}g`, { versionId: v1.versionId as string }));
    expect(error.code).toBe("OBJECT_NOT_FOUND");
  });
});

describe("list", () => {
  it("lists every object under a prefix in S3 (UTF-8 byte) order, as a string prefix", async () => {
    const p = fresh();
    const keys = ["b/1", "a.txt", "a-b/x", "a/z/deep", "ab", "Z", "é", "\u{1F600}", "\uFF01"];
    for (const key of keys) await storage.write(`${p}${key}`, Buffer.from(key));
    const all = await collect(storage.list(p));
    expect(all.every((i) => i.kind === "object")).toBe(true);
    expect(all.map((i) => (i.kind === "object" ? i.key.slice(p.length) : ""))).toEqual(
      [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    expect((await collect(storage.list(`${p}a`))).map(describeItem)).toEqual([`${p}a-b/x=5`, `${p}a.txt=5`, `${p}a/z/deep=8`, `${p}ab=2`]);
    expect(await collect(storage.list(`${p}nothing`))).toEqual([]);
  });

  it("with a delimiter, reports folders once, merged into key order", async () => {
    const p = fresh();
    for (const key of ["a-b", "a/1", "a/2/x", "a0", "b/c/d", "c"]) await storage.write(`${p}${key}`, Buffer.from("x"));
    const items = (await collect(storage.list(p, { delimiter: "/" }))).map(describeItem);
    expect(items).toEqual([`${p}a-b=1`, `[${p}a/]`, `${p}a0=1`, `[${p}b/]`, `${p}c=1`]);
    expect((await collect(storage.list(`${p}a/`, { delimiter: "/" }))).map(describeItem)).toEqual([`${p}a/1=1`, `[${p}a/2/]`]);
    const bad = await rejectionOf(() => collect(storage.list(p, { delimiter: "|" as "/" })));
    expect(bad.code).toBe("LIST_DELIMITER_UNSUPPORTED");
  });

  it("pages through more than 1000 keys, lazily", async () => {
    const p = fresh();
    const keys = Array.from({ length: 1105 }, (_, i) => `${p}k${String(i).padStart(5, "0")}`);
    for (let i = 0; i < keys.length; i += 64) await Promise.all(keys.slice(i, i + 64).map((key) => storage.write(key, Buffer.from("x"))));
    const listed = await collect(storage.list(p));
    expect(listed.map((i) => (i.kind === "object" ? i.key : i.prefix))).toEqual(keys);
    const folders = await collect(storage.list(p, { delimiter: "/" }));
    expect(folders).toHaveLength(1105);
    let seen = 0;
    for await (const item of storage.list(p)) {
      expect(item.kind).toBe("object");
      if (++seen === 3) break;
    }
    expect(seen).toBe(3);
  });
});

describe("delete", () => {
  it("removes an object; missing keys are fine", async () => {
    const p = fresh();
    await storage.write(`${p}f`, Buffer.from("x"));
    await storage.delete(`${p}f`);
    expect(await storage.stat(`${p}f`)).toBeUndefined();
    await storage.delete(`${p}f`);
    await storage.delete(`${p}never`);
  });
});

describe("errors", () => {
  it("wrong credentials are STORAGE_ACCESS_DENIED, without the secret in the message", async () => {
    const secret = "wrong-secret-do-not-print";
    const denied = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3), credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: secret }, maxAttempts: 1 });
    try {
      const error = await rejectionOf(() => denied.readAll("x"));
      expect(error.code).toBe("STORAGE_ACCESS_DENIED");
      expect(error.message).toContain(`s3://${s3.bucket}/x`);
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error.toJSON())).not.toContain(secret);
    } finally {
      denied.destroy();
    }
  });

  it("an unreachable endpoint is STORAGE_NETWORK", async () => {
    const offline = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3), endpoint: "http://127.0.0.1:9", maxAttempts: 1, connectionTimeoutMs: 1_000 });
    try {
      const error = await rejectionOf(() => offline.stat("x"));
      expect(error.code).toBe("STORAGE_NETWORK");
      expect(error.kind).toBe("storage");
    } finally {
      offline.destroy();
    }
  });

  it("a missing bucket is STORAGE_BUCKET_NOT_FOUND", async () => {
    const nowhere = new S3Storage({ bucket: `no-such-bucket-${run}`, ...clientOptionsOf(s3) });
    try {
      expect((await rejectionOf(() => nowhere.readAll("x"))).code).toBe("STORAGE_BUCKET_NOT_FOUND");
      expect((await rejectionOf(() => collect(nowhere.list("")))).code).toBe("STORAGE_BUCKET_NOT_FOUND");
    } finally {
      nowhere.destroy();
    }
  });
});
