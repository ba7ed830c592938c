import type { PyObject } from "../json/index.js";
import { checkRecordSize, dirLine, entryLine, headerLine, TopHasher, DEFAULT_MAX_RECORD_SIZE } from "./encode.js";
import type { DirMeta, ManifestEntry } from "./types.js";

export interface WriteOptions {
  /** quilt3's record limit; the CLI passes QUILT_MANIFEST_MAX_RECORD_SIZE when set. */
  readonly maxRecordSize?: number;
  /** Flush size of the yielded chunks. */
  readonly chunkBytes?: number;
  readonly signal?: AbortSignal;
}

export interface WriteResult {
  readonly topHash: string;
  readonly entries: number;
  readonly bytes: number;
}

/**
 * Encode a manifest as quilt3 writes it (header, directory metadata, entries; every line ends in
 * `\n`) and compute its top hash in the same pass. `dirs` and `entries` must already be in
 * tree-walk order. The result is known once the generator has finished.
 */
export async function* encodeManifest(
  header: PyObject,
  dirs: Iterable<DirMeta>,
  entries: AsyncIterable<ManifestEntry> | Iterable<ManifestEntry>,
  options: WriteOptions = {},
  result?: (r: WriteResult) => void,
): AsyncGenerator<Buffer> {
  const max = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
  const flushAt = options.chunkBytes ?? 1 << 20;
  const hasher = new TopHasher(header);
  let batch: string[] = [];
  let batchLength = 0;
  let bytes = 0;
  const push = (line: string): Buffer | undefined => {
    batch.push(line, "\n");
    batchLength += line.length + 1;
    if (batchLength < flushAt) return undefined;
    return flush();
  };
  const flush = (): Buffer => {
    const buf = Buffer.from(batch.join(""), "utf8");
    batch = [];
    batchLength = 0;
    bytes += buf.length;
    return buf;
  };

  const head = headerLine(header);
  checkRecordSize(head, undefined, max);
  push(head);
  for (const dir of dirs) {
    const line = dirLine(dir);
    checkRecordSize(line, dir.logicalKey, max);
    const out = push(line);
    if (out) yield out;
  }
  for await (const entry of entries) {
    options.signal?.throwIfAborted();
    hasher.add(entry);
    const line = entryLine(entry);
    checkRecordSize(line, entry.logicalKey, max);
    const out = push(line);
    if (out) yield out;
  }
  if (batchLength > 0) yield flush();
  result?.({ topHash: hasher.digest(), entries: hasher.entries, bytes });
}
