/**
 * Hostile and broken registries, made by hand (manifest files at `.quilt/packages/<hash>` plus
 * pointers, see helpers/craft.ts), installed through the library and through the built `quilt`:
 * each is refused with its error code and exit code, and nothing is written anywhere: not in the
 * destination, not beside it, not in the registry.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, EXIT_CODES, NotFoundError, QuiltError } from "../src/errors/index.js";
import { Package } from "../src/package/index.js";
import { writeIndexAfterPush } from "../src/package/lazy-push.js";
import { Registry } from "../src/registry/registry.js";
import { LocalStorage } from "../src/storage/local.js";
import type { ListItem, ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "../src/storage/types.js";
import { runQuilt, describeRun } from "./helpers/cli.js";
import { craftManifest, fileEntry, writeCraftedRegistry, type CraftedEntry, type CraftedManifest } from "./helpers/craft.js";
import { snapshot } from "./helpers/tree.js";

const PKG = "evil/pkg";
const sandboxes: string[] = [];
afterAll(() => {
  for (const dir of sandboxes) rmSync(dir, { recursive: true, force: true });
});

interface Sandbox {
  readonly root: string;
  readonly registry: string;
  readonly data: string;
  /** The destination: `root/level1/dest`, not created. */
  readonly dest: string;
}

function sandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), "quiltkit-hostile-"));
  sandboxes.push(root);
  mkdirSync(join(root, "level1"));
  return { root, registry: join(root, "registry"), data: join(root, "data"), dest: join(root, "level1", "dest") };
}

/** An entry whose data is a real file in the sandbox (its hash right), at any logical key. */
function entry(box: Sandbox, logicalKey: string, content = `content of ${logicalKey}\n`, file?: string): CraftedEntry {
  const name = file ?? `f${Buffer.from(logicalKey).toString("hex").slice(0, 40)}.txt`;
  return fileEntry(logicalKey, join(box.data, name), content);
}

async function errorOf(promise: Promise<unknown>): Promise<QuiltError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof QuiltError) return error;
    throw error;
  }
  throw new Error("expected a QuiltError, but it succeeded");
}

/** Install with the library, then (unless `libraryOnly`) with `quilt install --json`; both refused, nothing written. */
async function expectRefused(box: Sandbox, code: string, exit: number, extraChecks?: () => void, libraryOnly = false): Promise<void> {
  const before = snapshot(box.root);
  const etcX = existsSync("/etc/x");

  const libraryError = await errorOf(
    (async () => {
      const pkg = await Package.browse(PKG, { registry: box.registry });
      try {
        await pkg.install(box.dest);
      } finally {
        await pkg.close();
      }
    })(),
  );
  expect(libraryError.code, libraryError.message).toBe(code);
  expect(EXIT_CODES[libraryError.kind]).toBe(exit);
  expect(snapshot(box.root)).toEqual(before);
  if (libraryOnly) return extraChecks?.();

  const run = await runQuilt(["install", PKG, "--dest", box.dest, "--registry", box.registry, "--json"]);
  expect(run.code, describeRun(run)).toBe(exit);
  expect(run.stdout).toBe("");
  const error = run.error();
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(10);
  expect(typeof error.hint).toBe("string");
  expect(snapshot(box.root)).toEqual(before);
  expect(existsSync("/etc/x")).toBe(etcX);
  extraChecks?.();
}

