import { serialize, deserialize } from "node:v8";
import { ConflictError, IntegrityError, UsageError } from "../errors/index.js";
import { compareLogicalKeys, externalSort } from "../sort/index.js";
import { pyRepr } from "../manifest/index.js";
import { keyOf, type KeyOp, type PendingEntry } from "./ops.js";
import { opSize } from "./op-size.js";

interface Sequenced {
  readonly seq: number;
  readonly op: KeyOp;
}

export interface ResolveOptions {
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
  /** Sequence numbers at which a whole folder was deleted (or moved away): prefix → last seq. */
  readonly prefixDeletes: ReadonlyMap<string, number>;
  /**
   * Entries that were there before every operation (a saved state, in tree-walk order): merged with
   * the sorted operations in one pass instead of being sorted again, so they cost no sort memory.
   */
  readonly base?: AsyncIterable<PendingEntry>;
}

/**
 * The builder's final entries, in tree-walk order: all recorded operations sorted by logical key
 * (an external sort: memory stays bounded at any size), then folded key by key in call order.
 */
export async function* resolveEntries(ops: AsyncIterable<KeyOp>, options: ResolveOptions): AsyncGenerator<PendingEntry> {
  async function* numbered(): AsyncGenerator<Sequenced> {
    let seq = 0;
    for await (const op of ops) yield { seq: seq++, op };
  }
  const sorted = externalSort(numbered(), {
    // Stable: equal keys keep call order, which is what the fold below relies on.
    compare: (a: Sequenced, b: Sequenced) => compareLogicalKeys(keyOf(a.op), keyOf(b.op)),
    serialize: (record: Sequenced) => serialize(record),
    deserialize: (bytes: Buffer) => deserialize(bytes) as Sequenced,
    // Spilled 256 at a time: one V8 (de)serialization a group instead of one a record.
    serializeGroup: (records: readonly Sequenced[]) => serialize(records),
    deserializeGroup: (bytes: Buffer) => deserialize(bytes) as Sequenced[],
    // Not the default, which serializes each record a second time; nor too low (see opSize).
    sizeOf: (record: Sequenced) => opSize(record.op),
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const groups = options.base === undefined ? groupByKey(sorted) : withBase(groupByKey(sorted), options.base);
  for await (const group of groups) {
    const entry = fold(group, options.prefixDeletes);
    if (entry) yield entry;
  }
}

/** The sorted operations, one array per logical key (call order within it). */
async function* groupByKey(sorted: AsyncIterable<Sequenced>): AsyncGenerator<Sequenced[]> {
  let group: Sequenced[] = [];
  for await (const record of sorted) {
    if (group.length > 0 && keyOf((group[0] as Sequenced).op) !== keyOf(record.op)) {
      yield group;
      group = [];
    }
    group.push(record);
  }
  if (group.length > 0) yield group;
}

/**
 * Merge-join of the base entries with the operations' groups, both in tree-walk order: a base entry
 * becomes a `put` before every operation (sequence -1), so folder deletes wipe it and later
 * operations apply on top of it.
 */
async function* withBase(groups: AsyncIterable<Sequenced[]>, base: AsyncIterable<PendingEntry>): AsyncGenerator<Sequenced[]> {
  const entries = base[Symbol.asyncIterator]();
  const asGroup = (entry: PendingEntry): Sequenced[] => [{ seq: -1, op: { op: "put", entry } }];
  let previous: string | undefined;
  // The merge is only right for a base in strictly increasing tree-walk order: checked as it is read.
  const advance = async (): Promise<IteratorResult<PendingEntry>> => {
    const result = await entries.next();
    if (result.done !== true) {
      if (previous !== undefined && compareLogicalKeys(previous, result.value.logicalKey) >= 0) {
        throw new IntegrityError("BASE_UNSORTED", `The base entries are not in tree-walk order: ${pyRepr(result.value.logicalKey)} comes after ${pyRepr(previous)}.`, {
          hint: "A saved builder state was edited or damaged; rebuild it from its sources.",
        });
      }
      previous = result.value.logicalKey;
    }
    return result;
  };
  let next = await advance();
  try {
    for await (const group of groups) {
      const key = keyOf((group[0] as Sequenced).op);
      while (next.done !== true && compareLogicalKeys(next.value.logicalKey, key) < 0) {
        yield asGroup(next.value);
        next = await advance();
      }
      if (next.done !== true && next.value.logicalKey === key) {
        yield [...asGroup(next.value), ...group];
        next = await advance();
      } else yield group;
    }
    for (; next.done !== true; next = await advance()) yield asGroup(next.value);
  } finally {
    await entries.return?.();
  }
}

/** Apply one key's operations in call order; a folder delete wipes everything before it. */
function fold(group: readonly Sequenced[], prefixDeletes: ReadonlyMap<string, number>): PendingEntry | undefined {
  const key = keyOf((group[0] as Sequenced).op);
  const wipedBefore = lastFolderDelete(key, prefixDeletes);
  let state: PendingEntry | undefined;
  for (const { seq, op } of group) {
    if (seq < wipedBefore) continue;
    switch (op.op) {
      case "put":
        state = op.entry;
        break;
      case "put-if-absent":
        state ??= op.entry;
        break;
      case "put-new":
        if (state !== undefined) throw collision(key, op.from);
        state = op.entry;
        break;
      case "delete":
        state = undefined;
        break;
      case "set-meta":
        if (state === undefined) throw noEntry(key);
        state = { ...state, meta: new Map(state.meta).set("user_meta", op.userMeta) };
        break;
    }
  }
  return state;
}

function lastFolderDelete(key: string, prefixDeletes: ReadonlyMap<string, number>): number {
  let last = -1;
  for (const [prefix, seq] of prefixDeletes) {
    if (seq > last && (prefix === "" || (key.startsWith(prefix) && key.charCodeAt(prefix.length) === 47))) last = seq;
  }
  return last;
}

function collision(key: string, from: string): ConflictError {
  return new ConflictError("LOGICAL_KEY_COLLISION", `Adding ${from} would replace ${pyRepr(key)}, which the package already has.`, {
    hint: "Delete or move the existing entry first, or add with onConflict: 'replace' (or 'keep').",
  });
}

function noEntry(key: string): UsageError {
  return new UsageError("ENTRY_NOT_FOUND", `Cannot set metadata of ${pyRepr(key)}: there is no entry at that logical key.`, {
    hint: "Add the file first (set or add), or check the logical key.",
  });
}
