/**
 * A package workspace: a folder whose `.quiltkit/` holds a package being built across many
 * commands (the seed's `quilt init` ... `quilt push-manifest`). Each command loads the staged
 * entries into a PackageBuilder, applies one change, and writes them back (a new staged file,
 * then the state pointing at it), all under the workspace lock. Entries stream through the
 * builder's operation log and external sort, so no command holds the workspace in memory.
 */
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ConflictError, NotFoundError } from "../errors/index.js";
import type { HashPool } from "../hash/index.js";
import type { PyValue } from "../json/index.js";
import { readManifestRecords } from "../manifest/index.js";
import {
  PackageBuilder,
  STATE_DIR,
  openRegistry,
  py,
  type MetaInput,
  type Package,
  type PendingEntry,
  type PushManifestResult,
} from "../package/index.js";
import type { Registry } from "../registry/registry.js";
import { withLock, type Remotes } from "../storage/index.js";
import { createReadStream } from "node:fs";
import { PushTally, type PushLine } from "./push-tally.js";
import { readStaged, writeStaged, type StagedTotals } from "./staged.js";
import { addLine, capLines, moveLines, removeLines, type SourceLine } from "./source-lines.js";
import { newState, readState, stagedFileName, writeState, type WorkspaceState } from "./state.js";
import { displayName, type InitTarget } from "./target.js";
import { INSTALLED_FILE } from "./locate.js";

export interface WorkspaceOptions {
  readonly remotes: Remotes;
  readonly pool?: HashPool;
  readonly maxRecordSize?: number;
  readonly signal?: AbortSignal;
  /** How long to wait for another command working on the workspace (default 10 s). */
  readonly lockTimeoutMs?: number;
}

export type WorkspaceStage = "pre-manifest" | "built" | "pushed";

export interface WorkspaceStatus {
  readonly kind: "workspace";
  readonly root: string;
  readonly name: string;
  readonly registry: string;
  /** The seed's `bucket/dataset`. */
  readonly display: string;
  readonly state: WorkspaceStage;
  /** The top hash of the last build or push, when the content has not changed since. */
  readonly topHash: string | null;
  /** The tag of that push (`-t`), if any. */
  readonly tag: string | null;
  readonly entries: number;
  readonly bytes: number;
  readonly sources: readonly SourceLine[];
  readonly moreSources: number;
}

export interface PushDataReport {
  readonly copied: number;
  readonly exists: number;
  readonly referenced: number;
  readonly bytes: number;
  readonly prefix: string;
  readonly lines: readonly PushLine[];
}

export interface PushManifestReport extends PushManifestResult {
  /** The short top hash quilt3 prints (unique in the registry, 7 digits or more). */
  readonly shortHash: string;
  readonly manifestUrl: string;
}

export interface PushManifestCall {
  readonly tag?: string;
  readonly message?: string | null;
  /** Replace `latest` even when it moved to a revision this content does not descend from. */
  readonly force?: boolean;
  readonly dedupe?: boolean;
  readonly allowLocalFiles?: boolean;
  /** quilt3's `workflow`: an id of the registry's `.quilt/workflows/config.yml`, `null` for none; absent: its default. */
  readonly workflow?: string | null;
  /** Told once the local-files check has passed, as the build starts (the CLI's "Building manifest..."). */
  readonly onBuilding?: () => void;
}

interface Staged extends StagedTotals {
  readonly generation: number;
}

export class Workspace {
  private constructor(
    readonly root: string,
    private current: WorkspaceState,
    private readonly options: WorkspaceOptions,
  ) {}

