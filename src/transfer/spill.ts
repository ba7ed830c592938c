/**
 * Spill files: records written once as JSON lines to a private temp folder and read back as a
 * stream, so a plan over ten million entries costs disk, not memory. JSON keeps every string
 * exact, lone UTF-16 surrogates included (`JSON.stringify` escapes them).
 */
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StorageError } from "../errors/index.js";
import { throwIfAborted } from "./errors.js";

const FLUSH_BYTES = 1 << 20;

function spillError(path: string, what: string, cause: unknown): StorageError {
  return new StorageError("TRANSFER_TEMP_IO", `Could not ${what} the temporary file ${path}.`, {
    hint: "Check free space and permissions of the temporary folder (option tmpDir).",
    cause,
  });
}

/** A private folder for spill files; `remove()` deletes it and everything in it. */
export class SpillDir {
  private constructor(readonly path: string) {}

  static async create(parent: string | undefined): Promise<SpillDir> {
    const base = parent ?? tmpdir();
    try {
      return new SpillDir(await mkdtemp(join(base, "quiltkit-transfer-")));
    } catch (cause) {
      throw spillError(base, "create a folder in", cause);
    }
  }

  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Appends JSON lines, buffered; `close()` must be awaited before reading. */
export class SpillWriter<T> {
  private pending: string[] = [];
  private pendingChars = 0;
  private count = 0;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  static async create<T>(path: string): Promise<SpillWriter<T>> {
    try {
      return new SpillWriter<T>(path, await open(path, "wx"));
    } catch (cause) {
      throw spillError(path, "create", cause);
    }
  }

  get records(): number {
    return this.count;
  }

  /** Appends a record; safe to call from concurrent tasks (writes are serialized). */
  async write(record: T): Promise<void> {
    const line = JSON.stringify(record) + "\n";
    this.pending.push(line);
    this.pendingChars += line.length;
    this.count++;
    if (this.pendingChars >= FLUSH_BYTES) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    try {
      await this.fh.close();
    } catch (cause) {
      throw spillError(this.path, "close", cause);
    }
  }

  async abandon(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }

  private flush(): Promise<void> {
    const data = this.pending.join("");
    this.pending = [];
    this.pendingChars = 0;
    this.writing = this.writing.then(async () => {
      if (data.length === 0) return;
      try {
        await this.fh.write(data, null, "utf8");
      } catch (cause) {
        throw spillError(this.path, "write", cause);
      }
    });
    return this.writing;
  }
}

/** Reads a spill file back, one record per line, in the order written. */
export async function* readSpill<T>(path: string, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
  let rest: Buffer | undefined;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (cause) {
        throw spillError(path, "read", cause);
      }
      if (next.done === true) break;
      throwIfAborted(signal, `reading ${path}`);
      const chunk = rest === undefined ? next.value : Buffer.concat([rest, next.value]);
      rest = undefined;
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
        yield parseLine<T>(path, chunk.toString("utf8", start, nl));
        start = nl + 1;
      }
      if (start < chunk.length) rest = chunk.subarray(start);
    }
  } finally {
    stream.destroy();
  }
  if (rest !== undefined && rest.length > 0) throw spillError(path, "read (it is truncated)", undefined);
}

function parseLine<T>(path: string, line: string): T {
  try {
    return JSON.parse(line) as T;
  } catch (cause) {
    throw spillError(path, "read (it is corrupt)", cause);
  }
}
