import { mkdtemp, open, rm } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { basename, isAbsolute, join, relative, sep } from "node:path";
import { stat } from "node:fs/promises";
import { inspect } from "node:util";
import { ConflictError, NotFoundError, UsageError } from "../errors/index.js";
import type { HashPool } from "../hash/index.js";
import { fromPlain, type PyObject, type PyValue } from "../json/index.js";
import {
  assertValidLogicalKey,
  logicalKeyProblem,
  encodeManifest,
  pyRepr,
  pyTruthy,
  type DirMeta,
  type EntryHash,
  type WriteResult,
} from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import { formatPhysicalKey, parsePhysicalKey, type S3PhysicalKey } from "../storage/physical-key.js";
import { hashMissing, type HashEntriesOptions } from "./hash-entries.js";
import { pushEntryToLocalRegistry, type DataOutcome, type PushedEntry } from "./push-local.js";
import { pushAllToS3 } from "./push-s3.js";
import { forEachBounded } from "../transfer/bounded.js";
import { Registry } from "../registry/registry.js";
import { Package } from "./package.js";
import { writeIndexAfterPush } from "./lazy-push.js";
import { validatePackageName } from "../registry/names.js";
import { isS3Storage, LocalStorage, type Remotes } from "../storage/index.js";
import { createReadStream } from "node:fs";
import { OpLog } from "./op-log.js";
import { EntryReplay, replayEntries } from "./entry-replay.js";
import { keyOf, type KeyOp, type PendingEntry } from "./ops.js";
import { resolveEntries } from "./resolve.js";
import { localFile, needRemotes, s3Object, s3Prefix, toPhysicalKey, type S3Source } from "./sources.js";
import { walkDir, type WalkOptions } from "./walk-dir.js";
import { applyWorkflow, checkWorkflow, type WorkflowRequest } from "../workflows/index.js";

/** Metadata as given by a caller: a `PyValue` (dicts as `Map`) is kept as is, plain JS is converted. */
export type MetaInput = unknown;

/**
 * Metadata given as a `PyValue` exactly (see `py`). Without the mark, a value is taken as a
 * PyValue when a Map or a bigint appears in it (parsePyJson's dicts and ints), else as plain JS.
 */
export class PyMeta {
  constructor(readonly value: PyValue) {}
}

/** Mark metadata as a PyValue, e.g. `py(parsePyJson("1.0"))` keeps the float 1.0. */
export function py(value: PyValue): PyMeta {
  return new PyMeta(value);
}

/** Whether a Map (dict) or bigint (int) appears anywhere in the value, with no plain object. */
function isPyTree(value: unknown): boolean {
  let marked = false;
  const visit = (v: unknown): boolean => {
    if (typeof v === "bigint") marked = true;
    if (v instanceof Map) {
      marked = true;
      return [...(v as Map<unknown, unknown>).values()].every(visit);
    }
    if (Array.isArray(v)) return v.every(visit);
    return v === null || typeof v !== "object";
  };
  return visit(value) && marked;
}

export interface BuilderOptions {
  /** Where spill files and built manifests go (default: the OS temp folder). */
  readonly tmpDir?: string;
  /** A shared hash worker pool; one is made and closed per build otherwise. */
  readonly pool?: HashPool;
  readonly maxRecordSize?: number;
  /**
   * How S3 is reached: needed to add or set `s3://` sources, to hash S3 entries that have no hash
   * yet, and to copy S3 data into a local registry. Without it those are errors (or, for a local
   * registry's push, the S3 entries are left where they are).
   */
  readonly remotes?: Remotes;
  /** Hashes of unchanged local files under `dir` come from its stat cache (src/cache), e.g. `quilt hash DIR`. */
  readonly statCache?: HashEntriesOptions["statCache"];
}

export interface BuildOptions {
  readonly message?: string | null;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { files: number; bytes: number }) => void;
}

export interface BuiltManifest extends WriteResult {
  /** The manifest file, in the builder's temp folder until the builder is disposed. */
  readonly path: string;
}

export interface PushDataOptions {
  readonly registry: Registry;
  /** The package name: data goes to `<registry>/<name>/<logical key>`, as quilt3 lays it out. */
  readonly name: string;
  /**
   * Where data goes instead: `<registry>/<prefix><logical key>` (the seed's `--prefix=data/v0/`).
   * A prefix without a trailing `/` gets one; `""` is the registry's root. Default `<name>/`.
   */
  readonly prefix?: string;
  /** Push only entries whose data is a local file; S3 entries stay as they are (`--local-files-only`). */
  readonly localFilesOnly?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { files: number; bytes: number }) => void;
  /** Told about each entry as its data lands (or is found there already). */
  readonly onEntry?: (logicalKey: string, outcome: DataOutcome, from: string, to: string, size: number) => void;
  /** Files transferred at once to S3. Default 16. */
  readonly concurrency?: number;
}

export interface PushDataResult {
  readonly copied: number;
  readonly exists: number;
  readonly referenced: number;
  readonly bytes: number;
}

export interface PushManifestOptions {
  readonly registry: Registry;
  readonly name: string;
  readonly message?: string | null;
  readonly tags?: readonly string[];
  /** One tag (the seed's `push_manifest(tag="v0")`); joins `tags`. */
  readonly tag?: string;
  /** Replace `latest` even if it moved since this builder's parent revision (quilt3 `force`). */
  readonly force?: boolean;
  /** Write nothing when the new top hash already is `latest`. */
  readonly dedupe?: boolean;
  /** Allow entries that point at local files outside the registry (the guard rail of the seed). */
  readonly allowLocalFiles?: boolean;
  /** Injectable clock (unix seconds) for tests. */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  /** quilt3's `workflow`: an id, or `null` for none; not given: the registry's default (src/workflows). */
  readonly workflow?: WorkflowRequest["workflow"];
  /** How S3 buckets other than the registry's are reached, for workflow schemas kept there. */
  readonly remotes?: WorkflowRequest["remotes"];
  /** Told when the manifest's browse index could not be written (the push still succeeds). */
  readonly onWarning?: (message: string) => void;
}

