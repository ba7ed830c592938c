/**
 * The status of a folder made by `quilt install`: the package revision it came from (with a tag
 * of the registry pointing at it, when there is one) and the files added, modified and deleted
 * since, relative to the folder. The folder is compared with the package's entries through the
 * stat cache, so an unchanged folder is walked and stat-ed but not read. Lists are capped
 * (`maxListed`, the first paths in tree-walk order); the counts are always exact.
 */
import type { StatCacheOptions, StatCacheStats } from "../cache/index.js";
import { NotFoundError } from "../errors/index.js";
import type { HashPool } from "../hash/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { Package, readInstalledState, STATE_DIR, type InstalledState } from "../package/index.js";
import { isTimestampPointer } from "../registry/names.js";
import { POINTERS_PREFIX, type Registry } from "../registry/registry.js";
import { compareLogicalKeys } from "../sort/index.js";
import type { Remotes } from "../storage/index.js";
import { compareDir, installTarget, type CompareProgress, type DifferenceKind } from "../transfer/index.js";

export interface InstalledStatusOptions {
  /** How S3 registries and data are reached (default: from the environment). */
  readonly remotes?: Remotes;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: CompareProgress) => void;
  /** Each difference as found, by folder-relative path (`modified` and `deleted` in no particular order). */
  readonly onDifference?: (kind: DifferenceKind, path: string) => void;
  /** Paths kept in each list (default 1,000); `Infinity` keeps all. */
  readonly maxListed?: number;
  /** The stat cache (default `{}`: the folder's own, `.quiltkit/stat-cache/`); `false` re-reads every file. */
  readonly statCache?: StatCacheOptions | false;
  /** Look for a tag pointing at the revision: one listing of the package's pointers (default true). */
  readonly findTag?: boolean;
  readonly pool?: HashPool;
  readonly tmpDir?: string;
}

export interface InstalledFolderStatus {
  /** The folder, as given. */
  readonly dir: string;
  /** The registry it was installed from (URL or folder, as recorded). */
  readonly registry: string;
  readonly name: string;
  readonly topHash: string;
  /** A tag pointing at `topHash` (the first in name order, `latest` only when no other does), if any. */
  readonly tag?: string;
  /** The logical folder installed (`quilt install --path`), `""` for the whole package. */
  readonly path: string;
  /** In the folder, not in the package: folder-relative paths in tree-walk order, at most `maxListed`. */
  readonly added: string[];
  /** In both, different size or content. */
  readonly modified: string[];
  /** In the package, not in the folder. */
  readonly deleted: string[];
  readonly counts: { readonly added: number; readonly modified: number; readonly deleted: number; readonly unchanged: number };
  /** Whether some list holds fewer paths than its count. */
  readonly truncated: boolean;
  /** Nothing added, modified or deleted: "Data matches manifest". */
  readonly matches: boolean;
  /** What the stat cache did: files not read (`hits`), re-hashed (`misses`). */
  readonly statCache?: StatCacheStats;
}

/** Compares an installed folder with the revision it was installed from. */
export async function installedFolderStatus(dir: string, options: InstalledStatusOptions = {}): Promise<InstalledFolderStatus> {
  const state = await readInstalledState(dir);
  if (state === undefined) {
    throw new NotFoundError("NOT_INSTALLED", `${dir} was not made by \`quilt install\` (it has no .quiltkit/installed.json).`, {
      hint: "Run it in a folder made by `quilt install`, or compare any folder with `quilt diff NAME DIR`.",
    });
  }
  const pkg = await Package.browse(`${state.name}@${state.topHash}`, {
    registry: state.registry,
    ...pick(options, "remotes", "signal", "tmpDir", "pool"),
  });
  try {
    const [compared, tag] = await Promise.all([compare(pkg, dir, state, options), options.findTag === false ? undefined : tagOf(pkg.registry, state, options.signal)]);
    return { dir, registry: state.registry, name: state.name, topHash: state.topHash, ...(tag === undefined ? {} : { tag }), path: state.path, ...compared };
  } finally {
    await pkg.close();
  }
}