describe.concurrent("hostile manifests are refused and nothing is written", () => {
  for (const key of ["../x", "a/../../x", "/etc/x", "./x", "a//x"]) {
    it(`traversal key ${JSON.stringify(key)}: MANIFEST_UNSAFE_KEY, exit 5`, async () => {
      const box = sandbox();
      const manifest = craftManifest([entry(box, "fine.txt"), entry(box, key, "escaped!\n")]);
      writeCraftedRegistry(box.registry, PKG, manifest);
      const checks = (): void => {
        expect(existsSync(join(box.root, "level1", "x"))).toBe(false);
        expect(existsSync(join(box.root, "x"))).toBe(false);
      };
      // The last two are refused by the same rule: the library is enough for them.
      await expectRefused(box, "MANIFEST_UNSAFE_KEY", 5, checks, key === "./x" || key === "a//x");
    });
  }

  it("an absolute key naming a file of the sandbox: MANIFEST_UNSAFE_KEY, exit 5", async () => {
    const box = sandbox();
    const target = join(box.root, "escaped.txt");
    writeCraftedRegistry(box.registry, PKG, craftManifest([entry(box, target, "escaped!\n")]));
    await expectRefused(box, "MANIFEST_UNSAFE_KEY", 5, () => expect(existsSync(target)).toBe(false));
  });

  /**
   * A registry whose manifest for `keys` is stored under its honest top hash (name and pointers)
   * with one entry's metadata changed: a swapped manifest. Returns the honest top hash.
   */
  function writeSwappedManifest(box: Sandbox, keys: string[]): string {
    const honest = craftManifest(keys.map((key) => entry(box, key)));
    const tampered = honest.text.replace('"meta": {}}\n', '"meta": {"user_meta": {"evil": true}}}\n');
    expect(tampered).not.toBe(honest.text);
    writeCraftedRegistry(box.registry, PKG, { text: tampered, topHash: honest.topHash });
    return honest.topHash;
  }

  it("a manifest whose content does not hash to its name: TOP_HASH_MISMATCH, exit 5", async () => {
    const box = sandbox();
    writeSwappedManifest(box, ["a.txt", "b.txt"]);
    await expectRefused(box, "TOP_HASH_MISMATCH", 5);
  });

  it("install of a path still checks the top hash, when a sidecar index would let it read only that subtree", async () => {
    const box = sandbox();
    const topHash = writeSwappedManifest(box, ["a.txt", "d/b.txt"]);
    // An index that describes the swapped bytes exactly, as if pushed with them.
    const registry = new Registry(new LocalStorage(box.registry));
    await writeIndexAfterPush(registry, topHash, join(box.registry, ".quilt", "packages", topHash), {
      onWarning: (m) => {
        throw new Error(m);
      },
    });
    const before = snapshot(box.root);
    const pkg = await Package.browse(PKG, { registry, tmpDir: box.root });
    try {
      expect(pkg.verified).toBe(false); // lazy, through the sidecar
      expect((await errorOf(pkg.install(box.dest, { path: "d" }))).code).toBe("TOP_HASH_MISMATCH");
    } finally {
      await pkg.close();
    }
    expect(snapshot(box.root)).toEqual(before);
  });

  it("bad JSON: MANIFEST_BAD_JSON, exit 5", async () => {
    const box = sandbox();
    const good = craftManifest([entry(box, "a.txt")]);
    writeCraftedRegistry(box.registry, PKG, { text: good.text + '{"logical_key": "b.txt", "physical_keys": [\n', topHash: good.topHash });
    await expectRefused(box, "MANIFEST_BAD_JSON", 5);
  });

  it("a duplicate logical key: MANIFEST_DUPLICATE_KEY, exit 5", async () => {
    const box = sandbox();
    const first = entry(box, "twice.txt", "first\n", "one.txt");
    const second = entry(box, "twice.txt", "second\n", "two.txt");
    // Named by the hash of what is written (both lines), so only the duplicate is wrong.
    writeCraftedRegistry(box.registry, PKG, craftManifest([entry(box, "a.txt"), first, second], { keepOrder: true }));
    await expectRefused(box, "MANIFEST_DUPLICATE_KEY", 5);
  });

  it("keys colliding case-insensitively: INSTALL_KEY_COLLISION, exit 4", async () => {
    const box = sandbox();
    writeCraftedRegistry(box.registry, PKG, craftManifest([entry(box, "dir/README.txt", "upper\n"), entry(box, "dir/readme.txt", "lower\n")]));
    await expectRefused(box, "INSTALL_KEY_COLLISION", 4);
  });

  it("keys colliding by Unicode normalization (NFC vs NFD): INSTALL_KEY_COLLISION, exit 4", async () => {
    const box = sandbox();
    const nfc = "caf\u00e9.txt";
    const nfd = "cafe\u0301.txt";
    expect(nfc.normalize("NFC")).toBe(nfd.normalize("NFC"));
    writeCraftedRegistry(box.registry, PKG, craftManifest([entry(box, nfc, "nfc\n"), entry(box, nfd, "nfd\n")]));
    await expectRefused(box, "INSTALL_KEY_COLLISION", 4);
  });

  it("a folder case-colliding with a file: refused, exit 4", async () => {
    const box = sandbox();
    writeCraftedRegistry(box.registry, PKG, craftManifest([entry(box, "Data"), entry(box, "data/x.txt")]));
    await expectRefused(box, "INSTALL_KEY_COLLISION", 4);
  });

  it("a pointer with a trailing newline: POINTER_INVALID, exit 5", async () => {
    const box = sandbox();
    const manifest = craftManifest([entry(box, "a.txt")]);
    writeCraftedRegistry(box.registry, PKG, manifest, { pointerText: `${manifest.topHash}\n` });
    await expectRefused(box, "POINTER_INVALID", 5);
  });

  it("a symlink folder inside the destination pointing outside: INSTALL_SYMLINK_IN_DEST, exit 5", async () => {
    const box = sandbox();
    writeCraftedRegistry(box.registry, PKG, craftManifest([entry(box, "a.txt"), entry(box, "sub/x.txt", "through the link\n")]));
    const outside = join(box.root, "outside");
    mkdirSync(outside);
    mkdirSync(box.dest);
    symlinkSync(outside, join(box.dest, "sub"));
    await expectRefused(box, "INSTALL_SYMLINK_IN_DEST", 5, () => {
      expect(existsSync(join(outside, "x.txt"))).toBe(false);
      expect(existsSync(join(box.dest, "a.txt"))).toBe(false);
    });
  });

  it("a symlink file inside the destination pointing outside: INSTALL_SYMLINK_IN_DEST, exit 5", async () => {
    const box = sandbox();
    writeCraftedRegistry(box.registry, PKG, craftManifest([entry(box, "a.txt"), entry(box, "victim.txt", "overwritten\n")]));
    const victim = join(box.root, "victim.txt");
    writeFileSync(victim, "precious\n");
    mkdirSync(box.dest);
    symlinkSync(victim, join(box.dest, "victim.txt"));
    await expectRefused(box, "INSTALL_SYMLINK_IN_DEST", 5, () => {
      expect(readFileSync(victim, "utf8")).toBe("precious\n");
    });
  });

  it("the crafted manifests are sound: an honest one installs (control)", async () => {
    const box = sandbox();
    const manifest = craftManifest([entry(box, "a.txt", "A\n"), entry(box, "d/é.txt", "E\n"), entry(box, "d/sub/z.bin", "Z")], {
      header: { version: "v0", user_meta: { n: 1 }, message: "control" },
    });
    writeCraftedRegistry(box.registry, PKG, manifest);
    const run = await runQuilt(["install", PKG, "--dest", box.dest, "--registry", box.registry, "--json"]);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.json<{ topHash: string; files: number }>()).toMatchObject({ topHash: manifest.topHash, files: 3 });
    expect(readFileSync(join(box.dest, "d", "é.txt"), "utf8")).toBe("E\n");
  });
});

