/**
 * After a push: the manifest's browse index, written beside it in the registry
 * (`.quilt/quiltkit/index/v1/<top hash>.qkbi`, a folder quilt3 never lists), built from the
 * manifest file just uploaded and recording the stored object's size, ETag, version and mtime.
 * A failure only costs laziness: it is reported to `onWarning`, never thrown.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IndexBuilder, storedIdentityOf } from "../browse-index/index.js";
import type { Registry } from "../registry/registry.js";

export interface IndexAfterPushOptions {
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
  readonly onWarning?: (message: string) => void;
}

export async function writeIndexAfterPush(registry: Registry, topHash: string, manifestPath: string, options: IndexAfterPushOptions = {}): Promise<void> {
  let work: string | undefined;
  try {
    const stored = await registry.storage.stat(registry.manifestKey(topHash));
    const local = await stat(manifestPath);
    if (stored === undefined || stored.size !== local.size) {
      // Another push replaced it meanwhile (same top hash, other physical keys): not ours to index.
      options.onWarning?.(`No browse index written for ${topHash}: the stored manifest is not the one this push wrote.`);
      return;
    }
    work = await mkdtemp(join(options.tmpDir ?? tmpdir(), "quiltkit-push-index-"));
    const path = join(work, "index.qkbi");
    const builder = new IndexBuilder({ tmpDir: work });
    try {
      for await (const chunk of createReadStream(manifestPath, { highWaterMark: 1 << 20 })) builder.write(chunk as Buffer);
      // This push made these bytes and their top hash; readers honour the flag only in their own cache.
      const header = await builder.finish({ ...storedIdentityOf(stored), topHash, topHashChecked: true }, path, options.signal);
      if (header === undefined) {
        options.onWarning?.(`No browse index written for ${topHash}: ${builder.failure ?? "the manifest cannot be indexed"}.`);
        return;
      }
    } finally {
      await builder.dispose();
    }
    await registry.storage.write(registry.browseIndexKey(topHash), createReadStream(path), options.signal === undefined ? {} : { signal: options.signal });
  } catch (error) {
    options.onWarning?.(`Could not write the browse index of ${topHash}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  }
}