export interface PushManifestResult {
  readonly name: string;
  readonly topHash: string;
  readonly registry: string;
  readonly manifestKey: string;
  readonly timestamp: string;
  readonly pointers: readonly string[];
  readonly deduped: boolean;
  readonly entries: number;
  readonly bytes: number;
}

export interface SetDirOptions extends Pick<WalkOptions, "exclude" | "quiltignore"> {
  readonly meta?: MetaInput;
  /** quilt3's `update_policy`: `incoming` (default) replaces entries at the same key, `existing` keeps them. */
  readonly updatePolicy?: "incoming" | "existing";
}

/** A whole-entry value, as quilt3's `PackageEntry(physical_key, size, hash, meta)`. */
export interface EntryInput {
  readonly physicalKey: string;
  readonly size: number;
  readonly hash?: EntryHash;
  /** The entry's whole metadata dict (user metadata under `user_meta`). */
  readonly meta?: MetaInput;
}

/**
 * A package being built: the mutable side of the seed's Package / PackageBuilder split. Every
 * operation is recorded, not applied to an in-memory tree: `build()` resolves them with an
 * external sort, hashes what needs hashing on all cores, and streams the manifest to a file while
 * computing the top hash. So a builder of ten million entries stays within a bounded memory.
 */
export class PackageBuilder {
  /** The header dict; quilt3 key order: version, [user_meta], [workflow], message. */
  readonly header: PyObject = new Map<string, PyValue>([["version", "v0"]]);
  private readonly dirMeta = new Map<string, PyValue>();
  private readonly prefixDeletes = new Map<string, number>();
  private ops: OpLog;
  /** The entries of the current revision once resolved, so later passes replay instead of sorting again. */
  private readonly resolved = new EntryReplay({
    stamp: () => `${this.revision}/${this.ops.size}`,
    dir: () => this.ensureWorkDir(),
    resolve: (signal) => this.resolve(signal),
  });
  /** Entries before every operation, in tree-walk order (setBase, or a rebase after a data push). */
  private base: (() => AsyncIterable<PendingEntry>) | undefined;
  /** The file the base reads, when a rebase made it (in the work folder). */
  private baseFile: string | undefined;
  /** The registry a data push last covered, and the revision it left: every local file then pointed into it. */
  private dataPushed: { readonly url: string; readonly revision: number } | undefined;
  private workDir: string | undefined;
  private builds = 0;
  /** Top hashes this builder descends from, per package name (quilt3's parent tracking, PR #5180). */
  private readonly parents = new Map<string, string[]>();
  /** Bumped by every change, so a push can tell whether the builder still matches it. */
  private revision = 0;
  private lastPush: { registry: Registry; name: string; topHash: string; revision: number } | undefined;
  private lastBuild: { topHash: string; revision: number } | undefined;
  /** What was added from where, for the summary (the seed's `contents`); a folder is one line. */
  private readonly contents: { logical: string; source: string }[] = [];
  /** Local registry folders this builder pushed data into: files there count as pushed. */
  private readonly dataRoots = new Set<string>();

  /** The name given at creation (the seed's `PackageBuilder("bucket/dataset")`), if any. */
  name: string | undefined;

  constructor(private readonly options: BuilderOptions & { name?: string } = {}) {
    this.ops = new OpLog(options.tmpDir ?? tmpdir());
    if (options.name !== undefined) validatePackageName(options.name);
    this.name = options.name;
  }

  private changed(logical?: string, source?: string): void {
    this.revision += 1;
    this.resolved.invalidate();
    if (logical !== undefined && source !== undefined) {
      const at = this.contents.findIndex((c) => c.logical === logical);
      if (at >= 0) this.contents.splice(at, 1);
      if (this.contents.length < CONTENT_LINES) this.contents.push({ logical, source });
    }
  }

  /**
   * Metadata, as the seed's `set_meta`: `setMeta(meta)` sets the package's user metadata;
   * `setMeta("a/b.txt", meta)` an entry's; `setMeta("a/", meta)` a folder's.
   */
  async setMeta(keyOrMeta: MetaInput, ...rest: [MetaInput] | []): Promise<this> {
    if (rest.length === 0) {
      this.header.set("user_meta", toPy(keyOrMeta));
      this.changed();
      return this;
    }
    if (typeof keyOrMeta !== "string") throw new UsageError("USAGE", "setMeta(key, meta) takes a logical key first.");
    const meta = rest[0];
    return keyOrMeta.endsWith("/") ? this.setDirMeta(keyOrMeta, meta) : this.setEntryMeta(keyOrMeta, meta);
  }

