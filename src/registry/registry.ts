/**
 * A quilt3 V1 registry (spec §4.1) over any `Storage`:
 *
 *   .quilt/packages/<top hash>                     manifest (content-addressed)
 *   .quilt/named_packages/<ns>/<name>/<seconds>    timestamp pointer, one per push
 *   .quilt/named_packages/<ns>/<name>/latest       pointer
 *   .quilt/named_packages/<ns>/<name>/<tag>        pointer (a tag: quilt3 lists it, catalog resolves it)
 *
 * A pointer holds exactly 64 lowercase hex digits, nothing else (no newline).
 *
 * Pointer updates of one package run under a per-package lock: for a local registry, a lock file
 * in `.quilt/quiltkit/locks/<ns>/<name>.lock` (outside the folders quilt3 lists); for other storage
 * an in-process lock (S3 has no lock files; the timestamp pointer is still safe there because it
 * is created with `ifNoneMatch`, while `latest` and tags are last-writer-wins, as with quilt3).
 */
import { join } from "node:path";
import { ConflictError, IntegrityError, NotFoundError, StorageError, UsageError } from "../errors/index.js";
import { compareCodePoints } from "../json/code-point-order.js";
import { LocalStorage } from "../storage/local.js";
import { withLock } from "../storage/lock.js";
import type { ObjectInfo, Storage } from "../storage/types.js";
import {
  isHashPrefix,
  isTimestampPointer,
  isTopHash,
  LATEST,
  splitPackageName,
  validatePackageName,
  validatePointerName,
  validateTag,
} from "./names.js";

export const MANIFESTS_PREFIX = ".quilt/packages/";
export const POINTERS_PREFIX = ".quilt/named_packages/";
/** Where Quiltkit keeps its lock files inside a local registry. */
export const LOCKS_DIR = ".quilt/quiltkit/locks";
/**
 * Where Quiltkit keeps browse indexes (QKBI, docs/design.md §4) beside the manifests: outside
 * `.quilt/packages/`, which quilt3 lists to resolve hash prefixes.
 */
export const BROWSE_INDEX_PREFIX = ".quilt/quiltkit/index/v1/";

/** quilt3 `shorten_top_hash`: short hashes have at least this many digits. */
export const MIN_SHORT_HASH = 7;

export type PointerKind = "timestamp" | "latest" | "tag";

export interface PointerInfo {
  /** The pointer's file name: a timestamp, `latest` or a tag. */
  readonly pointer: string;
  readonly topHash: string;
  readonly kind: PointerKind;
}

export interface RevisionRequest {
  readonly name: string;
  readonly tag?: string;
  /** A full top hash or a prefix of at least 6 hex digits. */
  readonly hash?: string;
}

/** Runs `fn` while holding the lock of package `name`. */
export type PackageLock = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

export interface RegistryOptions {
  /** Replace the default lock (lock files for `LocalStorage`, an in-process lock otherwise). */
  readonly lock?: PackageLock;
  /** Lock files: how long to wait for a busy lock (default 60 s) ... */
  readonly lockTimeoutMs?: number;
  /** ... and after how long without refresh a lock is stale (default 30 s). */
  readonly staleLockMs?: number;
  /** Told about stale locks broken. Nothing is printed. */
  readonly onWarning?: (message: string) => void;
}

export interface PushManifestOptions {
  /** Tags to point at this revision too (written after `latest`). */
  readonly tags?: readonly string[];
  /** The clock, in unix seconds (fractions are dropped); injectable for tests. */
  readonly now?: () => number;
  /**
   * How to wait for the clock to reach the next second when a timestamp pointer of this second
   * exists already. Default: a real timer with the real clock; with an injected `now` and no
   * `sleep`, the next second is used at once.
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Move `latest` to this revision (default true). */
  readonly setLatest?: boolean;
  /**
   * quilt3's conflict rule: when given, `latest` (read under the package lock, just before the
   * pointers are written) must be absent or one of these top hashes, the revisions the pushed
   * package descends from; otherwise `ConflictError` PACKAGE_LATEST_MOVED. Absent: no check (`--force`).
   */
  readonly parents?: readonly string[];
  /** quilt3 `dedupe`: when `latest` already is this top hash, write no pointer at all. */
  readonly dedupe?: boolean;
}

