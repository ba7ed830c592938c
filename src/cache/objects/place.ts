/**
 * Installing out of the cache, so two installs of one dataset take its space once. Per link mode:
 *
 * - `auto` (default): clone (reflink) from the cache where the filesystem can (Btrfs, XFS, APFS),
 *   filling the cache first; elsewhere copy, from the cache when it holds the object (no network),
 *   else from the source, without filling the cache (it would only double the disk used).
 *   Installed files are ordinary writable files: a clone shares blocks copy-on-write.
 * - `reflink`: the same, but refuses an install where cloning does not work.
 * - `hardlink`: read-only files hard-linked to the cache's read-only objects; refuses an install
 *   where the cache is on another filesystem. Editing such a file means chmod first, which is a
 *   deliberate act: a writable hard link is never made, since an edit would change the cache and
 *   every other install.
 * - `copy`: independent copies, from the cache when it holds the object; never fills it.
 *
 * Whichever way, the file lands under a temp name and is renamed into place (write-file.ts).
 */
import { constants, createReadStream, statSync, type Stats } from "node:fs";
import { chmod, copyFile, link, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { QuiltError } from "../../errors/index.js";
import { landFile, tempNameFor, writeVerified, type FilePlacer, type PlaceTarget } from "../../transfer/write-file.js";
import type { ReadEntry } from "../../transfer/types.js";
import { errnoOf, isCacheWriteFailure, linkUnsupported } from "./errors.js";
import { ensureFolder } from "./files.js";
import { layoutRoot } from "./layout.js";
import type { CacheHit, ObjectCache } from "./object-cache.js";

export type LinkMode = "auto" | "reflink" | "hardlink" | "copy";
export const LINK_MODES: readonly LinkMode[] = ["auto", "reflink", "hardlink", "copy"];

export interface PlacerOptions {
  readonly mode?: LinkMode;
  /** The entries' source, read to fill the cache. */
  readonly readEntry: ReadEntry;
  /** fsync copies before their rename (default false, like install's). */
  readonly fsync?: boolean;
}

/** How the files of one install were placed from the cache. */
export interface PlaceStats {
  reflink: number;
  hardlink: number;
  copy: number;
  /** Objects fetched from their source into the cache on the way. */
  fetched: number;
}

/** What linking from the cache to the destination can do, probed once per install. */
interface Abilities {
  readonly reflink: boolean;
  readonly hardlink: boolean;
  /** The mode a new file gets there (0666 less the umask): given to clones of read-only objects. */
  readonly writableMode: number;
}

const CLONE = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE;

export class CachePlacer implements FilePlacer {
  readonly stats: PlaceStats = { reflink: 0, hardlink: 0, copy: 0, fetched: 0 };
  readonly mode: LinkMode;
  private abilities: Promise<Abilities> | undefined;

  constructor(
    private readonly cache: ObjectCache,
    private readonly options: PlacerOptions,
  ) {
    this.mode = options.mode ?? "auto";
  }

  /** A read-only hard link (a `hardlink` install's) is replaced by an install that wants its own writable files. */
  keeps(st: Pick<Stats, "nlink" | "mode">): boolean {
    return this.mode === "hardlink" || !(st.nlink > 1 && (st.mode & 0o222) === 0);
  }

  async place(target: PlaceTarget, signal: AbortSignal, onBytes?: (n: number) => void): Promise<boolean> {
    if (!this.cache.accepts(target.entry.hash)) return false;
    const can = await this.abilitiesAt(target.dir);
    const method = this.mode === "hardlink" ? "hardlink" : this.mode === "copy" || !can.reflink ? "copy" : "reflink";
    if (method === "copy") return this.copyOut(target, signal, onBytes);
    for (let attempt = 0; attempt < 2; attempt++) {
      const hit = await this.fill(target, signal, onBytes);
      if (hit === undefined) return false;
      if (await this.linkOut(hit.path, target, method, can, signal)) {
        this.stats[method]++;
        if (!hit.fetched) onBytes?.(target.entry.size);
        return true;
      }
    }
    return this.mode === "auto" && this.copyOut(target, signal, onBytes);
  }

  /** The object in the cache, fetched when absent; undefined when the cache cannot be written (auto only). */
  private async fill(target: PlaceTarget, signal: AbortSignal, onBytes?: (n: number) => void): Promise<CacheHit | undefined> {
    try {
      const hit = await this.cache.fetch(target.entry, this.options.readEntry, { signal, ...(onBytes === undefined ? {} : { onBytes }) });
      if (hit.fetched) this.stats.fetched++;
      return hit;
    } catch (error) {
      if (this.mode === "auto" && isCacheWriteFailure(error)) return undefined;
      throw error;
    }
  }

  /** True when linked or cloned; false when the object vanished (pruned) or, in auto mode, this folder cannot. */
  private async linkOut(object: string, target: PlaceTarget, method: "reflink" | "hardlink", can: Abilities, signal: AbortSignal): Promise<boolean> {
    const make = async (temp: string): Promise<void> => {
      if (method === "hardlink") return link(object, temp);
      await copyFile(object, temp, CLONE);
      await chmod(temp, can.writableMode);
    };
    try {
      await landFile(target.dir, target.name, make, signal);
      return true;
    } catch (error) {
      if (error instanceof QuiltError) throw error;
      if (errnoOf(error) === "ENOENT" || this.mode === "auto") return false;
      throw linkUnsupported(method, this.cache.dir, target.dir);
    }
  }

  /** Copies the cached object, hashed as it is copied; false when the cache has no intact copy. */
  private async copyOut(target: PlaceTarget, signal: AbortSignal, onBytes?: (n: number) => void): Promise<boolean> {
    const path = this.cache.pathOf(target.entry.hash);
    if (path === undefined || !sizeIs(path, target.entry.size)) return false;
    let fromCache = false;
    const read: ReadEntry = async function* () {
      try {
        yield* createReadStream(path, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>;
      } catch (error) {
        fromCache = true;
        throw error;
      }
    };
    try {
      await writeVerified(target.dir, target.name, target.entry, target.type, { readEntry: read, signal, onBytes, fsync: this.options.fsync ?? false });
    } catch (error) {
      const corrupt = error instanceof QuiltError && error.code === "HASH_MISMATCH";
      if (signal.aborted || !(corrupt || fromCache)) throw error;
      if (corrupt) await this.cache.remove(target.entry.hash);
      return false;
    }
    await this.cache.touch(target.entry.hash);
    this.stats.copy++;
    return true;
  }

  private abilitiesAt(dir: string): Promise<Abilities> {
    this.abilities ??= probe(this.cache.dir, dir).then((can) => {
      if (this.mode === "reflink" && !can.reflink) throw linkUnsupported("reflink", this.cache.dir, dir);
      if (this.mode === "hardlink" && !can.hardlink) throw linkUnsupported("hardlink", this.cache.dir, dir);
      return can;
    });
    return this.abilities;
  }
}

/**
 * Whether the cache holds a file of `size` at `path`. Synchronous, in the local cache folder: a
 * miss (every file of an install from a cold cache) then costs a few µs, where an awaited stat
 * costs a thread-pool round trip and an ENOENT error object.
 */
function sizeIs(path: string, size: number): boolean {
  let st: Stats | undefined;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch {
    return false;
  }
  return st?.isFile() === true && st.size === size;
}

/** Tries a clone and a hard link of a one-byte file from the cache into `dir`, and reads the mode new files get there. */
async function probe(cacheDir: string, dir: string): Promise<Abilities> {
  const source = join(layoutRoot(cacheDir), tempNameFor("probe"));
  const scratch = join(dir, tempNameFor("probe"));
  const attempt = async (make: () => Promise<void>): Promise<boolean> => {
    const ok = await make().then(() => true, () => false);
    await unlink(scratch).catch(() => undefined);
    return ok;
  };
  try {
    await ensureFolder(layoutRoot(cacheDir));
    await writeFile(source, "q", { flag: "wx", mode: 0o444 });
  } catch {
    // A cache that cannot be written links nothing; copies from what it holds still work.
    return { reflink: false, hardlink: false, writableMode: await modeOfNewFile(scratch) };
  }
  try {
    const reflink = await attempt(() => copyFile(source, scratch, CLONE));
    const hardlink = await attempt(() => link(source, scratch));
    return { reflink, hardlink, writableMode: await modeOfNewFile(scratch) };
  } finally {
    await unlink(source).catch(() => undefined);
  }
}

async function modeOfNewFile(scratch: string): Promise<number> {
  try {
    await writeFile(scratch, "", { flag: "wx", mode: 0o666 });
    return (await stat(scratch)).mode & 0o777;
  } catch {
    return 0o644;
  } finally {
    await unlink(scratch).catch(() => undefined);
  }
}