type Compared = Pick<InstalledFolderStatus, "added" | "modified" | "deleted" | "counts" | "truncated" | "matches" | "statCache">;

async function compare(pkg: Package, dir: string, state: InstalledState, options: InstalledStatusOptions): Promise<Compared> {
  const max = options.maxListed ?? 1000;
  const lists = { added: new FirstKeys(max), modified: new FirstKeys(max), deleted: new FirstKeys(max) };
  const path = state.path.replace(/\/+$/, "");
  const result = await compareDir(() => underPath(pkg, path, options.signal), dir, {
    exclude: [STATE_DIR],
    collect: false,
    onDifference: (kind, key) => {
      lists[kind].add(key);
      options.onDifference?.(kind, key);
    },
    ...(options.statCache === false ? {} : { statCache: options.statCache ?? {} }),
    ...pick(options, "signal", "onProgress", "pool", "tmpDir"),
  });
  const counts = { added: lists.added.count, modified: lists.modified.count, deleted: lists.deleted.count, unchanged: result.unchanged };
  return {
    added: lists.added.keys(),
    modified: lists.modified.keys(),
    deleted: lists.deleted.keys(),
    counts,
    truncated: Object.values(lists).some((l) => l.count > max),
    matches: counts.added + counts.modified + counts.deleted === 0,
    ...(result.statCache === undefined ? {} : { statCache: result.statCache }),
  };
}

/** The entries installed: under `path` (`--path`), keyed as they lie in the folder (the install's mapping). */
async function* underPath(pkg: Package, path: string, signal: AbortSignal | undefined): AsyncGenerator<ManifestEntry> {
  const entries = pkg.entries({ ...(path === "" ? {} : { prefix: path }), ...(signal === undefined ? {} : { signal }) });
  for await (const entry of entries) {
    const target = installTarget(entry.logicalKey, path === "" ? undefined : path);
    if (target !== undefined) yield target === entry.logicalKey ? entry : { ...entry, logicalKey: target };
  }
}

/** The first `max` keys in tree-walk order of those added, whatever order they come in, in O(max) memory. */
class FirstKeys {
  count = 0;
  private held: string[] = [];

  constructor(private readonly max: number) {}

  add(key: string): void {
    this.count++;
    if (this.max === 0) return;
    this.held.push(key);
    if (this.held.length >= 2 * this.max) this.trim();
  }

  keys(): string[] {
    this.trim();
    return this.held;
  }

  private trim(): void {
    this.held.sort(compareLogicalKeys);
    if (this.held.length > this.max) this.held.length = this.max;
  }
}

/** At most this many tags are read: a package tagged thousands of times is listed, not read whole. */
const MAX_TAG_READS = 64;

/**
 * A tag of the package pointing at the revision: the pointers are listed once and only tags and
 * `latest` are read (timestamps, one per revision, are not). Best effort: on any failure, none.
 */
async function tagOf(registry: Registry, state: InstalledState, signal: AbortSignal | undefined): Promise<string | undefined> {
  try {
    const prefix = `${POINTERS_PREFIX}${state.name}/`;
    const tags: string[] = [];
    for await (const item of registry.storage.list(prefix, { delimiter: "/" })) {
      const pointer = item.kind === "object" ? item.key.slice(prefix.length) : "";
      if (pointer !== "" && !isTimestampPointer(pointer)) tags.push(pointer);
    }
    // Real tags first (name order), `latest` last: `dataset:v0` says more than `dataset:latest`.
    const named = tags.filter((t) => t !== "latest").sort().slice(0, MAX_TAG_READS);
    for (const tag of [...named, ...(tags.includes("latest") ? ["latest"] : [])]) {
      signal?.throwIfAborted();
      if ((await registry.readPointer(state.name, tag).catch(() => undefined)) === state.topHash) return tag;
    }
    return undefined;
  } catch {
    if (signal?.aborted === true) throw signal.reason;
    return undefined;
  }
}

function pick<T extends object, K extends keyof T>(options: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (options[key] !== undefined) out[key] = options[key];
  return out;
}