export interface PushManifestResult {
  readonly name: string;
  readonly topHash: string;
  readonly manifestKey: string;
  /** false when the manifest was there already (content-addressed: same hash, same bytes). */
  readonly manifestWritten: boolean;
  /** The timestamp pointer written, e.g. `1700000100`. */
  readonly timestamp: string;
  /** Every pointer written, in order: the timestamp, `latest`, then the tags. */
  readonly pointers: readonly string[];
  /** True when `dedupe` found this revision already `latest` and wrote nothing. */
  readonly deduped: boolean;
}

export interface DeletePointersResult {
  readonly deleted: readonly PointerInfo[];
  /** Where `latest` was moved, when it was deleted and `repointLatest` found a timestamp pointer. */
  readonly latest?: PointerInfo;
}

const POINTER_SIZE = 64;
/** Reading this many bytes of a pointer is enough to see that it holds more than 64. */
const POINTER_READ = { start: 0, end: POINTER_SIZE + 1 };
const POINTER_READ_CONCURRENCY = 8;
const MAX_TIMESTAMP_ATTEMPTS = 60;
/** Enough candidates for a useful "ambiguous" message without holding a huge registry's listing. */
const MAX_CANDIDATES = 1000;
const CANDIDATES_SHOWN = 10;

/** How a user sees what exists; used in hints (the CLI's command names live here only). */
function versionsHint(name: string, url: string): string {
  return `List the revisions and tags of ${name} with \`quilt versions ${name} --registry ${url}\`.`;
}
function packagesHint(url: string): string {
  return `Check the name; \`quilt packages --registry ${url}\` lists the packages of this registry.`;
}

export class Registry {
  private readonly lock: PackageLock;

  constructor(
    readonly storage: Storage,
    options: RegistryOptions = {},
  ) {
    this.lock = options.lock ?? (storage instanceof LocalStorage ? fileLock(storage.root, options) : memoryLock());
  }

  get url(): string {
    return this.storage.url;
  }

  /** `.quilt/packages/<top hash>`. */
  manifestKey(topHash: string): string {
    assertTopHash(topHash);
    return `${MANIFESTS_PREFIX}${topHash}`;
  }

  /** `.quilt/quiltkit/index/v1/<top hash>.qkbi`: the browse index of that manifest. */
  browseIndexKey(topHash: string): string {
    assertTopHash(topHash);
    return `${BROWSE_INDEX_PREFIX}${topHash}.qkbi`;
  }

  /** `.quilt/named_packages/<ns>/<name>/<pointer>`. */
  pointerKey(name: string, pointer: string): string {
    validatePackageName(name);
    validatePointerName(pointer);
    return `${POINTERS_PREFIX}${name}/${pointer}`;
  }

  /** The top hash a pointer holds. */
  async readPointer(name: string, pointer: string): Promise<string> {
    const key = this.pointerKey(name, pointer);
    let bytes: Buffer;
    try {
      bytes = await this.storage.readAll(key, { range: POINTER_READ });
    } catch (error) {
      if (error instanceof NotFoundError && error.code === "OBJECT_NOT_FOUND") {
        throw await this.missingRevision(name, `${name} has no pointer '${pointer}' in ${this.url}.`, error);
      }
      throw error;
    }
    return this.checkPointer(key, bytes);
  }

  /** Point `pointer` of `name` at `topHash` (exactly 64 hex bytes, no newline). No lock taken. */
  async writePointer(name: string, pointer: string, topHash: string, options: { ifNoneMatch?: true } = {}): Promise<void> {
    const key = this.pointerKey(name, pointer);
    assertTopHash(topHash);
    await this.storage.write(key, Buffer.from(topHash, "ascii"), options);
  }

  /** Whether the manifest `topHash` is in this registry. */
  async hasManifest(topHash: string): Promise<boolean> {
    return (await this.storage.stat(this.manifestKey(topHash))) !== undefined;
  }

  /** Every package name (`ns/name`), sorted by code point as quilt3's `sorted(list_packages())`. */
  async *listPackages(): AsyncGenerator<string> {
    for await (const nsItem of this.storage.list(POINTERS_PREFIX, { delimiter: "/" })) {
      if (nsItem.kind !== "prefix") continue;
      const names = mapAsync(this.storage.list(nsItem.prefix, { delimiter: "/" }), (item) =>
        item.kind === "prefix" ? item.prefix.slice(nsItem.prefix.length, -1) : undefined,
      );
      const ns = nsItem.prefix.slice(POINTERS_PREFIX.length, -1);
      for await (const name of inNameOrder(names)) yield `${ns}/${name}`;
    }
  }

