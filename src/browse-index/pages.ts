/**
 * The bytes of an index file: held whole (the usual case, ≤ 16 MiB), or read in fixed pages on
 * demand with a small LRU, so a huge index (millions of folders) is never fetched whole.
 */
import { indexCorrupt } from "./errors.js";

/** How much the opener reads first: the prefix and header, and the whole of a small index. */
export const FIRST_READ = 64 * 1024;

/** Reads bytes [start, end) of the file; may return fewer at the end of the file. */
export type ByteReader = (start: number, end: number) => Promise<Buffer>;

export interface FileBytes {
  readonly whole: boolean;
  /** Exactly `length` bytes at `offset`, or `INDEX_CORRUPT` when the file is shorter. */
  bytes(offset: number, length: number): Promise<Buffer>;
}

export function wholeBytes(file: Buffer): FileBytes {
  return {
    whole: true,
    bytes: (offset, length) => {
      if (offset + length > file.length) return Promise.reject(indexCorrupt(`it is shorter than its header says (${file.length} bytes)`));
      return Promise.resolve(file.subarray(offset, offset + length));
    },
  };
}

export class PagedBytes implements FileBytes {
  readonly whole = false;
  private readonly pages = new Map<number, Promise<Buffer>>();

  constructor(
    private readonly read: ByteReader,
    private readonly pageBytes: number,
    private readonly maxPages: number,
  ) {}

  async bytes(offset: number, length: number): Promise<Buffer> {
    const first = Math.floor(offset / this.pageBytes);
    const last = Math.floor((offset + length - 1) / this.pageBytes);
    if (length === 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (let page = first; page <= last; page++) parts.push(await this.page(page));
    const joined = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    const from = offset - first * this.pageBytes;
    if (from + length > joined.length) throw indexCorrupt("it is shorter than its header says");
    return joined.subarray(from, from + length);
  }

  private page(n: number): Promise<Buffer> {
    let page = this.pages.get(n);
    if (page === undefined) {
      page = this.read(n * this.pageBytes, (n + 1) * this.pageBytes);
      page.catch(() => this.pages.delete(n));
      if (this.pages.size >= this.maxPages) this.pages.delete(this.pages.keys().next().value as number);
    } else {
      this.pages.delete(n); // most recently used goes last
    }
    this.pages.set(n, page);
    return page;
  }
}
