import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { loadQuilt3Vectors, QUILT3_VECTORS, type VectorCase } from "../../test/helpers/shared.js";
import { ConflictError, NotFoundError } from "../errors/index.js";
import { compareCodePoints } from "../json/code-point-order.js";
import { topHashOf } from "../manifest/index.js";
import { LocalStorage } from "../storage/local.js";
import type { ListItem, ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "../storage/types.js";
import { Registry, type PointerInfo } from "./registry.js";
import { rejectionOf, collect } from "../../test/helpers/expect.js";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const vectors = loadQuilt3Vectors();
const setA = vectors.cases.filter((c) => /^A0[1-7]-/.test(c.id));
const QUILT3_REGISTRY = vectors.fixed_paths.local_registry.replace(/^file:\/\//, "");

const base = mkdtempSync(join(tmpdir(), "quiltkit-registry-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
let root: string;
let storage: LocalStorage;
let registry: Registry;
beforeEach(() => {
  root = join(base, `r${n++}`);
  mkdirSync(root);
  storage = new LocalStorage(root);
  registry = new Registry(storage);
});

const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");
/** A made-up top hash that starts with `prefix`. */
const fakeHash = (prefix: string, seed: string): string => (prefix + sha256(seed)).slice(0, 64);

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string, rel = ""): string[] {
  if (!existsSync(join(dir, rel))) return [];
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? filesUnder(dir, rel === "" ? d.name : `${rel}/${d.name}`) : [rel === "" ? d.name : `${rel}/${d.name}`]))
    .sort();
}

function writeFile(rel: string, data: string | Buffer): void {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

const manifestBytes = (file: string): Buffer => readFileSync(join(QUILT3_VECTORS, file));

interface Build {
  name: string;
  topHash: string;
  clock: number;
  manifest: Buffer;
}

/** The builds of a vector case, with the clock value each ran under and its manifest bytes. */
function buildsOf(c: VectorCase): Build[] {
  const builds: Build[] = [];
  let clock: number | undefined;
  c.ops.forEach((op, i) => {
    if (op.op === "clock") clock = op.unix_time as number;
    if (op.op !== "build") return;
    const topHash = (c.op_results[i] as { top_hash: string }).top_hash;
    const write = c.registry_writes.find((w) => w.kind === "manifest" && w.path.endsWith(`/${topHash}`));
    if (clock === undefined || write?.file === undefined) throw new Error(`${c.id}: no clock or manifest for ${topHash}`);
    builds.push({ name: op.name as string, topHash, clock, manifest: manifestBytes(write.file) });
  });
  return builds;
}

/** What quilt3 left in its registry after A01–A07: relative path -> write. */
function expectedRegistry(): Map<string, VectorCase["registry_writes"][number]> {
  const files = new Map<string, VectorCase["registry_writes"][number]>();
  for (const c of setA) for (const w of c.registry_writes) files.set(w.path.slice(QUILT3_REGISTRY.length + 1), w);
  return files;
}

/** Lay out a registry exactly as quilt3 wrote it, without our push. */
function layOutQuilt3Registry(): void {
  for (const [rel, w] of expectedRegistry()) writeFile(rel, w.kind === "pointer" ? (w.content ?? "") : manifestBytes(w.file ?? ""));
}

const a07 = setA.find((c) => c.id.startsWith("A07")) as VectorCase;
const a07Result = (op: string): unknown => a07.op_results[a07.ops.findIndex((o) => o.op === op)];
const A07_VERSIONS = (a07Result("list_versions") as { versions: [string, string][] }).versions;
const A07_PACKAGES = (a07Result("list_packages") as { packages: string[] }).packages;

/** A local storage that records calls and can slow writes down (still a LocalStorage: file locks). */
class SpyStorage extends LocalStorage {
  readonly lists: string[] = [];
  readonly writes: { key: string; body: string }[] = [];
  delayMs = 0;
  onWrite: ((key: string) => void) | undefined;
  override async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteOptions): Promise<ObjectInfo> {
    this.onWrite?.(key);
    if (this.delayMs > 0) await new Promise((done) => setTimeout(done, this.delayMs));
    const info = await super.write(key, body, options);
    this.writes.push({ key, body: body instanceof Uint8Array ? Buffer.from(body).toString() : "(stream)" });
    return info;
  }
  override list(prefix: string, options?: ListOptions): AsyncIterable<ListItem> {
    this.lists.push(prefix);
    return super.list(prefix, options);
  }
}

/** An in-memory Storage with S3's listing semantics: proves the registry needs nothing local. */
class MemoryStorage implements Storage {
  readonly url = "mem://test";
  readonly objects = new Map<string, Buffer>();
  async *read(key: string, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    const data = this.objects.get(key);
    if (data === undefined) throw new NotFoundError("OBJECT_NOT_FOUND", `${this.url}/${key} does not exist.`);
    await Promise.resolve();
    yield options.range === undefined ? data : data.subarray(options.range.start, options.range.end);
  }
  async readAll(key: string, options?: ReadOptions): Promise<Buffer> {
    return Buffer.concat(await collect(this.read(key, options)));
  }
  stat(key: string): Promise<ObjectInfo | undefined> {
    const data = this.objects.get(key);
    return Promise.resolve(data === undefined ? undefined : { key, size: data.length });
  }
  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    const data = body instanceof Uint8Array ? Buffer.from(body) : Buffer.concat(await collect(body));
    if (options.ifNoneMatch === true && this.objects.has(key)) throw new ConflictError("OBJECT_EXISTS", `${key} exists`);
    this.objects.set(key, data);
    return { key, size: data.length };
  }
  async *list(prefix: string, options: ListOptions = {}): AsyncGenerator<ListItem> {
    await Promise.resolve();
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    let lastPrefix: string | undefined;
    for (const key of keys) {
      const slash = options.delimiter === "/" ? key.indexOf("/", prefix.length) : -1;
      if (slash < 0) {
        yield { kind: "object", key, size: (this.objects.get(key) as Buffer).length };
      } else if (key.slice(0, slash + 1) !== lastPrefix) {
        lastPrefix = key.slice(0, slash + 1);
        yield { kind: "prefix", prefix: lastPrefix };
      }
    }
  }
  delete(key: string): Promise<void> {
    this.objects.delete(key);
    return Promise.resolve();
  }
}