  /**
   * The pointers of a package in key order (timestamps, then `latest` and tags alphabetically),
   * each with the hash it holds. quilt3's `list_package_versions`, with a kind added.
   */
  async *listPointers(name: string): AsyncGenerator<PointerInfo> {
    validatePackageName(name);
    const prefix = `${POINTERS_PREFIX}${name}/`;
    const objects = mapAsync(this.storage.list(prefix, { delimiter: "/" }), (item) =>
      item.kind === "object" ? item.key : undefined,
    );
    const read = async (key: string): Promise<PointerInfo | undefined> => {
      let bytes: Buffer;
      try {
        bytes = await this.storage.readAll(key, { range: POINTER_READ });
      } catch (error) {
        if (error instanceof NotFoundError) return undefined; // deleted since listed
        throw error;
      }
      const pointer = key.slice(prefix.length);
      return { pointer, topHash: this.checkPointer(key, bytes), kind: pointerKind(pointer) };
    };
    for await (const info of mapOrdered(objects, read, POINTER_READ_CONCURRENCY)) {
      if (info !== undefined) yield info;
    }
  }

  /**
   * The full top hash of a revision: `latest` when neither tag nor hash is given, a tag's pointer,
   * a full hash as is, or the one manifest a hash prefix matches. The manifest must exist.
   *
   * Tag and hash both given: the tag is read and its hash must start with `hash`, else
   * `ConflictError` `TAG_HASH_MISMATCH` (the registry's state differs from what the caller expects,
   * e.g. the tag moved; exit code 4). The prefix is then not matched against other manifests.
   */
  async resolve(request: RevisionRequest): Promise<string> {
    const { name, tag } = request;
    validatePackageName(name);
    const hash = request.hash === undefined ? undefined : normalizeHash(request.hash);
    if (tag !== undefined || hash === undefined) {
      const pointer = tag ?? LATEST;
      const topHash = await this.readPointer(name, pointer);
      if (hash !== undefined && !topHash.startsWith(hash)) {
        throw new ConflictError("TAG_HASH_MISMATCH", `${name}:${pointer} is ${topHash} in ${this.url}, not ${hash}.`, {
          hint: `The tag points elsewhere (it may have moved). Give only :${pointer} or only @HASH. ${versionsHint(name, this.url)}`,
        });
      }
      await this.requireManifest(name, topHash, `pointer ${this.pointerKey(name, pointer)}`);
      return topHash;
    }
    if (isTopHash(hash)) {
      await this.requireManifest(name, hash);
      return hash;
    }
    return this.resolvePrefix(name, hash);
  }

