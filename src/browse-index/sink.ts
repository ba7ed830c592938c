import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";

const FLUSH_AT = 1024 * 1024;

/** Sequential buffered writes to a file, hashing what is written after `startHashing`. */
export class FileSink {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private position = 0;
  private hash: Hash | undefined;

  constructor(private readonly handle: FileHandle) {}

  get written(): number {
    return this.position + this.partBytes;
  }

  startHashing(): void {
    this.hash = createHash("sha256");
  }

  async write(bytes: Buffer): Promise<void> {
    this.hash?.update(bytes);
    this.parts.push(bytes);
    this.partBytes += bytes.length;
    if (this.partBytes >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.partBytes === 0) return;
    const block = Buffer.concat(this.parts, this.partBytes);
    this.parts = [];
    this.partBytes = 0;
    await writeAt(this.handle, block, this.position);
    this.position += block.length;
  }

  digest(): string {
    if (this.hash === undefined) throw new Error("FileSink: hashing never started");
    return this.hash.digest("hex");
  }
}

export async function writeAt(handle: FileHandle, block: Buffer, position: number): Promise<void> {
  for (let at = 0; at < block.length; ) {
    const { bytesWritten } = await handle.write(block, at, block.length - at, position + at);
    at += bytesWritten;
  }
}
