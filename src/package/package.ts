import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { inspect } from "node:util";
import { IntegrityError, NotFoundError, UsageError } from "../errors/index.js";
import { verifyBytes, type HashPool } from "../hash/index.js";
import { toPlain, type PyObject, type PyValue } from "../json/index.js";
import { pyRepr, type DirMeta, type ManifestEntry, type ManifestSource } from "../manifest/index.js";
import { parseHandle } from "../registry/handle.js";
import type { Registry } from "../registry/registry.js";
import { isLocalRegistry, openRegistry, remotesOf } from "./registries.js";
import { loadConfig } from "../config/index.js";
import { readPhysical } from "./read-physical.js";
import { readResumable } from "../transfer/ranged-read.js";
import type { Remotes } from "../storage/index.js";
import { provenUnchanged, STAT_CACHE_FILE, type StatCacheOptions } from "../cache/index.js";
import { CachePlacer, cacheEntries, servesFromCache, uncacheEntries, type CacheEntriesResult, type CacheTotals, type LinkMode, type ObjectCache, type PlaceStats } from "../cache/objects/index.js";
import { PackageBuilder, type BuilderOptions } from "./builder.js";
import { ManifestAccess } from "./lazy-access.js";
import { readInstallReceipt, removeInstallReceipt, STATE_DIR, writeInstallReceipt, writeInstalledState } from "./installed.js";
import {
  compareDir,
  diffEntries,
  forceMatch,
  install,
  installTarget,
  throwIfAborted,
  type CompareDirResult,
  type DifferenceKind,
  type ExecuteInstallOptions,
  type ForceMatchOptions,
  type ForceMatchResult,
  type InstallResult,
} from "../transfer/index.js";

export interface BrowseOptions {
  /** The registry: a folder path, a `file://` URL, `s3://BUCKET`, or an opened `Registry`. */
  readonly registry?: string | Registry;
  /** How S3 buckets (the registry's, and those entries point into) are reached; default: from the environment. */
  readonly remotes?: Remotes;
  readonly tag?: string;
  /** A top hash, or a prefix of at least 6 hex digits. */
  readonly hash?: string;
  /** Where a sorted copy of an out-of-order manifest is kept while the package is open. */
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
  /** A shared hash worker pool for verify, diff, install and forceMatch (one per call otherwise). */
  readonly pool?: HashPool;
  /**
   * Where browse indexes built here are kept (the CLI gives `$QUILT_HOME/cache/index`): a manifest
   * first read whole leaves its index in `v1/` under it, so later browses are lazy. Default: none
   * (such an index then lasts as long as the package).
   */
  readonly indexCacheDir?: string;
  /** Check the manifest against its top hash now, even when a browse index makes that unnecessary. */
  readonly verify?: boolean;
  /** Told when a browse index is passed over (stale, damaged) or cannot be kept; nothing is printed. */
  readonly onWarning?: (message: string) => void;
  /**
   * The object cache, shared by every package (`new ObjectCache(dir)`; the CLI's is
   * `$QUILT_HOME/cache/objects`): getBytes fetches a remote object once and then serves it from
   * there, and installs clone or link from it. Default: none.
   */
  readonly cache?: ObjectCache;
}

