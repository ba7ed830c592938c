/**
 * External merge sort: buffer records up to a memory budget, sort each buffer (a run) in memory,
 * spill it to a temp file, then k-way merge the runs into one streamed output. Stable: records that
 * compare equal come out in input order, which is what lets `reduce` implement "last write wins".
 */
import { mkdtemp, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InterruptedError, UsageError } from "../errors/index.js";
import { RunMerger } from "./merge.js";
import { GroupReader, RunReader, RunWriter, tempIo, type RecordReader } from "./run-file.js";

export interface ExternalSortOptions<T> {
  /** Total order of the output; ties keep input order. */
  compare: (a: T, b: T) => number;
  /** Encoding of a record in a spill file. Strings are written as UTF-8. */
  serialize: (record: T) => Buffer | string;
  /** Inverse of `serialize`. `bytes` is a view into a reused buffer: copy it if you keep it. */
  deserialize: (bytes: Buffer) => T;
  /**
   * Encoding of a group of consecutive records (up to 256) as one spill record, used instead of
   * `serialize`/`deserialize` in spill files when given, with `deserializeGroup`. For encoders whose
   * cost is per call more than per byte: V8's `serialize` takes ~9 µs a call.
   */
  serializeGroup?: (records: readonly T[]) => Buffer | string;
  /** Inverse of `serializeGroup`. */
  deserializeGroup?: (bytes: Buffer) => readonly T[];
  /**
   * Folder for spill files; a private subfolder is made in it on the first spill and removed
   * after. Default `os.tmpdir()`, which may be a RAM-backed tmpfs: large sorts should pass a
   * folder on disk (e.g. the workspace's state folder).
   */
  tmpDir?: string;
  /** Spill when this many records are buffered. */
  maxRecordsInMemory?: number;
  /** Spill when the buffered records' `sizeOf` total reaches this; also sizes merge read buffers. Default 256 MiB. */
  maxBytesInMemory?: number;
  /** Estimated heap bytes of one buffered record. Default: derived from `serialize` (see `defaultSizeOf`). */
  sizeOf?: (record: T) => number;
  /**
   * Combines records that compare equal, called as (earlier, later) in input order; must be
   * associative, because it runs inside each run and again across runs. `(_, later) => later`
   * is "last write wins".
   */
  reduce?: (earlier: T, later: T) => T;
  /** Most runs merged at once; more runs take extra merge passes. Default 64. */
  maxFanIn?: number;
  signal?: AbortSignal;
  /** Called once after the last record was handed out. */
  onStats?: (stats: ExternalSortStats) => void;
}

export interface ExternalSortStats {
  recordsIn: number;
  recordsOut: number;
  /** Runs spilled to disk; 0 means the sort never touched the disk. */
  runs: number;
  /** Bytes written to spill files, intermediate merge passes included. */
  bytesSpilled: number;
  /** Largest total size of spill files alive at one time. */
  peakTempBytes: number;
  /** Merge passes before the final one. */
  extraMergePasses: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const DEFAULT_FAN_IN = 64;
const BATCH = 1024;
/** Records per spill record with `serializeGroup`. */
const GROUP = 256;
const MIN_READ_BUFFER = 64 * 1024;
const MAX_READ_BUFFER = 4 * 1024 * 1024;

/** Sorts `input`, streaming the result. Temp files are removed on completion, error, abort or early `break`. */
export async function* externalSort<T>(
  input: AsyncIterable<T> | Iterable<T>,
  opts: ExternalSortOptions<T>,
): AsyncGenerator<T, void, undefined> {
  for await (const batch of externalSortBatches(input, opts)) yield* batch;
}

/** Same as `externalSort`, handing out arrays of records: cheaper per record for hot consumers. */
export async function* externalSortBatches<T>(
  input: AsyncIterable<T> | Iterable<T>,
  opts: ExternalSortOptions<T>,
): AsyncGenerator<T[], void, undefined> {
  const sorter = new Sorter(opts);
  try {
    yield* sorter.run(input);
  } finally {
    await sorter.cleanup();
  }
}

/**
 * Estimate used when no `sizeOf` is given: V8 keeps a string in 1–2 bytes per unit, and an object
 * decoded from N bytes of JSON-like data typically takes 2–4×N; the constant covers headers and the
 * array slot. Callers that know their record shape should pass `sizeOf` instead.
 */
export function defaultSizeOf<T>(serialize: (record: T) => Buffer | string): (record: T) => number {
  return (record) => {
    if (typeof record === "string") return 32 + 2 * record.length;
    if (Buffer.isBuffer(record)) return 96 + record.length;
    const s = serialize(record);
    return 64 + 3 * s.length;
  };
}

interface Limits {
  maxRecords: number;
  maxBytes: number;
  fanIn: number;
  sizeOf: (record: unknown) => number;
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) {
    throw new UsageError("SORT_BAD_OPTION", `externalSort option ${name} must be a number ≥ ${min}, got ${value}`);
  }
  return Math.floor(value);
}

