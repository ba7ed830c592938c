import { describe, expect, it } from "vitest";
import { OpLog } from "./op-log.js";
import type { KeyOp } from "./ops.js";

describe("OpLog", () => {
  it("replays every operation after spilling to disk, many write buffers' worth", async () => {
    const log = new OpLog(undefined, 1000);
    const ops: KeyOp[] = [];
    // Short records: the stream's buffer fills on a 4-byte length prefix now and then, not only on a body.
    for (let i = 0; i < 20_000; i++) {
      const op: KeyOp = { op: "delete", logicalKey: `k${i}` };
      ops.push(op);
      await log.append(op);
    }
    const replayed: KeyOp[] = [];
    for await (const op of log.replay()) replayed.push(op);
    await log.dispose();
    expect(replayed).toEqual(ops);
  });

  it("replays a flush larger than one write chunk (4 MiB), records split across chunks intact", async () => {
    const log = new OpLog(undefined, 12_000);
    const ops: KeyOp[] = [];
    // 12,000 records of ~700 bytes: one flush of about 8 MiB, written as two or three chunks.
    for (let i = 0; i < 12_000; i++) {
      const op: KeyOp = { op: "delete", logicalKey: `${String(i).padStart(6, "0")}/${"x".repeat(680 + (i % 7))}` };
      ops.push(op);
      await log.append(op);
    }
    const replayed: KeyOp[] = [];
    for await (const op of log.replay()) replayed.push(op);
    await log.dispose();
    expect(replayed).toEqual(ops);
  });
});
