import { withCanonicalManifest, type CanonicalOptions } from "./canonical.js";
import { TopHasher } from "./encode.js";
import { encodeManifest, type WriteOptions, type WriteResult } from "./writer.js";
import type { ManifestSource } from "./types.js";

/** The top hash of a manifest, in one streaming pass (two for a manifest not in quilt3's order). */
export async function topHashOf(source: ManifestSource, options: CanonicalOptions = {}): Promise<string> {
  return withCanonicalManifest(
    source,
    async ({ header, entries }) => {
      const hasher = new TopHasher(header);
      for await (const entry of entries) hasher.add(entry);
      return hasher.digest();
    },
    options,
  );
}

/**
 * Re-dump a manifest as quilt3 would after loading it (`Package.load` then `dump`), handing each
 * chunk to `begin()`'s writer. `begin` is called again if the first attempt has to restart, so it
 * must start from empty (truncate its file).
 */
export async function rewriteManifest(
  source: ManifestSource,
  begin: () => Promise<(chunk: Buffer) => Promise<void>>,
  options: CanonicalOptions & WriteOptions = {},
): Promise<WriteResult> {
  return withCanonicalManifest(
    source,
    async ({ header, dirs, entries }) => {
      const write = await begin();
      let result: WriteResult | undefined;
      for await (const chunk of encodeManifest(header, dirs, entries, options, (r) => (result = r))) {
        await write(chunk);
      }
      if (result === undefined) throw new Error("manifest encoder ended without a result");
      return result;
    },
    options,
  );
}
