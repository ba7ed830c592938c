/**
 * What a browse index needs from one batch of manifest lines, gathered by the top-hash pass that
 * already parses them (hash-lines.ts, on a worker): the runs of entries that share a folder and the
 * entries that may start a sample block. The index builder then works per run, not per line, and
 * never scans the bytes again (docs/design.md §4.3). Offsets are within the batch.
 */

/** The browse-index facts of one batch of whole lines (structured-cloned from a worker). */
export interface BatchIndex {
  readonly bytes: number;
  readonly lines: number;
  /** 0-based line in the batch of the first entry line, and of the last directory line; -1 if none. */
  readonly firstEntryLine: number;
  readonly lastDirLine: number;
  /** Runs of consecutive entries in one folder: its path, its first line's offset, entries, sum of sizes. */
  readonly runDirs: readonly string[];
  readonly runStarts: readonly number[];
  readonly runCounts: readonly number[];
  readonly runBytes: readonly number[];
  /**
   * The entries that may take a sample: the batch's first, and each whose line starts in a later
   * block than the previous entry's. Every other entry shares its block with a sampled one.
   */
  readonly sampleAts: readonly number[];
  readonly sampleOrdinals: readonly number[];
  readonly sampleKeys: readonly string[];
}

/** Who takes the batches, in manifest order (the browse-index builder). */
export interface IndexFeed {
  /** Sample spacing in bytes. */
  readonly blockBytes: number;
  /** The header line, `bytes` long with its newline. */
  header(bytes: number): void;
  batch(index: BatchIndex): void;
}

/** Gathers one batch's `BatchIndex` as its lines are hashed. */
export class BatchIndexer {
  private readonly runDirs: string[] = [];
  private readonly runStarts: number[] = [];
  private readonly runCounts: number[] = [];
  private readonly runBytes: number[] = [];
  private readonly sampleAts: number[] = [];
  private readonly sampleOrdinals: number[] = [];
  private readonly sampleKeys: string[] = [];
  /** The open run's folder and the length of that path (-1 for the root). */
  private dir = "";
  private dirLength = -2;
  private run = -1;
  private ordinal = 0;
  private lastBlock = -1;
  private firstEntryLine = -1;
  private lastDirLine = -1;

  /** `base`: the batch's offset in the manifest, for block boundaries. */
  constructor(
    private readonly base: number,
    private readonly blockBytes: number,
  ) {}

  /** An entry line: its 0-based line in the batch and its offset there. */
  entry(key: string, size: number, line: number, at: number): void {
    if (this.firstEntryLine < 0) this.firstEntryLine = line;
    const slash = key.lastIndexOf("/");
    // Same folder: the same path length, and (below the root) the same path before it.
    if (slash !== this.dirLength || (slash > 0 && !key.startsWith(this.dir))) {
      this.dir = slash < 0 ? "" : key.slice(0, slash);
      this.dirLength = slash;
      this.run = this.runDirs.length;
      this.runDirs.push(this.dir);
      this.runStarts.push(at);
      this.runCounts.push(0);
      this.runBytes.push(0);
    }
    (this.runCounts[this.run] as number) += 1;
    (this.runBytes[this.run] as number) += size;
    const block = Math.floor((this.base + at) / this.blockBytes);
    if (block !== this.lastBlock) {
      this.sampleAts.push(at);
      this.sampleOrdinals.push(this.ordinal);
      this.sampleKeys.push(key);
      this.lastBlock = block;
    }
    this.ordinal += 1;
  }

  /** A directory-metadata line. */
  dirLine(line: number): void {
    this.lastDirLine = line;
  }

  result(bytes: number, lines: number): BatchIndex {
    const { runDirs, runStarts, runCounts, runBytes, sampleAts, sampleOrdinals, sampleKeys, firstEntryLine, lastDirLine } = this;
    return { bytes, lines, firstEntryLine, lastDirLine, runDirs, runStarts, runCounts, runBytes, sampleAts, sampleOrdinals, sampleKeys };
  }
}
