/**
 * The folder records the builder spools, in post-order as folders close, and sorts afterwards.
 * The first 8 bytes are the sort key, big-endian: (parent's preorder + 1, own preorder), the
 * root being (0, 0). Sorting on it gives the (parent, name) table order of the dirs section,
 * because preorder numbers follow tree-walk order.
 */
import { readU64, writeU64 } from "./format.js";

/** A folder while the builder is inside it. */
export interface OpenFolder {
  readonly path: string;
  readonly name: string;
  /** Preorder number: the root is 0, then folders in the order they open. */
  readonly pre: number;
  readonly parent: OpenFolder | undefined;
  /** Position among the parent's subfolders. */
  readonly rank: number;
  readonly start: number;
  readonly firstOrdinal: number;
  end: number;
  childCount: number;
  ownFiles: number;
  ownBytes: number;
  subtreeFiles: number;
  subtreeBytes: number;
  runStart: number;
  runFirstOrdinal: number;
  runLines: number;
  runsEmitted: number;
}

export function openFolder(path: string, name: string, pre: number, parent: OpenFolder | undefined, start: number, firstOrdinal: number): OpenFolder {
  const rank = parent === undefined ? 0 : parent.childCount;
  return {
    path, name, pre, parent, rank, start, firstOrdinal,
    end: start, childCount: 0, ownFiles: 0, ownBytes: 0, subtreeFiles: 0, subtreeBytes: 0,
    runStart: -1, runFirstOrdinal: 0, runLines: 0, runsEmitted: 0,
  };
}

/** A folder as spooled: everything the dirs section needs, indexes still to be computed. */
export interface SpooledFolder {
  readonly sortParent: number;
  readonly pre: number;
  /** The parent's parent's preorder and the parent's rank: they locate the parent in the table. */
  readonly grandPre: number;
  readonly parentRank: number;
  readonly rank: number;
  readonly childCount: number;
  readonly runCount: number;
  readonly ownFiles: number;
  readonly start: number;
  readonly end: number;
  readonly ownBytes: number;
  readonly subtreeFiles: number;
  readonly subtreeBytes: number;
  readonly firstOrdinal: number;
  readonly name: Buffer;
}

const FIXED = 84;
const NONE = 0xffffffff;

export function sortParentOf(folder: OpenFolder): number {
  return folder.parent === undefined ? 0 : folder.parent.pre + 1;
}

export function encodeFolder(f: OpenFolder): Buffer {
  const name = Buffer.from(f.name, "utf8");
  const buf = Buffer.allocUnsafe(FIXED + name.length);
  buf.writeUInt32BE(sortParentOf(f), 0);
  buf.writeUInt32BE(f.pre, 4);
  buf.writeUInt32LE(f.parent?.parent?.pre ?? NONE, 8);
  buf.writeUInt32LE(f.parent?.rank ?? 0, 12);
  buf.writeUInt32LE(f.rank, 16);
  buf.writeUInt32LE(f.childCount, 20);
  buf.writeUInt32LE(f.runsEmitted, 24);
  buf.writeUInt32LE(f.ownFiles, 28);
  writeU64(buf, f.start, 32);
  writeU64(buf, f.end, 40);
  writeU64(buf, f.ownBytes, 48);
  writeU64(buf, f.subtreeFiles, 56);
  writeU64(buf, f.subtreeBytes, 64);
  writeU64(buf, f.firstOrdinal, 72);
  buf.writeUInt32LE(0, 80);
  name.copy(buf, FIXED);
  return buf;
}

export function decodeFolder(buf: Buffer): SpooledFolder {
  return {
    sortParent: buf.readUInt32BE(0),
    pre: buf.readUInt32BE(4),
    grandPre: buf.readUInt32LE(8),
    parentRank: buf.readUInt32LE(12),
    rank: buf.readUInt32LE(16),
    childCount: buf.readUInt32LE(20),
    runCount: buf.readUInt32LE(24),
    ownFiles: buf.readUInt32LE(28),
    start: readU64(buf, 32),
    end: readU64(buf, 40),
    ownBytes: readU64(buf, 48),
    subtreeFiles: readU64(buf, 56),
    subtreeBytes: readU64(buf, 64),
    firstOrdinal: readU64(buf, 72),
    name: buf.subarray(FIXED),
  };
}

/** A run as spooled: the owning folder's sort key, then the run. Runs of one folder come in order. */
export function encodeSpooledRun(f: OpenFolder, end: number): Buffer {
  const buf = Buffer.allocUnsafe(32);
  buf.writeUInt32BE(sortParentOf(f), 0);
  buf.writeUInt32BE(f.pre, 4);
  writeU64(buf, f.runStart, 8);
  writeU64(buf, end, 16);
  buf.writeUInt32LE(f.runFirstOrdinal, 24);
  buf.writeUInt32LE(f.runLines, 28);
  return buf;
}

export function decodeSpooledRun(buf: Buffer): { start: number; end: number; firstOrdinal: number; count: number } {
  return { start: readU64(buf, 8), end: readU64(buf, 16), firstOrdinal: buf.readUInt32LE(24), count: buf.readUInt32LE(28) };
}

/** Order of spooled folders and runs: the 8-byte key, then (the sort being stable) spool order. */
export function compareSortKeys(a: Buffer, b: Buffer): number {
  return a.compare(b, 0, 8, 0, 8);
}

/**
 * Where each folder's children start in the table: the root is row 0, then the children of
 * preorder 0, of preorder 1, … so a folder's first child is 1 + the children of all folders
 * before it in preorder. `childCounts` is turned into that exclusive prefix sum in place.
 */
export function firstChildRows(childCounts: Uint32Array, folders: number): Uint32Array {
  let sum = 0;
  for (let pre = 0; pre < folders; pre++) {
    const count = childCounts[pre] as number;
    childCounts[pre] = sum;
    sum += count;
  }
  return childCounts;
}
