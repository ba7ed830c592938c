import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StorageError } from "../errors/index.js";
import { RunReader, RunWriter } from "./run-file.js";

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "run-test-"));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("run files", () => {
  it("round-trips length-prefixed records through small read buffers", async () => {
    const path = join(tmp, "run");
    const w = await RunWriter.create(path);
    const records = ["", "a", "é😀", "x".repeat(70_000), "\n\0"];
    for (const r of records) if (w.push(r)) await w.drain();
    await w.close();
    const reader = await RunReader.open(path, 16, (b) => b.toString("utf8"));
    const out: string[] = [];
    while (await reader.advance()) out.push(reader.current ?? "");
    await reader.close();
    expect(out).toEqual(records);
  });

  it("refuses a file that ends inside a record", async () => {
    const path = join(tmp, "cut");
    await writeFile(path, Buffer.from([...Buffer.from("QKSR"), 1, 0, 0, 0, 5, 0, 0, 0, 65, 66]));
    const reader = await RunReader.open(path, 64, (b) => b.toString());
    await expect(reader.advance()).rejects.toBeInstanceOf(StorageError);
    await reader.close();
  });

  it("refuses a file of another format or version", async () => {
    const path = join(tmp, "other");
    await writeFile(path, Buffer.from([...Buffer.from("QKSR"), 2, 0, 0, 0, 0, 0, 0, 0]));
    const reader = await RunReader.open(path, 64, (b) => b.toString());
    await expect(reader.advance()).rejects.toMatchObject({ code: "SORT_RUN_UNKNOWN_FORMAT" });
    await reader.close();
  });
});
