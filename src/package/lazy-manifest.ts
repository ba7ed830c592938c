/**
 * A manifest read through its browse index: only the byte ranges an answer needs, never the
 * whole file. The index says where; every range read checks that it said the truth
 * (`readEntryRange`), and any disagreement is `INDEX_STALE` for the caller to fall back on.
 *
 * Trust: nothing here checks the top hash (that needs every byte). The registry is trusted to hold
 * the manifest its top hash names, and each file's bytes are still checked against their entry.
 */
import { BrowseIndex, indexStale, readEntryRange, type DirRecord, type EntryRange, type RunRecord } from "../browse-index/index.js";
import type { PyObject } from "../json/index.js";
import { bytesSource, readCanonical, readManifestRecords, type DirMeta, type ManifestEntry } from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import type { Storage } from "../storage/index.js";
import type { LsItem } from "./package.js";

/** Where the manifest is, pinned to the version the index describes when the store has versions. */
export interface ManifestLocation {
  readonly storage: Storage;
  readonly key: string;
  readonly versionId?: string;
}

export class LazyManifest {
  constructor(
    readonly index: BrowseIndex,
    private readonly at: ManifestLocation,
  ) {}

  /** Entry count and total size, from the index's header. */
  totals(): { entries: number; bytes: number } {
    return { entries: this.index.header.entries, bytes: this.index.header.totalBytes };
  }

  /** The header line: one ranged read of its known length. */
  async header(signal?: AbortSignal): Promise<PyObject> {
    const bytes = await this.readAll(0, this.index.header.headerEnd, signal);
    if (bytes.indexOf(0x0a) !== bytes.length - 1) throw indexStale("the header line is not where the index says");
    try {
      for await (const record of readManifestRecords(bytesSource(bytes)())) if (record.kind === "header") return record.header;
    } catch (error) {
      throw indexStale("the header line does not parse", error);
    }
    throw indexStale("there is no header line");
  }

  /** Directory metadata: the lines between the header and the first entry. */
  async dirMeta(signal?: AbortSignal): Promise<readonly DirMeta[]> {
    const bytes = await this.readAll(0, this.index.header.entriesStart, signal);
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) throw indexStale("the directory lines do not end where the index says");
    try {
      const manifest = await readCanonical(bytesSource(bytes));
      for await (const entry of manifest.entries) throw indexStale(`entry ${JSON.stringify(entry.logicalKey)} comes before the index's first entry`);
      return manifest.dirs;
    } catch (error) {
      throw indexStale("the lines before the entries are not a header and directory metadata", error);
    }
  }

  /** Entries under `prefix` (`a/b/` a folder, or any string prefix), streamed from one range. */
  async *entries(prefix: string, signal?: AbortSignal): AsyncGenerator<ManifestEntry> {
    if (prefix === "" || prefix.endsWith("/")) {
      const dir = await this.index.lookup(prefix.slice(0, -1));
      if (dir !== undefined) yield* this.read({ ...this.subtree(dir), under: prefix, count: dir.subtreeFiles }, signal);
      return;
    }
    // Keys starting with a string are contiguous in tree-walk order, from the first key >= it.
    const slash = prefix.lastIndexOf("/");
    const parentPath = slash < 0 ? "" : prefix.slice(0, slash);
    const parent = await this.index.lookup(parentPath);
    if (parent === undefined) return;
    const block = await this.index.block(prefix);
    const from = block !== undefined && block.start > parent.start ? { start: block.start, ordinal: block.ordinal } : { start: parent.start, ordinal: parent.firstOrdinal };
    if (from.start >= parent.end) return;
    const under = parentPath === "" ? "" : `${parentPath}/`;
    for await (const entry of this.read({ start: from.start, end: parent.end, firstLine: this.lineOf(from.ordinal), under }, signal)) {
      if (entry.logicalKey.startsWith(prefix)) yield entry;
      else if (compareLogicalKeys(entry.logicalKey, prefix) > 0) return;
    }
  }

  /** The files and subfolders directly in `folder`, in tree-walk order: children and own runs merged by position. */
  async *lsItems(folder: string, signal?: AbortSignal): AsyncGenerator<LsItem> {
    const prefix = folder === "" || folder.endsWith("/") ? folder : `${folder}/`;
    const dir = await this.index.lookup(prefix.slice(0, -1));
    if (dir === undefined) return;
    const children = this.index.children(dir);
    let child = await children.next();
    for (const run of await this.index.runs(dir)) {
      for (; !child.done && child.value.start < run.start; child = await children.next()) yield { kind: "dir", logicalKey: `${prefix}${child.value.name}/` };
      for await (const entry of this.read(this.ownRange(run, prefix), signal)) yield { kind: "file", entry };
    }
    for (; !child.done; child = await children.next()) yield { kind: "dir", logicalKey: `${prefix}${child.value.name}/` };
  }

  /** One entry by key: the sample block that would hold it, one ranged read; undefined when absent. */
  async entry(key: string, signal?: AbortSignal): Promise<ManifestEntry | undefined> {
    const block = await this.index.block(key);
    if (block === undefined) return undefined;
    const range: EntryRange = {
      start: block.start,
      end: block.end,
      firstLine: this.lineOf(block.ordinal),
      under: "",
      firstKey: block.firstKey,
      ...(block.nextKey === undefined ? {} : { before: block.nextKey }),
    };
    for await (const entry of this.read(range, signal)) {
      const order = compareLogicalKeys(entry.logicalKey, key);
      if (order === 0) return entry;
      if (order > 0) return undefined;
    }
    return undefined;
  }

  private subtree(dir: DirRecord): Omit<EntryRange, "under"> {
    return { start: dir.start, end: dir.end, firstLine: this.lineOf(dir.firstOrdinal) };
  }

  private ownRange(run: RunRecord, prefix: string): EntryRange {
    return { start: run.start, end: run.end, firstLine: this.lineOf(run.firstOrdinal), under: prefix, direct: true, count: run.count };
  }

  private lineOf(ordinal: number): number {
    return this.index.header.entriesLine + ordinal;
  }

  private read(range: EntryRange, signal?: AbortSignal): AsyncGenerator<ManifestEntry> {
    return readEntryRange((start, end) => this.at.storage.read(this.at.key, this.readOptions(start, end, signal)), range);
  }

  private async readAll(start: number, end: number, signal?: AbortSignal): Promise<Buffer> {
    if (end === start) return Buffer.alloc(0);
    return this.at.storage.readAll(this.at.key, this.readOptions(start, end, signal));
  }

  private readOptions(start: number, end: number, signal?: AbortSignal) {
    return { range: { start, end }, ...(this.at.versionId === undefined ? {} : { versionId: this.at.versionId }), ...(signal === undefined ? {} : { signal }) };
  }
}
