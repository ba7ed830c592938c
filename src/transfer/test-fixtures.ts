/**
 * Test helpers for the transfer tests (not part of the public API): build folders and package
 * entries whose physical keys are local files and whose hashes come from src/hash.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { afterAll, beforeAll } from "vitest";
import { dirname, join } from "node:path";
import { hashFile, HashPool, SHA2_256_CHUNKED, type HashType } from "../hash/index.js";
import type { PyObject } from "../json/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import { fileKeyFromPath, formatPhysicalKey } from "../storage/physical-key.js";

export type Tree = Record<string, string | Uint8Array>;

/**
 * A temp folder for one test file (made before, removed after) and `fresh(name)` for a new,
 * empty sub-folder per use; with `pool`, a one-worker hash pool for the file too.
 */
export function useTempDirs(prefix: string, options: { pool?: boolean } = {}): {
  base: () => string;
  fresh: (name: string) => Promise<string>;
  pool: () => HashPool;
} {
  let base = "";
  let pool: HashPool | undefined;
  let n = 0;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), prefix));
    if (options.pool) pool = new HashPool({ size: 1 });
  });
  afterAll(async () => {
    await pool?.close();
    await rm(base, { recursive: true, force: true });
  });
  return {
    base: () => base,
    fresh: async (name) => {
      const dir = join(base, `${name}-${n++}`);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    pool: () => {
      if (!pool) throw new Error("useTempDirs: made without { pool: true }");
      return pool;
    },
  };
}

/** Writes `files` (relative `/` paths → content) under `root`. */
export async function writeTree(root: string, files: Tree): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, ...rel.split("/"));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}

/** An entry for the local file `path` under logical key `key`, hashed with `type`. */
export async function entryFor(key: string, path: string, type: HashType = SHA2_256_CHUNKED, meta: PyObject = new Map()): Promise<ManifestEntry> {
  const r = await hashFile(path, { types: [type] });
  return {
    logicalKey: key,
    physicalKey: formatPhysicalKey(fileKeyFromPath(path, { resolveSymlinks: false })),
    size: r.size,
    hash: { type, value: r.hashes[type] ?? "" },
    meta,
  };
}

/** Writes `files` under `srcRoot` and returns their entries (key = relative path) in tree-walk order. */
export async function packageOf(srcRoot: string, files: Tree, type: HashType = SHA2_256_CHUNKED): Promise<ManifestEntry[]> {
  await writeTree(srcRoot, files);
  const entries: ManifestEntry[] = [];
  for (const key of Object.keys(files)) entries.push(await entryFor(key, join(srcRoot, ...key.split("/")), type));
  return entries.sort((a, b) => compareLogicalKeys(a.logicalKey, b.logicalKey));
}

/** Every file and folder below `root` as relative `/` paths (folders end with `/`), sorted; [] if missing. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let names;
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        out.push(r + "/");
        await walk(join(dir, d.name), r);
      } else {
        out.push(r);
      }
    }
  };
  await walk(root, "");
  return out.sort();
}

/** Yields the items of an array asynchronously (a one-shot stream, like a manifest reader). */
export async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}