  /**
   * Add a file, a folder, an S3 object or prefix, or a whole package (the seed's `add`). A path's
   * logical key is the path as given when it is relative and inside the working folder
   * (`add("train2017/")`), else its base name, unless `logicalPrefix` says otherwise. An
   * `s3://bucket/prefix/` URL (a trailing `/`, or a key with no object) adds every object under
   * it, an `s3://bucket/key` the object (both need the `remotes` option). Paths and S3 sources
   * replace what is at their keys (like `set_dir`); a package's entries are an error on any key the
   * builder already has. `onConflict` overrides either: `error`, `replace` or `keep`.
   */
  async add(source: string | Package, logicalPrefix?: string, options: AddOptions = {}): Promise<this> {
    if (typeof source !== "string") return this.addPackage(source, logicalPrefix, options.onConflict ?? "error");
    if (source.startsWith("s3://")) return this.addS3(source, logicalPrefix, options);
    const info = await stat(source).catch((error: unknown) => {
      throw new NotFoundError("SOURCE_NOT_FOUND", `${source} does not exist.`, { hint: "Check the path to add.", cause: error });
    });
    const logical = trimSlashes(logicalPrefix ?? defaultLogicalKey(source));
    const op = putOp(options.onConflict ?? "replace");
    if (info.isDirectory()) {
      const walk = options.exclude === undefined ? {} : { exclude: options.exclude };
      await this.addDir(logical, source, op, options.signal, walk, source);
      this.changed(logical === "" ? "./" : `${logical}/`, source.endsWith("/") ? source : `${source}/`);
      return this;
    }
    const key = logical === "" ? basename(source) : logicalPrefix?.endsWith("/") ? `${logical}/${basename(source)}` : logical;
    assertValidLogicalKey(key);
    const file = await localFile(source);
    await this.appendPut(op, { logicalKey: key, ...file, meta: new Map() }, source);
    this.changed(key, source);
    return this;
  }

  /** An S3 object, or every object under a prefix, at `logicalPrefix` (see `add`). */
  private async addS3(url: string, logicalPrefix: string | undefined, options: AddOptions): Promise<this> {
    const remotes = needRemotes(this.options.remotes, url);
    const pk = parsePhysicalKey(url);
    if (pk.kind !== "s3") throw new Error("addS3 needs an s3:// URL");
    const op = putOp(options.onConflict ?? "replace");
    const object = pk.path === "" || pk.path.endsWith("/") ? undefined : await s3Object(remotes, pk, options.signal);
    if (object !== undefined) {
      const name = pk.path.slice(pk.path.lastIndexOf("/") + 1);
      const logical = trimSlashes(logicalPrefix ?? name);
      const key = logical === "" ? name : logicalPrefix?.endsWith("/") ? `${logical}/${name}` : logical;
      assertValidLogicalKey(key);
      await this.appendPut(op, { logicalKey: key, ...object, meta: new Map() }, url);
      this.changed(key, url);
      return this;
    }
    if (pk.versionId !== undefined) throw new NotFoundError("SOURCE_NOT_FOUND", `${url} does not exist.`, { hint: "Check the key and its version id." });
    const prefix = pk.path === "" || pk.path.endsWith("/") ? pk.path : `${pk.path}/`;
    const logical = trimSlashes(logicalPrefix ?? prefix.split("/").filter(Boolean).pop() ?? "");
    if (logical !== "") assertValidLogicalKey(logical);
    let count = 0;
    for await (const object of s3Prefix(remotes, pk.bucket, prefix, options.signal)) {
      const logicalKey = logical === "" ? object.relativePath : `${logical}/${object.relativePath}`;
      assertValidLogicalKey(logicalKey);
      await this.appendPut(op, { logicalKey, physicalKey: object.physicalKey, size: object.size, meta: new Map() }, url);
      count += 1;
    }
    if (count === 0) {
      throw new NotFoundError("SOURCE_NOT_FOUND", `There is no object under s3://${pk.bucket}/${prefix}.`, {
        hint: "Check the bucket and the prefix (S3 prefixes are case-sensitive).",
      });
    }
    this.changed(logical === "" ? "./" : `${logical}/`, `s3://${pk.bucket}/${prefix}`);
    return this;
  }

  /** Record an entry with the conflict rule of `op`; `put-new` names where the entry came from. */
  private async appendPut(op: "put" | "put-if-absent" | "put-new", entry: PendingEntry, from: string): Promise<void> {
    await this.ops.append(op === "put-new" ? { op, entry, from } : { op, entry });
  }

  /**
   * Start from entries known to be valid and already in tree-walk order (a builder's state saved
   * from `pendingEntries`, e.g. by a workspace): they are merged with the operations at each
   * resolve, never sorted or held in memory. `entries` is called for every pass, so it must open
   * the entries afresh each time. Only before any other change.
   */
  setBase(entries: () => AsyncIterable<PendingEntry>): this {
    if (this.ops.size > 0 || this.base !== undefined) {
      throw new UsageError("BUILDER_BASE_LATE", "setBase must come first, before any other change to the builder.", {
        hint: "Create the builder, call setBase, then add, set or delete.",
      });
    }
    this.base = entries;
    this.changed();
    return this;
  }

  /**
   * Move every entry under `from/` to `to/` (the seed's `move_dir_contents`). A target key that
   * exists already is a collision, refused before anything moves unless `overwrite`.
   */
  async moveDirContents(from: string, to: string, options: MoveOptions = {}): Promise<this> {
    const source = trimSlashes(from);
    const target = trimSlashes(to);
    assertValidLogicalKey(source);
    if (target !== "") assertValidLogicalKey(target);
    if (source === target || target.startsWith(source + "/") || (target !== "" && source.startsWith(target + "/")) || target === "") {
      throw new UsageError("MOVE_OVERLAP", `Cannot move ${pyRepr(source + "/")} to ${pyRepr(target + "/")}: one folder contains the other.`, {
        hint: "Move into a folder that is neither inside nor around the source.",
      });
    }
    const moving = new OpLog(this.options.tmpDir ?? tmpdir());
    try {
      const existing = new OpLog(this.options.tmpDir ?? tmpdir());
      try {
        for await (const entry of this.pendingEntries(options.signal)) {
          if (entry.logicalKey.startsWith(source + "/")) await moving.append({ op: "put", entry });
          else if (entry.logicalKey.startsWith(target + "/")) await existing.append({ op: "delete", logicalKey: entry.logicalKey });
        }
        if (!options.overwrite) await assertNoCollision(moving.replay(), existing.replay(), source, target, options.overwriteOption);
      } finally {
        await existing.dispose();
      }
      for await (const op of moving.replay()) {
        if (op.op !== "put") continue;
        const rest = op.entry.logicalKey.slice(source.length + 1);
        await this.ops.append({ op: "delete", logicalKey: op.entry.logicalKey });
        await this.ops.append({ op: "put", entry: { ...op.entry, logicalKey: `${target}/${rest}` } });
      }
    } finally {
      await moving.dispose();
    }
    this.changed();
    return this;
  }

