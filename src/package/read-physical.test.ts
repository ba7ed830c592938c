import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Remotes } from "../storage/index.js";
import { readPhysical } from "./read-physical.js";

let dir = "";
const remotes = new Remotes();
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), "quiltkit-read-physical-"))));
afterAll(async () => {
  remotes.close();
  await rm(dir, { recursive: true, force: true });
});

async function bytesOf(path: string, size: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readPhysical(remotes, { physicalKey: pathToFileURL(path).href, size })) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe("readPhysical of local files", () => {
  it("reads a small file whole, and shows a file that grew or shrank (the caller's size check catches it)", async () => {
    const path = join(dir, "small.bin");
    await writeFile(path, "0123456789");
    expect((await bytesOf(path, 10)).toString()).toBe("0123456789");
    expect((await bytesOf(path, 4)).toString()).toBe("01234"); // grew: one byte more than the entry's size
    expect((await bytesOf(path, 20)).toString()).toBe("0123456789"); // shrank
    await writeFile(join(dir, "empty.bin"), "");
    expect((await bytesOf(join(dir, "empty.bin"), 0)).length).toBe(0);
  });

  it("streams a big file in chunks", async () => {
    const path = join(dir, "big.bin");
    const data = Buffer.alloc(3 * 1024 * 1024 + 7, 7);
    await writeFile(path, data);
    expect((await bytesOf(path, data.length)).equals(data)).toBe(true);
  });
});
