import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { QuiltError } from "../errors/index.js";
import { LocalStorage, storageKeyProblem, TEMP_PREFIX } from "./local.js";
import type { ListItem } from "./types.js";
import { rejectionOf, collect } from "../../test/helpers/expect.js";

const base = mkdtempSync(join(tmpdir(), "quiltkit-local-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
let root: string;
let storage: LocalStorage;
beforeEach(() => {
  root = join(base, `r${n++}`);
  mkdirSync(root);
  storage = new LocalStorage(root);
});

const describeItem = (item: ListItem): string => (item.kind === "object" ? `${item.key}=${item.size}` : `[${item.prefix}]`);

/** Every file under a folder, recursively, relative. */
function filesUnder(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(dir, join(rel, d.name)) : [join(rel, d.name)],
  );
}

describe("keys", () => {
  it.each([
    ["", "empty"],
    ["../x", "'..'"],
    ["a/../../x", "'..'"],
    ["a/./b", "'.'"],
    ["/etc/passwd", "absolute"],
    ["a//b", "empty segment"],
    ["a/", "empty segment"],
    ["a\0b", "NUL"],
    [`a/${TEMP_PREFIX}x`, "reserved"],
  ])("refuses %j (%s)", async (key, why) => {
    expect(storageKeyProblem(key)).toContain(why);
    const error = await rejectionOf(() => storage.write(key, Buffer.from("x")));
    expect(error.code).toBe("STORAGE_KEY_INVALID");
    expect(error.kind).toBe("usage");
    expect(error.message).toContain(JSON.stringify(key));
    expect((await rejectionOf(() => storage.readAll(key))).code).toBe("STORAGE_KEY_INVALID");
    expect((await rejectionOf(() => storage.stat(key))).code).toBe("STORAGE_KEY_INVALID");
    expect((await rejectionOf(() => storage.delete(key))).code).toBe("STORAGE_KEY_INVALID");
  });

  it("never names a path outside the root (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "..", ".", "", "b/", "/", "\0", "é", "x..y"), { maxLength: 6 }), (parts) => {
        const key = parts.join("");
        if (storageKeyProblem(key) !== undefined) return;
        const path = storage.pathOf(key);
        expect(path.startsWith(root + "/")).toBe(true);
      }),
    );
  });

  it("accepts ordinary keys, including unicode and spaces", async () => {
    for (const key of ["a", "b/c/d.txt", "dir with space/50% off #1.txt", "日本語/ファイル.txt", "..a/b..", ".quilt/packages/x"]) {
      expect(storageKeyProblem(key)).toBeUndefined();
      await storage.write(key, Buffer.from(key));
      expect((await storage.readAll(key)).toString()).toBe(key);
    }
  });
});

