/**
 * Which cached files this process has hashed and found intact, by path and file identity. A file is
 * hashed in full the first time a process serves it without reading it (a link or a clone), and again
 * whenever its inode, size or mtime changed since (an edit through a hard link changes the mtime).
 * Memory is bounded: the oldest identities are forgotten first, and a forgotten file is hashed again.
 */
import type { BigIntStats } from "node:fs";

const LIMIT = 10_000;

/** path → `dev:ino:size:mtimeNs` of the version that was verified. */
const verified = new Map<string, string>();

function identityOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}

export function isVerified(path: string, st: BigIntStats): boolean {
  return verified.get(path) === identityOf(st);
}

export function markVerified(path: string, st: BigIntStats): void {
  verified.delete(path); // re-insert: Map order is the eviction order
  verified.set(path, identityOf(st));
  if (verified.size > LIMIT) {
    const oldest = verified.keys().next().value;
    if (oldest !== undefined) verified.delete(oldest);
  }
}

export function forget(path: string): void {
  verified.delete(path);
}
