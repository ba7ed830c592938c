import { describe, expect, it } from "vitest";
import { OpLog } from "./op-log.js";
import type { KeyOp } from "./ops.js";

/** Appends `ops`, then checks the replay gives them back, in order and intact. */
async function roundTrip(log: OpLog, ops: KeyOp[]): Promise<void> {
  for (const op of ops) await log.append(op);
  const replayed: KeyOp[] = [];
  for await (const op of log.replay()) replayed.push(op);
  await log.dispose();
  expect(replayed).toEqual(ops);
}

describe("OpLog", () => {
  it("replays every operation after spilling to disk, many write buffers' worth", async () => {
    // Short records: the stream's buffer fills on a 4-byte length prefix now and then, not only on a body.
    const ops = Array.from({ length: 20_000 }, (_, i): KeyOp => ({ op: "delete", logicalKey: `k${i}` }));
    await roundTrip(new OpLog(undefined, 1000), ops);
  });

  it("replays a flush larger than one write chunk (4 MiB), records split across chunks intact", async () => {
    // 12,000 records of ~700 bytes: one flush of about 8 MiB, written as two or three chunks.
    const ops = Array.from({ length: 12_000 }, (_, i): KeyOp => ({ op: "delete", logicalKey: `${String(i).padStart(6, "0")}/${"x".repeat(680 + (i % 7))}` }));
    await roundTrip(new OpLog(undefined, 12_000), ops);
  });
});
