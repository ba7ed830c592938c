import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parsePyJson, type PyObject } from "../json/index.js";
import type { PendingEntry } from "../package/index.js";
import { Remotes } from "../storage/index.js";
import { writeFileAtomic } from "./atomic.js";
import { readStaged, writeStaged } from "./staged.js";
import { newState, readState, writeState, STATE_FILE } from "./state.js";
import { Workspace } from "./workspace.js";

const base = mkdtempSync(join(tmpdir(), "quiltkit-ws-state-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const dir = join(base, `d${n++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

describe("workspace.json", () => {
  it("round-trips, and refuses another format or version with a clear code", async () => {
    const dir = fresh();
    const state = { ...newState("data/dataset", "s3://bucket"), revision: 3, sources: [{ logical: "train/", source: "/x/train/" }] };
    await writeState(dir, state);
    expect(await readState(dir)).toEqual(state);

    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ ...state, version: 2 }));
    await expect(readState(dir)).rejects.toMatchObject({ code: "STATE_VERSION", message: expect.stringContaining("version 2") as unknown });
    writeFileSync(join(dir, STATE_FILE), JSON.stringify({ format: "something-else", version: 1 }));
    await expect(readState(dir)).rejects.toMatchObject({ code: "STATE_CORRUPT" });
    writeFileSync(join(dir, STATE_FILE), "{not json");
    await expect(readState(dir)).rejects.toMatchObject({ code: "STATE_CORRUPT" });
    await expect(readState(join(dir, "missing"))).rejects.toMatchObject({ code: "NOT_A_WORKSPACE" });
  });

  it("is replaced atomically: no temp file is left, and a failed write keeps the old content", async () => {
    const dir = fresh();
    const path = join(dir, "file.json");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two");
    expect(readFileSync(path, "utf8")).toBe("two");
    expect(readdirSync(dir)).toEqual(["file.json"]);
    // A write into a folder that is not there fails before touching the target.
    await expect(writeFileAtomic(join(dir, "nope", "file.json"), "x")).rejects.toThrow();
    expect(readFileSync(path, "utf8")).toBe("two");
  });
});

describe("staged entries", () => {
  const entry = (key: string, extra: Partial<PendingEntry> = {}): PendingEntry => ({
    logicalKey: key,
    physicalKey: `file:///data/${key}`,
    size: 3,
    meta: new Map(),
    ...extra,
  });

  it("keep Python numbers, raw hash dicts, folder metadata and the header exactly", async () => {
    const dir = fresh();
    const path = join(dir, "staged-1.v1.jsonl");
    const header = parsePyJson('{"version": "v0", "user_meta": {"f": 1.0, "big": 12345678901234567890}, "message": "dropped"}') as PyObject;
    const meta = parsePyJson('{"user_meta": {"x": 2.50, "n": null}}') as PyObject;
    const raw = parsePyJson('{"value": "abc", "type": "SHA256"}') as PyObject;
    const entries = [
      entry("a/b.txt", { meta, hash: { type: "sha2-256-chunked", value: "h1" } }),
      entry("a/c.txt", { hash: { type: "SHA256", value: "abc", raw } }),
      entry("z.txt"),
    ];
    const totals = await writeStaged(path, { header, dirs: [{ logicalKey: "a/", meta: 1.0 }], entries: from(entries) });
    expect(totals).toEqual({ entries: 3, bytes: 9, unhashed: 1 });
    const back = await readStaged(path);
    expect([...back.header.keys()]).toEqual(["version", "user_meta"]);
    expect(back.header.get("user_meta")).toEqual(header.get("user_meta"));
    expect(back.dirs).toEqual([{ logicalKey: "a/", meta: 1.0 }]);
    expect(await collect(back.entries)).toEqual(entries);
    expect(readFileSync(path, "utf8")).toContain('"x":2.5');
  });

  it("refuse a key that is also a folder, leaving no file behind", async () => {
    const dir = fresh();
    const path = join(dir, "staged-1.v1.jsonl");
    await expect(writeStaged(path, { header: new Map(), dirs: [], entries: from([entry("a"), entry("a/b")]) })).rejects.toMatchObject({
      code: "LOGICAL_KEY_FILE_AND_FOLDER",
    });
    expect(existsSync(path)).toBe(false);
  });

  it("refuse another version of the format", async () => {
    const dir = fresh();
    const path = join(dir, "staged-1.v1.jsonl");
    writeFileSync(path, '{"format":"quiltkit-workspace-staged","version":9}\n{"header":{}}\n');
    await expect(readStaged(path)).rejects.toMatchObject({ code: "STATE_VERSION" });
  });
});

describe("Workspace", () => {
  const options = { remotes: new Remotes() };

  it("init refuses an existing workspace; edits are serialized by the lock", async () => {
    const root = fresh();
    writeFileSync(join(root, "a.txt"), "aaa");
    writeFileSync(join(root, "b.txt"), "bbb");
    const workspace = await Workspace.init(root, { name: "data/dataset", registry: join(root, "..", "reg") }, options);
    await expect(Workspace.init(root, { name: "x/y", registry: "s3://b" }, options)).rejects.toMatchObject({ code: "WORKSPACE_EXISTS" });
    // Two commands at once: both land, one after the other, and the revision counts both.
    const other = await Workspace.open(root, options);
    await Promise.all([
      workspace.add({ kind: "path", path: join(root, "a.txt"), logical: "a.txt", folder: false, line: join(root, "a.txt") }, false),
      other.add({ kind: "path", path: join(root, "b.txt"), logical: "b.txt", folder: false, line: join(root, "b.txt") }, false),
    ]);
    const after = await Workspace.open(root, options);
    expect(after.state).toMatchObject({ revision: 2, entries: 2, bytes: 6, unhashed: 2 });
    expect(after.state.sources.map((s) => s.logical).sort()).toEqual(["a.txt", "b.txt"]);
    // Only the current staged file remains, and no lock or temp files.
    expect(readdirSync(join(root, ".quiltkit")).sort()).toEqual([STATE_FILE, `staged-${after.state.generation}.v1.jsonl`, "tmp"].sort());
  });

  it("refuses a colliding add unless overwrite, and changes nothing on refusal", async () => {
    const root = fresh();
    writeFileSync(join(root, "a.txt"), "aaa");
    const workspace = await Workspace.init(root, { name: "data/dataset", registry: join(root, "..", "reg") }, options);
    const add = { kind: "path", path: join(root, "a.txt"), logical: "a.txt", folder: false, line: join(root, "a.txt") } as const;
    await workspace.add(add, false);
    const before = readFileSync(join(root, ".quiltkit", STATE_FILE), "utf8");
    await expect(workspace.add(add, false)).rejects.toMatchObject({ code: "LOGICAL_KEY_COLLISION", hint: expect.stringContaining("--overwrite") as unknown });
    expect(readFileSync(join(root, ".quiltkit", STATE_FILE), "utf8")).toBe(before);
    await workspace.add(add, true);
    expect(workspace.state).toMatchObject({ revision: 2, entries: 1 });
  });
});
