/**
 * The top-hash work of a run of whole manifest lines, done synchronously: parse each line with the
 * reader's own rules, check the order, and give the entries' hash pre-images. A worker thread runs
 * this on one batch while others run it on the next (parallel-top-hash.ts); so does the main thread
 * on a small manifest.
 */
import { isUtf8 } from "node:buffer";
import { entryHashPart, successorProblem } from "./encode.js";
import { parseRecordLine } from "./reader.js";

export interface HashedLines {
  /** The entries' pre-images, concatenated, as ASCII bytes (the top-hash encoder escapes all else). */
  readonly preimage: Buffer;
  readonly entries: number;
  /** Sum of the entries' sizes. */
  readonly bytes: number;
  readonly firstKey: string | undefined;
  readonly lastKey: string | undefined;
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
export function hashLines(bytes: Buffer, checkKeys: boolean): HashedLines {
  // `\n` is ASCII, so the batch is valid UTF-8 exactly when each of its lines is.
  if (!isUtf8(bytes)) throw new BatchFallback("invalid");
  const text = bytes.toString("utf8");
  // Written part by part into one buffer: a string built with += would be flattened at the end,
  // which cost more than the parsing (a rope of ten thousand pieces, then garbage).
  let out: Buffer = Buffer.allocUnsafeSlow(Math.max(1024, bytes.length));
  let used = 0;
  let parts = "";
  const flush = (): void => {
    if (used + parts.length > out.length) out = grown(out, used, parts.length);
    used += out.write(parts, used, "latin1");
    parts = "";
  };
  let entries = 0;
  let total = 0;
  let firstKey: string | undefined;
  let lastKey: string | undefined;
  const end = text.endsWith("\n") ? text.length - 1 : text.length;
  for (let start = 0; start <= end; ) {
    let nl = text.indexOf("\n", start);
    if (nl === -1 || nl > end) nl = end;
    const line = text.slice(start, nl);
    start = nl + 1;
    let record;
    try {
      record = parseRecordLine(line, 0, { checkKeys });
    } catch (error) {
      throw new BatchFallback("invalid", { cause: error });
    }
    if (record.kind !== "entry") continue; // directory lines are not part of the top hash
    const key = record.entry.logicalKey;
    checkOrder(lastKey, key);
    firstKey ??= key;
    lastKey = key;
    entries += 1;
    total += record.entry.size;
    // Parts are written a few kilobytes at a time: one write call per part cost more than the
    // short ropes this builds.
    parts += entryHashPart(record.entry);
    if (parts.length >= 8192) flush();
  }
  flush();
  return { preimage: out.subarray(0, used), entries, bytes: total, firstKey, lastKey };
}

/** A bigger buffer holding the first `used` bytes of `out`; pre-images can outgrow their lines (\\u escapes). */
function grown(out: Buffer, used: number, needed: number): Buffer {
  const bigger = Buffer.allocUnsafeSlow(Math.max(2 * out.length, used + needed));
  out.copy(bigger, 0, 0, used);
  return bigger;
}
