/**
 * Writing a stat cache file: to a temp file beside it, records in order, the checksum trailer
 * last, then a rename over the old file. Readers see the old file or the new one, never a mix;
 * a crash leaves a temp file that the next write of the same folder's cache sweeps away. No
 * fsync: a file torn by a power cut fails its checksum and is ignored, which costs one re-hash.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { encodeHeader, encodeRecord, encodeTrailer, type CacheHeader, type CacheRecord } from "./format.js";

const FLUSH_CHARS = 1 << 20;
const TEMP_SUFFIX = ".tmp";

export class CacheWriter {
  private readonly hash = createHash("sha256");
  private pending: string[] = [];
  private pendingChars = 0;
  private writing: Promise<void> = Promise.resolve();
  /** Characters handed to writes that have not finished. */
  private queued = 0;
  private failure: Error | undefined;
  records = 0;

  private constructor(
    readonly path: string,
    private readonly temp: string,
    private readonly fh: FileHandle,
  ) {}

  /** Starts `path` anew (the old file stays readable until `commit`). */
  static async create(path: string, header: CacheHeader): Promise<CacheWriter> {
    await mkdir(dirname(path), { recursive: true });
    await sweepTemps(path);
    const temp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`;
    const writer = new CacheWriter(path, temp, await open(temp, "wx"));
    writer.push(encodeHeader(header));
    return writer;
  }

  /** Appends a record; records must come in strictly increasing tree-walk order. */
  append(record: CacheRecord): void {
    this.records++;
    this.push(encodeRecord(record));
  }

  /** Resolves once the writes queued so far are down to a few MiB (memory stays bounded on a slow disk). */
  async drained(): Promise<void> {
    if (this.queued > 4 * FLUSH_CHARS) await this.writing;
  }

  /** Writes the trailer and puts the file in place; throws what any write threw. Returns the trailer's SHA-256. */
  async commit(): Promise<string> {
    this.flush();
    await this.writing;
    if (this.failure !== undefined) throw this.failure;
    const sha256 = this.hash.digest("hex");
    await this.fh.write(encodeTrailer({ records: this.records, sha256 }) + "\n", null, "utf8");
    await this.fh.close();
    await rename(this.temp, this.path);
    return sha256;
  }

  async abandon(): Promise<void> {
    await this.writing;
    await this.fh.close().catch(() => undefined);
    await rm(this.temp, { force: true }).catch(() => undefined);
  }

  private push(line: string): void {
    const text = line + "\n";
    this.hash.update(text, "utf8");
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= FLUSH_CHARS) this.flush();
  }

  /** Queues the buffered lines; writes are serialized, and the first failure is kept for commit. */
  private flush(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.join("");
    this.pending = [];
    this.pendingChars = 0;
    this.queued += data.length;
    this.writing = this.writing.then(async () => {
      try {
        if (this.failure === undefined) await this.fh.write(data, null, "utf8");
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
      } finally {
        this.queued -= data.length;
      }
    });
  }
}

/** Temp files of this cache left by runs that crashed; an hour old at least, so never a live one. */
async function sweepTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = basename(path) + ".";
  const names = await readdir(dir).catch(() => [] as string[]);
  const cutoff = Date.now() - 3600_000;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
    const temp = join(dir, name);
    const info = await stat(temp).catch(() => undefined);
    if (info !== undefined && info.mtimeMs < cutoff) await rm(temp, { force: true }).catch(() => undefined);
  }
}
