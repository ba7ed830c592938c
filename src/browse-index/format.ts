/**
 * QKBI v1, the browse index kept beside a manifest (docs/design.md §4). All integers are
 * little-endian; 64-bit fields are written as two u32 halves (values stay below 2^53).
 *
 *   "QKBI" u32 version=1 u32 headerLength, header JSON (IndexHeader), then the sections in order:
 *   dirs    DIR_BYTES per folder, root first, sorted by (parent, name): a folder's children are
 *           contiguous and in name order, and its name bytes are contiguous in `names` too
 *   runs    RUN_BYTES per run: a maximal byte range of a folder's own entry lines between its
 *           subfolders' subtrees; only folders with subfolders have runs
 *   samples SAMPLE_BYTES per sample: the first entry line at or after every `blockBytes` boundary
 *   names   UTF-8 folder names, in dirs order
 *   keys    UTF-8 sample keys, in samples order
 */

export const INDEX_MAGIC = "QKBI";
export const INDEX_FORMAT = "quiltkit-browse-index";
export const INDEX_VERSION = 1;
/** Magic, version, header length. */
export const PREFIX_BYTES = 12;
export const DIR_BYTES = 96;
export const RUN_BYTES = 24;
export const SAMPLE_BYTES = 24;
export const BLOCK_BYTES = 64 * 1024;
/** The root's parent. */
export const NO_PARENT = 0xffffffff;
export const SECTION_NAMES = ["dirs", "runs", "samples", "names", "keys"] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

/** What identifies the manifest object an index describes; checked before every use. */
export interface ManifestIdentity {
  readonly topHash: string;
  readonly bytes: number;
  /** SHA-256 (hex) of the manifest's bytes as stored. */
  readonly sha256: string;
  /** S3 only, as `stat` gave them when the index was written. */
  readonly etag?: string;
  readonly versionId?: string;
  /** The object's modification time in ms (local folders; S3 has the ETag instead). */
  readonly mtimeMs?: number;
}

export interface IndexHeader {
  readonly format: typeof INDEX_FORMAT;
  readonly version: typeof INDEX_VERSION;
  readonly manifest: ManifestIdentity;
  /** Where the header line ends (after its `\n`), and where the first entry line starts. */
  readonly headerEnd: number;
  readonly entriesStart: number;
  /** The 1-based line number of the first entry line (for messages about ranged reads). */
  readonly entriesLine: number;
  readonly entries: number;
  /** Sum of the entries' sizes. */
  readonly totalBytes: number;
  readonly dirs: number;
  readonly runs: number;
  readonly samples: number;
  readonly blockBytes: number;
  /** Whether the dirs' 16-byte subtree digests are filled in (v1 writers leave them zero). */
  readonly digests: boolean;
  /** The writer checked the manifest against its top hash in the pass that built this index. */
  readonly topHashChecked: boolean;
  readonly sections: Readonly<Record<SectionName, { readonly offset: number; readonly length: number }>>;
  /** SHA-256 (hex) of everything after the header. */
  readonly bodySha256: string;
}

/** One folder. `start`/`end` bound its subtree's entry lines in the manifest. */
export interface DirRecord {
  readonly index: number;
  readonly parent: number;
  readonly firstChild: number;
  readonly childCount: number;
  readonly nameOff: number;
  readonly nameLen: number;
  readonly firstRun: number;
  readonly runCount: number;
  readonly ownFiles: number;
  readonly start: number;
  readonly end: number;
  readonly ownBytes: number;
  readonly subtreeFiles: number;
  readonly subtreeBytes: number;
  /** Ordinal (0-based, among entries) of the subtree's first entry. */
  readonly firstOrdinal: number;
}

export interface RunRecord {
  readonly start: number;
  readonly end: number;
  readonly firstOrdinal: number;
  readonly count: number;
}

export interface SampleRecord {
  readonly offset: number;
  readonly ordinal: number;
  readonly keyOff: number;
  readonly keyLen: number;
}

const TWO_32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % TWO_32, at);
  buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
}

export function encodeDir(d: Omit<DirRecord, "index">, buf: Buffer, at: number): void {
  buf.writeUInt32LE(d.parent, at);
  buf.writeUInt32LE(d.firstChild, at + 4);
  buf.writeUInt32LE(d.childCount, at + 8);
  buf.writeUInt32LE(d.nameOff, at + 12);
  buf.writeUInt32LE(d.nameLen, at + 16);
  buf.writeUInt32LE(d.firstRun, at + 20);
  buf.writeUInt32LE(d.runCount, at + 24);
  buf.writeUInt32LE(d.ownFiles, at + 28);
  writeU64(buf, d.start, at + 32);
  writeU64(buf, d.end, at + 40);
  writeU64(buf, d.ownBytes, at + 48);
  writeU64(buf, d.subtreeFiles, at + 56);
  writeU64(buf, d.subtreeBytes, at + 64);
  writeU64(buf, d.firstOrdinal, at + 72);
  buf.fill(0, at + 80, at + DIR_BYTES); // subtree digest: not written by v1 writers
}

export function decodeDir(buf: Buffer, at: number, index: number): DirRecord {
  return {
    index,
    parent: buf.readUInt32LE(at),
    firstChild: buf.readUInt32LE(at + 4),
    childCount: buf.readUInt32LE(at + 8),
    nameOff: buf.readUInt32LE(at + 12),
    nameLen: buf.readUInt32LE(at + 16),
    firstRun: buf.readUInt32LE(at + 20),
    runCount: buf.readUInt32LE(at + 24),
    ownFiles: buf.readUInt32LE(at + 28),
    start: readU64(buf, at + 32),
    end: readU64(buf, at + 40),
    ownBytes: readU64(buf, at + 48),
    subtreeFiles: readU64(buf, at + 56),
    subtreeBytes: readU64(buf, at + 64),
    firstOrdinal: readU64(buf, at + 72),
  };
}

export function encodeRun(r: RunRecord, buf: Buffer, at: number): void {
  writeU64(buf, r.start, at);
  writeU64(buf, r.end, at + 8);
  buf.writeUInt32LE(r.firstOrdinal, at + 16);
  buf.writeUInt32LE(r.count, at + 20);
}

export function decodeRun(buf: Buffer, at: number): RunRecord {
  return { start: readU64(buf, at), end: readU64(buf, at + 8), firstOrdinal: buf.readUInt32LE(at + 16), count: buf.readUInt32LE(at + 20) };
}

export function encodeSample(s: SampleRecord, buf: Buffer, at: number): void {
  writeU64(buf, s.offset, at);
  writeU64(buf, s.ordinal, at + 8);
  buf.writeUInt32LE(s.keyOff, at + 16);
  buf.writeUInt32LE(s.keyLen, at + 20);
}

export function decodeSample(buf: Buffer, at: number): SampleRecord {
  return { offset: readU64(buf, at), ordinal: readU64(buf, at + 8), keyOff: buf.readUInt32LE(at + 16), keyLen: buf.readUInt32LE(at + 20) };
}

/** The 12 bytes before the header JSON. */
export function encodePrefix(headerLength: number): Buffer {
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(INDEX_MAGIC, 0, "latin1");
  prefix.writeUInt32LE(INDEX_VERSION, 4);
  prefix.writeUInt32LE(headerLength, 8);
  return prefix;
}
