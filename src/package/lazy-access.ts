/**
 * How a Package reads its manifest. With a browse index (local cache or registry sidecar), folder
 * listings, lookups and sub-trees are ranged reads and the package starts unverified. Reading the
 * whole manifest (install, verify, diff, toBuilder, `entries()` of everything) first runs the full
 * pass once: it checks the top hash and records the local index as checked (an index the cache
 * already holds as checked is kept, and a small manifest's entries come from that same read).
 * Without an index the full pass runs at open, as before, and leaves an index behind for the next browse.
 * A range that turns out stale falls back to the full pass, if nothing was handed out yet.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isIndexProblem } from "../browse-index/index.js";
import { NotFoundError } from "../errors/index.js";
import type { PyObject } from "../json/index.js";
import { readCanonical, type DirMeta, type ManifestEntry, type ManifestSource } from "../manifest/index.js";
import type { Registry } from "../registry/registry.js";
import type { ObjectInfo } from "../storage/index.js";
import { findIndex } from "./lazy-open.js";
import type { LazyManifest } from "./lazy-manifest.js";
import { fullPass, type FullPass, type WholeReader } from "./lazy-verify.js";
import type { LsItem } from "./package.js";

export interface AccessOptions {
  /** Where browse indexes built here are kept (`$QUILT_HOME/cache/index` for the CLI). */
  readonly indexCacheDir?: string;
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
  /** Check the top hash now, whatever indexes exist. */
  readonly verify?: boolean;
  readonly onWarning?: (message: string) => void;
  /** How the whole manifest is streamed; default one plain read. */
  readonly readWhole?: WholeReader;
}

export class ManifestAccess {
  private full: FullPass | undefined;
  private running: Promise<FullPass> | undefined;
  private work: Promise<string> | undefined;
  /** Every entry, from a pass that read them while checking the top hash: for the next whole read, once. */
  private held: readonly ManifestEntry[] | undefined;

  private constructor(
    private readonly registry: Registry,
    private readonly topHash: string,
    private readonly options: AccessOptions,
    private lazy: LazyManifest | undefined,
    private head: PyObject,
    private checked: boolean,
  ) {}

  static async open(registry: Registry, topHash: string, options: AccessOptions): Promise<ManifestAccess> {
    const info = await registry.storage.stat(registry.manifestKey(topHash));
    if (info === undefined) throw new NotFoundError("MANIFEST_NOT_FOUND", `No manifest ${registry.manifestKey(topHash)} in ${registry.url}.`);
    if (options.verify !== true) {
      const found = await findIndex(registry, topHash, info, options);
      if (found !== undefined) return new ManifestAccess(registry, topHash, options, found.lazy, found.header, found.verified);
    }
    const access = new ManifestAccess(registry, topHash, options, undefined, new Map(), false);
    try {
      await access.ensureFull(options.signal, info);
      return access;
    } catch (error) {
      await access.close();
      throw error;
    }
  }

  /** The manifest's header line (package metadata, message). */
  get header(): PyObject {
    return this.head;
  }

  /** Whether the manifest read here was checked against its top hash (now, or when the cached index was built). */
  get verified(): boolean {
    return this.checked;
  }

  /** Whether answers come from ranged reads. */
  get isLazy(): boolean {
    return this.lazy !== undefined;
  }

  async totals(signal?: AbortSignal): Promise<{ entries: number; bytes: number }> {
    if (this.full !== undefined) return { entries: this.full.verified.entries, bytes: this.full.verified.bytes };
    if (this.lazy !== undefined) return this.lazy.totals();
    const { verified } = await this.ensureFull(signal);
    return { entries: verified.entries, bytes: verified.bytes };
  }

  /** Entries under `prefix`; everything (`""`) is read whole, top hash checked first. */
  async *entries(prefix: string, signal?: AbortSignal): AsyncGenerator<ManifestEntry> {
    const lazy = this.lazy;
    if (prefix !== "" && lazy !== undefined) {
      yield* this.orFull(lazy.entries(prefix, signal), () => this.streamed(prefix, signal));
      return;
    }
    yield* this.streamed(prefix, signal);
  }

  async *lsItems(folder: string, signal?: AbortSignal): AsyncGenerator<LsItem> {
    const lazy = this.lazy;
    if (lazy !== undefined) yield* this.orFull(lazy.lsItems(folder, signal), () => this.streamedLs(folder, signal));
    else yield* this.streamedLs(folder, signal);
  }

  async entry(key: string, signal?: AbortSignal): Promise<ManifestEntry | undefined> {
    const lazy = this.lazy;
    if (lazy !== undefined) {
      try {
        return await lazy.entry(key, signal);
      } catch (error) {
        if (!this.dropIndex(error)) throw error;
      }
    }
    for await (const entry of this.streamed(key, signal)) if (entry.logicalKey === key) return entry;
    return undefined;
  }

