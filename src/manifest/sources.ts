import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { ManifestSource } from "./types.js";

/** A manifest file on disk, read in large sequential chunks. */
export function fileSource(path: string): ManifestSource {
  return () => createReadStream(path, { highWaterMark: 1 << 20 });
}

/** A manifest held in memory (tests, small manifests). */
export function bytesSource(bytes: Uint8Array | string): ManifestSource {
  const buf = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
  return () => Readable.from([buf], { objectMode: true });
}
