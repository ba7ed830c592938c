/**
 * Set A cases A08 (push to a versioned S3 registry) and A09 (install from it), replayed against a
 * real S3 server: the same top hash, data at `<name>/<logical key>` with version-pinned physical
 * keys, hashes that equal S3's own checksums, quilt3's pointers, and an install whose local
 * registry records the manifest unchanged.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parsePyJson } from "../src/json/index.js";
import { readManifestRecords } from "../src/manifest/index.js";
import { Package, PackageBuilder, openRegistry } from "../src/package/index.js";
import { formatPhysicalKey, parsePhysicalKey, Remotes } from "../src/storage/index.js";
import { materializeSetAInputs } from "./helpers/inputs.js";
import { clientOptionsOf } from "./helpers/s3-server.js";
import { loadQuilt3Vectors, QUILT3_VECTORS, type VectorCase, type VectorOp } from "./helpers/shared.js";
import { filesUnder } from "./helpers/tree.js";

const s3 = inject("s3");
const remotes = new Remotes(clientOptionsOf(s3));
const vectors = loadQuilt3Vectors();
const caseOf = (id: string): VectorCase => vectors.cases.find((c) => c.id === id) as VectorCase;
const A08 = caseOf("A08-push-s3");
const A09 = caseOf("A09-install");
const name = `a08-${randomBytes(4).toString("hex")}/pushed`;
let inputs = "";
let work = "";

beforeAll(async () => {
  inputs = materializeSetAInputs();
  work = await mkdtemp(join(tmpdir(), "quiltkit-a08-"));
});
afterAll(async () => {
  remotes.close();
  await rm(work, { recursive: true, force: true });
});

const clockOf = (c: VectorCase): number => (c.ops.find((op) => op.op === "clock") as VectorOp & { unix_time: number }).unix_time;

/** A08's operations on our builder, pushed to the test bucket under `name`. */
async function pushA08(dedupe = false): Promise<Awaited<ReturnType<PackageBuilder["push"]>>> {
  const builder = new PackageBuilder({ name });
  for (const op of A08.ops) {
    if (op.op === "set_meta") await builder.setMeta(parsePyJson(op.meta_json as string));
    if (op.op === "set") {
      const meta = typeof op.meta_json === "string" ? parsePyJson(op.meta_json) : undefined;
      await builder.set(op.logical_key as string, resolve(inputs, op.path as string), meta);
    }
  }
  const registry = await openRegistry(`s3://${s3.bucket}`, { remotes });
  try {
    return await builder.push({ registry, name, message: "pushed", now: () => clockOf(A08), dedupe });
  } finally {
    await builder.dispose();
  }
}

describe("A08: push to a versioned S3 registry", () => {
  let pushed: Awaited<ReturnType<typeof pushA08>>;
  beforeAll(async () => {
    pushed = await pushA08();
  }, 120_000);

  it("has quilt3's top hash", () => {
    expect(pushed.topHash).toBe(A08.top_hash);
    expect(pushed.data).toMatchObject({ copied: A08.entries.length, exists: 0, referenced: 0 });
  });

  it("writes quilt3's pointers, and a manifest equal to quilt3's but for the version ids", async () => {
    const storage = await remotes.s3(s3.bucket);
    const timestamp = String(clockOf(A08));
    expect(pushed.pointers).toEqual([timestamp, "latest"]);
    for (const pointer of [timestamp, "latest"]) {
      expect((await storage.readAll(`.quilt/named_packages/${name}/${pointer}`)).toString()).toBe(A08.top_hash);
    }
    const ours = await storage.readAll(`.quilt/packages/${A08.top_hash}`);
    const theirs = await readFile(resolve(QUILT3_VECTORS, A08.dump_file));
    const unversioned = (text: string): string => text.replace(/\?versionId=[^"]*/g, "").replace(/s3:\/\/[^/]+\/[^/]+\/pushed\//g, "s3://B/N/");
    expect(unversioned(ours.toString())).toBe(unversioned(theirs.toString()));
  });

  it("puts each file at <name>/<logical key>, pinned to the version written, hashed by S3's checksum", async () => {
    const storage = await remotes.s3(s3.bucket);
    const entries = await manifestEntries(await storage.readAll(`.quilt/packages/${A08.top_hash}`));
    expect(entries.map((e) => e.logical_key)).toEqual(A08.entries.map((e) => e.logical_key));
    for (const [i, entry] of entries.entries()) {
      const want = A08.entries[i] as VectorCase["entries"][number];
      const pk = parsePhysicalKey(entry.physical_key);
      if (pk.kind !== "s3") throw new Error(`not an S3 key: ${entry.physical_key}`);
      expect(pk.bucket).toBe(s3.bucket);
      expect(pk.path).toBe(`${name}/${want.logical_key}`);
      const head = await storage.head(pk.path);
      expect(pk.versionId).toBeDefined();
      expect(head?.versionId).toBe(pk.versionId);
      expect(formatPhysicalKey(pk)).toBe(entry.physical_key);
      expect(entry.hash).toEqual(want.hash);
      expect(await storage.chunkedChecksumOf(pk.path, pk.versionId)).toBe((want.hash as { value: string }).value);
      const data = await storage.readAll(pk.path, { versionId: pk.versionId as string });
      const written = A08.registry_writes.find((w) => w.kind === "data" && w.path.endsWith(`/pushed/${want.logical_key}`));
      expect(createHash("sha256").update(data).digest("hex")).toBe(written?.sha256);
    }
  });

  it("skips data that is already there on a second push (data exists, skipping) and dedupes the manifest", async () => {
    const again = await pushA08(true);
    expect(again.topHash).toBe(A08.top_hash);
    expect(again.deduped).toBe(true);
    expect(again.data).toMatchObject({ copied: 0, exists: A08.entries.length });
  });

  it("A09: installs into a folder and records the same manifest in a local registry", async () => {
    const dest = join(work, "installed");
    const local = await openRegistry(join(work, "registry-installed"));
    const pkg = await Package.browse(`s3://${s3.bucket}/${name}`, { remotes });
    try {
      await pkg.install(dest, { destRegistry: local, now: () => clockOf(A09) });
    } finally {
      await pkg.close();
    }
    const wanted = (A09.op_results[1] as { dest_files: { path: string; size: number; sha256: string }[] }).dest_files;
    const files = filesUnder(dest).filter((f) => !f.startsWith(".quiltkit/"));
    expect(files.sort()).toEqual(wanted.map((f) => f.path).sort());
    for (const f of wanted) {
      expect(createHash("sha256").update(await readFile(join(dest, f.path))).digest("hex")).toBe(f.sha256);
    }
    const timestamp = String(clockOf(A09));
    expect(await local.readPointer(name, timestamp)).toBe(A09.top_hash);
    const reopened = await Package.browse(name, { registry: local, remotes });
    try {
      expect(reopened.topHash).toBe(A09.top_hash);
      for await (const entry of reopened.entries()) expect(entry.physicalKey.startsWith(`s3://${s3.bucket}/`)).toBe(true);
    } finally {
      await reopened.close();
    }
  });
});

async function manifestEntries(bytes: Buffer): Promise<{ logical_key: string; physical_key: string; hash: unknown }[]> {
  const out: { logical_key: string; physical_key: string; hash: unknown }[] = [];
  for await (const record of readManifestRecords(toChunks(bytes))) {
    if (record.kind !== "entry") continue;
    const e = record.entry;
    out.push({ logical_key: e.logicalKey, physical_key: e.physicalKey, hash: { type: e.hash.type, value: e.hash.value } });
  }
  return out;
}


async function* toChunks(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield await Promise.resolve(bytes);
}
