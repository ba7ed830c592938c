/**
 * Pushing and installing whole packages through the fault-injecting proxy (test/helpers/fault-proxy.ts)
 * in front of versitygw. Whatever a seeded fault does, the outcome is all or nothing: either the
 * push (install) succeeds and what landed is exactly the package, or it fails with a QuiltError and
 * nothing corrupt is visible (no pointer to an incomplete revision, no partial file under its final
 * name); in both cases a rerun with the faults off finishes the job. Every check of what landed in
 * the bucket goes to versitygw directly, not through the proxy.
 *
 * The last block targets, with one fault each, the loss of a multipart upload's first and last
 * answers: no stray upload is left, and the entry is still pinned to the version written.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { QuiltError } from "../src/errors/index.js";
import { HashPool } from "../src/hash/index.js";
import { openRegistry, Package, PackageBuilder } from "../src/package/index.js";
import type { Registry } from "../src/registry/registry.js";
import { parsePhysicalKey, Remotes } from "../src/storage/index.js";
import { collect } from "./helpers/expect.js";
import { startFaultProxy, type FaultKind, type FaultOptions, type FaultProxy } from "./helpers/fault-proxy.js";
import { clientOptionsOf } from "./helpers/s3-server.js";
import { deterministicBytes } from "./helpers/bytes.js";

const s3 = inject("s3");
const MiB = 1024 * 1024;
/** Longer than requestTimeoutMs, so a stall is a real stall. */
const STALL_MS = 2_000;
/** Codes a push or an install may fail with when the network or the server keeps failing. */
const FAULT_CODES = ["STORAGE_NETWORK", "STORAGE_IO_ERROR", "INSTALL_READ_FAILED"];

interface FaultCase {
  readonly label: string;
  readonly faults: Pick<FaultOptions, "seed" | "rate" | "kinds"> & { readonly onlyMethods?: readonly string[] };
  /** SDK attempts per request. */
  readonly maxAttempts: number;
}

/**
 * drop-mid-body spares POST here: a lost CreateMultipartUpload or CompleteMultipartUpload answer
 * is a known defect, pinned deterministically in "lost multipart answers" below.
 */
const NOT_POST = ["GET", "HEAD", "PUT", "DELETE"];
const PUSH_CASES: readonly FaultCase[] = [
  { label: "drop", faults: { seed: 7101, rate: 0.2, kinds: ["drop"] }, maxAttempts: 8 },
  { label: "500", faults: { seed: 7202, rate: 0.2, kinds: ["500"] }, maxAttempts: 8 },
  { label: "503", faults: { seed: 7303, rate: 0.2, kinds: ["503"] }, maxAttempts: 8 },
  { label: "stall", faults: { seed: 7404, rate: 0.15, kinds: ["stall"] }, maxAttempts: 8 },
  { label: "drop-mid-body", faults: { seed: 7505, rate: 0.2, kinds: ["drop-mid-body"], onlyMethods: NOT_POST }, maxAttempts: 8 },
  // Meant to fail part-way, so that the failure branch is exercised too.
  { label: "harsh (half of all requests, 2 attempts)", faults: { seed: 7606, rate: 0.5, kinds: ["drop", "500", "503"] }, maxAttempts: 2 },
];
const INSTALL_CASES: readonly FaultCase[] = [
  { label: "drop", faults: { seed: 8101, rate: 0.2, kinds: ["drop"] }, maxAttempts: 8 },
  { label: "500", faults: { seed: 8202, rate: 0.2, kinds: ["500"] }, maxAttempts: 8 },
  { label: "503", faults: { seed: 8303, rate: 0.2, kinds: ["503"] }, maxAttempts: 8 },
  { label: "stall", faults: { seed: 8404, rate: 0.15, kinds: ["stall"] }, maxAttempts: 8 },
  { label: "drop-mid-body", faults: { seed: 8505, rate: 0.25, kinds: ["drop-mid-body"] }, maxAttempts: 8 },
  // Cut bodies are retried by readRanged (4 attempts): at this rate some piece runs out of them.
  { label: "harsh (drop-mid-body on 70 percent of GETs)", faults: { seed: 8606, rate: 0.7, kinds: ["drop-mid-body"], onlyMethods: ["GET"] }, maxAttempts: 8 },
];