  /** Make `root` a workspace for `target` (refused when it already is one). */
  static async init(root: string, target: InitTarget, options: WorkspaceOptions): Promise<Workspace> {
    const stateDir = join(root, STATE_DIR);
    await mkdir(stateDir, { recursive: true });
    return withLock(join(stateDir, "lock"), async () => {
      const existing = await readState(stateDir).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      if (existing !== undefined) {
        throw new ConflictError("WORKSPACE_EXISTS", `${root} is already a workspace for ${existing.name} in ${existing.registry}.`, {
          hint: "Work on it with `quilt status`, `quilt add` ...; to start over, delete its .quiltkit folder.",
        });
      }
      if (await stat(join(stateDir, INSTALLED_FILE)).catch(() => undefined)) {
        throw new ConflictError("WORKSPACE_IN_INSTALLED", `${root} is a folder made by \`quilt install\`; it cannot be a workspace too.`, {
          hint: "Run `quilt init` in another folder, and add this package there with `quilt add ./ NS/NAME:TAG`.",
        });
      }
      const state = newState(target.name, target.registry);
      await writeState(stateDir, state);
      return new Workspace(root, state, options);
    });
  }

  static async open(root: string, options: WorkspaceOptions): Promise<Workspace> {
    return new Workspace(root, await readState(join(root, STATE_DIR)), options);
  }

  get state(): WorkspaceState {
    return this.current;
  }

  get display(): string {
    return displayName(this.current.registry, this.current.name);
  }

  private get stateDir(): string {
    return join(this.root, STATE_DIR);
  }

  /** Where the workspace stands, from its state alone (nothing is read from the registry). */
  status(): WorkspaceStatus {
    const s = this.current;
    const pushed = s.pushed?.revision === s.revision ? s.pushed : undefined;
    const built = s.built?.revision === s.revision ? s.built : undefined;
    return {
      kind: "workspace",
      root: this.root,
      name: s.name,
      registry: s.registry,
      display: this.display,
      state: pushed ? "pushed" : built ? "built" : "pre-manifest",
      topHash: pushed?.topHash ?? built?.topHash ?? null,
      tag: pushed?.tags[0] ?? null,
      entries: s.entries,
      bytes: s.bytes,
      sources: s.sources,
      moreSources: s.moreSources,
    };
  }

  /**
   * Add a source under a logical key (`train2017`, `val2017/`, `""` for the root): a local file or
   * folder, an S3 object or prefix, or another package (`pkg`, opened by the caller). A key
   * the workspace already has is an error (LOGICAL_KEY_COLLISION) unless `overwrite`.
   */
  async add(source: AddSource, overwrite: boolean): Promise<void> {
    await this.edit(async (builder, state) => {
      const onConflict = overwrite ? "replace" : "error";
      const signal = this.options.signal;
      const common = { onConflict, ...(signal === undefined ? {} : { signal }) } as const;
      if (source.kind === "package") {
        await builder.add(source.pkg, source.logical, common);
        if (source.pkg.name === state.name) builder.addParent(state.name, source.pkg.topHash);
      } else {
        await builder.add(source.path, source.logical, { ...common, exclude: source.exclude ?? [] });
      }
      return { sources: addLine(state.sources, { logical: lineKey(source.logical, source.folder), source: source.line }) };
    }, collisionHint);
  }

  /** `quilt set KEY SOURCE [--meta JSON]`: one entry, replacing what is at the key. */
  async set(key: string, source: string, line: string, meta?: MetaInput): Promise<void> {
    await this.edit(async (builder, state) => {
      await builder.set(key, source, meta);
      return { sources: addLine(state.sources, { logical: key, source: line }) };
    });
  }

  /** `quilt set-meta KEY|DIR/|. JSON`: an entry's user metadata, a folder's, or the package's. */
  async setMeta(target: string, meta: MetaInput): Promise<void> {
    await this.edit(async (builder) => {
      if (target === "." || target === "./" || target === "") await builder.setMeta(meta);
      else if (target.endsWith("/")) {
        if (!(await this.hasEntryUnder(target))) throw nothingAt(target);
        builder.setDirMeta(target, meta);
      } else await builder.setEntryMeta(target, meta);
      return {};
    });
  }

  /** Replace the package metadata with `fn` of its current value (e.g. to record provenance). */
  async updatePackageMeta(fn: (current: PyValue | undefined) => Promise<MetaInput>): Promise<void> {
    await this.edit(async (builder) => {
      await builder.setMeta(await fn(builder.header.get("user_meta")));
      return {};
    });
  }

