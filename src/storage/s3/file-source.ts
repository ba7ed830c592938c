/**
 * A local file being uploaded: opened once, its size fixed by fstat at open, read part by part,
 * and checked at the end (nothing past the size, same size and mtime) so that a file written to
 * during the upload fails instead of storing a torn mix of old and new bytes.
 */
import { open, type FileHandle } from "node:fs/promises";
import { ConflictError } from "../../errors/index.js";
import { fsError } from "../../hash/errors.js";
import { OPEN_FLAGS, snapshot, type Snapshot } from "../../hash/snapshot.js";

export class FileSource {
  private constructor(
    readonly path: string,
    private readonly url: string,
    private readonly handle: FileHandle,
    private readonly before: Snapshot,
  ) {}

  /** Open `path` for an upload to `url`; `expected` is the size the caller believes it has. */
  static async open(path: string, url: string, expected: number | undefined): Promise<FileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, OPEN_FLAGS);
    } catch (error) {
      throw fsError(path, error);
    }
    try {
      const before = snapshot(path, await handle.stat());
      if (expected !== undefined && before.size !== expected) {
        throw new ConflictError("FILE_SIZE_MISMATCH", `Cannot upload ${path} to ${url}: it is ${before.size} bytes, expected ${expected}.`, {
          hint: "The file changed since it was listed; scan it again.",
        });
      }
      return new FileSource(path, url, handle, before);
    } catch (error) {
      await handle.close();
      throw fsError(path, error);
    }
  }

  get size(): number {
    return this.before.size;
  }

  /** Bytes `[start, end)`, all of them: a file that ends early has changed. */
  async read(start: number, end: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(end - start);
    for (let got = 0; got < buffer.length; ) {
      const { bytesRead } = await this.readAt(buffer, got, buffer.length - got, start + got);
      if (bytesRead === 0) throw this.changed(`it ended at ${start + got} bytes`);
      got += bytesRead;
    }
    return buffer;
  }

  /** After the last part: the file must still be exactly what was read. */
  async assertUnchanged(): Promise<void> {
    const { bytesRead } = await this.readAt(Buffer.alloc(1), 0, 1, this.size);
    if (bytesRead !== 0) throw this.changed("it grew");
    let after: Snapshot;
    try {
      after = snapshot(this.path, await this.handle.stat());
    } catch (error) {
      throw fsError(this.path, error);
    }
    if (after.size !== this.before.size) throw this.changed(`size ${this.before.size} -> ${after.size}`);
    if (after.mtimeMs !== this.before.mtimeMs) throw this.changed("its modification time changed");
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async readAt(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    try {
      return await this.handle.read(buffer, offset, length, position);
    } catch (error) {
      throw fsError(this.path, error);
    }
  }

  private changed(detail: string): ConflictError {
    return new ConflictError("FILE_CHANGED_DURING_UPLOAD", `${this.path} changed while being uploaded to ${this.url} (${detail}); nothing was stored.`, {
      hint: "Retry once nothing is writing to the file.",
    });
  }
}