const run = randomBytes(4).toString("hex");
let proxy: FaultProxy;
let root = "";
/** The bucket as it is, around the proxy. */
const direct = new Remotes(clientOptionsOf(s3));
let registry: Registry;
/** One hash pool for every build and verify (a worker start costs seconds under vitest). */
let pool: HashPool;
const opened: Remotes[] = [direct];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiltkit-push-faults-"));
  proxy = await startFaultProxy(s3.endpoint, { seed: 1, rate: 0, stallMs: STALL_MS });
  registry = await openRegistry(`s3://${s3.bucket}`, { remotes: direct });
  pool = new HashPool({ size: 2 });
});
afterAll(async () => {
  for (const remotes of opened) remotes.close();
  await pool?.close();
  await proxy?.close();
  if (root !== "") await rm(root, { recursive: true, force: true });
});

/** The multipart uploads the client started, and how each ended, as the client saw the answers. */
interface UploadLog {
  readonly created: Set<string>;
  readonly completed: Set<string>;
  readonly aborted: Set<string>;
}

/**
 * Remotes whose requests all go through the proxy, with short timeouts. A middleware outside the
 * SDK's retries notes every multipart upload the client was told of, and its end; `before` runs
 * before each command is sent (a test arms a fault there).
 */
async function viaProxy(maxAttempts = 8, before?: (command: string) => void): Promise<{ remotes: Remotes; uploads: UploadLog }> {
  const remotes = new Remotes({ ...clientOptionsOf(s3), endpoint: proxy.endpoint, requestTimeoutMs: 1_500, connectionTimeoutMs: 1_000, maxAttempts });
  opened.push(remotes);
  const uploads: UploadLog = { created: new Set(), completed: new Set(), aborted: new Set() };
  const storage = await remotes.s3(s3.bucket);
  storage.client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? "";
      before?.(command);
      const result = await next(args);
      const input = args.input as { UploadId?: unknown };
      const output = result.output as { UploadId?: unknown } | undefined;
      if (command === "CreateMultipartUploadCommand" && typeof output?.UploadId === "string") uploads.created.add(output.UploadId);
      if (command === "CompleteMultipartUploadCommand" && typeof input.UploadId === "string") uploads.completed.add(input.UploadId);
      if (command === "AbortMultipartUploadCommand" && typeof input.UploadId === "string") uploads.aborted.add(input.UploadId);
      return result;
    },
    { step: "initialize", name: "quiltkitTestUploadLog" },
  );
  return { remotes, uploads };
}

const bytes = deterministicBytes;

/** 40 small files in nested folders (one empty), an id, and two multipart-sized files. */
function treeFiles(id: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 40; i++) {
    const folder = ["", "a/", "a/b/", "a/b/c/", "data/x/", "data/y/z/"][i % 6] as string;
    files.set(`${folder}file-${String(i).padStart(2, "0")}.bin`, bytes(i === 0 ? 0 : (i * 7_919) % 70_000, `small-${i}`));
  }
  // A distinct top hash per scenario: a manifest already stored under the same top hash would be
  // reused, physical keys and all, and hide what this push wrote.
  files.set("id.txt", Buffer.from(`scenario ${id}\n`));
  files.set("big/nine.bin", bytes(9 * MiB, "nine")); // 2 parts of quilt3's 8 MiB
  files.set("big/deep/seventeen.bin", bytes(17 * MiB, "seventeen")); // 3 parts
  return files;
}

interface Scenario {
  readonly name: string;
  readonly dir: string;
  readonly files: Map<string, Buffer>;
  /** The top hash of the folder pushed cleanly (computed locally: physical keys do not count). */
  readonly topHash: string;
}

let scenarios = 0;
async function scenario(label: string, files: (id: string) => Map<string, Buffer> = treeFiles): Promise<Scenario> {
  const name = `pushfaults-${run}/${label.replace(/[^a-z0-9-]+/g, "-")}-${scenarios++}`;
  const dir = join(root, name.replace("/", "_"));
  const content = files(name);
  for (const [key, data] of content) {
    await mkdir(dirname(join(dir, key)), { recursive: true });
    await writeFile(join(dir, key), data);
  }
  const topHash = await builderOf(name, dir).then(async (builder) => {
    try {
      return await builder.buildManifest({ message: "m" });
    } finally {
      await builder.dispose();
    }
  });
  return { name, dir, files: content, topHash };
}

async function builderOf(name: string, dir: string): Promise<PackageBuilder> {
  const builder = new PackageBuilder({ name, pool });
  await builder.setDir("", dir);
  return builder;
}


