import { open, type FileHandle } from "node:fs/promises";
import { IntegrityError } from "../errors/index.js";
import type { PyObject } from "../json/index.js";
import { withCanonicalManifest, type CanonicalOptions } from "./canonical.js";
import { fileSource } from "./sources.js";
import { TopHasher } from "./encode.js";
import type { IndexFeed } from "./batch-index.js";
import { parallelTopHash } from "./parallel-top-hash.js";
import { encodeManifest, type WriteOptions, type WriteResult } from "./writer.js";
import type { ManifestSource } from "./types.js";

/** The top hash of a manifest, in one streaming pass (two for a manifest not in quilt3's order). */
export async function topHashOf(source: ManifestSource, options: CanonicalOptions = {}): Promise<string> {
  const fast = await parallelTopHash(source, options);
  if (fast !== undefined) return fast.topHash;
  return withCanonicalManifest(
    source,
    async ({ header, entries }) => {
      const hasher = new TopHasher(header);
      for await (const entry of entries) hasher.add(entry);
      return hasher.digest();
    },
    options,
  );
}

/**
 * Re-dump a manifest as quilt3 would after loading it (`Package.load` then `dump`), handing each
 * chunk to `begin()`'s writer. `begin` is called again if the first attempt has to restart, so it
 * must start from empty (truncate its file).
 */
export async function rewriteManifest(
  source: ManifestSource,
  begin: () => Promise<(chunk: Buffer) => Promise<void>>,
  options: CanonicalOptions & WriteOptions = {},
): Promise<WriteResult> {
  return withCanonicalManifest(
    source,
    async ({ header, dirs, entries }) => {
      const write = await begin();
      let result: WriteResult | undefined;
      for await (const chunk of encodeManifest(header, dirs, entries, options, (r) => (result = r))) {
        await write(chunk);
      }
      if (result === undefined) throw new Error("manifest encoder ended without a result");
      return result;
    },
    options,
  );
}

export interface VerifiedManifest {
  readonly topHash: string;
  /** A source in canonical layout: the original, or a sorted copy when the original was not. */
  readonly source: ManifestSource;
  /** The sorted copy's path, when one had to be made (the caller removes it). */
  readonly copyPath?: string;
  /** Counted on the way, so that a summary needs no second pass. */
  readonly entries: number;
  readonly bytes: number;
  /** The header, when the pass read it (saves a read to get it again). */
  readonly header?: PyObject;
}

/**
 * Check that a manifest hashes to `expected` (the top hash that named it) and give a source that
 * can then be read in one pass. A manifest out of quilt3's layout is rewritten once to `copyPath`.
 */
export async function verifyManifest(
  source: ManifestSource,
  expected: string,
  copyPath: string,
  options: CanonicalOptions & { readonly indexFeed?: IndexFeed } = {},
): Promise<VerifiedManifest> {
  const fast = await parallelTopHash(source, options);
  if (fast !== undefined) {
    if (fast.topHash !== expected) throw topHashMismatch(expected, fast.topHash);
    return { topHash: fast.topHash, source, entries: fast.entries, bytes: fast.bytes, header: fast.header };
  }
  let attempts = 0;
  let bytes = 0;
  let count = 0;
  const topHash = await withCanonicalManifest(
    source,
    async ({ header, entries }) => {
      attempts += 1;
      bytes = 0;
      const hasher = new TopHasher(header);
      for await (const entry of entries) {
        hasher.add(entry);
        bytes += entry.size;
      }
      count = hasher.entries;
      return hasher.digest();
    },
    options,
  );
  if (topHash !== expected) throw topHashMismatch(expected, topHash);
  if (attempts === 1) return { topHash, source, entries: count, bytes };
  const handles: FileHandle[] = [];
  try {
    await rewriteManifest(source, async () => {
      await Promise.all(handles.splice(0).map((h) => h.close()));
      const handle = await open(copyPath, "w");
      handles.push(handle);
      return async (chunk: Buffer) => void (await handle.appendFile(chunk));
    }, options);
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
  return { topHash, source: fileSource(copyPath), copyPath, entries: count, bytes };
}

function topHashMismatch(expected: string, actual: string): IntegrityError {
  return new IntegrityError(
    "TOP_HASH_MISMATCH",
    `The manifest named ${expected} hashes to ${actual}: it is not the package it claims to be.`,
    { hint: "The registry is corrupt or was tampered with; nothing was read from it. Fetch the package again from a trusted registry." },
  );
}
