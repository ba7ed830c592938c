/**
 * A QKBI index opened for reading: folder lookups (a binary search over each level's contiguous
 * children), a folder's children and own-line runs, and the sample block that holds a key.
 * Everything else is the caller's: it reads those manifest ranges (see ranges.ts).
 */
import { createHash } from "node:crypto";
import { compareLogicalKeys } from "../sort/index.js";
import { indexCorrupt } from "./errors.js";
import {
  DIR_BYTES,
  PREFIX_BYTES,
  RUN_BYTES,
  SAMPLE_BYTES,
  decodeDir,
  decodeRun,
  decodeSample,
  type DirRecord,
  type IndexHeader,
  type RunRecord,
  type SectionName,
} from "./format.js";
import { fileSizeOf, headerLengthOf, parseHeader } from "./header.js";
import { FIRST_READ, PagedBytes, wholeBytes, type ByteReader, type FileBytes } from "./pages.js";

export interface OpenIndexOptions {
  /** An index up to this size is fetched whole and its body checksum checked. Default 16 MiB. */
  readonly maxWholeBytes?: number;
  /** Page size and page count of the cache used beyond that. Default 64 KiB × 256. */
  readonly pageBytes?: number;
  readonly maxPages?: number;
}

/** A folder record with its name. */
export interface NamedDir extends DirRecord {
  readonly name: string;
}

/** The manifest byte range of one sample block, and the key of its first line. */
export interface Block {
  readonly start: number;
  readonly end: number;
  readonly ordinal: number;
  readonly firstKey: string;
  /** The next block's first key: every key of this block sorts before it. */
  readonly nextKey?: string;
}

const CHILD_BATCH = 1024;

export class BrowseIndex {
  private rootDir: DirRecord | undefined;

  private constructor(
    readonly header: IndexHeader,
    private readonly file: FileBytes,
    private readonly base: number,
  ) {}

  /** Open an index: whole when small enough (checked against its body checksum), else paged. */
  static async open(read: ByteReader, options: OpenIndexOptions = {}): Promise<BrowseIndex> {
    const first = await read(0, FIRST_READ);
    const headerLength = headerLengthOf(first);
    const headerEnd = PREFIX_BYTES + headerLength;
    const json = first.length >= headerEnd ? first.subarray(PREFIX_BYTES, headerEnd) : (await read(0, headerEnd)).subarray(PREFIX_BYTES);
    const header = parseHeader(json);
    const size = fileSizeOf(header, headerLength);
    if (size <= (options.maxWholeBytes ?? 16 * 1024 * 1024)) {
      const file = first.length >= size ? first : Buffer.concat([first, await read(first.length, size)]);
      if (file.length !== size) throw indexCorrupt(`it holds ${file.length} bytes where its header describes ${size}`);
      const digest = createHash("sha256").update(file.subarray(headerEnd)).digest("hex");
      if (digest !== header.bodySha256) throw indexCorrupt("its body does not match its checksum");
      return new BrowseIndex(header, wholeBytes(file.subarray(0, size)), headerEnd);
    }
    return new BrowseIndex(header, new PagedBytes(read, options.pageBytes ?? 64 * 1024, options.maxPages ?? 256), headerEnd);
  }

  /** Whether the whole file is held (and its checksum was checked). */
  get whole(): boolean {
    return this.file.whole;
  }

  async root(): Promise<DirRecord> {
    this.rootDir ??= await this.dir(0);
    return this.rootDir;
  }

  async dir(index: number): Promise<DirRecord> {
    if (index >= this.header.dirs) throw indexCorrupt(`folder ${index} is out of range`);
    return this.checkDir(decodeDir(await this.section("dirs", index * DIR_BYTES, DIR_BYTES), 0, index));
  }

  /** The folder at `path` (`""` is the root, `a/b` a folder), or undefined when there is none. */
  async lookup(path: string): Promise<DirRecord | undefined> {
    let dir = await this.root();
    if (path === "") return dir;
    for (const name of path.split("/")) {
      const child = await this.child(dir, name);
      if (child === undefined) return undefined;
      dir = child;
    }
    return dir;
  }