  /**
   * Move one entry (`a/b.txt`) or a folder (`a/`, or a key that is a folder) to a new logical key.
   * The target must be free (no entry there, and no folder of that name) unless `overwrite`.
   * Returns what moved (`entry`, `folder`, or `nothing` when `from` names neither) and its new
   * key (a folder's with its `/`).
   */
  async move(from: string, to: string, options: MoveOptions = {}): Promise<{ moved: "entry" | "folder" | "nothing"; to: string }> {
    const source = trimSlashes(from);
    const target = trimSlashes(to);
    assertValidLogicalKey(source);
    // Where the entry goes if `from` is one: into a folder given with `/`, else to `to` itself.
    const key = to.endsWith("/") || target === "" ? joinKey(target, source.slice(source.lastIndexOf("/") + 1)) : target;
    let found: PendingEntry | undefined;
    let folder = false;
    let taken: string | undefined;
    for await (const entry of this.pendingEntries(options.signal)) {
      if (entry.logicalKey === source && !from.endsWith("/")) found = entry;
      else if (entry.logicalKey.startsWith(source + "/")) folder = true;
      if (entry.logicalKey === key || entry.logicalKey.startsWith(key + "/")) taken ??= entry.logicalKey;
    }
    if (found === undefined) {
      if (!folder) return { moved: "nothing", to: "" };
      await this.moveDirContents(source, target, options);
      return { moved: "folder", to: `${target}/` };
    }
    assertValidLogicalKey(key);
    if (taken !== undefined && !options.overwrite) throw moveCollision(source, taken, options.overwriteOption ?? "overwrite: true");
    if (taken !== undefined) await this.delete(key);
    await this.ops.append({ op: "delete", logicalKey: source });
    await this.ops.append({ op: "put", entry: { ...found, logicalKey: key } });
    this.changed();
    return { moved: "entry", to: key };
  }

  /**
   * quilt3 `set(logical_key, path)`: a local file (path, or `file://` URL) at a logical key.
   * `meta`, when given, is the entry's user metadata (`{"user_meta": meta}`); `null` means not given.
   */
  async set(logicalKey: string, source: string = logicalKey, meta?: MetaInput): Promise<this> {
    assertValidLogicalKey(logicalKey);
    const pk = toPhysicalKey(source);
    const file = pk.kind === "file" ? await localFile(pk.path) : await this.s3File(pk, source);
    const entryMeta: PyObject = new Map<string, PyValue>(meta === undefined || meta === null ? [] : [["user_meta", toPy(meta)]]);
    await this.ops.append({ op: "put", entry: { logicalKey, ...file, meta: entryMeta } });
    this.changed(logicalKey, source);
    return this;
  }

  /** An S3 object's entry data (HEAD: size, version, and the hash when S3's checksum gives it at once). */
  private async s3File(pk: S3PhysicalKey, source: string): Promise<S3Source> {
    const object = await s3Object(needRemotes(this.options.remotes, source), pk);
    if (object === undefined) throw new NotFoundError("SOURCE_NOT_FOUND", `${source} does not exist.`, { hint: "Check the bucket, the key and the version id." });
    return object;
  }

  /** quilt3 `set(logical_key, PackageEntry(...))`: an entry given whole, data not read. */
  async setEntry(logicalKey: string, entry: EntryInput): Promise<this> {
    assertValidLogicalKey(logicalKey);
    const meta = entry.meta === undefined || entry.meta === null ? new Map<string, PyValue>() : toPy(entry.meta);
    if (!(meta instanceof Map)) throw new UsageError("ENTRY_META_INVALID", "An entry's whole metadata must be a dict.");
    const physicalKey = formatPhysicalKey(toPhysicalKey(entry.physicalKey));
    const pending: PendingEntry = entry.hash
      ? { logicalKey, physicalKey, size: entry.size, hash: entry.hash, meta }
      : { logicalKey, physicalKey, size: entry.size, meta };
    await this.ops.append({ op: "put", entry: pending });
    this.changed(logicalKey, physicalKey);
    return this;
  }

  /**
   * quilt3 `set_dir(lkey, path, meta)`: every file below `path` under the prefix. As in quilt3 it
   * always sets the folder's metadata: for the root (`''`, `.`, `/`) that is the package's
   * `user_meta`, so without `meta` it becomes `null`.
   */
  async setDir(prefix: string, path: string, options: SetDirOptions = {}): Promise<this> {
    const dir = trimSlashes(prefix);
    const root = dir === "" || dir === ".";
    if (!root) assertValidLogicalKey(dir);
    const meta = options.meta === undefined ? null : toPy(options.meta);
    if (root) this.header.set("user_meta", meta);
    else this.dirMeta.set(dir, meta);
    await this.addDir(root ? "" : dir, path, options.updatePolicy === "existing" ? "put-if-absent" : "put", undefined, options);
    this.changed(root ? "./" : `${dir}/`, path.endsWith("/") ? path : `${path}/`);
    return this;
  }