export interface InstallOptionsOf {
  /** Only this logical sub-tree (a folder) or file. */
  readonly path?: string;
  readonly concurrency?: number;
  readonly tmpDir?: string;
  /** fsync each file before its rename (slower; default off: after a power cut a rerun repairs short files). */
  readonly durable?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: ExecuteInstallOptions["onProgress"];
  /**
   * The folder's stat cache, `dest/.quiltkit/stat-cache/` (default `{}`): files unchanged since an
   * install or verify recorded them are not read again, and the files written are recorded, so
   * a reinstall, `verify` and `status` read no data; `false` turns it off.
   */
  readonly statCache?: StatCacheChoice;
  /**
   * quilt3 `dest_registry`: also record the manifest (unchanged, so with its remote physical keys
   * and the same top hash) in this local registry, with a timestamp pointer and `latest`.
   */
  readonly destRegistry?: Registry;
  /** The clock for that timestamp pointer, in unix seconds (tests). */
  readonly now?: () => number;
  /**
   * How files come out of the object cache: "auto" (default: clone where the filesystem can, else
   * copy), "reflink" (clones or refuse), "hardlink" (read-only files sharing the cache's inodes),
   * "copy". See src/cache/objects/place.ts.
   */
  readonly link?: LinkMode;
  /** The object cache for this install: default the package's (`BrowseOptions.cache`); false: none. */
  readonly cache?: ObjectCache | false;
  /**
   * Only the entries it accepts (src/filter: compileFilter, globMatcher), tested as they stream.
   * Not recorded in `.quiltkit/installed.json`, whose format stays as it is.
   */
  readonly filter?: (entry: ManifestEntry) => boolean;
}

/**
 * What an install did; `cache` tells how files came out of the object cache, when one was used;
 * `unchanged`: the receipt of the last install and every file's stat proved the folder intact, so
 * nothing was read (Package.install).
 */
export type InstallResultOf = InstallResult & { readonly cache?: PlaceStats; readonly unchanged?: true };

/**
 * The stat cache of a compared folder: unchanged files are not read again. Default `{}`: a folder
 * with `.quiltkit/` (installed, or a workspace) keeps its cache there, and other folders get none;
 * give `{home}` (`$QUILT_HOME`, as the CLI does) to cache those too; `false` turns it off.
 */
export type StatCacheChoice = StatCacheOptions | false;

export interface CompareOptionsOf {
  readonly extraFilesOk?: boolean;
  /**
   * Compare the folder with this sub-tree only, laid out as `install` with the same `path` writes
   * it (keys relative to the folder, or a file under its base name); reported keys are relative too.
   */
  readonly path?: string;
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
  readonly onDifference?: (kind: DifferenceKind, key: string) => void;
  readonly statCache?: StatCacheChoice;
}

export interface ForceMatchOptionsOf {
  readonly statCache?: StatCacheChoice;
  readonly dryRun?: boolean;
  readonly tmpDir?: string;
  readonly durable?: boolean;
  readonly signal?: AbortSignal;
  readonly onChange?: ForceMatchOptions["onChange"];
}

export interface LsResult {
  /** Files directly in the folder. */
  readonly files: ManifestEntry[];
  /** Sub-folders, as logical keys ending in `/`. */
  readonly dirs: string[];
}

export type LsItem = { readonly kind: "file"; readonly entry: ManifestEntry } | { readonly kind: "dir"; readonly logicalKey: string };

/**
 * A package revision, immutable: what `browse` opens. Entries are streamed on demand, never held
 * whole in memory. With a browse index (docs/design.md §4) `ls`, `entry`, `getBytes`, `readme`,
 * metadata and sub-trees read only the byte ranges they need, trusting the registry to hold the
 * manifest its top hash names (`verified` is then false, unless this machine checked it before);
 * whatever reads the whole manifest (install, verify, diff, `entries()` of everything) checks the
 * top hash first. Without an index the top hash is checked when the package is opened.
 */
export class Package {
  private constructor(
    readonly name: string,
    readonly registry: Registry,
    readonly topHash: string,
    readonly header: PyObject,
    private readonly access: ManifestAccess,
    private readonly pool: HashPool | undefined,
    private readonly remotes: Remotes,
    private readonly objects: ObjectCache | undefined,
  ) {}