  private async resolvePrefix(name: string, prefix: string): Promise<string> {
    // hash -> pointers of this package that name it
    const candidates = new Map<string, string[]>();
    let truncated = false;
    const add = (hash: string, pointer?: string): void => {
      let pointers = candidates.get(hash);
      if (pointers === undefined) {
        if (candidates.size >= MAX_CANDIDATES) {
          truncated = true;
          return;
        }
        pointers = [];
        candidates.set(hash, pointers);
      }
      if (pointer !== undefined) pointers.push(pointer);
    };
    for await (const p of this.listPointers(name)) if (p.topHash.startsWith(prefix)) add(p.topHash, p.pointer);
    // quilt3 matches every manifest of the registry; the prefix keeps the listing to the matches.
    for await (const item of this.storage.list(`${MANIFESTS_PREFIX}${prefix}`, { delimiter: "/" })) {
      if (item.kind !== "object") continue;
      const hash = item.key.slice(MANIFESTS_PREFIX.length);
      if (isTopHash(hash)) add(hash);
    }
    if (candidates.size === 0) {
      throw await this.missingRevision(name, `No revision of ${name} in ${this.url} has a top hash starting with ${prefix}.`);
    }
    if (candidates.size > 1) {
      const shown = [...candidates]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, CANDIDATES_SHOWN)
        .map(([hash, pointers]) => `${hash} (${pointers.length > 0 ? `${name}: ${pointers.join(", ")}` : "no pointer of this package"})`);
      const more = candidates.size - shown.length;
      throw new UsageError(
        "HASH_PREFIX_AMBIGUOUS",
        `Hash prefix ${prefix} matches ${truncated ? "more than " : ""}${candidates.size} manifests in ${this.url}: ${shown.join("; ")}` +
          `${more > 0 || truncated ? `; and ${truncated ? "more" : more} others` : ""}.`,
        { hint: "Give more hex digits of the top hash." },
      );
    }
    const [hash] = [...candidates.keys()] as [string];
    await this.requireManifest(name, hash);
    return hash;
  }

  /**
   * Push a manifest as quilt3 does (`push_manifest`): the manifest (skipped if present), then the
   * timestamp pointer `str(unix seconds)`, then `latest`, then the tags. A timestamp pointer of the
   * same second is never overwritten: the push waits for the next second and uses that.
   *
   * `writeManifest(key)` stores the manifest at `key` (in this registry's storage).
   */
  async pushManifest(
    name: string,
    topHash: string,
    writeManifest: (key: string) => Promise<void>,
    options: PushManifestOptions = {},
  ): Promise<PushManifestResult> {
    validatePackageName(name);
    assertTopHash(topHash);
    const tags = [...new Set(options.tags ?? [])].map(validateTag);
    const setLatest = options.setLatest ?? true;
    const now = options.now ?? (() => Date.now() / 1000);
    const sleep = options.sleep ?? (options.now === undefined ? realSleep : undefined);

    const manifestKey = this.manifestKey(topHash);
    if (options.dedupe && (await this.currentLatest(name)) === topHash) {
      return { name, topHash, manifestKey, manifestWritten: false, timestamp: "", pointers: [], deduped: true };
    }
    // Written even when a manifest of this top hash exists (quilt3 does the same): the top hash
    // does not cover physical keys, and this push's entries point at the data it just placed.
    await writeManifest(manifestKey);
    const manifestWritten = true;
    if ((await this.storage.stat(manifestKey)) === undefined) {
      throw new StorageError("MANIFEST_NOT_WRITTEN", `The manifest ${manifestKey} is not in ${this.url} after writing it.`, {
        hint: "The manifest writer did not store it at the key it was given; no pointer was written.",
      });
    }

    return this.lock(name, async () => {
      // On S3 the lock is only this process's: the ETag read here guards the `latest` write below.
      const guard = this.storage instanceof LocalStorage ? undefined : await this.storage.stat(this.pointerKey(name, LATEST));
      const latest = await this.currentLatest(name);
      if (options.dedupe && latest === topHash) {
        return { name, topHash, manifestKey, manifestWritten, timestamp: "", pointers: [], deduped: true };
      }
      if (options.parents !== undefined && latest !== undefined && !options.parents.includes(latest)) {
        throw new ConflictError(
          "PACKAGE_LATEST_MOVED",
          `${name} in ${this.url} has moved on: its latest revision is ${latest}, which this package does not descend from.`,
          { hint: "Browse the latest revision and apply your changes to it, or push with --force to replace latest anyway." },
        );
      }
      const body = Buffer.from(topHash, "ascii");
      let seconds = clockSeconds(now);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.storage.write(this.pointerKey(name, String(seconds)), body, { ifNoneMatch: true });
          break;
        } catch (error) {
          if (!(error instanceof ConflictError && error.code === "OBJECT_EXISTS")) throw error;
          if (attempt >= MAX_TIMESTAMP_ATTEMPTS) {
            throw new ConflictError("TIMESTAMP_POINTER_BUSY", `Could not create a timestamp pointer for ${name} in ${this.url}: ${attempt} seconds in a row are taken.`, {
              hint: "Another client is pushing this package continuously; retry later.",
              cause: error,
            });
          }
          seconds += 1;
          if (sleep !== undefined) {
            for (let t = now(); Math.floor(t) < seconds; t = now()) await sleep(Math.max(1, Math.ceil((seconds - t) * 1000)));
          }
        }
      }
      const timestamp = String(seconds);
      const pointers = [timestamp];
      if (setLatest) {
        // Forced pushes, and local folders (whose file lock covers other processes), write it plainly.
        const condition = options.parents === undefined || this.storage instanceof LocalStorage ? null : guard;
        await this.moveLatest(name, topHash, condition, timestamp);
        pointers.push(LATEST);
      }
      for (const pointer of tags.filter((t) => t !== LATEST)) {
        await this.writePointer(name, pointer, topHash);
        pointers.push(pointer);
      }
      return { name, topHash, manifestKey, manifestWritten, timestamp, pointers, deduped: false };
    });
  }

  /**
   * Point `latest` at `topHash`. With a `guard` (S3, not forced: the `latest` object as read, or undefined when absent) the write is conditional on `latest`
   * being what was read (its ETag, or still absent), so of two racing pushes exactly one moves it;
   * the loser's revision stays reachable by its timestamp pointer. `null`: write unconditionally.
   */
  private async moveLatest(name: string, topHash: string, guard: ObjectInfo | undefined | null, timestamp: string): Promise<void> {
    if (guard === null) return this.writePointer(name, LATEST, topHash);
    const condition = guard?.etag === undefined ? { ifNoneMatch: true as const } : { ifMatch: guard.etag };
    try {
      await this.storage.write(this.pointerKey(name, LATEST), Buffer.from(topHash, "ascii"), condition);
    } catch (error) {
      if (!(error instanceof ConflictError && (error.code === "OBJECT_CHANGED" || error.code === "OBJECT_EXISTS"))) throw error;
      // A retried PUT whose first try succeeded (its answer lost) fails its own condition.
      if ((await this.currentLatest(name)) === topHash) return;
      throw new ConflictError(
        "PACKAGE_LATEST_MOVED",
        `${name} in ${this.url} has moved on: another push changed latest while this one was writing. ` +
          `This revision (${topHash}) is saved as ${name} timestamp ${timestamp}, but latest was not moved to it.`,
        { hint: "Browse the latest revision and apply your changes to it, or push again with --force to replace latest anyway.", cause: error },
      );
    }
  }

  /** The top hash `latest` points at, or undefined for a new package. */
  async currentLatest(name: string): Promise<string | undefined> {
    try {
      return await this.readPointer(name, LATEST);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** quilt3 `shorten_top_hash`: the shortest prefix (at least 7 digits) no other manifest shares. */
  async shortHash(topHash: string): Promise<string> {
    assertTopHash(topHash);
    const matches: string[] = [];
    for await (const item of this.storage.list(`${MANIFESTS_PREFIX}${topHash.slice(0, MIN_SHORT_HASH)}`, { delimiter: "/" })) {
      if (item.kind !== "object") continue;
      const hash = item.key.slice(MANIFESTS_PREFIX.length);
      if (isTopHash(hash)) matches.push(hash);
    }
    if (!matches.includes(topHash)) {
      throw new NotFoundError("REVISION_NOT_FOUND", `No manifest ${topHash} in ${this.url}.`, {
        hint: "Push the package first, or check the registry.",
      });
    }
    let left = matches;
    for (let length = MIN_SHORT_HASH; length < 64; length++) {
      const short = topHash.slice(0, length);
      left = left.filter((h) => h.startsWith(short));
      if (left.length === 1) return short;
    }
    return topHash;
  }

  /** Point tag `tag` of `name` at `topHash` (whose manifest must exist); returns where it pointed before. */
  async tag(name: string, tag: string, topHash: string): Promise<{ previous?: string }> {
    validatePackageName(name);
    validateTag(tag);
    assertTopHash(topHash);
    await this.requireManifest(name, topHash);
    return this.lock(name, async () => {
      const previous = await this.peekPointer(name, tag);
      await this.writePointer(name, tag, topHash);
      return previous === undefined ? {} : { previous };
    });
  }

  /** Remove tag `tag` of `name`; returns the hash it pointed at. `latest` cannot be removed this way. */
  async untag(name: string, tag: string): Promise<string> {
    validatePackageName(name);
    validateTag(tag);
    if (tag === LATEST) {
      throw new UsageError("TAG_RESERVED", `Cannot untag 'latest' of ${name}: every package has it.`, {
        hint: "Point it elsewhere with a tag of 'latest', or delete the package revisions.",
      });
    }
    return this.lock(name, async () => {
      const topHash = await this.readPointer(name, tag);
      await this.storage.delete(this.pointerKey(name, tag));
      return topHash;
    });
  }

  /**
   * Delete the pointers of `name` that `select` picks, under the package lock. With
   * `repointLatest`, a deleted `latest` is recreated pointing where the newest remaining timestamp
   * pointer points (numerically newest; quilt3 takes the string maximum of all remaining names,
   * which lets a tag win).
   */
  async deletePointers(
    name: string,
    select: (pointer: PointerInfo) => boolean,
    options: { repointLatest?: boolean } = {},
  ): Promise<DeletePointersResult> {
    validatePackageName(name);
    return this.lock(name, async () => {
      const deleted: PointerInfo[] = [];
      let newest: PointerInfo | undefined;
      for await (const pointer of this.listPointers(name)) {
        if (select(pointer)) {
          deleted.push(pointer);
        } else if (pointer.kind === "timestamp" && (newest === undefined || compareTimestamps(pointer.pointer, newest.pointer) > 0)) {
          newest = pointer;
        }
      }
      for (const pointer of deleted) await this.storage.delete(this.pointerKey(name, pointer.pointer));
      if (options.repointLatest === true && newest !== undefined && deleted.some((p) => p.pointer === LATEST)) {
        await this.writePointer(name, LATEST, newest.topHash);
        return { deleted, latest: { pointer: LATEST, topHash: newest.topHash, kind: "latest" } };
      }
      return { deleted };
    });
  }

  /** Whether any pointer of `name` exists. */
  async packageExists(name: string): Promise<boolean> {
    validatePackageName(name);
    for await (const item of this.storage.list(`${POINTERS_PREFIX}${name}/`, { delimiter: "/" })) {
      if (item.kind === "object") return true;
    }
    return false;
  }

  private async peekPointer(name: string, pointer: string): Promise<string | undefined> {
    try {
      const bytes = await this.storage.readAll(this.pointerKey(name, pointer), { range: POINTER_READ });
      return isPointerContent(bytes) ? bytes.toString("ascii") : undefined;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  private checkPointer(key: string, bytes: Buffer): string {
    if (isPointerContent(bytes)) return bytes.toString("ascii");
    const text = bytes.toString("latin1");
    const why =
      bytes.length > POINTER_SIZE
        ? /^[0-9a-f]{64}\s/.test(text)
          ? "it has a 64-digit hash followed by whitespace (a trailing newline?)"
          : `it holds more than ${POINTER_SIZE} bytes`
        : bytes.length < POINTER_SIZE
          ? `it holds ${bytes.length} bytes instead of ${POINTER_SIZE}`
          : "it is not 64 lowercase hex digits";
    throw new IntegrityError("POINTER_INVALID", `Invalid pointer ${key} in ${this.url}: ${why}.`, {
      hint: "A pointer file holds exactly the 64 lowercase hex digits of a top hash and nothing else (no newline); rewrite it with the intended hash.",
    });
  }

  /** NotFoundError for a revision: PACKAGE_NOT_FOUND if the package has no pointer at all. */
  private async missingRevision(name: string, message: string, cause?: unknown): Promise<NotFoundError> {
    if (!(await this.packageExists(name))) {
      return new NotFoundError("PACKAGE_NOT_FOUND", `Package ${name} not found in ${this.url}.`, {
        hint: packagesHint(this.url),
        cause,
      });
    }
    return new NotFoundError("REVISION_NOT_FOUND", message, { hint: versionsHint(name, this.url), cause });
  }

  private async requireManifest(name: string, topHash: string, via?: string): Promise<void> {
    if (await this.hasManifest(topHash)) return;
    if (via !== undefined) {
      throw new NotFoundError("MANIFEST_NOT_FOUND", `The ${via} names ${topHash}, but ${this.manifestKey(topHash)} is not in ${this.url}.`, {
        hint: `The registry is incomplete (an interrupted push or a deleted manifest): push that revision again, or point the tag at another one. ${versionsHint(name, this.url)}`,
      });
    }
    throw await this.missingRevision(name, `No revision ${topHash} (no manifest ${this.manifestKey(topHash)}) in ${this.url}.`);
  }
}

function pointerKind(pointer: string): PointerKind {
  return pointer === LATEST ? "latest" : isTimestampPointer(pointer) ? "timestamp" : "tag";
}

function isPointerContent(bytes: Buffer): boolean {
  return bytes.length === POINTER_SIZE && isTopHash(bytes.toString("latin1"));
}

function assertTopHash(topHash: string): void {
  if (!isTopHash(topHash)) {
    throw new UsageError("TOP_HASH_INVALID", `Invalid top hash ${JSON.stringify(topHash)}: it is not 64 lowercase hex digits.`, {
      hint: "Give the full 64-digit top hash of a package revision.",
    });
  }
}

function normalizeHash(hash: string): string {
  const lower = hash.toLowerCase();
  if (!isTopHash(lower) && !isHashPrefix(lower)) {
    throw new UsageError("HASH_INVALID", `Invalid top hash ${JSON.stringify(hash)}: give 6 to 64 hex digits.`, {
      hint: "Give the top hash of a revision, or at least its first 6 hex digits.",
    });
  }
  return lower;
}

function clockSeconds(now: () => number): number {
  const t = now();
  if (!Number.isFinite(t) || t < 0) {
    throw new UsageError("CLOCK_INVALID", `The clock gave ${t}, not a unix time in seconds.`, {
      hint: "Pass a `now` that returns seconds since 1970 (e.g. Date.now() / 1000).",
    });
  }
  return Math.floor(t);
}

function compareTimestamps(a: string, b: string): number {
  const x = a.replace(/^0+(?=.)/, "");
  const y = b.replace(/^0+(?=.)/, "");
  return x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0;
}

function realSleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function fileLock(root: string, options: RegistryOptions): PackageLock {
  return (name, fn) => {
    const [ns, pkg] = splitPackageName(name);
    const path = join(root, ...LOCKS_DIR.split("/"), ns, `${pkg}.lock`);
    return withLock(path, fn, {
      ...(options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs }),
      ...(options.staleLockMs === undefined ? {} : { staleMs: options.staleLockMs }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    });
  };
}

/** One queue per package name, within this process. */
function memoryLock(): PackageLock {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(name) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(name, tail);
    void tail.then(() => {
      if (tails.get(name) === tail) tails.delete(name);
    });
    return run;
  };
}

async function* mapAsync<T, U>(source: AsyncIterable<T>, fn: (item: T) => U | undefined): AsyncGenerator<U> {
  for await (const item of source) {
    const value = fn(item);
    if (value !== undefined) yield value;
  }
}

/** `fn` over `source` with up to `concurrency` calls in flight, results in source order. */
async function* mapOrdered<T, U>(source: AsyncIterable<T>, fn: (item: T) => Promise<U>, concurrency: number): AsyncGenerator<U> {
  const pending: Promise<U>[] = [];
  const take = (): Promise<U> => {
    const next = pending.shift();
    if (next === undefined) throw new Error("mapOrdered: nothing pending");
    return next;
  };
  try {
    for await (const item of source) {
      const promise = fn(item);
      promise.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
      pending.push(promise);
      if (pending.length >= concurrency) yield await take();
    }
    while (pending.length > 0) yield await take();
  } finally {
    pending.length = 0;
  }
}

/**
 * Storage lists package folders in the order of `name + "/"`, but quilt3 sorts names: `x-y/`
 * comes before `x/` while `x` comes before `x-y`. Only names that extend an earlier one with a
 * character below `/` are out of place, so a name is held back only until the listing has passed
 * its shortest such prefix (`x` for `x-y-z`); nothing else is buffered.
 */
async function* inNameOrder(names: AsyncIterable<string>): AsyncGenerator<string> {
  // Held-back names, sorted; `release` is the listing key after which each may go out.
  const held: { name: string; release: string | undefined }[] = [];
  const releaseKey = (name: string): string | undefined => {
    for (let i = 1; i < name.length; i++) if (name.charCodeAt(i) < 0x2f) return `${name.slice(0, i)}/`;
    return undefined;
  };
  for await (const name of names) {
    const key = `${name}/`;
    let at = held.length;
    while (at > 0 && compareCodePoints((held[at - 1] as { name: string }).name, name) > 0) at--;
    held.splice(at, 0, { name, release: releaseKey(name) });
    while (held.length > 0) {
      const first = held[0] as { name: string; release: string | undefined };
      if (first.release !== undefined && compareCodePoints(key, first.release) < 0) break;
      held.shift();
      yield first.name;
    }
  }
  for (const { name } of held) yield name;
}