  /** `quilt rm KEY`: an entry, or a folder with everything in it. */
  async remove(key: string): Promise<number> {
    let removed = 0;
    await this.edit(
      async (builder, state) => {
        await builder.delete(key);
        return { sources: removeLines(state.sources, key) };
      },
      undefined,
      (before, after) => {
        removed = before.entries - after.entries;
        if (removed === 0) throw nothingAt(key);
      },
    );
    return removed;
  }

  /** `quilt mv FROM TO [--overwrite]`: an entry or a folder to a new logical key (the seed's collision rule). */
  async move(from: string, to: string, overwrite: boolean): Promise<{ moved: "entry" | "folder"; to: string }> {
    let result: { moved: "entry" | "folder"; to: string } | undefined;
    await this.edit(async (builder, state) => {
      const done = await builder.move(from, to, { overwrite, overwriteOption: "--overwrite", ...this.signalOption() });
      if (done.moved === "nothing") throw nothingAt(from);
      result = { moved: done.moved, to: done.to };
      const fromKey = done.moved === "folder" ? `${from.replace(/\/+$/, "")}/` : from;
      return { sources: moveLines(state.sources, fromKey, done.to) };
    });
    return result as { moved: "entry" | "folder"; to: string };
  }

  /** `quilt build-manifest`: hash what is not hashed yet (kept for later), and give the top hash. */
  async buildManifest(message: string | null, onProgress?: (p: { files: number; bytes: number }) => void): Promise<{ topHash: string; entries: number; bytes: number }> {
    return this.locked(async () => {
      const state = await readState(this.stateDir);
      return this.withBuilder(state, async (builder) => {
        const built = await builder.build({ message, ...this.signalOption(), ...(onProgress === undefined ? {} : { onProgress }) });
        const staged = await this.stage(state, builder, manifestEntries(built.path));
        await this.commit({ ...state, ...staged, built: { topHash: built.topHash, revision: state.revision, message } }, state);
        return { topHash: built.topHash, entries: built.entries, bytes: built.bytes };
      });
    });
  }

  /**
   * `quilt push-data [--prefix P] [--local-files-only]`: put the data in the registry (at
   * `<prefix><logical key>`, default `<name>/`) and point the entries there. Content and top
   * hash do not change, so a build stays valid.
   */
  async pushData(options: { prefix?: string; localFilesOnly?: boolean; concurrency?: number; onProgress?: (p: { files: number; bytes: number }) => void }): Promise<PushDataReport> {
    return this.locked(async () => {
      const state = await readState(this.stateDir);
      const registry = await this.registry(state);
      const tally = new PushTally(state.sources);
      return this.withBuilder(state, async (builder) => {
        const prefix = options.prefix ?? `${state.name}/`;
        const totals = await builder.pushData({
          registry,
          name: state.name,
          prefix,
          localFilesOnly: options.localFilesOnly ?? false,
          onEntry: (key, outcome, _from, to, size) => tally.record(key, outcome, size, to),
          ...this.signalOption(),
          ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
          ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        });
        const staged = await this.stage(state, builder);
        await this.commit({ ...state, ...staged, ...capLines(tally.updatedLines(), state.moreSources) }, state);
        return { ...totals, prefix, lines: tally.report() };
      });
    });
  }