function limitsOf<T>(opts: ExternalSortOptions<T>): Limits {
  if ((opts.serializeGroup === undefined) !== (opts.deserializeGroup === undefined)) {
    throw new UsageError("SORT_BAD_OPTION", "externalSort options serializeGroup and deserializeGroup go together: give both or neither");
  }
  return {
    maxRecords: positive("maxRecordsInMemory", opts.maxRecordsInMemory, Number.MAX_SAFE_INTEGER),
    maxBytes: positive("maxBytesInMemory", opts.maxBytesInMemory, DEFAULT_MAX_BYTES),
    fanIn: positive("maxFanIn", opts.maxFanIn, DEFAULT_FAN_IN, 2),
    sizeOf: (opts.sizeOf ?? defaultSizeOf(opts.serialize)) as (record: unknown) => number,
  };
}

class Sorter<T> {
  private readonly limits: Limits;
  private readonly reduce: GroupReducer<T>;
  private dir: string | undefined;
  private runs: string[] = [];
  private runSizes = new Map<string, number>();
  private nextRunId = 0;
  private readonly stats: ExternalSortStats = {
    recordsIn: 0,
    recordsOut: 0,
    runs: 0,
    bytesSpilled: 0,
    peakTempBytes: 0,
    extraMergePasses: 0,
  };

  constructor(private readonly opts: ExternalSortOptions<T>) {
    this.limits = limitsOf(opts);
    this.reduce = new GroupReducer(opts.compare, opts.reduce);
  }