// ---------------------------------------------------------------------------------------------
// quilt3 vectors
// ---------------------------------------------------------------------------------------------

describe("quilt3 vectors A01–A07", () => {
  it("pushManifest writes exactly the files and bytes quilt3 wrote", async () => {
    for (const c of setA) {
      for (const build of buildsOf(c)) {
        const result = await registry.pushManifest(build.name, build.topHash, (key) => storage.write(key, build.manifest).then(() => undefined), {
          now: () => build.clock,
        });
        expect(result).toEqual({
          name: build.name,
          topHash: build.topHash,
          manifestKey: `.quilt/packages/${build.topHash}`,
          manifestWritten: true,
          timestamp: String(build.clock),
          pointers: [String(build.clock), "latest"],
          deduped: false,
        });
      }
    }
    const expected = expectedRegistry();
    const ours = filesUnder(root).filter((f) => !f.startsWith(".quilt/quiltkit/"));
    expect(ours).toEqual([...expected.keys()].sort());
    for (const [rel, w] of expected) {
      const bytes = readFileSync(join(root, rel));
      expect(bytes.length, rel).toBe(w.size);
      expect(sha256(bytes), rel).toBe(w.sha256);
      if (w.kind === "pointer") {
        expect(bytes.toString("latin1")).toBe(w.content);
        expect(bytes.length).toBe(64);
      }
    }
    // The locks are gone, and they never were where quilt3 lists.
    expect(filesUnder(root, ".quilt/quiltkit")).toEqual([]);
  });

  it("lists A07's versions and the registry's packages as quilt3 does", async () => {
    for (const c of setA) {
      for (const b of buildsOf(c)) await registry.pushManifest(b.name, b.topHash, (key) => storage.write(key, b.manifest).then(() => undefined), { now: () => b.clock });
    }
    const pointers = await collect(registry.listPointers("test/revs"));
    expect(pointers.map((p) => [p.pointer, p.topHash])).toEqual(A07_VERSIONS);
    expect(pointers.map((p) => p.kind)).toEqual(["timestamp", "timestamp", "latest"]);
    expect(await collect(registry.listPackages())).toEqual(A07_PACKAGES);
  });

  it("reads a registry laid out by quilt3", async () => {
    layOutQuilt3Registry();
    expect(await collect(registry.listPackages())).toEqual(A07_PACKAGES);
    expect((await collect(registry.listPointers("test/revs"))).map((p) => [p.pointer, p.topHash])).toEqual(A07_VERSIONS);
    for (const c of setA) {
      const last = buildsOf(c).at(-1) as Build;
      const resolved = await registry.resolve({ name: last.name });
      expect(resolved).toBe(c.top_hash);
      expect(await registry.resolve({ name: last.name, tag: "latest" })).toBe(c.top_hash);
      expect(await registry.resolve({ name: last.name, hash: c.top_hash })).toBe(c.top_hash);
      expect(await registry.resolve({ name: last.name, hash: c.top_hash.slice(0, 6) })).toBe(c.top_hash);
      expect(await registry.resolve({ name: last.name, hash: c.top_hash.slice(0, 10).toUpperCase() })).toBe(c.top_hash);
      // The manifest stored under the hash really has that top hash.
      expect(await topHashOf(() => storage.read(registry.manifestKey(resolved)))).toBe(c.top_hash);
      expect(await registry.shortHash(c.top_hash)).toBe(c.top_hash.slice(0, 7));
    }
    const [first] = A07_VERSIONS[0] as [string, string];
    expect(await registry.resolve({ name: "test/revs", tag: first })).toBe(A07_VERSIONS[0]?.[1]);
  });
});

