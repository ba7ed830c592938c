/**
 * An append-only list of byte records that stays in memory up to a budget and then spills to a
 * temp file, so the index builder can take records synchronously while it scans and hand them
 * to `externalSort` (which pulls) afterwards. Memory: the budget, whatever the record count.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";

const DEFAULT_BUDGET = 4 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

export class Spool {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private fd: number | undefined;
  private fileBytes = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly path: string,
    private readonly budget = DEFAULT_BUDGET,
  ) {}

  /** Records appended so far, and their total payload bytes. */
  get length(): number {
    return this.count;
  }

  get payloadBytes(): number {
    return this.bytes;
  }

  append(record: Buffer): void {
    const frame = Buffer.allocUnsafe(4);
    frame.writeUInt32LE(record.length, 0);
    this.pending.push(frame, record);
    this.pendingBytes += 4 + record.length;
    this.count += 1;
    this.bytes += record.length;
    if (this.pendingBytes >= this.budget) this.spill();
  }

  /** Every record in append order; the spool must not be appended to meanwhile. Each record is a fresh buffer. */
  async *records(): AsyncGenerator<Buffer> {
    if (this.fileBytes > 0) {
      if (this.pendingBytes > 0) this.spill();
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
      yield* readFramed(this.path, this.fileBytes);
      return;
    }
    for (let i = 1; i < this.pending.length; i += 2) yield this.pending[i] as Buffer;
  }

  async dispose(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.pending = [];
    await rm(this.path, { force: true });
  }

  private spill(): void {
    this.fd ??= openSync(this.path, this.fileBytes === 0 ? "w" : "a");
    const block = Buffer.concat(this.pending, this.pendingBytes);
    for (let at = 0; at < block.length; ) at += writeSync(this.fd, block, at, block.length - at);
    this.fileBytes += block.length;
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** A spool path inside `dir`. */
export function spoolIn(dir: string, name: string, budget?: number): Spool {
  return new Spool(join(dir, name), budget);
}

async function* readFramed(path: string, total: number): AsyncGenerator<Buffer> {
  const handle = await open(path, "r");
  try {
    let carry = Buffer.alloc(0);
    for (let position = 0; position < total; ) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, total - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      let buf = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let at = 0;
      while (buf.length - at >= 4 && buf.length - at >= 4 + buf.readUInt32LE(at)) {
        const length = buf.readUInt32LE(at);
        yield Buffer.from(buf.subarray(at + 4, at + 4 + length));
        at += 4 + length;
      }
      buf = buf.subarray(at);
      carry = Buffer.from(buf);
    }
  } finally {
    await handle.close();
  }
}
