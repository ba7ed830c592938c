import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Crc64Nvme as AwsCrc64Nvme } from "@aws-sdk/crc64-nvme";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadQuilt3Vectors, QUILT3_VECTORS } from "../../test/helpers/shared.js";
import { chunkSize, hashFile, verifyBytes, verifyFile, verifyHash, type HashType } from "./index.js";

const MiB = 1024 * 1024;
const ALL: HashType[] = ["sha2-256-chunked", "SHA256", "CRC64NVME"];
const code = (c: string): Error => expect.objectContaining({ code: c }) as Error;

interface SpecFile {
  path: string;
  size: number;
  sha256: string;
  gen?: { seed: string };
  base64?: string;
  stored?: boolean;
}

/** make_inputs.py's det_bytes: SHA-256(seed || counter as 8-byte big-endian), concatenated. */
function detBytes(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(size / 32) * 32);
  const counter = Buffer.alloc(8);
  for (let i = 0; i * 32 < size; i++) {
    counter.writeBigUInt64BE(BigInt(i));
    createHash("sha256").update(seed, "utf8").update(counter).digest().copy(out, i * 32);
  }
  return out.subarray(0, size);
}

function contentOf(f: SpecFile): Buffer {
  if (f.gen) return detBytes(f.gen.seed, f.size);
  if (f.base64 !== undefined) return Buffer.from(f.base64, "base64");
  return readFileSync(join(QUILT3_VECTORS, "inputs", f.path));
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "quiltkit-hash-file-"));
  const spec = JSON.parse(readFileSync(join(QUILT3_VECTORS, "inputs_spec.json"), "utf8")) as { files: SpecFile[] };
  for (const f of spec.files) {
    const data = contentOf(f);
    expect(createHash("sha256").update(data).digest("hex")).toBe(f.sha256);
    mkdirSync(dirname(join(dir, "inputs", f.path)), { recursive: true });
    writeFileSync(join(dir, "inputs", f.path), data);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("hashFile on every quilt3 vector input", () => {
  for (const [path, want] of Object.entries(loadQuilt3Vectors().files)) {
    it(path, async () => {
      const r = await hashFile(join(dir, "inputs", path), { types: ALL, withParts: true });
      expect(r.size).toBe(want.size);
      expect(r.hashes).toEqual({ "sha2-256-chunked": want["sha2-256-chunked"], SHA256: want.SHA256, CRC64NVME: want.CRC64NVME });
      expect(r.parts?.map((p) => p.toString("hex"))).toEqual(want.part_sha256_hex);
      expect(chunkSize(want.size)).toBe(want.chunksize);
    });
  }

  it("computes only sha2-256-chunked by default, without parts", async () => {
    const r = await hashFile(join(dir, "inputs", "hello.txt"));
    expect(r).toEqual({ size: 13, hashes: { "sha2-256-chunked": "BCp9ZKWB7y7pg/IQWIAcw1ZjtwXmxV9i+o4PGOzHCYk=" } });
  });

  it("tiny read buffers give the same values (double-buffered reads)", async () => {
    const path = join(dir, "inputs", "big/twenty_mb.bin");
    const want = loadQuilt3Vectors().files["big/twenty_mb.bin"]!;
    const r = await hashFile(path, { types: ALL, bufferSize: 1_000_003 });
    expect(r.hashes.CRC64NVME).toBe(want.CRC64NVME);
    expect(r.hashes["sha2-256-chunked"]).toBe(want["sha2-256-chunked"]);
  });
});

describe("spec boundary sizes against python3 hashlib", () => {
  const sizes = [1, 8 * MiB - 1, 8 * MiB, 8 * MiB + 1, 9 * MiB, 16 * MiB, 16 * MiB + 1];
  const PY = `
import base64, hashlib, json, sys
out = {}
for p in sys.argv[1:]:
    d = open(p, "rb").read()
    cs = 8 * 1024 * 1024
    while -(-len(d) // cs) > 10000:
        cs *= 2
    parts = [hashlib.sha256(d[i:i + cs]).digest() for i in range(0, len(d), cs)]
    out[p] = {"SHA256": hashlib.sha256(d).hexdigest(),
              "chunked": base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode(),
              "parts": [x.hex() for x in parts]}
print(json.dumps(out))`;
  let python: Record<string, { SHA256: string; chunked: string; parts: string[] }>;
  const pathOf = (size: number): string => join(dir, `boundary-${size}.bin`);

  beforeAll(() => {
    const big = randomBytes(16 * MiB + 1);
    for (const size of sizes) writeFileSync(pathOf(size), big.subarray(0, size));
    python = JSON.parse(execFileSync("python3", ["-c", PY, ...sizes.map(pathOf)], { encoding: "utf8" })) as typeof python;
  });

  it.each(sizes)("%d bytes", async (size) => {
    const r = await hashFile(pathOf(size), { types: ALL, withParts: true });
    const want = python[pathOf(size)]!;
    expect(r.hashes.SHA256).toBe(want.SHA256);
    expect(r.hashes["sha2-256-chunked"]).toBe(want.chunked);
    expect(r.parts?.map((p) => p.toString("hex"))).toEqual(want.parts);
    const aws = new AwsCrc64Nvme();
    aws.update(readFileSync(pathOf(size)));
    expect(r.hashes.CRC64NVME).toBe(Buffer.from(await aws.digest()).toString("base64"));
  });
});

describe("hashFile failures", () => {
  it("missing file -> FILE_NOT_FOUND", async () => {
    await expect(hashFile(join(dir, "nope"))).rejects.toThrow(code("FILE_NOT_FOUND"));
  });

  it("directory -> NOT_A_FILE", async () => {
    await expect(hashFile(dir)).rejects.toThrow(code("NOT_A_FILE"));
  });

  it("FIFO -> NOT_A_FILE without blocking", async () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    await expect(hashFile(fifo)).rejects.toThrow(code("NOT_A_FILE"));
  });

  it("unknown or no hash type", async () => {
    const path = join(dir, "inputs", "hello.txt");
    await expect(hashFile(path, { types: ["MD5" as HashType] })).rejects.toThrow(code("UNSUPPORTED_HASH_TYPE"));
    await expect(hashFile(path, { types: [] })).rejects.toThrow(code("NO_HASH_TYPES"));
  });

  /** A signal whose every poll runs `onPoll`: lets a test act between two reads, deterministically. */
  function pollingSignal(onPoll: (n: number) => boolean): AbortSignal {
    let n = 0;
    return { get aborted() { return onPoll(++n); }, reason: "test" } as unknown as AbortSignal;
  }

  it("file growing during the read -> FILE_CHANGED_DURING_HASH", async () => {
    const path = join(dir, "grows.bin");
    writeFileSync(path, Buffer.alloc(3 * MiB));
    const signal = pollingSignal((n) => (n === 2 && appendFileSync(path, "x"), false));
    await expect(hashFile(path, { signal, bufferSize: MiB })).rejects.toThrow(code("FILE_CHANGED_DURING_HASH"));
  });

  it("file shrinking during the read -> FILE_CHANGED_DURING_HASH", async () => {
    const path = join(dir, "shrinks.bin");
    writeFileSync(path, Buffer.alloc(3 * MiB));
    const signal = pollingSignal((n) => (n === 2 && truncateSync(path, MiB), false));
    await expect(hashFile(path, { signal, bufferSize: MiB })).rejects.toThrow(code("FILE_CHANGED_DURING_HASH"));
  });

  it("abort before and during the read -> INTERRUPTED", async () => {
    const path = join(dir, "inputs", "big/twenty_mb.bin");
    await expect(hashFile(path, { signal: AbortSignal.abort() })).rejects.toThrow(code("INTERRUPTED"));
    const signal = pollingSignal((n) => n >= 3);
    await expect(hashFile(path, { signal, bufferSize: MiB })).rejects.toThrow(code("INTERRUPTED"));
  });
});