  private async addDir(
    prefix: string,
    path: string,
    op: "put" | "put-if-absent" | "put-new",
    signal?: AbortSignal,
    walk: Pick<WalkOptions, "exclude" | "quiltignore"> = {},
    from: string = path,
  ): Promise<void> {
    for await (const file of walkDir(path, { ...walk, ...(signal === undefined ? {} : { signal }) })) {
      const logicalKey = prefix === "" ? file.relativePath : `${prefix}/${file.relativePath}`;
      const physicalKey = formatPhysicalKey({ kind: "file", path: file.realPath });
      await this.appendPut(op, { logicalKey, physicalKey, size: file.size, meta: new Map() }, from);
    }
  }

  private async addPackage(pkg: Package, prefix: string | undefined, onConflict: "error" | "replace" | "keep"): Promise<this> {
    const base = prefix === undefined ? "" : trimSlashes(prefix);
    if (base !== "") assertValidLogicalKey(base);
    const from = `${pkg.name}@${pkg.topHash.slice(0, 10)}`;
    for await (const entry of pkg.entries()) {
      const moved = { ...entry, logicalKey: base === "" ? entry.logicalKey : `${base}/${entry.logicalKey}` };
      if (onConflict === "error") await this.ops.append({ op: "put-new", entry: moved, from });
      else await this.ops.append({ op: onConflict === "keep" ? "put-if-absent" : "put", entry: moved });
    }
    this.changed(base === "" ? "./" : `${base}/`, `${pkg.registry.url}#package=${pkg.name}@${pkg.topHash.slice(0, 10)}`);
    return this;
  }

  /** An entry's user metadata (quilt3 `pkg[key].set_meta(meta)`); `null` is stored as null. */
  async setEntryMeta(logicalKey: string, meta: MetaInput): Promise<this> {
    assertValidLogicalKey(logicalKey);
    await this.ops.append({ op: "set-meta", logicalKey, userMeta: toPy(meta) });
    this.changed();
    return this;
  }

  /** A folder's metadata (quilt3 `pkg['a/b'].set_meta(meta)`): written as a `a/b/` line. */
  setDirMeta(dir: string, meta: MetaInput): this {
    const path = trimSlashes(dir);
    assertValidLogicalKey(path);
    this.dirMeta.set(path, toPy(meta));
    this.changed();
    return this;
  }

  /** Remove a file, or a folder with everything below it (quilt3 `delete`). */
  async delete(logicalKey: string): Promise<this> {
    const key = trimSlashes(logicalKey);
    assertValidLogicalKey(key);
    await this.ops.append({ op: "delete", logicalKey: key });
    this.prefixDeletes.set(key, this.ops.size);
    for (const dir of [...this.dirMeta.keys()]) {
      if (dir === key || dir.startsWith(key + "/")) this.dirMeta.delete(dir);
    }
    this.changed();
    return this;
  }

  /**
   * The entries as they stand, in tree-walk order, hashes not yet computed. Streams. The first
   * pass after a change sorts the operations; later ones replay its result from the work folder.
   */
  async *pendingEntries(signal?: AbortSignal): AsyncGenerator<PendingEntry> {
    // No operations, nothing to sort: a base alone is merged as it is read, as cheap as a replay.
    if (this.ops.size === 0) yield* this.resolve(signal);
    else yield* this.resolved.entries(signal);
  }

