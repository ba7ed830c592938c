/**
 * Reading a manifest byte range that an index pointed at, checking that the index told the truth
 * (docs/design.md §4.2): the read starts one byte early, and that byte must be `\n`; the range
 * must end at a line end; every line must parse as an entry whose key is under the expected
 * folder, in strictly increasing tree-walk order. Any failure is `INDEX_STALE`: the caller then
 * reads the manifest whole, which reports what is really wrong with it, if anything.
 */
import { isUtf8 } from "node:buffer";
import { parseRecordLine, type ManifestEntry } from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import { indexStale } from "./errors.js";

/** The manifest's bytes [start, end), streamed (a ranged GET, or positioned reads of a file). */
export type RangeRead = (start: number, end: number) => AsyncIterable<Uint8Array>;

export interface EntryRange {
  readonly start: number;
  readonly end: number;
  /** Line number of the range's first line, for messages. */
  readonly firstLine: number;
  /** Every key starts with this (`""`: any key). */
  readonly under: string;
  /** ... and has no `/` after it: a folder's own files. */
  readonly direct?: boolean;
  /** The range holds exactly this many lines (checked when it is read to its end). */
  readonly count?: number;
  /** The first line's key (a sample's). */
  readonly firstKey?: string;
  /** Every key sorts before this one (the next sample's). */
  readonly before?: string;
}

const NEWLINE = 0x0a;

/** The entries of a range, checked as they stream; stop iterating to stop reading. */
export async function* readEntryRange(read: RangeRead, range: EntryRange): AsyncGenerator<ManifestEntry> {
  if (range.start < 1 || range.end < range.start) throw indexStale(`an impossible range ${range.start}-${range.end}`);
  if (range.start === range.end) return;
  const check = new RangeCheck(range);
  let lead = false;
  let carry: Buffer[] = [];
  for await (const raw of read(range.start - 1, range.end)) {
    let buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (!lead) {
      if (buf.length === 0) continue;
      if (buf[0] !== NEWLINE) throw indexStale(`byte ${range.start - 1} of the manifest is not the end of a line`);
      lead = true;
      buf = buf.subarray(1);
    }
    let from = 0;
    for (let nl = buf.indexOf(NEWLINE, from); nl !== -1; nl = buf.indexOf(NEWLINE, from)) {
      const piece = buf.subarray(from, nl);
      const line = carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
      carry = [];
      yield check.entry(line);
      from = nl + 1;
    }
    if (from < buf.length) carry.push(Buffer.from(buf.subarray(from)));
  }
  if (!lead) throw indexStale(`the manifest ends before byte ${range.start}`);
  if (carry.length > 0) throw indexStale(`byte ${range.end} of the manifest is not the end of a line`);
  check.done();
}

class RangeCheck {
  private previous: string | undefined;
  private lines = 0;

  constructor(private readonly range: EntryRange) {}

  entry(bytes: Buffer): ManifestEntry {
    const r = this.range;
    const line = r.firstLine + this.lines;
    if (!isUtf8(bytes)) throw indexStale(`line ${line} is not where the index says`);
    let entry: ManifestEntry;
    try {
      const record = parseRecordLine(bytes.toString("utf8"), line);
      if (record.kind !== "entry") throw indexStale(`line ${line} is not an entry`);
      entry = record.entry;
    } catch (error) {
      throw indexStale(`line ${line} is not an entry line where the index says`, error);
    }
    const key = entry.logicalKey;
    const outside = !key.startsWith(r.under) || (r.direct === true && key.includes("/", r.under.length));
    if (outside) throw indexStale(`line ${line} holds ${JSON.stringify(key)}, outside ${JSON.stringify(r.under)}`);
    if (this.lines === 0 && r.firstKey !== undefined && key !== r.firstKey) throw indexStale(`line ${line} is not the sampled key`);
    if (this.previous !== undefined && compareLogicalKeys(this.previous, key) >= 0) throw indexStale(`line ${line} is out of order`);
    if (r.before !== undefined && compareLogicalKeys(key, r.before) >= 0) throw indexStale(`line ${line} sorts after the next sample`);
    this.previous = key;
    this.lines += 1;
    return entry;
  }

  done(): void {
    if (this.range.count !== undefined && this.lines !== this.range.count) {
      throw indexStale(`the range holds ${this.lines} lines where the index says ${this.range.count}`);
    }
  }
}