describe("verifyHash / verifyFile / verifyBytes", () => {
  const hello = "BCp9ZKWB7y7pg/IQWIAcw1ZjtwXmxV9i+o4PGOzHCYk=";

  it("picks the hasher from the entry's type", async () => {
    const path = join(dir, "inputs", "hello.txt");
    for (const [type, value] of [
      ["sha2-256-chunked", hello],
      ["SHA256", "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"],
      ["CRC64NVME", "1Km+Qyat0k0="],
    ] as const) {
      expect(await verifyFile(path, { type, value })).toEqual({ ok: true, type, expected: value, actual: value, size: 13 });
      expect(verifyBytes(Buffer.from("Hello, World!"), { type, value }).ok).toBe(true);
      expect(verifyBytes(Buffer.from("Hello, World?"), { type, value }).ok).toBe(false);
    }
  });

  it("compares computed values exactly", () => {
    expect(verifyHash("sha2-256-chunked", hello, { "sha2-256-chunked": hello })).toBe(true);
    expect(verifyHash("sha2-256-chunked", hello.toLowerCase(), { "sha2-256-chunked": hello })).toBe(false);
    expect(() => verifyHash("SHA256", "x", { "sha2-256-chunked": hello })).toThrow(code("HASH_NOT_COMPUTED"));
  });

  it("unknown type -> UNSUPPORTED_HASH_TYPE with quilt3's message", async () => {
    expect(() => verifyHash("md5", "x", {})).toThrow(/^Unsupported hash type/);
    expect(() => verifyBytes(Buffer.alloc(0), { type: "sha2-512-chunked", value: "" })).toThrow(code("UNSUPPORTED_HASH_TYPE"));
    await expect(verifyFile(join(dir, "inputs", "hello.txt"), { type: "MD5", value: "" })).rejects.toThrow(
      expect.objectContaining({ code: "UNSUPPORTED_HASH_TYPE", kind: "integrity" }) as Error,
    );
  });
});