/**
 * Revision `topHash` of `sc.name`, read directly: it browses (its manifest matches its top hash),
 * has exactly the scenario's keys, each pinned to a version under `<name>/`, holding the file's bytes.
 */
async function checkRevision(sc: Scenario, topHash: string): Promise<void> {
  const pkg = await Package.browse(sc.name, { registry, remotes: direct, hash: topHash, pool });
  try {
    const entries = await collect(pkg.entries());
    expect(entries.map((e) => e.logicalKey).sort()).toEqual([...sc.files.keys()].sort());
    for (const entry of entries) {
      const pk = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false });
      expect(pk, entry.logicalKey).toMatchObject({ kind: "s3", bucket: s3.bucket, path: `${sc.name}/${entry.logicalKey}` });
      expect(pk.kind === "s3" ? pk.versionId : undefined, `${entry.physicalKey} is pinned`).toBeDefined();
      const data = Buffer.concat(await collect(pkg.readEntry(entry)));
      expect(data.equals(sc.files.get(entry.logicalKey) as Buffer), `bytes of ${entry.logicalKey}`).toBe(true);
    }
  } finally {
    await pkg.close();
  }
}

/**
 * What anyone can see of `sc.name` is sound: every pointer names the one revision there can be,
 * and that revision, when its manifest is stored at all, is complete. Returns `latest`.
 */
async function checkVisibleState(sc: Scenario): Promise<string | undefined> {
  const pointers = await collect(registry.listPointers(sc.name));
  for (const pointer of pointers) expect(pointer.topHash, `pointer ${pointer.pointer}`).toBe(sc.topHash);
  if (pointers.length > 0 || (await registry.hasManifest(sc.topHash))) await checkRevision(sc, sc.topHash);
  const latest = await registry.currentLatest(sc.name);
  expect(pointers.some((p) => p.kind === "latest")).toBe(latest !== undefined);
  return latest;
}

/**
 * Every multipart upload the client started was completed or aborted, and none is pending in the
 * bucket (an abort is repeated until the listing no longer shows the upload: a part the server was
 * still storing can bring an aborted upload back, as S3 documents and versitygw shows).
 */
async function expectNoLeftUploads(sc: Scenario, uploads: UploadLog): Promise<void> {
  for (const id of uploads.created) expect(uploads.completed.has(id) || uploads.aborted.has(id), `upload ${id} neither completed nor aborted`).toBe(true);
  const pending = await (await direct.s3(s3.bucket)).pendingUploads(`${sc.name}/`);
  expect(pending.map((u) => `${u.key} ${u.uploadId}`)).toEqual([]);
}

/** Runs `fn` with `faults` on; whatever happens, they are off afterwards. */
async function withFaults<T>(faults: FaultCase["faults"], fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  proxy.configure({ onlyMethods: undefined, maxFaults: undefined, ...faults });
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  } finally {
    proxy.configure({ rate: 0, onlyMethods: undefined });
  }
}

function faultCount(kinds: readonly FaultKind[]): number {
  const faults = proxy.stats().faults;
  return kinds.reduce((sum, kind) => sum + faults[kind], 0);
}

function expectFaultError(error: unknown): void {
  if (!(error instanceof QuiltError)) throw error;
  expect(FAULT_CODES, `${error.code}: ${error.message}`).toContain(error.code);
}

describe("push through faults", () => {
  it.each(PUSH_CASES)("$label: the push lands whole or fails cleanly, and a clean rerun lands the same revision", async ({ label, faults, maxAttempts }) => {
    const sc = await scenario(`push-${label}`);
    const { remotes, uploads } = await viaProxy(maxAttempts);
    const viaRegistry = await openRegistry(`s3://${s3.bucket}`, { remotes });
    const builder = await builderOf(sc.name, sc.dir);
    try {
      const before = faultCount(faults.kinds);
      const outcome = await withFaults(faults, () => builder.push({ registry: viaRegistry, name: sc.name, message: "m" }));
      expect(faultCount(faults.kinds)).toBeGreaterThan(before);
      if (outcome.ok) {
        expect(outcome.value.topHash).toBe(sc.topHash);
        expect(outcome.value.data.copied + outcome.value.data.exists).toBe(sc.files.size);
        expect(await checkVisibleState(sc)).toBe(sc.topHash);
      } else {
        expectFaultError(outcome.error);
        // Nothing half-made is visible: latest is absent or names a complete revision (checked).
        expect([undefined, sc.topHash]).toContain(await checkVisibleState(sc));
      }
      await expectNoLeftUploads(sc, uploads);

      // The same builder again, faults off: what landed is found in place, the revision is the same.
      const again = await builder.push({ registry: viaRegistry, name: sc.name, message: "m" });
      expect(again.topHash).toBe(sc.topHash);
      expect(again.data.copied + again.data.exists + again.data.referenced).toBe(sc.files.size);
      if (outcome.ok) {
        expect(again.data.referenced).toBe(sc.files.size); // its entries point into the registry now
        const pointers = await collect(registry.listPointers(sc.name));
        expect(pointers.every((p) => p.topHash === sc.topHash)).toBe(true);
        expect(await registry.currentLatest(sc.name)).toBe(sc.topHash); // same manifest, checked above
      } else {
        expect(await checkVisibleState(sc)).toBe(sc.topHash);
      }
      await expectNoLeftUploads(sc, uploads);
    } finally {
      await builder.dispose();
    }
  });
});

