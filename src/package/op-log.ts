import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { deserialize, serialize } from "node:v8";
import type { KeyOp } from "./ops.js";

const WRITE_BYTES = 4 << 20;
const GROUP = 256;

/**
 * The builder's operations in call order: in memory up to a limit, then appended to a temp file
 * (length-prefixed V8 serialization of groups of operations, which keeps bigints, floats and Map
 * order exactly).
 */
export class OpLog {
  private memory: KeyOp[] = [];
  private spillDir: string | undefined;
  private spill: WriteStream | undefined;
  private spilled = 0;

  constructor(
    private readonly tmpDir: string = tmpdir(),
    private readonly memoryLimit = 100_000,
  ) {}

  get size(): number {
    return this.spilled + this.memory.length;
  }

  async append(op: KeyOp): Promise<void> {
    this.memory.push(op);
    if (this.memory.length >= this.memoryLimit) await this.flush();
  }

  /** Every operation so far, in call order. The log may be appended to again afterwards. */
  async *replay(): AsyncGenerator<KeyOp> {
    if (this.spill) {
      await this.flush();
      yield* readSpill(this.spillPath());
    }
    yield* this.memory;
  }

  async dispose(): Promise<void> {
    this.spill?.destroy();
    this.spill = undefined;
    if (this.spillDir) await rm(this.spillDir, { recursive: true, force: true });
    this.spillDir = undefined;
    this.memory = [];
    this.spilled = 0;
  }

  private spillPath(): string {
    return join(this.spillDir ?? "", "ops.bin");
  }

  private async flush(): Promise<void> {
    if (this.memory.length === 0) return;
    if (!this.spill) {
      this.spillDir = await mkdtemp(join(this.tmpDir, "quiltkit-ops-"));
      this.spill = createWriteStream(this.spillPath(), { flags: "a" });
    }
    // One buffer per few MiB of records, not two small writes per record: the stream's per-write
    // cost and the garbage of a buffer per length prefix were most of a 200k-entry build's flushes.
    let parts: Buffer[] = [];
    let bytes = 0;
    const write = async (): Promise<void> => {
      if (bytes === 0) return;
      const chunk = Buffer.concat(parts, bytes);
      parts = [];
      bytes = 0;
      if (this.spill?.write(chunk) === false) await once(this.spill, "drain");
    };
    // A group of operations per record: V8's serializer costs ~9 µs a call whatever the size, more
    // than the operation itself.
    for (let i = 0; i < this.memory.length; i += GROUP) {
      const body = serialize(this.memory.slice(i, i + GROUP));
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32LE(body.length);
      parts.push(head, body);
      bytes += 4 + body.length;
      if (bytes >= WRITE_BYTES) await write();
    }
    await write();
    this.spilled += this.memory.length;
    this.memory = [];
    // Make the appended bytes visible to a reader opened after this point.
    await new Promise<void>((resolve, reject) => this.spill?.write("", (error) => (error ? reject(error) : resolve())));
  }
}

async function* readSpill(path: string): AsyncGenerator<KeyOp> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.length - offset >= 4) {
      const length = pending.readUInt32LE(offset);
      if (pending.length - offset - 4 < length) break;
      yield* deserialize(pending.subarray(offset + 4, offset + 4 + length)) as KeyOp[];
      offset += 4 + length;
    }
    pending = pending.subarray(offset);
  }
}