/**
 * A registry in memory, through our own `Storage` interface (not an S3 mock): what a remote
 * registry looks like to the code above storage. Keys in S3 order (UTF-8 bytes).
 */
class MemoryStorage implements Storage {
  readonly url = "s3://hostile-bucket";
  private readonly objects = new Map<string, Buffer>();

  private get(key: string): Buffer {
    const bytes = this.objects.get(key);
    if (bytes === undefined) throw new NotFoundError("OBJECT_NOT_FOUND", `${this.url}/${key} does not exist.`);
    return bytes;
  }

  private slice(bytes: Buffer, options: ReadOptions): Buffer {
    if (options.range === undefined) return Buffer.from(bytes);
    return Buffer.from(bytes.subarray(Math.min(options.range.start, bytes.length), Math.min(options.range.end, bytes.length)));
  }

  async *read(key: string, options: ReadOptions = {}): AsyncIterable<Uint8Array> {
    await Promise.resolve();
    yield this.slice(this.get(key), options);
  }

  async readAll(key: string, options: ReadOptions = {}): Promise<Buffer> {
    await Promise.resolve();
    return this.slice(this.get(key), options);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    await Promise.resolve();
    const bytes = this.objects.get(key);
    return bytes === undefined ? undefined : { key, size: bytes.length };
  }