  /**
   * `quilt push-manifest [-t TAG]`: refuse local files (unless allowed), hash what is missing
   * (kept), build, and register the manifest with `latest` and the tag, quilt3's conflict rule
   * included (`latest` must be absent or a revision this content descends from, unless `force`).
   */
  async pushManifest(options: PushManifestCall): Promise<PushManifestReport> {
    return this.locked(async () => {
      let state = await readState(this.stateDir);
      const registry = await this.registry(state);
      const message = options.message ?? null;
      if (!options.allowLocalFiles || state.unhashed > 0) {
        state = await this.withBuilder(state, async (builder) => {
          if (!options.allowLocalFiles) await builder.assertNoLocalFiles(registry, this.options.signal);
          options.onBuilding?.();
          if (state.unhashed === 0) return state;
          const built = await builder.build({ message, ...this.signalOption() });
          const staged = await this.stage(state, builder, manifestEntries(built.path));
          return this.commit({ ...state, ...staged, built: { topHash: built.topHash, revision: state.revision, message } }, state);
        });
      }
      if (options.allowLocalFiles && state.unhashed === 0) options.onBuilding?.();
      const pushed = state;
      return this.withBuilder(pushed, async (builder) => {
        const result = await builder.pushManifest({
          registry,
          name: pushed.name,
          message,
          ...(options.tag === undefined ? {} : { tag: options.tag }),
          ...(options.force ? { force: true } : {}),
          ...(options.dedupe ? { dedupe: true } : {}),
          ...(options.allowLocalFiles ? { allowLocalFiles: true } : {}),
          ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
          remotes: this.options.remotes,
          ...this.signalOption(),
        });
        const done = { topHash: result.topHash, revision: pushed.revision, message };
        const tags = options.tag === undefined ? [] : [options.tag];
        const parents = [...pushed.parents.filter((p) => p !== result.topHash), result.topHash].slice(-20);
        await this.commit({ ...pushed, built: done, pushed: { ...done, tags }, parents }, pushed);
        return { ...result, shortHash: await registry.shortHash(result.topHash), manifestUrl: `${registry.url}/${result.manifestKey}` };
      });
    });
  }

  /** The workspace's registry, opened with the workspace's S3 access. */
  registry(state: WorkspaceState = this.current): Promise<Registry> {
    return openRegistry(state.registry, { remotes: this.options.remotes });
  }

  /**
   * One change of content, under the lock: load, `change` the builder, write the new staged file,
   * let `check` refuse the outcome, then commit with the revision bumped.
   */
  private async edit(
    change: (builder: PackageBuilder, state: WorkspaceState) => Promise<Partial<Pick<WorkspaceState, "sources">>>,
    mapError?: (error: unknown) => unknown,
    check?: (before: WorkspaceState, after: StagedTotals) => void,
  ): Promise<void> {
    await this.locked(async () => {
      const state = await readState(this.stateDir);
      this.current = state;
      await this.withBuilder(state, async (builder) => {
        const changes = await change(builder, state);
        const staged = await this.stage(state, builder).catch((error: unknown) => {
          throw mapError?.(error) ?? error;
        });
        try {
          check?.(state, staged);
        } catch (error) {
          await rm(join(this.stateDir, stagedFileName(staged.generation)), { force: true });
          throw error;
        }
        const sources = changes.sources === undefined ? {} : capLines(changes.sources, state.moreSources);
        await this.commit({ ...state, ...staged, ...sources, revision: state.revision + 1 }, state);
      });
    });
  }

  /** Run `fn` holding the workspace lock; spill files a crashed command left in `.quiltkit/tmp` go first. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      await rm(join(this.stateDir, "tmp"), { recursive: true, force: true });
      return fn();
    };
    return withLock(join(this.stateDir, "lock"), run, {
      timeoutMs: this.options.lockTimeoutMs ?? 10_000,
      ...this.signalOption(),
    });
  }

  /** A builder holding the staged entries; its spill files live in `.quiltkit/tmp` (on disk, not tmpfs) and go with it. */
  private async withBuilder<T>(state: WorkspaceState, fn: (builder: PackageBuilder) => Promise<T>): Promise<T> {
    const tmpDir = join(this.stateDir, "tmp");
    await mkdir(tmpDir, { recursive: true });
    const builder = new PackageBuilder({
      name: state.name,
      tmpDir,
      remotes: this.options.remotes,
      ...(this.options.pool === undefined ? {} : { pool: this.options.pool }),
      ...(this.options.maxRecordSize === undefined ? {} : { maxRecordSize: this.options.maxRecordSize }),
    });
    try {
      if (state.generation > 0) {
        const path = join(this.stateDir, stagedFileName(state.generation));
        const staged = await readStaged(path);
        for (const [key, value] of staged.header) builder.header.set(key, value);
        for (const dir of staged.dirs) builder.setDirMeta(dir.logicalKey, py(dir.meta));
        // The staged entries are sorted already: the builder merges them at each pass, from the file.
        await staged.close();
        builder.setBase(() => stagedEntries(path));
      }
      for (const parent of state.parents) builder.addParent(state.name, parent);
      return await fn(builder);
    } finally {
      await builder.dispose();
    }
  }