describe("write", () => {
  it("names the problem when a parent of the key is a file", async () => {
    await storage.write("a", Buffer.from("x"));
    const error = await rejectionOf(() => storage.write("a/b", Buffer.from("y")));
    expect(error.code).toBe("STORAGE_IO_ERROR");
    expect(error.hint).toContain("is a file");
  });

  it("creates parent folders and replaces atomically", async () => {
    const info = await storage.write("a/b/c.txt", Buffer.from("hello"));
    expect(info).toMatchObject({ key: "a/b/c.txt", size: 5 });
    expect(readFileSync(join(root, "a/b/c.txt"), "utf8")).toBe("hello");
    await storage.write("a/b/c.txt", Buffer.from("bye"));
    expect(readFileSync(join(root, "a/b/c.txt"), "utf8")).toBe("bye");
    expect(filesUnder(root)).toEqual(["a/b/c.txt"]);
  });

  it("writes a stream of chunks", async () => {
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 100; i++) yield await Promise.resolve(Buffer.alloc(1000, i));
    }
    const info = await storage.write("big", body());
    expect(info.size).toBe(100_000);
    const bytes = readFileSync(join(root, "big"));
    expect(bytes[99_999]).toBe(99);
  });

  it("leaves no partial file when the body fails midway (temp file removed)", async () => {
    await storage.write("keep/old", Buffer.from("old"));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield await Promise.resolve(Buffer.from("partial data"));
      throw new Error("source failed");
    }
    await expect(storage.write("keep/old", failing())).rejects.toThrow("source failed");
    await expect(storage.write("keep/new", failing())).rejects.toThrow("source failed");
    expect(filesUnder(root)).toEqual(["keep/old"]);
    expect(readFileSync(join(root, "keep/old"), "utf8")).toBe("old");
  });

  it("stops on an aborted signal and cleans up", async () => {
    const controller = new AbortController();
    async function* body(): AsyncGenerator<Uint8Array> {
      yield await Promise.resolve(Buffer.from("a"));
      controller.abort();
      yield Buffer.from("b");
    }
    const error = await rejectionOf(() => storage.write("x/y", body(), { signal: controller.signal }));
    expect(error.code).toBe("INTERRUPTED");
    expect(filesUnder(root)).toEqual([]);
  });

  it("ifNoneMatch creates once, then fails with OBJECT_EXISTS and keeps the first content", async () => {
    await storage.write("p/1700000000", Buffer.from("first"), { ifNoneMatch: true });
    const error = await rejectionOf(() => storage.write("p/1700000000", Buffer.from("second"), { ifNoneMatch: true }));
    expect(error.code).toBe("OBJECT_EXISTS");
    expect(error.kind).toBe("conflict");
    expect(error.message).toContain("p/1700000000");
    expect(readFileSync(join(root, "p/1700000000"), "utf8")).toBe("first");
    expect(filesUnder(root)).toEqual(["p/1700000000"]);
  });

  it("ifNoneMatch: of many concurrent creators exactly one wins", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => storage.write("race", Buffer.from(`writer ${i}`), { ifNoneMatch: true })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect((r.reason as QuiltError).code).toBe("OBJECT_EXISTS");
    expect(readFileSync(join(root, "race"), "utf8")).toMatch(/^writer \d+$/);
    expect(filesUnder(root)).toEqual(["race"]);
  });

  it("concurrent plain writes: the object is always one whole body", async () => {
    const bodies = Array.from({ length: 10 }, (_, i) => Buffer.alloc(200_000, 65 + i));
    await Promise.all(bodies.map((b) => storage.write("same", b)));
    const bytes = readFileSync(join(root, "same"));
    expect(bodies.some((b) => b.equals(bytes))).toBe(true);
    expect(filesUnder(root)).toEqual(["same"]);
  });
});

describe("read", () => {
  it("reads whole objects and ranges (end exclusive, clipped)", async () => {
    await storage.write("f", Buffer.from("0123456789"));
    expect((await storage.readAll("f")).toString()).toBe("0123456789");
    expect((await storage.readAll("f", { range: { start: 2, end: 5 } })).toString()).toBe("234");
    expect((await storage.readAll("f", { range: { start: 8, end: 100 } })).toString()).toBe("89");
    expect((await storage.readAll("f", { range: { start: 10, end: 12 } })).length).toBe(0);
    expect((await storage.readAll("f", { range: { start: 3, end: 3 } })).length).toBe(0);
    expect((await rejectionOf(() => storage.readAll("f", { range: { start: 5, end: 2 } }))).code).toBe("RANGE_INVALID");
  });

  it("streams large objects in chunks", async () => {
    const data = Buffer.alloc(3 * (1 << 20) + 17);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    writeFileSync(join(root, "large"), data);
    const chunks = await collect(storage.read("large"));
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    const mid = await storage.readAll("large", { range: { start: (1 << 20) - 3, end: (1 << 20) + 5 } });
    expect(mid.equals(data.subarray((1 << 20) - 3, (1 << 20) + 5))).toBe(true);
  });

  it("a missing key, a folder, or a path through a file is OBJECT_NOT_FOUND naming the URL", async () => {
    await storage.write("dir/file", Buffer.from("x"));
    for (const key of ["nope", "dir", "dir/file/below"]) {
      const error = await rejectionOf(() => storage.readAll(key));
      expect(error.code).toBe("OBJECT_NOT_FOUND");
      expect(error.kind).toBe("not-found");
      expect(error.message).toContain(storage.url);
      expect(await storage.stat(key)).toBeUndefined();
    }
  });

  it("refuses a versionId", async () => {
    await storage.write("f", Buffer.from("x"));
    expect((await rejectionOf(() => storage.readAll("f", { versionId: "abc" }))).code).toBe("VERSION_ID_UNSUPPORTED");
  });

  it("stat gives size and mtime", async () => {
    await storage.write("s", Buffer.from("12345"));
    const info = await storage.stat("s");
    expect(info?.size).toBe(5);
    expect(info?.lastModified).toBeInstanceOf(Date);
  });
});