  async write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<ObjectInfo> {
    const chunks: Uint8Array[] = [];
    if (body instanceof Uint8Array) chunks.push(body);
    else for await (const chunk of body) chunks.push(chunk);
    if (options.ifNoneMatch && this.objects.has(key)) throw new ConflictError("OBJECT_EXISTS", `${this.url}/${key} already exists.`);
    const bytes = Buffer.concat(chunks);
    this.objects.set(key, bytes);
    return { key, size: bytes.length };
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ListItem> {
    await Promise.resolve();
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const seen = new Set<string>();
    for (const key of keys) {
      const slash = options.delimiter === "/" ? key.indexOf("/", prefix.length) : -1;
      if (slash < 0) {
        yield { kind: "object", key, size: (this.objects.get(key) as Buffer).length };
      } else {
        const folder = key.slice(0, slash + 1);
        if (!seen.has(folder)) yield { kind: "prefix", prefix: folder };
        seen.add(folder);
      }
    }
  }

  async delete(key: string): Promise<void> {
    await Promise.resolve();
    this.objects.delete(key);
  }

  /** A package the way writeCraftedRegistry lays one out on disk. */
  async putPackage(name: string, manifest: CraftedManifest): Promise<void> {
    await this.write(`.quilt/packages/${manifest.topHash}`, Buffer.from(manifest.text));
    await this.write(`.quilt/named_packages/${name}/1700000000`, Buffer.from(manifest.topHash));
    await this.write(`.quilt/named_packages/${name}/latest`, Buffer.from(manifest.topHash));
  }
}

describe("a remote registry may not point at local files", () => {
  it("refuses file:// keys from a non-local registry (REMOTE_MANIFEST_LOCAL_KEY), writing nothing", async () => {
    const box = sandbox();
    const secret = join(box.root, "secret.txt");
    const storage = new MemoryStorage();
    const local = fileEntry("innocent.txt", secret, "ssh key\n");
    const remote: CraftedEntry = { ...entry(box, "remote.txt"), physicalKey: "s3://hostile-bucket/data/remote.txt" };
    await storage.putPackage(PKG, craftManifest([local, remote]));
    const registry = new Registry(storage);
    const before = snapshot(box.root);

    const pkg = await Package.browse(PKG, { registry });
    try {
      const listing = await errorOf(pkg.ls());
      expect(listing.code).toBe("REMOTE_MANIFEST_LOCAL_KEY");
      expect(EXIT_CODES[listing.kind]).toBe(5);
      expect(listing.message).toContain("innocent.txt");
      const read = await errorOf(pkg.getBytes("innocent.txt"));
      expect(read.code).toBe("REMOTE_MANIFEST_LOCAL_KEY");
      const installed = await errorOf(pkg.install(box.dest));
      expect(installed.code).toBe("REMOTE_MANIFEST_LOCAL_KEY");
    } finally {
      await pkg.close();
    }
    expect(existsSync(box.dest)).toBe(false);
    expect(snapshot(box.root)).toEqual(before);
  });

  it("the same registry in a local folder honours file:// keys (control)", async () => {
    const box = sandbox();
    const manifest = craftManifest([fileEntry("innocent.txt", join(box.root, "data", "innocent.txt"), "fine\n")]);
    writeCraftedRegistry(box.registry, PKG, manifest);
    const pkg = await Package.browse(PKG, { registry: pathToFileURL(box.registry).href });
    try {
      expect((await pkg.getBytes("innocent.txt")).toString()).toBe("fine\n");
    } finally {
      await pkg.close();
    }
  });

  it("a remote registry with only s3:// keys browses and lists (control)", async () => {
    const box = sandbox();
    const storage = new MemoryStorage();
    const manifest = craftManifest([
      { ...entry(box, "x/a.txt"), physicalKey: "s3://hostile-bucket/x/a.txt?versionId=abc" },
      { ...entry(box, "b.txt"), physicalKey: "s3://hostile-bucket/b.txt" },
    ]);
    await storage.putPackage(PKG, manifest);
    const pkg = await Package.browse(PKG, { registry: new Registry(storage) });
    try {
      expect(pkg.topHash).toBe(manifest.topHash);
      const { files, dirs } = await pkg.ls();
      expect(files.map((f) => f.logicalKey)).toEqual(["b.txt"]);
      expect(dirs).toEqual(["x/"]);
    } finally {
      await pkg.close();
    }
  });
});