  /** Write the builder's entries (or `entries`, already resolved) as the next staged file. */
  private async stage(state: WorkspaceState, builder: PackageBuilder, entries?: AsyncIterable<PendingEntry>): Promise<Staged> {
    const generation = state.generation + 1;
    const path = join(this.stateDir, stagedFileName(generation));
    await rm(path, { force: true }); // left by a command that died before its commit
    const totals = await writeStaged(path, {
      header: builder.header,
      dirs: builder.dirLines(),
      entries: entries ?? builder.pendingEntries(this.options.signal),
    });
    return { ...totals, generation };
  }

  /** Point the state at its new staged file (atomically), then drop the old one. */
  private async commit(next: WorkspaceState, previous: WorkspaceState): Promise<WorkspaceState> {
    await writeState(this.stateDir, next);
    if (previous.generation !== next.generation && previous.generation > 0) {
      await rm(join(this.stateDir, stagedFileName(previous.generation)), { force: true });
    }
    this.current = next;
    return next;
  }

  private async hasEntryUnder(prefix: string): Promise<boolean> {
    if (this.current.generation === 0) return false;
    const staged = await readStaged(join(this.stateDir, stagedFileName(this.current.generation)));
    for await (const entry of staged.entries) if (entry.logicalKey.startsWith(prefix)) return true;
    return false;
  }

  private signalOption(): { signal?: AbortSignal } {
    return this.options.signal === undefined ? {} : { signal: this.options.signal };
  }
}

/** What `quilt add` adds, once the CLI has told paths, S3 URLs and packages apart. */
export type AddSource =
  | {
      readonly kind: "path";
      /** The path or `s3://` URL, as the builder reads it. */
      readonly path: string;
      readonly logical: string;
      readonly folder: boolean;
      /** The source line status shows (an absolute path, or the URL). */
      readonly line: string;
      readonly exclude?: readonly string[];
    }
  | {
      readonly kind: "package";
      readonly pkg: Package;
      readonly logical: string;
      readonly folder: true;
      readonly line: string;
    };

/** A source line's key: a folder's ends in `/`, the root is `./`. */
function lineKey(logical: string, folder: boolean): string {
  if (logical === "") return "./";
  return folder ? `${logical.replace(/\/+$/, "")}/` : logical;
}

async function* stagedEntries(path: string): AsyncGenerator<PendingEntry> {
  yield* (await readStaged(path)).entries;
}

async function* manifestEntries(path: string): AsyncGenerator<PendingEntry> {
  for await (const record of readManifestRecords(createReadStream(path, { highWaterMark: 1 << 20 }))) {
    if (record.kind === "entry") yield record.entry;
  }
}

function nothingAt(key: string): NotFoundError {
  return new NotFoundError("ENTRY_NOT_FOUND", `The workspace has no entry or folder ${JSON.stringify(key)}.`, {
    hint: "See what it has with `quilt status` and `quilt build-manifest`, or check the logical key.",
  });
}

/** The builder's collision error, with the CLI's remedy. */
function collisionHint(error: unknown): unknown {
  if (!(error instanceof ConflictError) || error.code !== "LOGICAL_KEY_COLLISION") return error;
  return new ConflictError(error.code, error.message, {
    hint: "Remove or move the existing entries first (quilt rm / quilt mv), or add with --overwrite to replace them.",
    cause: error,
  });
}
