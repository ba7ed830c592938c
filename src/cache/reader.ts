/**
 * Reading a stat cache file: checked whole before any record is trusted (format, version, root,
 * then a SHA-256 over every byte, which catches truncation, torn writes and bit rot), then
 * streamed in order by a cursor that the caller moves forward with the keys of its own walk.
 * Memory: one read chunk and its lines, whatever the number of records.
 */
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { compareLogicalKeys } from "../sort/index.js";
import { decodeHeader, decodeRecord, decodeTrailer, type CacheHeader, type CacheRecord } from "./format.js";

const CHUNK = 1024 * 1024;
/** A header or trailer line longer than this is not ours. */
const MAX_EDGE_LINE = 64 * 1024;

export type OpenedCache =
  | { readonly kind: "missing" }
  | { readonly kind: "ignored"; readonly reason: string }
  | { readonly kind: "ok"; readonly header: CacheHeader; readonly cursor: CacheCursor; readonly records: number; readonly checksum: string };

/** Opens `path` if it is a sound cache of `root`; anything else is reported, never trusted. */
export async function openCacheFile(path: string, root: string): Promise<OpenedCache> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "ignored", reason: `it cannot be opened (${(error as Error).message})` };
  }
  try {
    const checked = await check(fh, root);
    if (typeof checked === "string") {
      await fh.close();
      return { kind: "ignored", reason: checked };
    }
    const cursor = new CacheCursor(fh, checked.bodyStart, checked.bodyEnd);
    return { kind: "ok", header: checked.header, cursor, records: checked.records, checksum: checked.checksum };
  } catch (error) {
    await fh.close().catch(() => undefined);
    return { kind: "ignored", reason: `it cannot be read (${(error as Error).message})` };
  }
}

interface Checked {
  header: CacheHeader;
  /** Records the trailer counts. */
  records: number;
  /** The trailer's SHA-256 (hex), checked against the bytes. */
  checksum: string;
  bodyStart: number;
  bodyEnd: number;
}

