import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { deserialize, serialize } from "node:v8";
import type { KeyOp } from "./ops.js";

/**
 * The builder's operations in call order: in memory up to a limit, then appended to a temp file
 * (length-prefixed V8 serialization, which keeps bigints, floats and Map order exactly).
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
    for (const op of this.memory) {
      const body = serialize(op);
      const head = Buffer.allocUnsafe(4);
      head.writeUInt32LE(body.length);
      // Both writes, always: `a() || b()` would skip the body whenever the head filled the buffer.
      const headFits = this.spill.write(head);
      const bodyFits = this.spill.write(body);
      if (!headFits || !bodyFits) await once(this.spill, "drain");
    }
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
      yield deserialize(pending.subarray(offset + 4, offset + 4 + length)) as KeyOp;
      offset += 4 + length;
    }
    pending = pending.subarray(offset);
  }
}