  /** The subfolder `name` of `dir`, by binary search over its contiguous, name-ordered children. */
  async child(dir: DirRecord, name: string): Promise<NamedDir | undefined> {
    let lo = 0;
    let hi = dir.childCount - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const child = await this.named(await this.dir(dir.firstChild + mid));
      const order = compareLogicalKeys(child.name, name);
      if (order === 0) return child;
      if (order < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** The subfolders of `dir` in name order, read in batches (one range of records, one of names). */
  async *children(dir: DirRecord): AsyncGenerator<NamedDir> {
    for (let k = 0; k < dir.childCount; k += CHILD_BATCH) {
      const count = Math.min(CHILD_BATCH, dir.childCount - k);
      const first = dir.firstChild + k;
      const records = await this.section("dirs", first * DIR_BYTES, count * DIR_BYTES);
      const batch = Array.from({ length: count }, (_, i) => this.checkDir(decodeDir(records, i * DIR_BYTES, first + i)));
      const last = batch[count - 1] as DirRecord;
      const from = (batch[0] as DirRecord).nameOff;
      const names = await this.section("names", from, last.nameOff + last.nameLen - from);
      for (const d of batch) yield { ...d, name: names.toString("utf8", d.nameOff - from, d.nameOff - from + d.nameLen) };
    }
  }

  async named(dir: DirRecord): Promise<NamedDir> {
    return { ...dir, name: (await this.section("names", dir.nameOff, dir.nameLen)).toString("utf8") };
  }

  /** The folder's own entry lines as runs; a folder without subfolders has one: its subtree. */
  async runs(dir: DirRecord): Promise<RunRecord[]> {
    if (dir.childCount === 0) return dir.ownFiles === 0 ? [] : [{ start: dir.start, end: dir.end, firstOrdinal: dir.firstOrdinal, count: dir.ownFiles }];
    const bytes = await this.section("runs", dir.firstRun * RUN_BYTES, dir.runCount * RUN_BYTES);
    return Array.from({ length: dir.runCount }, (_, i) => decodeRun(bytes, i * RUN_BYTES));
  }

  /** The sample block whose lines would hold `key`: from the last sample at or before it. */
  async block(key: string): Promise<Block | undefined> {
    const n = this.header.samples;
    if (n === 0) return undefined;
    let lo = 0;
    let hi = n - 1;
    if (compareLogicalKeys((await this.sample(0)).key, key) > 0) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareLogicalKeys((await this.sample(mid)).key, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    const here = await this.sample(lo);
    const next = lo + 1 < n ? await this.sample(lo + 1) : undefined;
    const end = next?.offset ?? this.header.manifest.bytes;
    return { start: here.offset, end, ordinal: here.ordinal, firstKey: here.key, ...(next === undefined ? {} : { nextKey: next.key }) };
  }

  async sample(i: number): Promise<{ offset: number; ordinal: number; key: string }> {
    const s = decodeSample(await this.section("samples", i * SAMPLE_BYTES, SAMPLE_BYTES), 0);
    return { offset: s.offset, ordinal: s.ordinal, key: (await this.section("keys", s.keyOff, s.keyLen)).toString("utf8") };
  }

  private async section(name: SectionName, at: number, length: number): Promise<Buffer> {
    const section = this.header.sections[name];
    if (at + length > section.length) throw indexCorrupt(`a read past the end of its ${name} section`);
    return this.file.bytes(this.base + section.offset + at, length);
  }

  private checkDir(d: DirRecord): DirRecord {
    const h = this.header;
    const ok =
      (d.childCount === 0 || (d.firstChild > d.index && d.firstChild + d.childCount <= h.dirs)) &&
      d.firstRun + d.runCount <= h.runs &&
      d.nameOff + d.nameLen <= h.sections.names.length &&
      d.start <= d.end &&
      d.end <= h.manifest.bytes;
    if (!ok) throw indexCorrupt(`folder record ${d.index} is out of range`);
    return d;
  }
}