// ---------------------------------------------------------------------------------------------
// Pointers
// ---------------------------------------------------------------------------------------------

describe("pointers", () => {
  const h = fakeHash("", "one");

  it("are written as exactly 64 hex bytes, no newline", async () => {
    writeFile(`.quilt/packages/${h}`, "{}\n");
    await registry.writePointer("u/p", "latest", h);
    expect(readFileSync(join(root, ".quilt/named_packages/u/p/latest"))).toEqual(Buffer.from(h, "ascii"));
    expect(await registry.readPointer("u/p", "latest")).toBe(h);
    expect((await rejectionOf(() => registry.writePointer("u/p", "latest", `${h}\n`))).code).toBe("TOP_HASH_INVALID");
    expect((await rejectionOf(() => registry.writePointer("u/p", "latest", h.toUpperCase()))).code).toBe("TOP_HASH_INVALID");
    expect((await rejectionOf(() => registry.writePointer("u/p", "../x", h))).code).toBe("POINTER_NAME_INVALID");
  });

  it.each([
    ["a trailing newline", `${fakeHash("", "nl")}\n`, "trailing newline"],
    ["CRLF", `${fakeHash("", "nl")}\r\n`, "trailing newline"],
    ["uppercase hex", fakeHash("", "up").toUpperCase(), "not 64 lowercase hex"],
    ["a short hash", "abc", "3 bytes"],
    ["nothing", "", "0 bytes"],
    ["garbage", "x".repeat(500), "more than 64 bytes"],
  ])("refuse %s (IntegrityError POINTER_INVALID)", async (_what, content, why) => {
    writeFile(".quilt/named_packages/u/bad/latest", content);
    for (const run of [
      () => registry.readPointer("u/bad", "latest"),
      () => registry.resolve({ name: "u/bad" }),
      () => collect(registry.listPointers("u/bad")),
    ]) {
      const error = await rejectionOf(run);
      expect(error.code).toBe("POINTER_INVALID");
      expect(error.kind).toBe("integrity");
      expect(error.message).toContain(".quilt/named_packages/u/bad/latest");
      expect(error.message).toContain(why);
      expect(error.hint).toContain("no newline");
    }
  });

  it("a missing package is PACKAGE_NOT_FOUND, a missing tag REVISION_NOT_FOUND, both with hints", async () => {
    const missingPackage = await rejectionOf(() => registry.resolve({ name: "no/such" }));
    expect(missingPackage).toBeInstanceOf(NotFoundError);
    expect(missingPackage.code).toBe("PACKAGE_NOT_FOUND");
    expect(missingPackage.message).toContain("no/such");
    expect(missingPackage.hint).toContain("quilt packages");

    writeFile(`.quilt/packages/${h}`, "{}\n");
    await registry.writePointer("u/p", "latest", h);
    const missingTag = await rejectionOf(() => registry.resolve({ name: "u/p", tag: "v9" }));
    expect(missingTag.code).toBe("REVISION_NOT_FOUND");
    expect(missingTag.message).toContain("v9");
    expect(missingTag.hint).toContain("quilt versions u/p");
  });
});

