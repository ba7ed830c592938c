/**
 * Spill files of the external sort: an 8-byte header (magic `QKSR`, u32 format version 1), then
 * records, each a 4-byte little-endian length followed by that many bytes. Length prefixes (not
 * newlines) keep the sort generic: a record may hold any byte. A run lives only as long as one
 * sort, but carries a version like every on-disk format of ours.
 */
import { open, type FileHandle } from "node:fs/promises";
import { StorageError } from "../errors/index.js";

const PREFIX_BYTES = 4;
const MAGIC = "QKSR";
const FORMAT_VERSION = 1;
const HEADER_BYTES = 8;
const WRITE_CHUNK_BYTES = 1 << 20;

/** Runs an fs call, reporting its failure as a StorageError that names the temp file. */
export async function tempIo<R>(path: string, what: string, op: () => Promise<R>): Promise<R> {
  try {
    return await op();
  } catch (cause) {
    throw new StorageError("SORT_TEMP_IO", `External sort could not ${what} ${path}`, {
      cause,
      hint: "Check free space and permissions of the sort's temporary folder.",
    });
  }
}

/** Buffers records into 1 MiB chunks; the caller awaits `drain()` whenever `push` says so. */
export class RunWriter {
  private chunk = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
  private pos = 0;
  private readonly full: Buffer[] = [];
  private written = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {
    this.chunk.write(MAGIC, 0, "latin1");
    this.chunk.writeUInt32LE(FORMAT_VERSION, 4);
    this.pos = HEADER_BYTES;
  }

  static async create(path: string): Promise<RunWriter> {
    const fh = await tempIo(path, "create", () => open(path, "wx"));
    return new RunWriter(path, fh);
  }

  /** Bytes handed to the OS so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Appends one record; returns true when full chunks are waiting for `drain()`. */
  push(data: Buffer | string): boolean {
    // Worst case of UTF-8 is 3 bytes per UTF-16 unit, so a string always fits in its reservation.
    const need = PREFIX_BYTES + (typeof data === "string" ? data.length * 3 : data.length);
    if (this.pos + need > this.chunk.length) this.rotate(need);
    const body = this.pos + PREFIX_BYTES;
    const n = typeof data === "string" ? this.chunk.write(data, body, "utf8") : data.copy(this.chunk, body);
    this.chunk.writeUInt32LE(n, this.pos);
    this.pos = body + n;
    return this.full.length > 0;
  }

  async drain(): Promise<void> {
    const buffers = this.full.splice(0, this.full.length);
    for (const b of buffers) await this.writeAll(b);
  }

  /** Writes what is left and closes the file; the writer is unusable afterwards. */
  async close(): Promise<void> {
    this.rotate(0);
    await this.drain();
    await tempIo(this.path, "close", () => this.fh.close());
  }

  /** Closes without flushing, for error paths; never throws. */
  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private rotate(need: number): void {
    if (this.pos > 0) this.full.push(this.chunk.subarray(0, this.pos));
    this.chunk = Buffer.allocUnsafe(Math.max(WRITE_CHUNK_BYTES, need));
    this.pos = 0;
  }

  private async writeAll(b: Buffer): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const { bytesWritten } = await tempIo(this.path, "write", () => this.fh.write(b, off));
      off += bytesWritten;
      this.written += bytesWritten;
    }
  }
}