  /** Open `name` (or a full handle) at a tag, a hash, or `latest` (lazily when it has a browse index). */
  static async browse(nameOrHandle: string, options: BrowseOptions = {}): Promise<Package> {
    const defaultRegistry = typeof options.registry === "string" ? options.registry : undefined;
    const handle = parseHandle(nameOrHandle, defaultRegistry === undefined ? {} : { defaultRegistry });
    const remotes = options.remotes ?? remotesOf(loadConfig());
    // A handle that names its own registry (s3://…, quilt+s3://…) wins over the option.
    const registry =
      typeof options.registry === "object" && handle.registry === undefined
        ? options.registry
        : await openRegistry(requireRegistry(handle.registry), { remotes });
    const request = { name: handle.name, ...pick(handle.tag ?? options.tag, "tag"), ...pick(handle.hash ?? options.hash, "hash") };
    const topHash = await registry.resolve(request);
    const manifestKey = registry.manifestKey(topHash);
    const access = await ManifestAccess.open(registry, topHash, {
      ...(options.indexCacheDir === undefined ? {} : { indexCacheDir: options.indexCacheDir }),
      ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
      ...(options.verify === undefined ? {} : { verify: options.verify }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
      ...signalOf(options),
      // Resumed where it broke off, at the version whose top hash is checked (the pass pins it).
      readWhole: (versionId, signal) => readResumable(registry.storage, manifestKey, { ...(signal === undefined ? {} : { signal }), ...(versionId === undefined ? {} : { versionId }) }),
    });
    return new Package(handle.name, registry, topHash, access.header, access, options.pool, remotes, options.cache);
  }

  /** Whether this package's manifest was checked against its top hash (see the class comment). */
  get verified(): boolean {
    return this.access.verified;
  }

  /** The commit message of this revision. */
  get message(): string | null {
    const message = this.header.get("message");
    return typeof message === "string" ? message : null;
  }

  /** Package-level user metadata, as plain JS (quilt3 `pkg.meta`: `{}` when absent). */
  get meta(): unknown {
    return toPlain(this.header.has("user_meta") ? (this.header.get("user_meta") as PyValue) : new Map());
  }

  /**
   * Every entry under `prefix` (a folder `a/b/`, or `''` for all), in tree-walk order, streamed.
   * A prefix is one ranged read with a browse index; everything is read whole, top hash checked.
   */
  async *entries(options: { prefix?: string; signal?: AbortSignal } = {}): AsyncGenerator<ManifestEntry> {
    for await (const entry of this.access.entries(options.prefix ?? "", options.signal)) {
      this.checkPhysicalKey(entry);
      yield entry;
    }
  }

  /**
   * The manifest's bytes as checked against the top hash (it is read whole first; a sorted copy if
   * it was out of order), for work on its lines such as `quilt diff`.
   */
  checkedManifest(): ManifestSource {
    return this.access.source();
  }

  /** Directory-metadata lines of the manifest. */
  async dirMeta(): Promise<readonly DirMeta[]> {
    return this.access.dirMeta();
  }

  /** One entry by logical key; `NotFoundError` when there is none. */
  async entry(logicalKey: string): Promise<ManifestEntry> {
    const entry = await this.access.entry(logicalKey);
    if (entry !== undefined) {
      this.checkPhysicalKey(entry);
      return entry;
    }
    throw new NotFoundError("ENTRY_NOT_FOUND", `${this.name}@${this.topHash.slice(0, 10)} has no entry ${pyRepr(logicalKey)}.`, {
      hint: `List the package's files with \`quilt ls ${this.name}\`.`,
    });
  }

  /** The files and sub-folders directly in a folder, streamed (a folder may hold millions). */
  async *lsItems(folder = ""): AsyncGenerator<LsItem> {
    for await (const item of this.access.lsItems(folder)) {
      if (item.kind === "file") this.checkPhysicalKey(item.entry);
      yield item;
    }
  }

  /** `ls` as the seed has it: files and folders directly in `folder`. */
  async ls(folder = ""): Promise<LsResult> {
    const files: ManifestEntry[] = [];
    const dirs: string[] = [];
    for await (const item of this.lsItems(folder)) {
      if (item.kind === "file") files.push(item.entry);
      else dirs.push(item.logicalKey);
    }
    return { files, dirs };
  }

  /** An entry's bytes, checked against its hash. */
  async getBytes(logicalKey: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const entry = await this.entry(logicalKey);
    if (this.objects !== undefined && servesFromCache(this.objects, entry)) {
      return this.objects.getBytes(entry, (e, signal) => this.readEntry(e, signal), signalOf(options));
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.readEntry(entry, options.signal)) chunks.push(Buffer.from(chunk));
    const bytes = Buffer.concat(chunks);
    const check = verifyBytes(bytes, entry.hash);
    if (!check.ok) throw hashMismatch(entry, check.actual);
    return bytes;
  }

  async getText(logicalKey: string): Promise<string> {
    return (await this.getBytes(logicalKey)).toString("utf8");
  }

  /** An entry parsed as JSON (plain JS values). */
  async getJson(logicalKey: string): Promise<unknown> {
    const text = await this.getText(logicalKey);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new UsageError("ENTRY_NOT_JSON", `${pyRepr(logicalKey)} is not valid JSON.`, { cause: error });
    }
  }