  async dirMeta(signal?: AbortSignal): Promise<readonly DirMeta[]> {
    const lazy = this.lazy;
    if (lazy !== undefined) {
      try {
        return await lazy.dirMeta(signal);
      } catch (error) {
        if (!this.dropIndex(error)) throw error;
      }
    }
    const manifest = await readCanonical((await this.ensureFull(signal)).verified.source);
    // Only the lines before the entries are needed: start the entries and stop them at once, so
    // the manifest's stream is closed now (one never started would stay open until GC).
    const entries = manifest.entries[Symbol.asyncIterator]();
    await entries.next();
    await entries.return?.(undefined);
    return manifest.dirs;
  }

  /** The manifest's bytes once checked (a sorted copy when it was out of order): for copying it whole. */
  source(signal?: AbortSignal): ManifestSource {
    return () => this.checkedChunks(signal);
  }

  private async *checkedChunks(signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    yield* (await this.ensureFull(signal)).verified.source();
  }

  async close(): Promise<void> {
    if (this.work !== undefined) await rm(await this.work, { recursive: true, force: true });
  }

  /**
   * The full pass, once: top hash checked, index built into the cache, ranged reads from then on.
   * An index from the local cache that a checked pass built is kept: only the top hash is checked
   * again, and with `hold` (the caller reads every entry next) the entries are kept from that pass.
   */
  ensureFull(signal?: AbortSignal, info?: ObjectInfo, hold = false): Promise<FullPass> {
    this.running ??= (async () => {
      const checkedIndex = this.checked ? this.lazy : undefined;
      const { held, ...pass } = await fullPass({ storage: this.registry.storage, key: this.registry.manifestKey(this.topHash) }, this.topHash, {
        workDir: await this.workDir(),
        ...pick(this.options, signal),
        ...(info === undefined ? {} : { info }),
        ...(checkedIndex === undefined ? {} : { checkedIndex, hold }),
      });
      this.held = held;
      this.full = pass;
      this.lazy = pass.lazy;
      this.head = pass.header;
      this.checked = true;
      return pass;
    })();
    this.running.catch(() => (this.running = undefined));
    return this.running;
  }

  /** Entries of the checked manifest, streamed from its start (today's path without an index). */
  private async *streamed(prefix: string, signal?: AbortSignal): AsyncGenerator<ManifestEntry> {
    const { verified } = await this.ensureFull(signal, undefined, prefix === "");
    const held = prefix === "" ? this.held : undefined;
    if (held !== undefined) {
      this.held = undefined; // handed out once: a later whole read streams again, and the memory goes
      yield* held;
      return;
    }
    const manifest = await readCanonical(verified.source, { ...(signal === undefined ? {} : { signal }), ...(prefix === "" ? {} : { entryPrefix: prefix }) });
    let inside = false;
    for await (const entry of manifest.entries) {
      if (entry.logicalKey.startsWith(prefix)) {
        inside = true;
        yield entry;
      } else if (inside) {
        // Tree-walk order keeps a folder's keys together: past them, nothing more can match.
        return;
      }
    }
  }

  private async *streamedLs(folder: string, signal?: AbortSignal): AsyncGenerator<LsItem> {
    const prefix = folder === "" || folder.endsWith("/") ? folder : `${folder}/`;
    let lastDir: string | undefined;
    for await (const entry of this.streamed(prefix, signal)) {
      const rest = entry.logicalKey.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash < 0) {
        yield { kind: "file", entry };
        continue;
      }
      const dir = prefix + rest.slice(0, slash + 1);
      // A folder's entries are contiguous in tree-walk order, so each shows up once here.
      if (dir !== lastDir) yield { kind: "dir", logicalKey: dir };
      lastDir = dir;
    }
  }

  /** `lazy`, unless its index proves stale before anything was handed out: then `full()`. */
  private async *orFull<T>(lazy: AsyncGenerator<T>, full: () => AsyncGenerator<T>): AsyncGenerator<T> {
    let given = false;
    try {
      for await (const item of lazy) {
        given = true;
        yield item;
      }
      return;
    } catch (error) {
      if (given || !this.dropIndex(error)) throw error;
    }
    yield* full();
  }

  /** Whether `error` condemns the index; if so it is dropped and the full pass takes over. */
  private dropIndex(error: unknown): boolean {
    if (!isIndexProblem(error)) return false;
    this.options.onWarning?.(`${error.message} Reading the whole manifest instead.`);
    this.lazy = undefined;
    this.full = undefined;
    this.running = undefined;
    this.held = undefined;
    return true;
  }

  private workDir(): Promise<string> {
    this.work ??= mkdtemp(join(this.options.tmpDir ?? tmpdir(), "quiltkit-pkg-"));
    return this.work;
  }
}

function pick(options: AccessOptions, signal: AbortSignal | undefined): Omit<AccessOptions, "verify"> {
  const s = signal ?? options.signal;
  return {
    ...(options.indexCacheDir === undefined ? {} : { indexCacheDir: options.indexCacheDir }),
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    ...(options.readWhole === undefined ? {} : { readWhole: options.readWhole }),
    ...(s === undefined ? {} : { signal: s }),
  };
}