/** What the merge reads a run through: a record at a time, synchronously while bytes are buffered. */
export interface RecordReader<T> {
  readonly current: T | undefined;
  /** Decodes the next record into `current`; false when more bytes must be read first. */
  next(): boolean;
  /** Decodes the next record, reading as needed; false at the end of the run. */
  advance(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A run whose file records are groups of records (ExternalSortOptions.serializeGroup), handed out
 * one record at a time.
 */
export class GroupReader<T> implements RecordReader<T> {
  current: T | undefined = undefined;
  private group: readonly T[] = [];
  private at = 0;

  constructor(private readonly inner: RunReader<readonly T[]>) {}

  next(): boolean {
    for (;;) {
      if (this.at < this.group.length) {
        this.current = this.group[this.at++];
        return true;
      }
      if (!this.inner.next()) return false;
      this.take();
    }
  }

  async advance(): Promise<boolean> {
    for (;;) {
      if (this.next()) return true;
      if (!(await this.inner.advance())) {
        this.current = undefined;
        return false;
      }
      this.take();
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private take(): void {
    this.group = this.inner.current ?? [];
    this.at = 0;
  }
}

/**
 * Reads one run back. `next()` is synchronous and decodes from the buffer; only when it returns
 * false does the caller await `fill()`, so the merge pays for a promise once per buffer, not per
 * record.
 */
export class RunReader<T> implements RecordReader<T> {
  current: T | undefined = undefined;
  private buf: Buffer;
  private start = 0;
  private end = 0;
  private filePos = 0;
  private eof = false;
  private headerChecked = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    bufferBytes: number,
    private readonly deserialize: (bytes: Buffer) => T,
  ) {
    this.buf = Buffer.allocUnsafe(bufferBytes);
  }

  static async open<T>(path: string, bufferBytes: number, deserialize: (bytes: Buffer) => T): Promise<RunReader<T>> {
    const fh = await tempIo(path, "open", () => open(path, "r"));
    return new RunReader(path, fh, bufferBytes, deserialize);
  }

  /** Decodes the next buffered record into `current`; false when more bytes must be read first. */
  next(): boolean {
    if (!this.headerChecked && !this.checkHeader()) return false;
    const avail = this.end - this.start;
    if (avail < PREFIX_BYTES) return false;
    const len = this.buf.readUInt32LE(this.start);
    if (avail < PREFIX_BYTES + len) return false;
    const body = this.start + PREFIX_BYTES;
    this.current = this.deserialize(this.buf.subarray(body, body + len));
    this.start = body + len;
    return true;
  }

  private checkHeader(): boolean {
    if (this.end - this.start < HEADER_BYTES) return false;
    const magic = this.buf.toString("latin1", this.start, this.start + 4);
    const version = this.buf.readUInt32LE(this.start + 4);
    if (magic !== MAGIC || version !== FORMAT_VERSION) {
      throw new StorageError("SORT_RUN_UNKNOWN_FORMAT", `External sort temp file ${this.path} is not a version ${FORMAT_VERSION} run`, {
        hint: "Another program wrote into the sort's temporary folder.",
      });
    }
    this.start += HEADER_BYTES;
    this.headerChecked = true;
    return true;
  }

  /** Decodes the next record, reading as needed; false at the end of the run. */
  async advance(): Promise<boolean> {
    while (!this.next()) {
      if (!(await this.fill())) {
        this.current = undefined;
        return false;
      }
    }
    return true;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  /** Reads more bytes after the unread ones; false at end of file. */
  private async fill(): Promise<boolean> {
    if (this.eof) return this.failIfPartial();
    this.makeRoom();
    const { bytesRead } = await tempIo(this.path, "read", () =>
      this.fh.read(this.buf, this.end, this.buf.length - this.end, this.filePos),
    );
    if (bytesRead === 0) {
      this.eof = true;
      return this.failIfPartial();
    }
    this.filePos += bytesRead;
    this.end += bytesRead;
    return true;
  }

  /** Moves unread bytes to the front, growing the buffer when one record is larger than it. */
  private makeRoom(): void {
    const avail = this.end - this.start;
    const need = avail >= PREFIX_BYTES ? PREFIX_BYTES + this.buf.readUInt32LE(this.start) : PREFIX_BYTES;
    const target = need > this.buf.length ? Buffer.allocUnsafe(need) : this.buf;
    this.buf.copy(target, 0, this.start, this.end);
    this.buf = target;
    this.start = 0;
    this.end = avail;
  }

  private failIfPartial(): false {
    if (this.end > this.start) {
      throw new StorageError("SORT_RUN_TRUNCATED", `External sort temp file ${this.path} ends inside a record`, {
        hint: "The temporary folder was changed or ran out of space during the sort.",
      });
    }
    return false;
  }
}
