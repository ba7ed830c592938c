import type { PyObject, PyValue } from "../json/index.js";
import type { EntryHash } from "../manifest/index.js";

/** An entry as the builder holds it: the hash may still be unknown (a local file not yet hashed). */
export interface PendingEntry {
  readonly logicalKey: string;
  readonly physicalKey: string;
  readonly size: number;
  readonly hash?: EntryHash;
  readonly meta: PyObject;
}

/**
 * What the builder records, in call order. Key-level operations are resolved at build time by
 * an external sort on the logical key (stable, so call order decides between equal keys); that
 * is what lets a builder hold ten million entries without a tree of them in memory.
 */
export type KeyOp =
  | { readonly op: "put"; readonly entry: PendingEntry }
  /** `set_dir(..., update_policy='existing')`: only if nothing is at the key yet. */
  | { readonly op: "put-if-absent"; readonly entry: PendingEntry }
  /** `add(package)` with the default rule: an error if something is at the key already. */
  | { readonly op: "put-new"; readonly entry: PendingEntry; readonly from: string }
  | { readonly op: "set-meta"; readonly logicalKey: string; readonly userMeta: PyValue }
  | { readonly op: "delete"; readonly logicalKey: string };

export function keyOf(op: KeyOp): string {
  return op.op === "put" || op.op === "put-if-absent" || op.op === "put-new" ? op.entry.logicalKey : op.logicalKey;
}
