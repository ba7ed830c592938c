/**
 * Messages between HashPool (main thread) and worker.ts, and the flat encoding of file results.
 * Errors travel serialized (structured clone keeps neither class nor code).
 */
import type { SerializedError } from "./errors.js";
import type { Snapshot } from "./snapshot.js";
import type { FileHashes, HashType, HashValues } from "./types.js";

/** Hash a batch of files (small files share one message to amortize the round trip). */
export interface FilesTask {
  op: "files";
  id: number;
  paths: string[];
  types: HashType[];
  withParts: boolean;
  /** Files at least this large are not hashed but returned as `split`; null = never. */
  splitAt: number | null;
  /** View on the job's SharedArrayBuffer; non-zero = cancelled. */
  abort: Int32Array;
}

/** Part digests of bytes [start, end) of a file that was split. */
export interface RangeTask {
  op: "range";
  id: number;
  path: string;
  start: number;
  end: number;
  chunk: number;
  expect: Snapshot;
  abort: Int32Array;
}

export type Task = FilesTask | RangeTask;

export type WorkerReply =
  /** Bytes read so far that were not reported yet (long files report as they go). */
  | { id: number; kind: "progress"; bytes: number }
  /** Results for paths[from ..], flat-encoded; `done` on the last message of a task. */
  | { id: number; kind: "files"; from: number; results: Wire[]; bytes: number; done: boolean }
  | { id: number; kind: "range"; parts?: Uint8Array; error?: SerializedError; bytes: number; done: true };

export interface WorkerInit {
  bufferSize: number;
}

/** What a worker reports for one file of a batch. */
export type FileResult = FileHashes | { error: SerializedError } | { split: Snapshot };

/**
 * Results travel as one flat array of primitives: structured clone of that was measured ~3.5x
 * cheaper than of one object per file, which shows at thousands of small files per second.
 * Records, by leading tag:
 *   OK    [0, size, value per requested type (task order), parts?]  (parts only withParts)
 *   ERROR [1, serializedError]
 *   SPLIT [2, size, mtimeMs]
 */
type Wire = number | string | Uint8Array | SerializedError | null;
const OK = 0;
const ERROR = 1;
const SPLIT = 2;

export function encodeResult(out: Wire[], r: FileResult, task: FilesTask): void {
  if ("error" in r) out.push(ERROR, r.error);
  else if ("split" in r) out.push(SPLIT, r.split.size, r.split.mtimeMs);
  else {
    out.push(OK, r.size);
    for (const t of task.types) out.push(r.hashes[t] ?? null);
    // A copy with its own exact buffer: posting a view would clone Node's whole 8 KiB pool slab.
    if (task.withParts) out.push(r.parts ? new Uint8Array(Buffer.concat(r.parts)) : null);
  }
}

export function decodeResults(flat: readonly Wire[], types: readonly HashType[], withParts: boolean): FileResult[] {
  const out: FileResult[] = [];
  for (let i = 0; i < flat.length; ) {
    const tag = flat[i];
    if (tag === ERROR) {
      out.push({ error: flat[i + 1] as SerializedError });
      i += 2;
    } else if (tag === SPLIT) {
      out.push({ split: { size: flat[i + 1] as number, mtimeMs: flat[i + 2] as number } });
      i += 3;
    } else {
      const r: FileHashes = { size: flat[i + 1] as number, hashes: valuesAt(flat, i + 2, types) };
      i += 2 + types.length;
      if (withParts) {
        const parts = flat[i++] as Uint8Array | null;
        if (parts) r.parts = splitDigests(parts);
      }
      out.push(r);
    }
  }
  return out;
}

function valuesAt(flat: readonly Wire[], at: number, types: readonly HashType[]): HashValues {
  const hashes: HashValues = {};
  types.forEach((t, k) => {
    const v = flat[at + k];
    if (typeof v === "string") hashes[t] = v;
  });
  return hashes;
}

/** A concatenation of 32-byte digests back into separate Buffers (views, no copy). */
export function splitDigests(bytes: Uint8Array): Buffer[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += 32) out.push(buf.subarray(i, i + 32));
  return out;
}