// ---------------------------------------------------------------------------------------------
// resolve
// ---------------------------------------------------------------------------------------------

describe("resolve", () => {
  const h1 = fakeHash("abcdef12", "1");
  const h2 = fakeHash("abcdef34", "2");
  const other = fakeHash("fedcba", "3"); // a manifest of another package only
  const dangling = fakeHash("777777", "4"); // a pointer without its manifest
  beforeEach(async () => {
    for (const h of [h1, h2, other]) writeFile(`.quilt/packages/${h}`, "{}\n");
    await registry.writePointer("u/p", "1700000000", h1);
    await registry.writePointer("u/p", "1700000100", h2);
    await registry.writePointer("u/p", "latest", h2);
    await registry.writePointer("u/p", "v1", h1);
    await registry.writePointer("u/p", "broken", dangling);
    await registry.writePointer("x/y", "latest", other);
  });

  it("latest by default, a tag by its pointer, a full hash as is", async () => {
    expect(await registry.resolve({ name: "u/p" })).toBe(h2);
    expect(await registry.resolve({ name: "u/p", tag: "v1" })).toBe(h1);
    expect(await registry.resolve({ name: "u/p", hash: h1 })).toBe(h1);
  });

  it("a prefix lists only the matching manifests, not the whole folder", async () => {
    const spy = new SpyStorage(root);
    const r = new Registry(spy);
    expect(await r.resolve({ name: "u/p", hash: "abcdef1" })).toBe(h1);
    expect(spy.lists).toContain(".quilt/packages/abcdef1");
    expect(spy.lists).not.toContain(".quilt/packages/");
  });

  it("an ambiguous prefix is HASH_PREFIX_AMBIGUOUS listing the candidates and their pointers", async () => {
    const error = await rejectionOf(() => registry.resolve({ name: "u/p", hash: "abcdef" }));
    expect(error.code).toBe("HASH_PREFIX_AMBIGUOUS");
    expect(error.kind).toBe("usage");
    expect(error.message).toContain(`${h1} (u/p: 1700000000, v1)`);
    expect(error.message).toContain(`${h2} (u/p: 1700000100, latest)`);
    expect(error.hint).toContain("more hex digits");
  });

  it("matches every manifest of the registry, as quilt3 does", async () => {
    expect(await registry.resolve({ name: "u/p", hash: "fedcba" })).toBe(other);
  });

  it("no match: REVISION_NOT_FOUND (or PACKAGE_NOT_FOUND for an unknown package)", async () => {
    const error = await rejectionOf(() => registry.resolve({ name: "u/p", hash: "012345" }));
    expect(error.code).toBe("REVISION_NOT_FOUND");
    expect(error.message).toContain("012345");
    expect(error.hint).toContain("quilt versions u/p");
    expect((await rejectionOf(() => registry.resolve({ name: "no/pkg", hash: "012345" }))).code).toBe("PACKAGE_NOT_FOUND");
  });

  it("a full hash without its manifest is REVISION_NOT_FOUND / PACKAGE_NOT_FOUND", async () => {
    expect((await rejectionOf(() => registry.resolve({ name: "u/p", hash: fakeHash("", "nope") }))).code).toBe("REVISION_NOT_FOUND");
    expect((await rejectionOf(() => registry.resolve({ name: "no/pkg", hash: fakeHash("", "nope") }))).code).toBe("PACKAGE_NOT_FOUND");
  });

  it("a pointer whose manifest is missing is MANIFEST_NOT_FOUND naming both", async () => {
    for (const request of [{ name: "u/p", tag: "broken" }, { name: "u/p", hash: "777777" }]) {
      const error = await rejectionOf(() => registry.resolve(request));
      expect(error.code).toMatch(/^(MANIFEST|REVISION)_NOT_FOUND$/);
      expect(error.message).toContain(dangling);
    }
  });

  it("tag and hash must agree (ConflictError TAG_HASH_MISMATCH)", async () => {
    expect(await registry.resolve({ name: "u/p", tag: "v1", hash: h1 })).toBe(h1);
    // The tag pins the revision: a prefix ambiguous elsewhere is fine here.
    expect(await registry.resolve({ name: "u/p", tag: "v1", hash: "abcdef" })).toBe(h1);
    const error = await rejectionOf(() => registry.resolve({ name: "u/p", tag: "v1", hash: h2.slice(0, 10) }));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.code).toBe("TAG_HASH_MISMATCH");
    expect(error.message).toContain(h1);
  });

  it("refuses malformed input", async () => {
    expect((await rejectionOf(() => registry.resolve({ name: "bad" }))).code).toBe("PACKAGE_NAME_INVALID");
    expect((await rejectionOf(() => registry.resolve({ name: "u/p", hash: "abc" }))).code).toBe("HASH_INVALID");
    expect((await rejectionOf(() => registry.resolve({ name: "u/p", hash: "zzzzzzz" }))).code).toBe("HASH_INVALID");
    expect((await rejectionOf(() => registry.resolve({ name: "u/p", tag: "a/b" }))).code).toBe("POINTER_NAME_INVALID");
  });

  it("shortHash: shortest unique prefix of at least 7", async () => {
    const close1 = fakeHash("123456789a", "c1");
    const close2 = fakeHash("123456789b", "c2");
    for (const h of [close1, close2]) writeFile(`.quilt/packages/${h}`, "{}\n");
    expect(await registry.shortHash(close1)).toBe("123456789a");
    expect(await registry.shortHash(h1)).toBe("abcdef1");
    expect(await registry.shortHash(other)).toBe(other.slice(0, 7));
    expect((await rejectionOf(() => registry.shortHash(dangling))).code).toBe("REVISION_NOT_FOUND");
  });
});