/** Every file under `dir` (relative, `/`-separated), `.quiltkit/` left out; none when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let items;
    try {
      items = await readdir(join(dir, rel), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && rel === "") return;
      throw error;
    }
    for (const item of items) {
      const path = rel === "" ? item.name : `${rel}/${item.name}`;
      if (item.isDirectory()) {
        if (path !== ".quiltkit") await walk(path);
      } else {
        out.push(path);
      }
    }
  };
  await walk("");
  return out.sort();
}

describe("install through faults", () => {
  let sc: Scenario;
  beforeAll(async () => {
    sc = await scenario("install");
    const builder = await builderOf(sc.name, sc.dir);
    try {
      expect((await builder.push({ registry, name: sc.name, message: "m" })).topHash).toBe(sc.topHash);
    } finally {
      await builder.dispose();
    }
  });

  it.each(INSTALL_CASES)("$label: the install completes verified or fails leaving only whole files, and a clean rerun skips them", async ({ label, faults, maxAttempts }) => {
    const { remotes } = await viaProxy(maxAttempts);
    const pkg = await Package.browse(`s3://${s3.bucket}/${sc.name}`, { remotes, pool }); // faults off
    const dest = join(root, `install-${label.replace(/[^a-z0-9-]+/g, "-")}`);
    try {
      const before = faultCount(faults.kinds);
      const outcome = await withFaults(faults, () => pkg.install(dest));
      expect(faultCount(faults.kinds)).toBeGreaterThan(before);
      if (outcome.ok) {
        expect(outcome.value.files + outcome.value.skipped).toBe(sc.files.size);
        expect(await pkg.verify(dest)).toMatchObject({ matches: true, added: [], modified: [], deleted: [] });
      } else {
        expectFaultError(outcome.error);
      }
      // Only whole files under their final names: no temp file left, nothing short or wrong.
      const present = await filesUnder(dest);
      for (const path of present) {
        const expected = sc.files.get(path);
        expect(expected, `unexpected file ${path}`).toBeDefined();
        expect((await readFile(join(dest, path))).equals(expected as Buffer), `content of ${path}`).toBe(true);
      }
      if (outcome.ok) expect(present.length).toBe(sc.files.size);

      const again = await pkg.install(dest);
      expect(again.skipped).toBe(present.length);
      expect(again.files).toBe(sc.files.size - present.length);
      expect(await pkg.verify(dest)).toMatchObject({ matches: true, added: [], modified: [], deleted: [] });
    } finally {
      await pkg.close();
    }
  });
});

describe("abort", () => {
  it("an aborted push is INTERRUPTED, leaves no multipart upload of its own pending and no pointer; a rerun succeeds", async () => {
    const sc = await scenario("abort");
    const { remotes, uploads } = await viaProxy(); // faults off: only the abort
    const viaRegistry = await openRegistry(`s3://${s3.bucket}`, { remotes });
    const builder = await builderOf(sc.name, sc.dir);
    const controller = new AbortController();
    let abortedAt: { files: number; bytes: number } | undefined;
    try {
      let failure: unknown;
      try {
        await builder.push({
          registry: viaRegistry,
          name: sc.name,
          message: "m",
          signal: controller.signal,
          concurrency: 4,
          // Once the first 8 MiB part of a big file is in: its multipart upload is under way.
          onProgress: (progress) => {
            if (abortedAt === undefined && progress.bytes >= 8 * MiB) {
              abortedAt = progress;
              controller.abort(new Error("test abort"));
            }
          },
        });
      } catch (error) {
        failure = error;
      }
      expect(abortedAt).toBeDefined();
      expect(failure).toBeInstanceOf(QuiltError);
      expect(failure).toMatchObject({ code: "INTERRUPTED", kind: "interrupted" });
      expect(uploads.created.size).toBeGreaterThan(0);
      await expectNoLeftUploads(sc, uploads);
      expect(await collect(registry.listPointers(sc.name))).toEqual([]);
      expect(await registry.hasManifest(sc.topHash)).toBe(false);

      const firstRun = new Set(uploads.created);
      const again = await builder.push({ registry: viaRegistry, name: sc.name, message: "m" });
      expect(again.topHash).toBe(sc.topHash);
      expect(again.data.copied + again.data.exists).toBe(sc.files.size);
      expect(again.data.exists).toBeGreaterThan(0); // what landed before the abort was kept
      expect(await checkVisibleState(sc)).toBe(sc.topHash);
      // The rerun leaves nothing. An upload of the first run was gone after its abort (checked
      // above), but S3 documents that a part still in flight can bring it back later; versitygw
      // did so once under heavy load, seconds after. Such a one must at least be one we aborted.
      const pending = await (await direct.s3(s3.bucket)).pendingUploads(`${sc.name}/`);
      for (const upload of pending) {
        expect(firstRun.has(upload.uploadId) && uploads.aborted.has(upload.uploadId), `${upload.key} ${upload.uploadId}`).toBe(true);
      }
      for (const id of uploads.created) expect(uploads.completed.has(id) || uploads.aborted.has(id), `upload ${id} neither completed nor aborted`).toBe(true);
    } finally {
      await builder.dispose();
    }
  });
});

/** One 9 MiB file (a multipart upload of 2 parts) and a small one: the push's only POSTs are that upload's. */
const oneBigFile = (id: string): Map<string, Buffer> =>
  new Map([
    ["id.txt", Buffer.from(`scenario ${id}\n`)],
    ["big/nine.bin", bytes(9 * MiB, "nine")],
  ]);

