/**
 * Builds a QKBI index from a manifest's bytes in one streaming pass (docs/design.md §4.3): it is
 * fed the chunks (`write`) as someone else reads them, so the same read can also check the top
 * hash. Memory is the folder depth, 4 bytes per folder, the samples (one per 64 KiB of manifest)
 * and the spools' budgets; folder and run records spill to temp files and are sorted by
 * `externalSort` at the end.
 *
 * A manifest the index cannot describe (not in tree-walk order, a directory line among the entries,
 * no final newline, a line that is not JSON) makes the builder give up: `failure` says why, and
 * no index is written. Such a manifest is still read the slow way.
 */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { logicalKeyProblem, type BatchIndex, type IndexFeed } from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import { assembleIndex, type AssembleInput } from "./assemble.js";
import { BLOCK_BYTES, type IndexHeader, type ManifestIdentity } from "./format.js";
import { encodeFolder, encodeSpooledRun, openFolder, type OpenFolder } from "./folders.js";
import { scanLine } from "./scan-line.js";
import { Spool } from "./spool.js";

export interface IndexBuilderOptions {
  /** A folder on disk for spill files (a private subfolder is made in it). */
  readonly tmpDir: string;
  /** Sample spacing; default 64 KiB. */
  readonly blockBytes?: number;
  /** Memory for spooled records before they spill (default 4 MiB), and for sorting them (default 32 MiB). */
  readonly spoolBytes?: number;
  readonly sortBytes?: number;
  /**
   * Fed by the top-hash pass (`IndexFeed`: `header`, then `batch` per batch of lines) instead of
   * scanning the bytes given to `write`, which then only hash and count them.
   */
  readonly fed?: boolean;
}

/** What the caller knows of the manifest object: `bytes` and `sha256` come from the pass itself. */
export type IdentityInput = Omit<ManifestIdentity, "bytes" | "sha256"> & { readonly topHashChecked: boolean };

const MAX_LINE = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

export class IndexBuilder implements IndexFeed {
  private readonly sha = createHash("sha256");
  readonly blockBytes: number;
  /** Bytes fed so far, and where the line being read begins. */
  private consumed = 0;
  private lineStart = 0;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private lines = 0;
  private headerEnd = -1;
  private entriesStart = -1;
  private entriesLine = 0;
  private ordinal = 0;
  private previousKey: string | undefined;
  private readonly stack: OpenFolder[] = [];
  private childCounts = new Uint32Array(1024);
  private folders = 1;
  private nameBytes = 0;
  private nextSample = 0;
  private readonly samples: { offset: number; ordinal: number; key: Buffer }[] = [];
  private work: string | undefined;
  private folderSpool: Spool | undefined;
  private runSpool: Spool | undefined;
  private why: string | undefined;
  /** Fed mode: the bytes the pass has described so far, and the manifest's last byte. */
  private described = 0;
  private lastByte = -1;

  constructor(private readonly options: IndexBuilderOptions) {
    this.blockBytes = options.blockBytes ?? BLOCK_BYTES;
    this.stack.push(openFolder("", "", 0, undefined, 0, 0));
  }

  /** Why no index can be built from what was fed, if so. */
  get failure(): string | undefined {
    return this.why;
  }