// ---------------------------------------------------------------------------------------------
// pushManifest
// ---------------------------------------------------------------------------------------------

describe("pushManifest", () => {
  const h1 = fakeHash("", "p1");
  const h2 = fakeHash("", "p2");
  const writer = (key: string): Promise<void> => storage.write(key, Buffer.from("{}\n")).then(() => undefined);

  it("rewrites a manifest that is there already (as quilt3: physical keys may differ); tags after latest; setLatest=false", async () => {
    const calls: string[] = [];
    const write = (key: string): Promise<void> => {
      calls.push(key);
      return writer(key);
    };
    const first = await registry.pushManifest("u/p", h1, write, { now: () => 1700000000, tags: ["v1", "stable"] });
    expect(first.manifestWritten).toBe(true);
    expect(first.pointers).toEqual(["1700000000", "latest", "v1", "stable"]);
    const second = await registry.pushManifest("u/q", h1, write, { now: () => 1700000050, setLatest: false, tags: ["v1"] });
    expect(second.manifestWritten).toBe(true);
    expect(second.pointers).toEqual(["1700000050", "v1"]);
    expect(calls).toEqual([`.quilt/packages/${h1}`, `.quilt/packages/${h1}`]);
    expect(existsSync(join(root, ".quilt/named_packages/u/q/latest"))).toBe(false);
    expect(await registry.readPointer("u/p", "stable")).toBe(h1);
  });

  it("refuses bad tags before writing anything", async () => {
    const error = await rejectionOf(() => registry.pushManifest("u/p", h1, writer, { tags: ["1234"] }));
    expect(error.code).toBe("TAG_INVALID");
    expect(filesUnder(root)).toEqual([]);
  });

  it("writes no pointer if the manifest writer did not store the manifest", async () => {
    const error = await rejectionOf(() => registry.pushManifest("u/p", h1, () => Promise.resolve(), { now: () => 1 }));
    expect(error.code).toBe("MANIFEST_NOT_WRITTEN");
    expect(filesUnder(root)).toEqual([]);
  });

  it("a push in the same second as an existing timestamp pointer takes the next second", async () => {
    const a = await registry.pushManifest("u/p", h1, writer, { now: () => 1700000000 });
    const b = await registry.pushManifest("u/p", h2, writer, { now: () => 1700000000 });
    expect([a.timestamp, b.timestamp]).toEqual(["1700000000", "1700000001"]);
    expect((await collect(registry.listPointers("u/p"))).map((p) => [p.pointer, p.topHash])).toEqual([
      ["1700000000", h1],
      ["1700000001", h2],
      ["latest", h2],
    ]);
  });

  it("waits for the clock to reach the next second (injected sleep)", async () => {
    let clock = 1700000000.25;
    const slept: number[] = [];
    const sleep = (ms: number): Promise<void> => {
      slept.push(ms);
      clock += ms / 1000;
      return Promise.resolve();
    };
    await registry.pushManifest("u/p", h1, writer, { now: () => clock, sleep });
    expect(slept).toEqual([]);
    const b = await registry.pushManifest("u/p", h2, writer, { now: () => clock, sleep });
    expect(b.timestamp).toBe("1700000001");
    expect(slept).toEqual([750]);
    expect(clock).toBeGreaterThanOrEqual(1700000001);
  });

  it("with the real clock, two quick pushes get consecutive seconds and no future timestamp", async () => {
    const a = await registry.pushManifest("u/p", h1, writer);
    const b = await registry.pushManifest("u/p", h2, writer);
    expect(Number(b.timestamp)).toBeGreaterThan(Number(a.timestamp));
    expect(Number(b.timestamp)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("concurrent pushes of one package serialize through the lock file", async () => {
    const spy = new SpyStorage(root);
    spy.delayMs = 3;
    const lockPath = join(root, ".quilt/quiltkit/locks/u/p.lock");
    let lockSeen = 0;
    spy.onWrite = (key) => {
      if (key.startsWith(".quilt/named_packages/") && existsSync(lockPath)) lockSeen++;
    };
    const r = new Registry(spy);
    const hashes = Array.from({ length: 6 }, (_, i) => fakeHash("", `c${i}`));
    const results = await Promise.all(
      hashes.map((h) => r.pushManifest("u/p", h, (key) => spy.write(key, Buffer.from("{}\n")).then(() => undefined), { now: () => 1700000000, tags: ["t"] })),
    );
    expect(new Set(results.map((x) => x.timestamp)).size).toBe(6);
    expect(results.map((x) => Number(x.timestamp)).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => 1700000000 + i));
    // Pointer writes come in whole groups (timestamp, latest, tag) of one push at a time.
    const pointerWrites = spy.writes.filter((w) => w.key.startsWith(".quilt/named_packages/"));
    expect(pointerWrites).toHaveLength(18);
    for (let i = 0; i < pointerWrites.length; i += 3) {
      const group = pointerWrites.slice(i, i + 3);
      expect(group.map((w) => w.key.split("/").at(-1))).toEqual([expect.stringMatching(/^\d+$/), "latest", "t"]);
      expect(new Set(group.map((w) => w.body)).size).toBe(1);
    }
    // latest and the tag end at the push that took the last second.
    const lastPush = results.find((x) => x.timestamp === "1700000005");
    expect(await registry.readPointer("u/p", "latest")).toBe(lastPush?.topHash);
    expect(await registry.readPointer("u/p", "t")).toBe(lastPush?.topHash);
    expect(lockSeen).toBeGreaterThanOrEqual(18);
    expect(existsSync(lockPath)).toBe(false);
  });

  it("works over any Storage (in-process lock), e.g. an in-memory one with S3 semantics", async () => {
    const memory = new MemoryStorage();
    const r = new Registry(memory);
    const write = (key: string): Promise<void> => memory.write(key, Buffer.from("{}\n")).then(() => undefined);
    const results = await Promise.all([h1, h2].map((h) => r.pushManifest("u/p", h, write, { now: () => 1700000000 })));
    expect(results.map((x) => x.timestamp).sort()).toEqual(["1700000000", "1700000001"]);
    expect(await r.resolve({ name: "u/p" })).toBe(results.find((x) => x.timestamp === "1700000001")?.topHash);
    expect(await collect(r.listPackages())).toEqual(["u/p"]);
  });
});

// ---------------------------------------------------------------------------------------------
// listPackages order, tag / untag / deletePointers
// ---------------------------------------------------------------------------------------------

describe("listPackages", () => {
  it("streams names in code-point order even where folder order differs (x-y/ < x/ but x < x-y)", async () => {
    const part = fc.array(fc.constantFrom("x", "y", "-", "_", "0", "é", "😀", "\uff01"), { minLength: 1, maxLength: 4 }).map((c) => c.join(""));
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(part, part).map(([a, b]) => `${a}/${b}`), { maxLength: 12 }), async (names) => {
        const memory = new MemoryStorage();
        for (const name of names) memory.objects.set(`.quilt/named_packages/${name}/latest`, Buffer.from(fakeHash("", name)));
        memory.objects.set(".quilt/named_packages/stray-file", Buffer.from("x"));
        const listed = await collect(new Registry(memory).listPackages());
        expect(listed).toEqual([...names].sort(compareCodePoints));
      }),
      { numRuns: 300 },
    );
  });

  it("on a local registry: skips empty package folders and files", async () => {
    mkdirSync(join(root, ".quilt/named_packages/a/empty"), { recursive: true });
    writeFile(".quilt/named_packages/a/x-y/latest", fakeHash("", "1"));
    writeFile(".quilt/named_packages/a/x/latest", fakeHash("", "2"));
    writeFile(".quilt/named_packages/a-b/c/latest", fakeHash("", "3"));
    writeFile(".quilt/named_packages/a/file", "x");
    expect(await collect(registry.listPackages())).toEqual(["a-b/c", "a/x", "a/x-y"]);
  });
});

