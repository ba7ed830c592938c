import type { PyValue } from "../json/index.js";
import type { KeyOp } from "./ops.js";

/**
 * What one sorted builder operation costs on the V8 heap, for the external sort's budget. It must
 * not undercount: the sort buffers until the estimates reach its budget, so an estimate at half
 * the truth doubles the real memory. Measured (Node 20, after a v8 round trip as the sort's runs
 * give them back): an entry with an S3 physical key and empty metadata takes ~760 bytes, one with
 * a small nested `user_meta` ~1,070 (this gives 800 and 1,110); the earlier flat
 * `2 × (key + physical key) + 300` said 544 for both, so a build held ~2x its 256 MiB budget
 * (1.3 GiB peak RSS building 1M entries).
 */
export function opSize(op: KeyOp): number {
  if (!("entry" in op)) return ENTRY + text(op.logicalKey) + (op.op === "set-meta" ? pySize(op.userMeta, 0) : 0);
  const e = op.entry;
  const hash = e.hash === undefined ? 0 : text(e.hash.type) + text(e.hash.value);
  return ENTRY + text(e.logicalKey) + text(e.physicalKey) + hash + pySize(e.meta, 0);
}

/** The record, its op, entry and hash objects and the size: fixed costs measured on V8. */
const ENTRY = 320;
/** A string's header; its characters count 2 bytes each, as they do outside Latin-1. */
const STRING = 24;
/** A Map's own object and hash table, before any entry. */
const MAP = 96;
/** Each Map entry or array element: its table slot. */
const SLOT = 24;
/** A heap number (floats, and integers beyond the small-integer range). */
const NUMBER = 16;
/** Deeper than this, a value is counted flat (metadata is small; this only bounds the walk). */
const MAX_DEPTH = 32;

function pySize(value: PyValue | undefined, depth: number): number {
  if (value === null || value === undefined || typeof value === "boolean") return 0;
  if (typeof value === "string") return text(value);
  if (typeof value === "number" || typeof value === "bigint") return NUMBER;
  if (depth > MAX_DEPTH) return MAP;
  if (value instanceof Map) {
    let n = MAP;
    for (const [k, v] of value) n += SLOT + text(k) + pySize(v, depth + 1);
    return n;
  }
  if (Array.isArray(value)) {
    let n = MAP;
    for (const v of value) n += SLOT + pySize(v, depth + 1);
    return n;
  }
  return NUMBER;
}

const text = (s: string): number => STRING + 2 * s.length;