  /** An entry's user metadata (`meta.user_meta`), as plain JS; `{}` when it has none. */
  async getMetadata(logicalKey: string): Promise<unknown> {
    const entry = await this.entry(logicalKey);
    return toPlain(entry.meta.has("user_meta") ? (entry.meta.get("user_meta") as PyValue) : new Map<string, PyValue>());
  }

  /** The package's `README.md`, as text (quilt3 `readme()`). */
  async readme(): Promise<string> {
    try {
      return await this.getText("README.md");
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new NotFoundError("README_NOT_FOUND", `${this.name} has no README.md.`, {
          hint: "A package's README is the entry README.md at its root.",
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Entry count and total bytes (from the browse index, or counted while the top hash was checked). */
  stats(): Promise<{ entries: number; bytes: number }> {
    return this.access.totals();
  }

  /**
   * The bytes of an entry, unverified (callers verify): a local file, or an S3 object at its
   * pinned version, fetched in parallel ranges when it is big.
   */
  readEntry(entry: Pick<ManifestEntry, "physicalKey" | "size">, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    return readPhysical(this.remotes, entry, signal === undefined ? {} : { signal });
  }

  /**
   * Install the package (or the sub-tree `path`) into `dest`: every file written under a temp
   * name, checked against its hash, then renamed into place; files already there and intact are
   * skipped, so running it again finishes an interrupted install. Records the origin in
   * `dest/.quiltkit/`. Refuses, before writing anything, keys that would escape `dest`, symlinks
   * in it, keys that collide on case-insensitive filesystems, and a lack of free space.
   */
  async install(dest: string, options: InstallOptionsOf = {}): Promise<InstallResultOf> {
    const placer = this.placerFor(options);
    const statCache = options.statCache === false ? undefined : { file: join(resolve(dest), STATE_DIR, "stat-cache", STAT_CACHE_FILE), ...options.statCache };
    const path = options.path?.replace(/\/+$/, "") ?? "";
    const unchanged = await this.unchangedInstall(dest, path, statCache, options);
    if (unchanged !== undefined) return placer === undefined ? unchanged : { ...unchanged, cache: placer.stats };
    // From here files may change: the receipt of the install before no longer holds.
    await removeInstallReceipt(dest);
    const result = await install(() => only(this.installEntries(options.path, options.signal), options.filter), dest, {
      ...(placer === undefined ? {} : { placer }),
      readEntry: (entry, signal) => this.readEntry(entry, signal),
      // A folder may be given as `train/`; the install plan takes the logical key `train`.
      ...(options.path === undefined ? {} : { path: options.path.replace(/\/+$/, "") }),
      ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...signalOf(options),
      fsync: options.durable ?? false,
      ...this.poolOption(),
      ...(statCache === undefined ? {} : { statCache }),
    });
    if (options.destRegistry !== undefined) await this.recordIn(options.destRegistry, options);
    await this.recordInstalled(dest, options.path ?? "");
    const cached = result.statCache;
    // Every file installed is in the stat cache (none left out as racy): a reinstall can trust it alone.
    if (options.filter === undefined && cached?.checksum !== undefined && cached.recorded === result.files + result.skipped) {
      await writeInstallReceipt(dest, { topHash: this.topHash, path, statCache: { records: cached.recorded, checksum: cached.checksum } });
    }
    return placer === undefined ? result : { ...result, cache: placer.stats };
  }

  private recordInstalled(dest: string, path: string): Promise<void> {
    return writeInstalledState(dest, { registry: this.registry.url, name: this.name, topHash: this.topHash, path, installedAt: new Date().toISOString() });
  }

  /**
   * A reinstall with nothing to do, proven without reading the manifest or any file: the receipt
   * of the last complete install names this top hash and path, and every file its stat cache
   * recorded still has the recorded stat (installed.ts, src/cache/unchanged.ts). `undefined`
   * when anything differs: the full install then finds and fixes what changed.
   */
  private async unchangedInstall(dest: string, path: string, statCache: StatCacheOptions | undefined, options: InstallOptionsOf): Promise<InstallResultOf | undefined> {
    // A filter is a function, not recorded; a copy into another registry needs the manifest.
    if (statCache === undefined || options.filter !== undefined || options.destRegistry !== undefined) return undefined;
    const started = performance.now();
    const receipt = await readInstallReceipt(dest);
    if (receipt?.topHash !== this.topHash || receipt.path !== path) return undefined;
    throwIfAborted(options.signal, `installing into ${dest}`);
    const proof = await provenUnchanged(dest, receipt.statCache, statCache);
    if (!proof.unchanged) return undefined;
    const n = proof.files;
    options.onProgress?.({ files: n, bytes: proof.bytes, skipped: n, totalFiles: n, totalBytes: proof.bytes });
    await this.recordInstalled(dest, options.path ?? "");
    const stats = { file: proof.file, hits: n, misses: 0, racy: 0, recorded: n, written: true, checksum: receipt.statCache.checksum };
    return { files: 0, bytes: 0, skipped: n, rehashed: 0, statCache: stats, seconds: (performance.now() - started) / 1000, unchanged: true };
  }

  /**
   * What an install reads: every entry (the manifest read whole, top hash checked), or those under
   * `path`. For a path the top hash is checked all the same, by the full pass that also indexes the
   * manifest, and then the subtree is one ranged read of that index instead of a second parse of
   * every line (at 10M entries `install --path` of 1,000 files spent 125 CPU-s on its main thread,
   * nearly all of it that parse). The install plan keeps only the keys the path names.
   */
  private async *installEntries(path: string | undefined, signal: AbortSignal | undefined): AsyncGenerator<ManifestEntry> {
    if (path === undefined) {
      yield* this.entries(signal === undefined ? {} : { signal });
      return;
    }
    await this.access.ensureFull(signal);
    yield* this.entries({ prefix: path.replace(/\/+$/, ""), ...(signal === undefined ? {} : { signal }) });
  }

  private placerFor(options: InstallOptionsOf): CachePlacer | undefined {
    const cache = options.cache === false ? undefined : (options.cache ?? this.objects);
    if (cache === undefined && (options.link === "hardlink" || options.link === "reflink")) {
      throw new UsageError("CACHE_NONE", `Installing with link "${options.link}" needs an object cache, and none was given.`, {
        hint: "Pass `cache: new ObjectCache(dir)` to Package.browse or to install.",
      });
    }
    const readEntry = (entry: ManifestEntryRef, signal: AbortSignal): AsyncIterable<Uint8Array> => this.readEntry(entry, signal);
    return cache === undefined ? undefined : new CachePlacer(cache, { mode: options.link ?? "auto", readEntry, fsync: options.durable ?? false });
  }

  /**
   * Fetch an entry, or every entry of a folder (`train/`), into the object cache, so later reads
   * are local (the seed's `pkg.cache`). Local files are skipped: they are local already.
   */
  async cache(logicalKeyOrFolder: string, options: { signal?: AbortSignal; concurrency?: number } = {}): Promise<CacheEntriesResult> {
    const cache = this.requireCache();
    const entries = logicalKeyOrFolder.endsWith("/") ? this.entries({ ...signalOf(options), prefix: logicalKeyOrFolder }) : once(await this.entry(logicalKeyOrFolder));
    return cacheEntries(cache, entries, (entry, signal) => this.readEntry(entry, signal), options);
  }

  /** Drop this package's objects (under `prefix`) from the object cache (the seed's `pkg.clear_cache()`). */
  async clearCache(options: { prefix?: string } = {}): Promise<CacheTotals> {
    return uncacheEntries(this.requireCache(), this.entries(options.prefix === undefined ? {} : { prefix: options.prefix }));
  }

  private requireCache(): ObjectCache {
    if (this.objects !== undefined) return this.objects;
    throw new UsageError("CACHE_NONE", `${this.name} was opened without an object cache.`, {
      hint: "Pass `cache: new ObjectCache(dir)` to Package.browse.",
    });
  }

  private async recordIn(registry: Registry, options: InstallOptionsOf): Promise<void> {
    const manifest = this.checkedManifest();
    await registry.pushManifest(this.name, this.topHash, async (key) => void (await registry.storage.write(key, manifest(), { ifNoneMatch: true })), {
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /** The seed's name for `install`. */
  copy(dest: string, options: InstallOptionsOf = {}): Promise<InstallResultOf> {
    return this.install(dest, options);
  }

  /**
   * Compare a folder with the package (quilt3 `verify`): `added` files are in the folder only,
   * `deleted` in the package only, `modified` differ in size or hash. `.quiltkit/` is left out.
   */
  async verify(dir: string, options: CompareOptionsOf = {}): Promise<CompareDirResult> {
    const path = options.path?.replace(/\/+$/, "");
    const entries = path === undefined || path === "" ? () => this.entries(signalOf(options)) : () => this.subtree(path, options);
    return compareDir(entries, dir, {
      exclude: [STATE_DIR],
      ...this.poolOption(),
      ...statCacheOf(options),
      ...(options.extraFilesOk === undefined ? {} : { extraFilesOk: options.extraFilesOk }),
      ...(options.onDifference === undefined ? {} : { onDifference: options.onDifference }),
      ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
      ...signalOf(options),
    });
  }

  /**
   * The entries of `path` (a folder or a file), keyed as `install({path})` places them: one ranged
   * read with a browse index (trusting the registry for the top hash, as `ls` does).
   */
  private async *subtree(path: string, options: { signal?: AbortSignal }): AsyncGenerator<ManifestEntry> {
    for await (const entry of this.entries({ prefix: path, ...signalOf(options) })) {
      const target = installTarget(entry.logicalKey, path);
      if (target !== undefined) yield { ...entry, logicalKey: target };
    }
  }

  /**
   * What changed from this package to `other` (another package, or a folder): keys added,
   * modified (size, hash or metadata; not physical keys, as quilt3) and deleted.
   */
  async diff(other: Package | string, options: CompareOptionsOf = {}): Promise<{ added: string[]; modified: string[]; deleted: string[] }> {
    if (typeof other === "string") {
      const result = await this.verify(other, options);
      return { added: result.added, modified: result.modified, deleted: result.deleted };
    }
    const result = await diffEntries(this.entries(signalOf(options)), other.entries(signalOf(options)), {
      ...(options.onDifference === undefined ? {} : { onDifference: options.onDifference }),
      ...signalOf(options),
    });
    return { added: result.added, modified: result.modified, deleted: result.deleted };
  }

  /**
   * Make `dir` match the package with the least work: fetch only missing or changed files, remove
   * extra ones (not `.quiltkit/`), and report each change; `dryRun` only reports.
   */
  async forceMatch(dir: string, options: ForceMatchOptionsOf = {}): Promise<ForceMatchResult> {
    return forceMatch(() => this.entries(signalOf(options)), dir, {
      exclude: [STATE_DIR],
      readEntry: (entry, signal) => this.readEntry(entry, signal),
      dryRun: options.dryRun ?? false,
      ...this.poolOption(),
      ...statCacheOf(options, options.dryRun === true),
      ...(options.onChange === undefined ? {} : { onChange: options.onChange }),
      ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
      ...signalOf(options),
      fsync: options.durable ?? false,
    });
  }

  /**
   * A builder holding this revision's content (the seed's `to_package_builder`): header, folder
   * metadata and every entry, streamed in; a later push checks `latest` against this revision.
   */
  async toBuilder(options: BuilderOptions = {}): Promise<PackageBuilder> {
    const builder = new PackageBuilder({ ...this.poolOption(), ...options, name: this.name });
    // All keys, message too: quilt3 keeps the browsed dict, and build() updates message in place.
    for (const [key, value] of this.header) builder.header.set(key, value);
    for (const dir of await this.dirMeta()) builder.setDirMeta(dir.logicalKey, dir.meta);
    for await (const entry of this.entries()) {
      await builder.setEntry(entry.logicalKey, entry);
    }
    builder.addParent(this.name, this.topHash);
    return builder;
  }

  /** Release the temp files of this package (a sorted copy of an out-of-order manifest). */
  async close(): Promise<void> {
    await this.access.close();
  }

  /** The seed's REPL view: name, top hash, where the manifest is, first entries. */
  toString(): string {
    return [
      "Package(",
      `  name: ${JSON.stringify(this.name)},`,
      `  tophash: ${JSON.stringify(this.topHash)},`,
      `  manifest: ${JSON.stringify(`${this.registry.url}/${this.registry.manifestKey(this.topHash)}`)},`,
      `  message: ${JSON.stringify(this.message)}`,
      ")",
    ].join("\n");
  }

  [inspect.custom](): string {
    return this.toString();
  }

  private poolOption(): { pool?: HashPool } {
    return this.pool === undefined ? {} : { pool: this.pool };
  }

  /** `file://` keys are honoured only from local registries (a remote one could point at ~/.ssh). */
  private checkPhysicalKey(entry: ManifestEntry): void {
    if (entry.physicalKey.startsWith("file:") && !isLocalRegistry(this.registry)) {
      throw new IntegrityError(
        "REMOTE_MANIFEST_LOCAL_KEY",
        `${this.name} from ${this.registry.url} points entry ${pyRepr(entry.logicalKey)} at a local file (${entry.physicalKey}).`,
        { hint: "A remote package may not reference files on this machine; it was refused. Ask its author to push the data." },
      );
    }
  }
}

function requireRegistry(registry: string | undefined): string {
  if (registry !== undefined) return registry;
  throw new UsageError("REGISTRY_MISSING", "No registry given for this package.", {
    hint: "Pass a registry (--registry URL, QUILT_REGISTRY) or use a full handle such as s3://BUCKET/ns/name.",
  });
}

function hashMismatch(entry: ManifestEntry, actual: string): IntegrityError {
  return new IntegrityError(
    "HASH_MISMATCH",
    `${pyRepr(entry.logicalKey)} (${entry.physicalKey}) does not match its hash: expected ${entry.hash.type} ${entry.hash.value}, got ${actual}.`,
    { hint: "The data changed after the package was made; nothing was returned. Re-push the package or restore the file." },
  );
}

function pick<K extends string>(value: string | undefined, key: K): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** `readOnly`: a dry run uses the cache but leaves even `.quiltkit/` as it was. */
function statCacheOf(options: { statCache?: StatCacheChoice }, readOnly = false): { statCache?: StatCacheOptions } {
  if (options.statCache === false) return {};
  return { statCache: { ...options.statCache, ...(readOnly ? { readOnly } : {}) } };
}

/** What transfers read of an entry. */
type ManifestEntryRef = Parameters<Package["readEntry"]>[0];

async function* only(entries: AsyncIterable<ManifestEntry>, accept?: (entry: ManifestEntry) => boolean): AsyncGenerator<ManifestEntry> {
  for await (const entry of entries) if (accept === undefined || accept(entry)) yield entry;
}

async function* once<T>(item: T): AsyncGenerator<T> {
  yield await Promise.resolve(item);
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}
