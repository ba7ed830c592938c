import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../errors/index.js";
import type { HashPool } from "../hash/index.js";
import { fromPlain, type PyObject, type PyValue } from "../json/index.js";
import {
  assertValidLogicalKey,
  encodeManifest,
  pyTruthy,
  type DirMeta,
  type EntryHash,
  type WriteResult,
} from "../manifest/index.js";
import { compareLogicalKeys } from "../sort/index.js";
import { formatPhysicalKey } from "../storage/physical-key.js";
import { hashMissing } from "./hash-entries.js";
import { OpLog } from "./op-log.js";
import type { PendingEntry } from "./ops.js";
import { resolveEntries } from "./resolve.js";
import { localFile, toPhysicalKey } from "./sources.js";
import { walkDir, type WalkOptions } from "./walk-dir.js";

/** Metadata as given by a caller: a `PyValue` (dicts as `Map`) is kept as is, plain JS is converted. */
export type MetaInput = unknown;

export interface BuilderOptions {
  /** Where spill files and built manifests go (default: the OS temp folder). */
  readonly tmpDir?: string;
  /** A shared hash worker pool; one is made and closed per build otherwise. */
  readonly pool?: HashPool;
  readonly maxRecordSize?: number;
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
  private readonly ops: OpLog;
  private workDir: string | undefined;
  private builds = 0;

  constructor(private readonly options: BuilderOptions = {}) {
    this.ops = new OpLog(options.tmpDir ?? tmpdir());
  }

  /** Package-level user metadata (quilt3 `set_meta`). */
  setMeta(meta: MetaInput): this {
    this.header.set("user_meta", toPy(meta));
    return this;
  }

  /**
   * quilt3 `set(logical_key, path)`: a local file (path, or `file://` URL) at a logical key.
   * `meta`, when given, is the entry's user metadata (`{"user_meta": meta}`); `null` means not given.
   */
  async set(logicalKey: string, source: string = logicalKey, meta?: MetaInput): Promise<this> {
    assertValidLogicalKey(logicalKey);
    const pk = toPhysicalKey(source);
    if (pk.kind !== "file") {
      throw new UsageError("REMOTE_SOURCE_NEEDS_ENTRY", `Cannot read the size of ${source} here.`, {
        hint: "Use setEntry with its size and hash, or push from an S3 registry (coming with S3 support).",
      });
    }
    const file = await localFile(pk.path);
    const entryMeta: PyObject = meta === undefined || meta === null ? new Map() : new Map([["user_meta", toPy(meta)]]);
    await this.ops.append({ op: "put", entry: { logicalKey, ...file, meta: entryMeta } });
    return this;
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
    const op = options.updatePolicy === "existing" ? "put-if-absent" : "put";
    for await (const file of walkDir(path, options)) {
      const logicalKey = root ? file.relativePath : `${dir}/${file.relativePath}`;
      const physicalKey = formatPhysicalKey({ kind: "file", path: file.realPath });
      await this.ops.append({ op, entry: { logicalKey, physicalKey, size: file.size, meta: new Map() } });
    }
    return this;
  }

  /** An entry's user metadata (quilt3 `pkg[key].set_meta(meta)`); `null` is stored as null. */
  async setEntryMeta(logicalKey: string, meta: MetaInput): Promise<this> {
    assertValidLogicalKey(logicalKey);
    await this.ops.append({ op: "set-meta", logicalKey, userMeta: toPy(meta) });
    return this;
  }

  /** A folder's metadata (quilt3 `pkg['a/b'].set_meta(meta)`): written as a `a/b/` line. */
  setDirMeta(dir: string, meta: MetaInput): this {
    const path = trimSlashes(dir);
    assertValidLogicalKey(path);
    this.dirMeta.set(path, toPy(meta));
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
    return this;
  }

  /** The entries as they stand, in tree-walk order, hashes not yet computed. Streams. */
  async *pendingEntries(signal?: AbortSignal): AsyncGenerator<PendingEntry> {
    yield* resolveEntries(this.ops.replay(), {
      prefixDeletes: this.prefixDeletes,
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
    const out = createWriteStream(path);
    let result: WriteResult | undefined;
    try {
      const entries = hashMissing(this.pendingEntries(options.signal), {
        ...(this.options.pool === undefined ? {} : { pool: this.options.pool }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      });
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
    return { ...result, path };
  }

  /** Remove the builder's temp files (spilled operations, built manifests). */
  async dispose(): Promise<void> {
    await this.ops.dispose();
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
    this.workDir = undefined;
  }

  private async ensureWorkDir(): Promise<string> {
    this.workDir ??= await mkdtemp(join(this.options.tmpDir ?? tmpdir(), "quiltkit-build-"));
    return this.workDir;
  }
}

function toPy(meta: MetaInput): PyValue {
  // A Map anywhere at the top marks a PyValue already (floats as numbers must not become ints).
  return meta instanceof Map ? (meta as PyObject) : fromPlain(meta);
}

function trimSlashes(key: string): string {
  return key.replace(/^\/+|\/+$/g, "");
}