  private resolve(signal?: AbortSignal): AsyncGenerator<PendingEntry> {
    return resolveEntries(this.ops.replay(), {
      prefixDeletes: this.prefixDeletes,
      ...(this.base === undefined ? {} : { base: this.base() }),
      ...(this.options.tmpDir === undefined ? {} : { tmpDir: this.options.tmpDir }),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /** Directory metadata lines as they would be written: truthy only, tree-walk order. */
  dirLines(): DirMeta[] {
    return [...this.dirMeta]
      .filter(([, meta]) => pyTruthy(meta))
      .sort(([a], [b]) => compareLogicalKeys(a, b))
      .map(([path, meta]) => ({ logicalKey: `${path}/`, meta }));
  }

  /**
   * quilt3 `build`'s manifest: sets `message` (null when not given), computes missing hashes
   * (sha2-256-chunked) and writes the manifest to a temp file, returning it with its top hash.
   */
  async build(options: BuildOptions = {}): Promise<BuiltManifest> {
    const message = options.message ?? null;
    if (message !== null && typeof message !== "string") {
      throw new UsageError("MESSAGE_INVALID", `The package commit message must be a string, not ${typeof message}.`);
    }
    this.header.set("message", message);
    const path = join(await this.ensureWorkDir(), `manifest-${++this.builds}.jsonl`);
    // Opened before anything can fail, so the cleanup's rm cannot race a lazy open.
    const out = (await open(path, "w")).createWriteStream();
    let result: WriteResult | undefined;
    try {
      const entries = hashMissing(this.pendingEntries(options.signal), this.hashOptions(options));
      const writeOptions = {
        ...(this.options.maxRecordSize === undefined ? {} : { maxRecordSize: this.options.maxRecordSize }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      };
      for await (const chunk of encodeManifest(this.header, this.dirLines(), entries, writeOptions, (r) => (result = r))) {
        if (!out.write(chunk)) await once(out, "drain");
      }
      out.end();
      await once(out, "finish");
    } catch (error) {
      out.destroy();
      await rm(path, { force: true });
      throw error;
    }
    if (!result) throw new Error("manifest encoder ended without a result");
    this.lastBuild = { topHash: result.topHash, revision: this.revision };
    return { ...result, path };
  }

  /** Record that this builder's content descends from `topHash` of `name` (browse, or a push). */
  addParent(name: string, topHash: string): void {
    const list = this.parents.get(name) ?? [];
    if (!list.includes(topHash)) list.push(topHash);
    this.parents.set(name, list);
  }

  /**
   * Copy every entry that points at a local file into the registry (`<name>/<logical key>`) and
   * repoint it there; entries already in the registry, or remote, are left as they are. Data is
   * hashed on the way (all cores), so the manifest built next needs no second read.
   */
  async pushData(options: PushDataOptions): Promise<PushDataResult> {
    validatePackageName(options.name);
    const prefix = dataPrefix(options); // checked before anything moves
    const storage = options.registry.storage;
    const totals = { copied: 0, exists: 0, referenced: 0, bytes: 0 };
    if (storage instanceof LocalStorage) this.dataRoots.add(storage.root);
    // The pass reads the operation log, so the new locations are gathered apart (spilling to
    // disk past a limit, like the log), then become the log over the entries as they stood (rebase).
    const updates = new OpLog(this.options.tmpDir ?? tmpdir());
    let adopted = false;
    const record = async (pushed: PushedEntry, before: PendingEntry): Promise<void> => {
      totals[pushed.outcome] += 1;
      if (pushed.outcome === "copied") totals.bytes += pushed.entry.size;
      options.onEntry?.(pushed.entry.logicalKey, pushed.outcome, pushed.source, pushed.entry.physicalKey, pushed.entry.size);
      if (pushed.outcome !== "referenced" || before.hash === undefined) await updates.append({ op: "put", entry: pushed.entry });
    };
    try {
      if (isS3Storage(storage)) {
        await pushAllToS3(this.entriesToPush(options), storage, prefix, {
          onPushed: record,
          ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        });
      } else {
        await this.pushDataToFolder(options, record);
      }
      if (updates.size > 0) adopted = await this.rebase(updates);
    } finally {
      if (!adopted) await updates.dispose();
    }
    const destination = storage instanceof LocalStorage ? join(storage.root, prefix) + (prefix === "" ? "/" : "") : `${storage.url}/${prefix}`;
    for (const line of this.contents) {
      if (line.source.startsWith("s3://")) continue;
      line.source = `${destination}${line.logical === "./" ? "" : line.logical}`;
    }
    // Nothing repointed (remote entries, data already there and hashed): the entries, their
    // replay and the last build still hold, so the manifest push after this sorts nothing.
    this.dataPushed = { url: options.registry.url, revision: this.revision };
    return totals;
  }

  /**
   * After a data push, its updates (a few repointed entries, or all of them) become the whole log,
   * over a base of the entries as they stood before it: the file the push's own pass just replayed
   * or recorded (or the base itself, with no log). Nothing is sorted or written now; the next pass
   * merges the sorted updates into that base. Before, the updates went to the end of the log, and
   * the next pass sorted all of it again. Returns whether it took `updates` over; when the entries
   * as they stood are not one file, they are appended to the log as before.
   */
  private async rebase(updates: OpLog): Promise<boolean> {
    // With no log, the base alone was the entries as they stood: it stays.
    if (this.ops.size > 0) {
      const replayed = this.resolved.take();
      if (replayed === undefined) {
        for await (const op of updates.replay()) await this.ops.append(op);
        this.changed();
        return false;
      }
      if (this.baseFile !== undefined) await rm(this.baseFile, { force: true });
      this.baseFile = replayed;
      this.base = () => replayEntries(replayed);
    }
    await this.ops.dispose();
    this.ops = updates;
    // Folder deletes are in the base now; the new log's sequence numbers start again.
    this.prefixDeletes.clear();
    this.changed();
    return true;
  }

  /** The entries a data push handles: all, or with `localFilesOnly` those whose data is a local file. */
  private async *entriesToPush(options: PushDataOptions): AsyncGenerator<PendingEntry> {
    for await (const entry of this.pendingEntries(options.signal)) {
      if (!options.localFilesOnly || entry.physicalKey.startsWith("file:")) yield entry;
    }
  }

  private hashOptions(options: { signal?: AbortSignal; onProgress?: (progress: { files: number; bytes: number }) => void }): HashEntriesOptions {
    return {
      ...(this.options.pool === undefined ? {} : { pool: this.options.pool }),
      ...(this.options.remotes === undefined ? {} : { remotes: this.options.remotes }),
      ...(this.options.statCache === undefined ? {} : { statCache: this.options.statCache }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    };
  }

  /** Local registries: hash on all cores first, then copy each file in (link-or-copy, never overwriting). */
  private async pushDataToFolder(options: PushDataOptions, record: (pushed: PushedEntry, before: PendingEntry) => Promise<void>): Promise<void> {
    const entries = hashMissing(this.entriesToPush(options), this.hashOptions(options));
    const prefix = dataPrefix(options);
    let queue = Promise.resolve();
    // A few files at once: each is a stat, a copy, a hash check and a link, mostly waiting on the disk.
    await forEachBounded(entries, LOCAL_PUSH_CONCURRENCY, options.signal, `pushing data to ${options.registry.url}/${prefix}`, (entry) =>
      Promise.resolve(async () => {
        const pushed = await pushEntryToLocalRegistry(entry, options.registry, prefix, this.options.remotes);
        // Hashed here, so never "before.hash === undefined" for a referenced entry that needs no update.
        queue = queue.then(() => record(pushed, pushed.outcome === "referenced" ? pushed.entry : entry));
        await queue;
      }),
    );
  }

  /**
   * Build the manifest and register it: `.quilt/packages/<top hash>`, then the timestamp pointer,
   * `latest` and tags, in quilt3's order, refusing (unless `allowLocalFiles`) entries that still
   * point at local files, and (unless `force`) a `latest` that moved since this builder's parent.
   */
  async pushManifest(options: PushManifestOptions): Promise<PushManifestResult> {
    validatePackageName(options.name);
    // quilt3 validates before anything is written; the header gets (or loses) its `workflow` key.
    await applyWorkflow(this.header, { ...options, entries: () => this.pendingEntries(options.signal) });
    // Right after a data push to this registry, every local file points into it: no pass needed.
    const pushed = this.dataPushed;
    const covered = pushed !== undefined && pushed.revision === this.revision && pushed.url === options.registry.url;
    if (!options.allowLocalFiles && !covered) await this.assertNoLocalFiles(options.registry, options.signal);
    const built = await this.build({
      ...(options.message === undefined ? {} : { message: options.message }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const registry = options.registry;
    const result = await registry.pushManifest(
      options.name,
      built.topHash,
      // Replaces a manifest of the same top hash, whose physical keys may differ (quilt3 does too).
      async (key) => void (await registry.storage.write(key, createReadStream(built.path))),
      {
        tags: [...(options.tags ?? []), ...(options.tag === undefined ? [] : [options.tag])],
        ...(options.force ? {} : { parents: this.parents.get(options.name) ?? [] }),
        ...(options.dedupe === undefined ? {} : { dedupe: options.dedupe }),
        ...(options.now === undefined ? {} : { now: options.now }),
      },
    );
    // Its browse index goes after the manifest it describes; failing to write it never fails the push.
    if (!result.deduped) await writeIndexAfterPush(registry, built.topHash, built.path, { tmpDir: this.options.tmpDir, signal: options.signal, onWarning: options.onWarning });
    this.addParent(options.name, built.topHash);
    this.lastPush = { registry, name: options.name, topHash: built.topHash, revision: this.revision };
    return {
      name: options.name,
      topHash: built.topHash,
      registry: registry.url,
      manifestKey: result.manifestKey,
      timestamp: result.timestamp,
      pointers: result.pointers,
      deduped: result.deduped,
      entries: built.entries,
      bytes: built.bytes,
    };
  }

  /** `pushData` then `pushManifest`, in that order (the seed's `push_data_and_manifest`). */
  async push(options: PushManifestOptions & Omit<PushDataOptions, "signal">): Promise<PushManifestResult & { data: PushDataResult }> {
    // A push the workflow refuses must copy no data either (quilt3 validates first): check before.
    validatePackageName(options.name);
    await checkWorkflow(this.header, { ...options, entries: () => this.pendingEntries(options.signal) });
    const data = await this.pushData(options);
    return { ...(await this.pushManifest(options)), data };
  }

  /** Refuse (LOCAL_FILES_IN_MANIFEST) while an entry points at a local file outside `registry`: pushManifest's check, callable first. */
  async assertNoLocalFiles(registry: Registry, signal?: AbortSignal): Promise<void> {
    const root = registry.storage instanceof LocalStorage ? registry.storage.root : undefined;
    for await (const entry of this.pendingEntries(signal)) {
      if (!entry.physicalKey.startsWith("file:")) continue;
      const path = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false }).path;
      if (root !== undefined && isUnder(root, path)) continue;
      const where = isS3Storage(registry.storage) ? "s3" : "the registry";
      throw new UsageError(
        "LOCAL_FILES_IN_MANIFEST",
        `Manifest contains pointers to local files. Use push-data to first push those files to ${where} or --force-allow-local-files if this is intentional`,
        {
          hint:
            `The first is ${pyRepr(entry.logicalKey)} -> ${entry.physicalKey}. ` +
            "Run `quilt push-data` (library: pushData) first, or allow local files explicitly (allowLocalFiles: true).",
        },
      );
    }
  }

  /**
   * The builder as a `Package`, with the seed's guard rails: refused while entries point at local
   * files (unless `allowLocalFiles`) or while the manifest is not in a registry (unless
   * `allowLocalManifest`, which registers it in a private registry in the builder's temp folder).
   */
  async toPackage(options: { allowLocalFiles?: boolean; allowLocalManifest?: boolean } = {}): Promise<Package> {
    const pushed = this.lastPush;
    if (pushed && pushed.revision === this.revision) {
      return Package.browse(`${pushed.name}@${pushed.topHash}`, { registry: pushed.registry });
    }
    if (!options.allowLocalFiles && (await this.hasLocalFiles())) {
      throw new UsageError(
        "LOCAL_FILES_IN_MANIFEST",
        "Manifest contains pointers to local files. Use pushData() to first push those files to a registry or use allowLocalFiles: true if this is intentional",
        { hint: "Call pushData({registry, name}) first." },
      );
    }
    if (!options.allowLocalManifest) {
      throw new UsageError(
        "MANIFEST_NOT_PUSHED",
        "The manifest has not been pushed to a remote repository. Use pushManifest() to first push the manifest or use allowLocalManifest: true if this is intentional",
        { hint: "Call pushManifest({registry, name}) first." },
      );
    }
    const registry = new Registry(new LocalStorage(join(await this.ensureWorkDir(), "registry")));
    const name = this.name ?? "local/package";
    const result = await this.pushManifest({ registry, name, allowLocalFiles: true, force: true });
    return Package.browse(`${name}@${result.topHash}`, { registry });
  }

  /** The seed's REPL view: name, top hash or "pre-manifest", where the manifest is, contents. */
  toString(): string {
    const built = this.lastBuild?.revision === this.revision ? this.lastBuild.topHash : undefined;
    const pushed = this.lastPush?.revision === this.revision ? this.lastPush : undefined;
    const manifest = pushed
      ? `${pushed.registry.url}/${pushed.registry.manifestKey(pushed.topHash)}`
      : built
        ? "local"
        : "pre-manifest";
    const width = Math.max(0, ...this.contents.map((c) => c.logical.length + 2));
    const lines = this.contents.map((c) => `    ${JSON.stringify(c.logical).padEnd(width)} -> ${JSON.stringify(localize(c.source))}`);
    return [
      "PackageBuilder(",
      `  name: ${JSON.stringify(this.name ?? null)},`,
      `  tophash: ${JSON.stringify(built ?? "pre-manifest")},`,
      `  manifest: ${JSON.stringify(manifest)},`,
      "  contents: [",
      ...lines,
      ...(this.contents.length >= CONTENT_LINES ? ["    ..."] : []),
      "  ]",
      ")",
    ].join("\n");
  }

  [inspect.custom](): string {
    return this.toString();
  }

  private async hasLocalFiles(): Promise<boolean> {
    for await (const entry of this.pendingEntries()) {
      if (!entry.physicalKey.startsWith("file:")) continue;
      const path = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false }).path;
      if (![...this.dataRoots].some((root) => isUnder(root, path))) return true;
    }
    return false;
  }

  /** The seed's `build_manifest()`: build, and give the top hash. */
  async buildManifest(options: BuildOptions = {}): Promise<string> {
    return (await this.build(options)).topHash;
  }

  /** Remove the builder's temp files (spilled operations, built manifests). */
  async dispose(): Promise<void> {
    await this.resolved.dispose();
    await this.ops.dispose();
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
    this.workDir = undefined;
  }

  private async ensureWorkDir(): Promise<string> {
    this.workDir ??= await mkdtemp(join(this.options.tmpDir ?? tmpdir(), "quiltkit-build-"));
    return this.workDir;
  }
}

const CONTENT_LINES = 50;
const LOCAL_PUSH_CONCURRENCY = 8;

export interface MoveOptions {
  /** Replace entries already at the target keys (default: refuse with MOVE_COLLISION). */
  readonly overwrite?: boolean;
  /** How the collision message names the option, e.g. `--overwrite` for a CLI (default `overwrite: true`). */
  readonly overwriteOption?: string;
  readonly signal?: AbortSignal;
}

export interface AddOptions {
  /** What a key the builder already has becomes: `error` (refused at build), `replace`, or `keep` the old entry. */
  readonly onConflict?: "error" | "replace" | "keep";
  /** Sub-folders (relative to an added folder) to leave out, e.g. a workspace's `.quiltkit`. */
  readonly exclude?: readonly string[];
  readonly signal?: AbortSignal;
}

function putOp(onConflict: "error" | "replace" | "keep"): "put" | "put-if-absent" | "put-new" {
  return onConflict === "keep" ? "put-if-absent" : onConflict === "error" ? "put-new" : "put";
}

/** Where a data push writes in the registry: `<prefix><logical key>`, quilt3's `<name>/` unless told. */
function dataPrefix(options: Pick<PushDataOptions, "name" | "prefix">): string {
  if (options.prefix === undefined) return `${options.name}/`;
  const prefix = options.prefix.replace(/^\/+/, "");
  if (prefix === "") return "";
  const withSlash = prefix.endsWith("/") ? prefix : `${prefix}/`;
  const problem = logicalKeyProblem(withSlash.slice(0, -1));
  if (problem !== undefined) {
    throw new UsageError("PREFIX_INVALID", `The data prefix ${JSON.stringify(options.prefix)} is invalid: ${problem}.`, {
      hint: "Give a folder path inside the registry, e.g. data/dataset/v0/.",
    });
  }
  return withSlash;
}


function isUnder(root: string, path: string): boolean {
  return path.startsWith(root.endsWith("/") ? root : root + "/");
}

/** The seed's default logical key for `add(path)`: the relative path, or the base name. */
function defaultLogicalKey(source: string): string {
  const rel = relative(process.cwd(), source);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return basename(source);
  return rel.split(sep).join("/");
}

/**
 * Both inputs are in tree-walk order of their keys, and the part after the folder keeps that
 * order, so one merge pass finds every collision without holding either side in memory.
 */
async function assertNoCollision(
  moving: AsyncIterable<KeyOp>,
  existing: AsyncIterable<KeyOp>,
  source: string,
  target: string,
  option = "overwrite: true",
): Promise<void> {
  const there = existing[Symbol.asyncIterator]();
  let next = await there.next();
  for await (const op of moving) {
    const rest = keyOf(op).slice(source.length + 1);
    while (!next.done && compareLogicalKeys(keyOf(next.value).slice(target.length + 1), rest) < 0) next = await there.next();
    if (!next.done && keyOf(next.value).slice(target.length + 1) === rest) {
      throw moveCollision(`${source}/${rest}`, `${target}/${rest}`, option);
    }
  }
}

/** The seed's collision message; `option` is how the caller spells "overwrite" (`overwrite: true`, `--overwrite`). */
function moveCollision(a: string, b: string, option: string): ConflictError {
  return new ConflictError(
    "MOVE_COLLISION",
    `Collision detected. moving "${a}" to "${b}", but "${b}" already exists. Use ${option} if you would like to replace "${b}" with "${a}".`,
    { hint: `Delete the existing entries first, or pass ${option}.` },
  );
}

/** Sources shown relative to the working folder when they are below it, as the seed shows them. */
function localize(source: string): string {
  if (source.includes("://")) return source;
  const rel = relative(process.cwd(), source);
  if (rel.startsWith("..") || rel === "") return source;
  return `./${rel}${source.endsWith("/") && !rel.endsWith("/") ? "/" : ""}`;
}

function toPy(meta: MetaInput): PyValue {
  // A PyValue (from parsePyJson, or marked with `py()`) is kept as it is: its numbers are floats,
  // which fromPlain would turn into ints where integral (1.0 -> 1 changes the top hash).
  if (meta instanceof PyMeta) return meta.value;
  return isPyTree(meta) ? (meta as PyValue) : fromPlain(meta);
}

function joinKey(prefix: string, rest: string): string {
  return prefix === "" ? rest : `${prefix}/${rest}`;
}

function trimSlashes(key: string): string {
  return key.replace(/^\/+|\/+$/g, "");
}