describe("list", () => {
  const keys = ["a-b", "a.txt", "a/x", "a/y/z", "a0", "b/c/d", "é", "z/😀", "z/！", "empty-dir-sibling"];
  beforeEach(async () => {
    for (const key of keys) await storage.write(key, Buffer.from(key));
    mkdirSync(join(root, "empty/inner"), { recursive: true });
    writeFileSync(join(root, `${TEMP_PREFIX}123`), "in flight");
  });

  it("lists every object under a prefix in S3 (UTF-8 byte) order", async () => {
    const listed = (await collect(storage.list(""))).map(describeItem);
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((k) => `${k}=${Buffer.byteLength(k)}`);
    expect(listed).toEqual(expected);
  });

  it("treats the prefix as a string prefix", async () => {
    expect((await collect(storage.list("a"))).map(describeItem)).toEqual(["a-b=3", "a.txt=5", "a/x=3", "a/y/z=5", "a0=2"]);
    expect((await collect(storage.list("a/"))).map(describeItem)).toEqual(["a/x=3", "a/y/z=5"]);
    expect((await collect(storage.list("a/y/"))).map(describeItem)).toEqual(["a/y/z=5"]);
    expect(await collect(storage.list("missing/"))).toEqual([]);
    expect(await collect(storage.list("a/x/"))).toEqual([]);
  });

  it("with a delimiter, reports folders once and skips empty ones", async () => {
    expect((await collect(storage.list("", { delimiter: "/" }))).map(describeItem)).toEqual([
      "a-b=3",
      "a.txt=5",
      "[a/]",
      "a0=2",
      "[b/]",
      "empty-dir-sibling=17",
      "[z/]",
      "é=2",
    ]);
    expect((await collect(storage.list("a/", { delimiter: "/" }))).map(describeItem)).toEqual(["a/x=3", "[a/y/]"]);
  });

  it("follows symlinks to files and folders, skips dangling ones", async () => {
    symlinkSync(join(root, "a"), join(root, "link-dir"));
    symlinkSync(join(root, "a.txt"), join(root, "link-file"));
    symlinkSync(join(root, "nowhere"), join(root, "link-dangling"));
    expect((await collect(storage.list("link"))).map(describeItem)).toEqual(["link-dir/x=3", "link-dir/y/z=5", "link-file=5"]);
  });

  it("is lazy: stopping early works", async () => {
    for await (const item of storage.list("")) {
      expect(item.kind).toBe("object");
      break;
    }
  });

  it("refuses an escaping prefix", async () => {
    expect((await rejectionOf(() => collect(storage.list("../")))).code).toBe("STORAGE_KEY_INVALID");
  });
});

describe("delete", () => {
  it("removes an object; missing keys are fine", async () => {
    await storage.write("d/e", Buffer.from("x"));
    await storage.delete("d/e");
    expect(existsSync(join(root, "d/e"))).toBe(false);
    await storage.delete("d/e");
    await storage.delete("never/was");
    expect(await collect(storage.list(""))).toEqual([]);
  });
});

describe("url", () => {
  it("is the file URL of the root, percent-encoded as quilt3 does", () => {
    const s = new LocalStorage("/tmp/a b/#x");
    expect(s.url).toBe("file:///tmp/a%20b/%23x");
  });
});