  /** Feed the next chunk of the manifest (synchronous: records spill with blocking writes). */
  write(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.sha.update(buf);
    const base = this.consumed;
    this.consumed += buf.length;
    if (buf.length > 0) this.lastByte = buf[buf.length - 1] as number;
    if (this.why !== undefined || this.options.fed === true) return;
    try {
      this.scanChunk(buf, base);
    } catch (error) {
      this.fail(`the index builder failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * End of the manifest: write the index to `outPath` (atomically) and return its header, or
   * `undefined` when the manifest cannot be indexed (see `failure`).
   */
  async finish(identity: IdentityInput, outPath: string, signal?: AbortSignal): Promise<IndexHeader | undefined> {
    if (this.options.fed === true && this.described !== this.consumed) this.fail("the top-hash pass did not describe every line");
    if (this.why === undefined && (this.carryBytes > 0 || (this.consumed > 0 && this.lastByte !== NEWLINE))) this.fail("the manifest does not end with a newline");
    if (this.why === undefined && this.headerEnd < 0) this.fail("the manifest is empty");
    if (this.why !== undefined) return undefined;
    const root = this.stack[0] as OpenFolder;
    const end = this.consumed;
    if (this.entriesStart < 0) {
      this.entriesStart = end;
      this.entriesLine = this.lines + 1;
    }
    while (this.stack.length > 1) this.closeTop(end);
    this.closeRun(root, end, true);
    (root as { start: number }).start = this.entriesStart;
    root.end = end;
    this.spools().folders.append(encodeFolder(root));
    this.setChildCount(0, root.childCount);
    const input: AssembleInput = {
      identity: { ...identity, bytes: end, sha256: this.sha.digest("hex") },
      headerEnd: this.headerEnd,
      entriesStart: this.entriesStart,
      entriesLine: this.entriesLine,
      entries: this.ordinal,
      totalBytes: root.subtreeBytes,
      blockBytes: this.blockBytes,
      folders: this.folders,
      childCounts: this.childCounts,
      nameBytes: this.nameBytes,
      folderSpool: this.spools().folders,
      runSpool: this.spools().runs,
      samples: this.samples,
      tmpDir: this.workDir(),
      ...(this.options.sortBytes === undefined ? {} : { sortBytes: this.options.sortBytes }),
      ...(signal === undefined ? {} : { signal }),
    };
    return assembleIndex(input, outPath);
  }

  /** Remove the spill files (always call it, after `finish` or instead of it). */
  async dispose(): Promise<void> {
    await this.folderSpool?.dispose();
    await this.runSpool?.dispose();
    if (this.work !== undefined) await rm(this.work, { recursive: true, force: true });
  }

  /** Fed mode: the header line, `bytes` long with its newline. */
  header(bytes: number): void {
    this.described = bytes;
    this.lines = 1;
    this.headerEnd = bytes;
  }

  /** Fed mode: one batch of lines after the last, already checked for order and safe keys by the pass. */
  batch(index: BatchIndex): void {
    const base = this.described;
    this.described += index.bytes;
    if (this.why !== undefined) return;
    try {
      this.batchRuns(index, base);
    } catch (error) {
      this.fail(`the index builder failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private batchRuns(index: BatchIndex, base: number): void {
    const lines = this.lines;
    this.lines += index.lines;
    if (index.lastDirLine >= 0 && (this.entriesStart >= 0 || (index.firstEntryLine >= 0 && index.lastDirLine > index.firstEntryLine))) {
      return this.fail(`line ${lines + index.lastDirLine + 1}: directory metadata after the entries`);
    }
    if (index.firstEntryLine < 0) return;
    if (this.entriesStart < 0) {
      this.entriesStart = base + (index.runStarts[0] as number);
      this.entriesLine = lines + index.firstEntryLine + 1;
    }
    const firstOrdinal = this.ordinal;
    for (let r = 0; r < index.runDirs.length; r++) {
      this.run(index.runDirs[r] as string, base + (index.runStarts[r] as number), index.runCounts[r] as number, index.runBytes[r] as number);
    }
    for (let s = 0; s < index.sampleAts.length; s++) {
      this.sample(base + (index.sampleAts[s] as number), firstOrdinal + (index.sampleOrdinals[s] as number), index.sampleKeys[s] as string);
    }
  }

  private fail(why: string): void {
    this.why ??= why;
    this.carry = [];
    this.carryBytes = 0;
  }

  private scanChunk(buf: Buffer, base: number): void {
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl !== -1 && this.why === undefined; nl = buf.indexOf(NEWLINE, start)) {
      if (this.carryBytes === 0) {
        this.line(buf, start, nl);
      } else {
        const whole = Buffer.concat([...this.carry, buf.subarray(start, nl)]);
        this.carry = [];
        this.carryBytes = 0;
        this.line(whole, 0, whole.length);
      }
      start = nl + 1;
      this.lineStart = base + start;
    }
    if (this.why === undefined && start < buf.length) {
      this.carry.push(Buffer.from(buf.subarray(start)));
      this.carryBytes += buf.length - start;
      if (this.carryBytes > MAX_LINE) this.fail("a line is longer than 64 MiB");
    }
  }

  /** One line, `buf[start, end)` without its newline, beginning at `this.lineStart` in the manifest. */
  private line(buf: Buffer, start: number, end: number): void {
    const at = this.lineStart;
    this.lines += 1;
    if (this.lines === 1) {
      this.headerEnd = at + (end - start) + 1;
      return;
    }
    const scanned = scanLine(buf, start, end);
    if (scanned === undefined) return this.fail(`line ${this.lines} is not a manifest line`);
    if (scanned.kind === "dir") {
      if (this.entriesStart >= 0) this.fail(`line ${this.lines}: directory metadata after the entries`);
      return;
    }
    this.entry(scanned.key, scanned.size, at);
  }

  private entry(key: string, size: number, at: number): void {
    if (this.entriesStart < 0) {
      this.entriesStart = at;
      this.entriesLine = this.lines;
    }
    // An unsafe key (`a//b`, `/x`, `..`) would make empty or bogus folders; the reader refuses it anyway.
    if (logicalKeyProblem(key) !== undefined) return this.fail(`line ${this.lines} has an unsafe logical key`);
    if (this.previousKey !== undefined) {
      const order = compareLogicalKeys(this.previousKey, key);
      if (order >= 0) return this.fail(`entries are not in tree-walk order at line ${this.lines}`);
      const previous = this.previousKey;
      if (key.length > previous.length && key.charCodeAt(previous.length) === 0x2f && key.startsWith(previous)) return this.fail(`line ${this.lines}: a key is both a file and a folder`);
    }
    const slash = key.lastIndexOf("/");
    this.sample(at, this.ordinal, key);
    this.run(slash < 0 ? "" : key.slice(0, slash), at, 1, size);
    this.previousKey = key;
  }

  /** `count` entries in folder `dir`, the first one's line at `at`, numbered from `this.ordinal`. */
  private run(dir: string, at: number, count: number, bytes: number): void {
    const folder = this.enter(dir, at);
    if (folder.runStart < 0) {
      folder.runStart = at;
      folder.runFirstOrdinal = this.ordinal;
      folder.runLines = 0;
    }
    folder.runLines += count;
    folder.ownFiles += count;
    folder.ownBytes += bytes;
    folder.subtreeFiles += count;
    folder.subtreeBytes += bytes;
    this.ordinal += count;
  }

  /** One sample per block: the first entry whose line starts at or after the next block boundary. */
  private sample(at: number, ordinal: number, key: string): void {
    if (at < this.nextSample) return;
    this.samples.push({ offset: at, ordinal, key: Buffer.from(key, "utf8") });
    this.nextSample = (Math.floor(at / this.blockBytes) + 1) * this.blockBytes;
  }

  /** Close the open folders that do not contain `dir`, open those down to it; the folder of `dir`. */
  private enter(dir: string, at: number): OpenFolder {
    let top = this.stack[this.stack.length - 1] as OpenFolder;
    while (this.stack.length > 1 && !(dir === top.path || dir.startsWith(`${top.path}/`))) {
      this.closeTop(at);
      top = this.stack[this.stack.length - 1] as OpenFolder;
    }
    while (top.path !== dir) {
      const rest = top.path === "" ? dir : dir.slice(top.path.length + 1);
      const slash = rest.indexOf("/");
      const name = slash < 0 ? rest : rest.slice(0, slash);
      this.closeRun(top, at, false);
      const child = openFolder(top.path === "" ? name : `${top.path}/${name}`, name, this.folders++, top, at, this.ordinal);
      top.childCount += 1;
      this.stack.push(child);
      top = child;
    }
    return top;
  }

  private closeTop(at: number): void {
    const folder = this.stack.pop() as OpenFolder;
    this.closeRun(folder, at, true);
    folder.end = at;
    const parent = this.stack[this.stack.length - 1] as OpenFolder;
    parent.subtreeFiles += folder.subtreeFiles;
    parent.subtreeBytes += folder.subtreeBytes;
    this.setChildCount(folder.pre, folder.childCount);
    this.nameBytes += Buffer.byteLength(folder.name, "utf8");
    this.spools().folders.append(encodeFolder(folder));
  }

  /** End the folder's current run of own lines. A folder without subfolders keeps none: its subtree is its run. */
  private closeRun(folder: OpenFolder, at: number, closing: boolean): void {
    if (folder.runStart < 0) return;
    if (!(closing && folder.childCount === 0)) {
      this.spools().runs.append(encodeSpooledRun(folder, at));
      folder.runsEmitted += 1;
    }
    folder.runStart = -1;
  }

  private setChildCount(pre: number, count: number): void {
    if (pre >= this.childCounts.length) {
      const grown = new Uint32Array(Math.max(pre + 1, this.childCounts.length * 2));
      grown.set(this.childCounts);
      this.childCounts = grown;
    }
    this.childCounts[pre] = count;
  }

  private spools(): { folders: Spool; runs: Spool } {
    if (this.folderSpool === undefined || this.runSpool === undefined) {
      // Their files only appear once the records outgrow memory.
      this.folderSpool = new Spool(join(this.workDir(), "folders.spool"), this.options.spoolBytes);
      this.runSpool = new Spool(join(this.workDir(), "runs.spool"), this.options.spoolBytes);
    }
    return { folders: this.folderSpool, runs: this.runSpool };
  }

  private workDir(): string {
    this.work ??= mkdtempSync(join(this.options.tmpDir, "quiltkit-qkbi-"));
    return this.work;
  }
}