describe("tag, untag, deletePointers", () => {
  const h1 = fakeHash("", "t1");
  const h2 = fakeHash("", "t2");
  beforeEach(async () => {
    for (const h of [h1, h2]) writeFile(`.quilt/packages/${h}`, "{}\n");
    await registry.writePointer("u/p", "1700000000", h1);
    await registry.writePointer("u/p", "1700000100", h2);
    await registry.writePointer("u/p", "latest", h2);
  });

  it("tag points at an existing revision and reports the previous target", async () => {
    expect(await registry.tag("u/p", "v1", h1)).toEqual({});
    expect(await registry.tag("u/p", "v1", h2)).toEqual({ previous: h1 });
    expect(await registry.resolve({ name: "u/p", tag: "v1" })).toBe(h2);
    expect((await rejectionOf(() => registry.tag("u/p", "v1", fakeHash("", "none")))).code).toBe("REVISION_NOT_FOUND");
    expect((await rejectionOf(() => registry.tag("u/p", "123", h1))).code).toBe("TAG_INVALID");
  });

  it("untag removes a tag, refuses latest and missing tags", async () => {
    await registry.tag("u/p", "v1", h1);
    expect(await registry.untag("u/p", "v1")).toBe(h1);
    expect((await rejectionOf(() => registry.untag("u/p", "v1"))).code).toBe("REVISION_NOT_FOUND");
    expect((await rejectionOf(() => registry.untag("u/p", "latest"))).code).toBe("TAG_RESERVED");
  });

  it("deletePointers deletes what select picks and can re-point latest to the newest timestamp", async () => {
    await registry.tag("u/p", "zzz", h1);
    const result = await registry.deletePointers("u/p", (p: PointerInfo) => p.topHash === h2, { repointLatest: true });
    expect(result.deleted.map((p) => p.pointer)).toEqual(["1700000100", "latest"]);
    // quilt3 would take max("1700000000", "zzz") = "zzz"; we take the newest timestamp.
    expect(result.latest).toEqual({ pointer: "latest", topHash: h1, kind: "latest" });
    expect((await collect(registry.listPointers("u/p"))).map((p) => p.pointer)).toEqual(["1700000000", "latest", "zzz"]);
  });
});
