import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Write a file so that readers see the old content or the whole new one, never a part: the
 * bytes go to a temp name beside it, are flushed to disk, and the temp file is renamed over it.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = tempBeside(path);
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Stream lines into a new file at `path` (which must not exist), flushed to disk before it
 * resolves; on failure nothing is left behind. For files too big to hold as one string.
 */
export async function writeLinesNew(path: string, lines: AsyncIterable<string>): Promise<void> {
  // Open before anything can fail: a stream opens lazily, and an open still in flight when
  // the cleanup's rm ran would leave the file behind.
  const handle = await open(path, "wx");
  try {
    let batch = "";
    for await (const line of lines) {
      batch += line + "\n";
      if (batch.length >= 1 << 20) {
        await handle.writeFile(batch, "utf8"); // at the current position, every byte (as above)
        batch = "";
      }
    }
    await handle.writeFile(batch, "utf8");
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  }
  await handle.close();
}

export function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}
