import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { once } from "node:events";
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
  const out = createWriteStream(path, { flags: "wx" });
  try {
    let batch = "";
    for await (const line of lines) {
      batch += line + "\n";
      if (batch.length >= 1 << 20) {
        if (!out.write(batch)) await once(out, "drain");
        batch = "";
      }
    }
    out.end(batch);
    await once(out, "finish");
    const handle = await open(path, "r");
    await handle.sync().finally(() => handle.close());
  } catch (error) {
    out.destroy();
    await rm(path, { force: true });
    throw error;
  }
}

export function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}
