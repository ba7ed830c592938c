/**
 * The top-hash work of a run of whole manifest lines, done synchronously: parse each line with the
 * reader's own rules, check the order, and give the entries' hash pre-images. A worker thread runs
 * this on one batch while others run it on the next (parallel-top-hash.ts); so does the main thread
 * on a small manifest.
 */
import { isUtf8 } from "node:buffer";
import { entryHashPart, successorProblem } from "./encode.js";
import { ByteOut } from "../json/index.js";
import { BatchIndexer, type BatchIndex } from "./batch-index.js";
import { plainEntryPreimage, type PlainEntry } from "./plain-line.js";
import { parseRecordLine } from "./reader.js";

export interface HashedLines {
  /** The entries' pre-images, concatenated, as ASCII bytes (the top-hash encoder escapes all else). */
  readonly preimage: Buffer;
  readonly entries: number;
  /** Sum of the entries' sizes. */
  readonly bytes: number;
  readonly firstKey: string | undefined;
  readonly lastKey: string | undefined;
  /** When asked for (`IndexRequest`): what the browse index needs from these lines. */
  readonly index?: BatchIndex;
}

/** Gather a `BatchIndex` too: the batch's offset in the manifest and the sample spacing. */
export interface IndexRequest {
  readonly base: number;
  readonly blockBytes: number;
}

/**
 * Why a batch cannot be hashed here. The caller then runs the sequential reader over the whole
 * manifest, which sorts an unsorted one and throws the exact error (with its line number) for a bad one.
 */
export class BatchFallback extends Error {
  constructor(readonly reason: "unsorted" | "invalid", options?: ErrorOptions) {
    super(`manifest batch needs the sequential path: ${reason}`, options);
  }
}

/** `key` must follow `previous` in tree-walk order; anything else is a fallback ("unsorted", or "invalid" for a duplicate or conflict). */
export function checkOrder(previous: string | undefined, key: string): void {
  let problem;
  try {
    problem = successorProblem(previous, key);
  } catch (error) {
    throw new BatchFallback("invalid", { cause: error });
  }
  if (problem === "unsorted") throw new BatchFallback("unsorted");
}

/** `bytes` holds whole lines after the header, each ending in `\n` (the last one may not). */
export function hashLines(bytes: Buffer, checkKeys: boolean, indexRequest?: IndexRequest): HashedLines {
  // `\n` is ASCII, so the batch is valid UTF-8 exactly when each of its lines is.
  if (!isUtf8(bytes)) throw new BatchFallback("invalid");
  // Pre-images are written straight into one buffer: strings joined with += cost more than the
  // parsing did (a rope of ten thousand pieces, flattened, then garbage).
  const out = new ByteOut(bytes.length);
  let entries = 0;
  let total = 0;
  let firstKey: string | undefined;
  let lastKey: string | undefined;
  const indexer = indexRequest === undefined ? undefined : new BatchIndexer(indexRequest.base, indexRequest.blockBytes);
  let line = 0;
  const end = bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  for (let start = 0; start <= end; line++) {
    let nl = bytes.indexOf(0x0a, start);
    if (nl === -1 || nl > end) nl = end;
    const hashed = linePart(bytes, start, nl, out, checkKeys);
    const at = start;
    start = nl + 1;
    if (hashed === undefined) {
      indexer?.dirLine(line); // directory lines are not part of the top hash
      continue;
    }
    checkOrder(lastKey, hashed.logicalKey);
    firstKey ??= hashed.logicalKey;
    lastKey = hashed.logicalKey;
    entries += 1;
    total += hashed.size;
    indexer?.entry(hashed.logicalKey, hashed.size, line, at);
  }
  const index = indexer?.result(bytes.length, line);
  return { preimage: out.bytes(), entries, bytes: total, firstKey, lastKey, ...(index === undefined ? {} : { index }) };
}

/** Append a line's pre-image to `out`; its logical key and size, or `undefined` for a directory line. */
function linePart(bytes: Buffer, start: number, end: number, out: ByteOut, checkKeys: boolean): PlainEntry | undefined {
  try {
    const fast = plainEntryPreimage(bytes, start, end, out, checkKeys);
    if (fast !== undefined) return fast;
    const record = parseRecordLine(bytes.toString("utf8", start, end), 0, { checkKeys });
    if (record.kind !== "entry") return undefined;
    out.ascii(entryHashPart(record.entry)); // ASCII: the top-hash encoder escapes everything else
    return { logicalKey: record.entry.logicalKey, size: record.entry.size };
  } catch (error) {
    throw new BatchFallback("invalid", { cause: error });
  }
}