/** Pushes `sc` with the answer to the first `command` cut mid-body (the server did the work). */
async function pushLosingAnswerTo(sc: Scenario, command: string): Promise<{ topHash: string; uploads: UploadLog }> {
  let armed = false;
  const { remotes, uploads } = await viaProxy(8, (sent) => {
    if (sent !== command || armed) return;
    armed = true;
    proxy.configure({ rate: 1, kinds: ["drop-mid-body"], onlyMethods: ["POST"], maxFaults: 1 });
  });
  const viaRegistry = await openRegistry(`s3://${s3.bucket}`, { remotes });
  const builder = await builderOf(sc.name, sc.dir);
  const before = faultCount(["drop-mid-body"]);
  try {
    const pushed = await builder.push({ registry: viaRegistry, name: sc.name, message: "m" });
    expect(faultCount(["drop-mid-body"])).toBe(before + 1);
    return { topHash: pushed.topHash, uploads };
  } finally {
    proxy.configure({ rate: 0, onlyMethods: undefined, maxFaults: undefined });
    await builder.dispose();
  }
}

describe("lost multipart answers", () => {
  // The SDK retries a CreateMultipartUpload whose answer was lost, so the server starts a second
  // upload; the first (whose id the client never learned) must be found and aborted.
  it("a lost CreateMultipartUpload answer leaves no orphaned multipart upload", async () => {
    const sc = await scenario("lost-create", oneBigFile);
    const { topHash } = await pushLosingAnswerTo(sc, "CreateMultipartUploadCommand");
    expect(topHash).toBe(sc.topHash);
    expect((await (await direct.s3(s3.bucket)).pendingUploads(`${sc.name}/`)).map((u) => u.key)).toEqual([]);
  });

  // A retried CompleteMultipartUpload is answered (by versitygw) without a VersionId: the version
  // must come from HeadObject, whose checksum proves it is the one written.
  it("a lost CompleteMultipartUpload answer still pins the entry to the version written", async () => {
    const sc = await scenario("lost-complete", oneBigFile);
    const { topHash } = await pushLosingAnswerTo(sc, "CompleteMultipartUploadCommand");
    expect(topHash).toBe(sc.topHash);
    await checkRevision(sc, sc.topHash);
  });
});