/** The header and body range, or why the file is not to be used. */
async function check(fh: FileHandle, root: string): Promise<Checked | string> {
  const size = (await fh.stat()).size;
  const head = await readAt(fh, 0, Math.min(size, MAX_EDGE_LINE));
  const headerEnd = head.indexOf(10);
  if (headerEnd < 0) return "it has no header line";
  const header = decodeHeader(head.toString("utf8", 0, headerEnd));
  if (typeof header === "string") return header;
  if (header.root !== root) return `it belongs to ${header.root}`;
  const tailStart = Math.max(headerEnd + 1, size - MAX_EDGE_LINE);
  const tail = await readAt(fh, tailStart, size - tailStart);
  if (tail.length === 0 || tail[tail.length - 1] !== 10) return "it is truncated";
  const trailerAt = tail.lastIndexOf(10, tail.length - 2) + 1;
  if (trailerAt === 0 && tailStart !== headerEnd + 1) return "its trailer line is too long";
  const trailer = decodeTrailer(tail.toString("utf8", trailerAt, tail.length - 1));
  if (trailer === undefined) return "it is truncated (no trailer)";
  const bodyEnd = tailStart + trailerAt;
  if ((await sha256Of(fh, bodyEnd)) !== trailer.sha256) return "its checksum does not match";
  return { header, records: trailer.records, checksum: trailer.sha256, bodyStart: headerEnd + 1, bodyEnd };
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

async function sha256Of(fh: FileHandle, end: number): Promise<string> {
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let pos = 0; pos < end; ) {
    const { bytesRead } = await fh.read(buffer, 0, Math.min(CHUNK, end - pos), pos);
    if (bytesRead === 0) throw new Error("the file shrank while being read");
    hash.update(buffer.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash.digest("hex");
}

/**
 * The records in order, for a merge-join: `find` must be called with keys in non-decreasing
 * tree-walk order. A malformed or out-of-order record (which the checksum makes a bug, not bit
 * rot) ends the cursor: it finds nothing more, and `problem` says why. The file stays open until
 * `close()`, so that `replica()` can read it again from the start.
 */
export class CacheCursor {
  private lines: string[] = [];
  private next = 0;
  private pos: number;
  private rest: Buffer | undefined;
  private current: CacheRecord | undefined;
  private started = false;
  private ended = false;
  /** Records read so far: the current one is number `read - 1` of the file, from 0. */
  private read = 0;
  problem: string | undefined;

  constructor(
    private readonly fh: FileHandle,
    private readonly start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  /** The index in the file (from 0) of the record `find` returned last. */
  get index(): number {
    return this.read - 1;
  }

  /** A second cursor over the same open file, from its first record; closing this one closes both. */
  replica(): CacheCursor {
    return new CacheCursor(this.fh, this.start, this.end);
  }

  /** The next record in file order (`undefined` at the end); not to be mixed with `find`. */
  async nextRecord(): Promise<CacheRecord | undefined> {
    this.started = true;
    await this.advance();
    return this.current;
  }

  /** The record of `key`, if the file has one. */
  async find(key: string): Promise<CacheRecord | undefined> {
    if (!this.started) {
      this.started = true;
      await this.advance();
    }
    while (this.current !== undefined && compareLogicalKeys(this.current.key, key) < 0) await this.advance();
    return this.current?.key === key ? this.current : undefined;
  }

  async close(): Promise<void> {
    this.ended = true;
    this.current = undefined;
    await this.fh.close().catch(() => undefined);
  }

  private async advance(): Promise<void> {
    const previous = this.current;
    this.current = undefined;
    const line = await this.nextLine();
    if (line === undefined) return;
    try {
      const record = decodeRecord(line);
      if (previous !== undefined && compareLogicalKeys(previous.key, record.key) >= 0) throw new Error("records out of order");
      this.current = record;
      this.read++;
    } catch (error) {
      this.stop(`it is malformed: ${(error as Error).message}`);
    }
  }

  /**
   * The record lines of the next chunk, raw and unchecked (`undefined` at the end), for a caller
   * that checks lines against the folder without parsing them; not to be mixed with `find`.
   */
  async nextLines(): Promise<readonly string[] | undefined> {
    this.started = true;
    if (!(await this.fill())) return undefined;
    const lines = this.next === 0 ? this.lines : this.lines.slice(this.next);
    this.next = this.lines.length;
    return lines;
  }

  private async nextLine(): Promise<string | undefined> {
    return (await this.fill()) ? this.lines[this.next++] : undefined;
  }

  /** Whether a line is waiting, reading a chunk if none is. */
  private async fill(): Promise<boolean> {
    while (this.next >= this.lines.length) {
      if (this.ended) return false;
      if (this.pos >= this.end) {
        if (this.rest !== undefined && this.rest.length > 0) this.stop("its last record is cut");
        else this.ended = true;
        return false;
      }
      try {
        await this.readChunk();
      } catch (error) {
        this.stop(`it cannot be read (${(error as Error).message})`);
        return false;
      }
    }
    return true;
  }

  /** One chunk, split into whole lines; a cut line waits for the next chunk. */
  private async readChunk(): Promise<void> {
    const fresh = await readAt(this.fh, this.pos, Math.min(CHUNK, this.end - this.pos));
    if (fresh.length === 0) throw new Error("the file shrank while being read");
    this.pos += fresh.length;
    const chunk = this.rest === undefined ? fresh : Buffer.concat([this.rest, fresh]);
    this.rest = undefined;
    this.lines = [];
    this.next = 0;
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.lines.push(chunk.toString("utf8", start, nl));
      start = nl + 1;
    }
    // A copy: a view would pin the whole chunk until the next read.
    if (start < chunk.length) this.rest = Buffer.from(chunk.subarray(start));
  }

  /** Ends the cursor (the file stays open for a replica until `close()`). */
  private stop(problem: string): void {
    this.problem ??= problem;
    this.ended = true;
    this.current = undefined;
  }
}