  async *run(input: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T[], void, undefined> {
    let tail = await this.consume(input);
    if (this.runs.length === 0) {
      yield* this.emitSorted(tail);
    } else {
      if (tail.length > 0) await this.spill(tail);
      tail = []; // lets the spilled buffer be collected before the merge allocates its own
      yield* this.mergeAll();
    }
    this.opts.onStats?.({ ...this.stats });
  }

  async cleanup(): Promise<void> {
    // Best effort by design: a failing rm must not hide the error that brought us here.
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    this.dir = undefined;
  }

  /** Reads all input, spilling full buffers; returns the last, unspilled buffer. */
  private async consume(input: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
    const { maxRecords, maxBytes, sizeOf } = this.limits;
    let buffer: T[] = [];
    let bytes = 0;
    for await (const record of input) {
      this.checkAbort();
      buffer.push(record);
      bytes += sizeOf(record);
      if (buffer.length >= maxRecords || bytes >= maxBytes) {
        this.stats.recordsIn += buffer.length;
        await this.spill(buffer);
        buffer = [];
        bytes = 0;
      }
    }
    this.stats.recordsIn += buffer.length;
    return buffer;
  }

  private *emitSorted(buffer: T[]): Generator<T[], void, undefined> {
    buffer.sort(this.opts.compare);
    for (let i = 0; i < buffer.length; i += BATCH) {
      this.checkAbort();
      const out = this.reduce.feed(buffer.slice(i, i + BATCH));
      if (i + BATCH >= buffer.length) this.reduce.flush(out);
      this.stats.recordsOut += out.length;
      if (out.length > 0) yield out;
    }
  }

  private async spill(buffer: T[]): Promise<void> {
    buffer.sort(this.opts.compare);
    const reduced = this.reduce.feed(buffer);
    this.reduce.flush(reduced);
    const writer = await this.newRun();
    await this.writeAll(writer, reduced);
    this.stats.runs++;
  }

  private async newRun(): Promise<RunWriter> {
    const parent = this.opts.tmpDir ?? tmpdir();
    this.dir ??= await tempIo(parent, "create a folder in", () => mkdtemp(join(parent, "quiltkit-sort-")));
    const writer = await RunWriter.create(join(this.dir, `run-${this.nextRunId++}`));
    this.runs.push(writer.path);
    return writer;
  }

  private async writeAll(writer: RunWriter, records: T[]): Promise<void> {
    try {
      for (const encoded of this.encode(records)) {
        if (writer.push(encoded)) {
          this.checkAbort();
          await writer.drain();
        }
      }
      await writer.close();
    } catch (e) {
      await writer.abandon();
      throw e;
    }
    this.noteRunWritten(writer);
  }

  private noteRunWritten(writer: RunWriter): void {
    this.runSizes.set(writer.path, writer.bytesWritten);
    this.stats.bytesSpilled += writer.bytesWritten;
    let alive = 0;
    for (const size of this.runSizes.values()) alive += size;
    this.stats.peakTempBytes = Math.max(this.stats.peakTempBytes, alive);
  }

  private async *mergeAll(): AsyncGenerator<T[], void, undefined> {
    while (this.runs.length > this.limits.fanIn) await this.mergePass();
    const merger = await this.openMerger(this.runs);
    try {
      for (;;) {
        this.checkAbort();
        const batch = await merger.nextBatch(BATCH);
        const out = this.reduce.feed(batch);
        if (batch.length === 0) this.reduce.flush(out);
        this.stats.recordsOut += out.length;
        if (out.length > 0) yield out;
        if (batch.length === 0) return;
      }
    } finally {
      await merger.close();
    }
  }

  /** Merges consecutive groups of runs, keeping their order so the final merge stays stable. */
  private async mergePass(): Promise<void> {
    const groups: string[][] = [];
    for (let i = 0; i < this.runs.length; i += this.limits.fanIn) groups.push(this.runs.slice(i, i + this.limits.fanIn));
    this.runs = [];
    for (const group of groups) await this.mergeGroup(group);
    this.stats.extraMergePasses++;
  }

  private async mergeGroup(group: string[]): Promise<void> {
    const merger = await this.openMerger(group);
    const writer = await this.newRun();
    try {
      for (let batch = await merger.nextBatch(BATCH); ; batch = await merger.nextBatch(BATCH)) {
        const out = this.reduce.feed(batch);
        if (batch.length === 0) this.reduce.flush(out);
        await this.writeSome(writer, out);
        if (batch.length === 0) break;
      }
      await writer.close();
    } catch (e) {
      await writer.abandon();
      throw e;
    } finally {
      await merger.close();
    }
    this.noteRunWritten(writer);
    await this.removeRuns(group);
  }

  private async writeSome(writer: RunWriter, records: T[]): Promise<void> {
    this.checkAbort();
    let mustDrain = false;
    for (const encoded of this.encode(records)) mustDrain = writer.push(encoded) || mustDrain;
    if (mustDrain) await writer.drain();
  }

  private async removeRuns(paths: string[]): Promise<void> {
    for (const path of paths) {
      await tempIo(path, "remove", () => unlink(path));
      this.runSizes.delete(path);
    }
  }

  /** The spill records of `records`: one each, or one per group with `serializeGroup`. */
  private *encode(records: T[]): Generator<Buffer | string> {
    const group = this.opts.serializeGroup;
    if (group === undefined) {
      for (const record of records) yield this.opts.serialize(record);
      return;
    }
    for (let i = 0; i < records.length; i += GROUP) yield group(records.slice(i, i + GROUP));
  }

  private openMerger(paths: string[]): Promise<RunMerger<T>> {
    // Half the budget for read buffers; the rest covers decoded records and the batch in flight.
    const share = Math.floor(this.limits.maxBytes / 2 / Math.max(1, paths.length));
    const bufferBytes = Math.min(MAX_READ_BUFFER, Math.max(MIN_READ_BUFFER, share));
    const { deserialize, deserializeGroup } = this.opts;
    const openReader = async (path: string): Promise<RecordReader<T>> =>
      deserializeGroup === undefined ? RunReader.open(path, bufferBytes, deserialize) : new GroupReader(await RunReader.open(path, bufferBytes, deserializeGroup));
    return RunMerger.open(paths, openReader, this.opts.compare);
  }

  private checkAbort(): void {
    const signal = this.opts.signal;
    if (signal?.aborted === true) throw new InterruptedError("External sort aborted", { cause: signal.reason });
  }
}

/**
 * Folds runs of equal records with `reduce`. It keeps the last record of a batch pending, because
 * its equals may arrive in the next batch.
 */
class GroupReducer<T> {
  private pending: T | undefined;
  private hasPending = false;

  constructor(
    private readonly compare: (a: T, b: T) => number,
    private readonly reduce: ((earlier: T, later: T) => T) | undefined,
  ) {}

  /** Returns the records that are complete; without `reduce` that is the batch itself. */
  feed(batch: T[]): T[] {
    const reduce = this.reduce;
    if (reduce === undefined) return batch;
    const out: T[] = [];
    for (const record of batch) {
      if (!this.hasPending) {
        this.pending = record;
        this.hasPending = true;
      } else if (this.compare(this.pending as T, record) === 0) {
        this.pending = reduce(this.pending as T, record);
      } else {
        out.push(this.pending as T);
        this.pending = record;
      }
    }
    return out;
  }

  /** Appends the pending record to `out` at the end of a stream. */
  flush(out: T[]): void {
    if (!this.hasPending) return;
    out.push(this.pending as T);
    this.pending = undefined;
    this.hasPending = false;
  }
}
