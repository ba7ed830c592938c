/** Small folder helpers for tests: write a tree of files, and snapshot one to see what changed. */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Write `files` (relative `/`-separated path → content) under `root`, creating folders. */
export function writeTree(root: string, files: Readonly<Record<string, string | Buffer>>): void {
  for (const [path, content] of Object.entries(files)) {
    const abs = join(root, ...path.split("/"));
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
}

/**
 * Everything under `root` (without following links): relative path → `dir`, `link -> target`, or
 * the file's size and SHA-256. Equal snapshots mean nothing was written, removed or changed.
 */
export function snapshot(root: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      const key = rel === "" ? name : `${rel}/${name}`;
      const info = lstatSync(path);
      if (info.isSymbolicLink()) result[key] = `link -> ${readlinkSync(path)}`;
      else if (info.isDirectory()) {
        result[key] = "dir";
        walk(path, key);
      } else result[key] = `${info.size} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`;
    }
  };
  walk(root, "");
  return result;
}

/** The files (not folders) under `root`, as sorted relative paths. */
export function filesUnder(root: string): string[] {
  const snap = snapshot(root);
  return Object.keys(snap)
    .filter((key) => snap[key] !== "dir")
    .sort();
}
