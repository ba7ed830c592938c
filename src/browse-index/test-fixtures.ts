/** Random package trees and their manifests, for the index tests (not part of the build). */
import type { PyObject, PyValue } from "../json/index.js";
import { encodeManifest, type DirMeta, type ManifestEntry } from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";

/** A small deterministic PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters around '/' in tree-walk order, non-ASCII and escapes included.
const ALPHABET = ["a", "b", "c", "a-b", "a.b", "b0", "é", "z", "A", "x y", 'q"', "\u00ff", "😀", "a!"];

/** `n` random keys in tree-walk order, none both a file and a folder. */
export function randomKeys(seed: number, n: number, maxDepth = 4): string[] {
  const next = random(seed);
  const pick = (): string => ALPHABET[Math.floor(next() * ALPHABET.length)] as string;
  const keys = new Set<string>();
  for (let i = 0; i < n * 2 && keys.size < n; i++) {
    const depth = 1 + Math.floor(next() * maxDepth);
    keys.add(Array.from({ length: depth }, pick).join("/") + (next() < 0.5 ? `${i}` : ""));
  }
  const sorted = [...keys].sort(compareLogicalKeys);
  // Drop a key that another key uses as a folder (it would sort right before that key's subtree).
  return sorted.filter((key, i) => !(sorted[i + 1]?.startsWith(`${key}/`) ?? false));
}

export function entryOf(key: string, i: number): ManifestEntry {
  const meta: PyObject = i % 3 === 0 ? new Map<string, PyValue>([["user_meta", new Map<string, PyValue>([["i", BigInt(i)]])]]) : new Map<string, PyValue>();
  return {
    logicalKey: key,
    physicalKey: `s3://bucket/data/${i}?versionId=v${i}`,
    size: 1000 + i,
    hash: { type: "SHA256", value: i.toString(16).padStart(64, "0") },
    meta,
  };
}

/** A manifest (quilt3's layout) of these keys, with optional directory metadata lines. */
export async function manifestOf(keys: readonly string[], dirs: readonly DirMeta[] = []): Promise<Buffer> {
  const header: PyObject = new Map<string, PyValue>([["version", "v0"], ["message", "test"]]);
  const chunks: Buffer[] = [];
  for await (const chunk of encodeManifest(header, dirs, keys.map(entryOf), { chunkBytes: 4096 })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** What `ls folder` must give, computed from the key list. */
export function lsTruth(keys: readonly string[], folder: string): { files: string[]; dirs: string[]; items: string[] } {
  const prefix = folder === "" ? "" : `${folder}/`;
  const files: string[] = [];
  const dirs: string[] = [];
  const items: string[] = [];
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash < 0) {
      files.push(key);
      items.push(key);
    } else {
      const dir = prefix + rest.slice(0, slash + 1);
      if (dirs[dirs.length - 1] !== dir) {
        dirs.push(dir);
        items.push(dir);
      }
    }
  }
  return { files, dirs, items };
}

/** Every folder path of a key list (`""` for the root). */
export function foldersOf(keys: readonly string[]): string[] {
  const out = new Set<string>([""]);
  for (const key of keys) {
    const parts = key.split("/");
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join("/"));
  }
  return [...out];
}
