/**
 * What a push does with entries already on S3 (spec §5): objects of another bucket are copied
 * server-side to `<name>/<logical key>`, objects in the registry's bucket are referenced where
 * they are, and a missing hash is taken from S3's checksum (or, for parts cut another way, from
 * one read of the data). And Ctrl-C: the CLI stops with exit 130, leaving no multipart upload.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ChunkedSha256 } from "../src/hash/index.js";
import { Package, PackageBuilder, openRegistry } from "../src/package/index.js";
import { parsePhysicalKey, Remotes } from "../src/storage/index.js";
import { createVersionedBucket, S3Storage } from "../src/storage/s3/index.js";
import { CLI } from "./helpers/cli.js";
import { awsEnvOf, clientOptionsOf } from "./helpers/s3-server.js";
import { deterministicBytes } from "./helpers/bytes.js";

const s3 = inject("s3");
const remotes = new Remotes(clientOptionsOf(s3));
const other = `quiltkit-other-${randomBytes(3).toString("hex")}`;
const run = randomBytes(4).toString("hex");
let root = "";

beforeAll(async () => {
  await createVersionedBucket(clientOptionsOf(s3), other);
  root = mkdtempSync(join(tmpdir(), "quiltkit-s3-push-"));
});
afterAll(() => {
  remotes.close();
  rmSync(root, { recursive: true, force: true });
});

const bytes = deterministicBytes;
const chunked = (data: Buffer): string => new ChunkedSha256(data.length).update(data).digest();

describe("push of entries already on S3", () => {
  it("copies other buckets' objects, references its own, and takes unknown hashes from S3", async () => {
    const registryBucket = await remotes.s3(s3.bucket);
    const otherBucket = await remotes.s3(other);
    // Written with 5 MiB parts: S3's composite checksum is not quilt3's, so the data must be read.
    const oddParts = new S3Storage({ bucket: s3.bucket, ...clientOptionsOf(s3), partSizeBytes: 5 * 2 ** 20, multipartThresholdBytes: 5 * 2 ** 20 });
    const small = bytes(1000, "small");
    const big = bytes(9 * 2 ** 20 + 7, "big");
    const odd = bytes(11 * 2 ** 20, "odd");
    const copied = await otherBucket.write(`src-${run}/small.bin`, small);
    const copiedBig = await otherBucket.uploadFile(`src-${run}/big.bin`, writeTemp("big.bin", big));
    const own = await registryBucket.write(`own-${run}/small.bin`, small);
    const ownOdd = await oddParts.write(`own-${run}/odd.bin`, odd);
    oddParts.destroy();

    const name = `push-${run}/remote`;
    const builder = new PackageBuilder({ name });
    const at = (bucket: string, key: string, versionId: string | undefined) =>
      `s3://${bucket}/${key}${versionId === undefined ? "" : `?versionId=${encodeURIComponent(versionId)}`}`;
    await builder.setEntry("copied/small.bin", { physicalKey: at(other, copied.key, copied.versionId), size: small.length });
    await builder.setEntry("copied/big.bin", { physicalKey: at(other, copiedBig.key, copiedBig.versionId), size: big.length });
    await builder.setEntry("own/small.bin", { physicalKey: at(s3.bucket, own.key, own.versionId), size: small.length });
    await builder.setEntry("own/odd.bin", { physicalKey: at(s3.bucket, ownOdd.key, ownOdd.versionId), size: odd.length });
    const registry = await openRegistry(`s3://${s3.bucket}`, { remotes });
    const pushed = await builder.push({ registry, name, message: "remote entries" });
    await builder.dispose();
    expect(pushed.data).toMatchObject({ copied: 2, referenced: 2, exists: 0 });

    const pkg = await Package.browse(`s3://${s3.bucket}/${name}`, { remotes });
    try {
      const entries = new Map<string, { physicalKey: string; hash: { value: string } }>();
      for await (const entry of pkg.entries()) entries.set(entry.logicalKey, entry);
      const where = (key: string) => parsePhysicalKey(entries.get(key)?.physicalKey ?? "");
      expect(where("copied/small.bin")).toMatchObject({ kind: "s3", bucket: s3.bucket, path: `${name}/copied/small.bin` });
      expect(where("copied/big.bin")).toMatchObject({ kind: "s3", bucket: s3.bucket, path: `${name}/copied/big.bin` });
      expect(entries.get("own/small.bin")?.physicalKey).toBe(at(s3.bucket, own.key, own.versionId));
      expect(entries.get("own/odd.bin")?.physicalKey).toBe(at(s3.bucket, ownOdd.key, ownOdd.versionId));
      expect(entries.get("copied/small.bin")?.hash.value).toBe(chunked(small));
      expect(entries.get("copied/big.bin")?.hash.value).toBe(chunked(big));
      expect(entries.get("own/small.bin")?.hash.value).toBe(chunked(small));
      expect(entries.get("own/odd.bin")?.hash.value).toBe(chunked(odd));
      expect((await pkg.getBytes("copied/big.bin")).equals(big)).toBe(true);
    } finally {
      await pkg.close();
    }
  }, 60_000);
});

describe("Ctrl-C during a push to S3", () => {
  it("exits 130, aborts its multipart uploads and writes no pointer", async () => {
    const dir = join(root, "big");
    writeTemp("big/a.bin", bytes(64 * 2 ** 20, "a"));
    writeTemp("big/b.bin", bytes(64 * 2 ** 20, "b"));
    const name = `sigint-${run}/big`;
    const child = spawn(process.execPath, [CLI, "push", name, "--dir", dir, "--registry", `s3://${s3.bucket}`], {
      env: {
        PATH: process.env.PATH ?? "",
        QUILT_HOME: join(root, "home"),
        ...awsEnvOf(s3),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const storage = await remotes.s3(s3.bucket);
    // Interrupt once an upload is under way (its multipart upload exists).
    for (let i = 0; i < 400 && (await storage.pendingUploads(`${name}/`)).length === 0; i++) await sleep(25);
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain("Interrupted");
    expect(await storage.pendingUploads(`${name}/`)).toEqual([]);
    const registry = await openRegistry(`s3://${s3.bucket}`, { remotes });
    expect(await registry.currentLatest(name)).toBeUndefined();
  }, 60_000);
});

function writeTemp(relative: string, data: Buffer): string {
  const path = join(root, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
