import { StatCacheRun, type StatCacheOptions, type Visit } from "../cache/index.js";
import { StorageError, type QuiltError } from "../errors/index.js";
import { HashPool, SHA2_256_CHUNKED, type HashOutcome } from "../hash/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import { parsePhysicalKey } from "../storage/physical-key.js";
import type { Remotes } from "../storage/index.js";
import { Channel } from "../transfer/bounded.js";
import { hashRemoteEntry, limited } from "./hash-remote.js";
import type { PendingEntry } from "./ops.js";

export interface HashEntriesOptions {
  readonly pool?: HashPool;
  /** Entries held between reading and writing: bounds memory, and the work in flight. */
  readonly window?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { files: number; bytes: number }) => void;
  /** How S3 entries are reached: without it, an S3 entry without a hash is an error. */
  readonly remotes?: Remotes;
  /** S3 entries hashed at once (HEAD requests, or reads when S3's checksum does not decide). Default 16. */
  readonly remoteConcurrency?: number;
  /** Take the hashes of unchanged local files under `dir` from its stat cache, and record new ones (src/cache). */
  readonly statCache?: StatCacheOptions & { readonly dir: string };
}

interface Job {
  readonly path: string;
  readonly index: number;
}

interface Slot {
  readonly entry: PendingEntry;
  readonly hashed?: Promise<ManifestEntry>;
}

/**
 * Fill in the missing hashes (quilt3 `_calculate_missing_hashes`: always sha2-256-chunked) of
 * entries that arrive in tree-walk order, and hand them on in the same order. Files are hashed on
 * the worker pool in one job, so small files are batched; a window bounds what is in flight.
 */
export async function* hashMissing(
  entries: AsyncIterable<PendingEntry>,
  options: HashEntriesOptions = {},
): AsyncGenerator<ManifestEntry> {
  const pool = options.pool ?? new HashPool();
  const window = options.window ?? 4096;
  const jobs = new Channel<Job>();
  const waiting = new Map<number, { resolve: (r: HashOutcome<Job>) => void }>();
  let progress = { files: 0, bytes: 0 };
  const router = (async () => {
    for await (const outcome of pool.hashFiles(jobs, { signal: options.signal })) {
      progress = { files: progress.files + 1, bytes: progress.bytes + (outcome.ok ? outcome.size : 0) };
      options.onProgress?.(progress);
      waiting.get(outcome.item.index)?.resolve(outcome);
      waiting.delete(outcome.item.index);
    }
  })();
  // Keep the router's failure from being unhandled while the pipeline is still filling.
  router.catch(() => undefined);
  const slots: Slot[] = [];
  let index = 0;
  const remote = remoteHasher(options);
  const cache = options.statCache === undefined ? undefined : await StatCacheRun.open(options.statCache.dir, options.statCache);
  try {
    for await (const entry of entries) {
      slots.push(entry.hash ? { entry } : { entry, hashed: isLocalEntry(entry) ? (await local(entry)).hashed : remote(entry) });
      if (slots.length >= window) yield await settle(slots.shift() as Slot);
    }
    jobs.close();
    while (slots.length > 0) yield await settle(slots.shift() as Slot);
    await router;
    await cache?.commit();
  } finally {
    jobs.close();
    await cache?.abandon(); // after a commit, a no-op
    if (!options.pool) await pool.close();
  }

  /**
   * A local file's hash: from the stat cache when the file is unchanged, else from the pool (and
   * then recorded). Wrapped, so that awaiting the visit does not await the hashing too.
   */
  async function local(entry: PendingEntry): Promise<{ hashed: Promise<ManifestEntry> }> {
    const visit = await cache?.visitFile(localPath(entry));
    const hit = visit?.hit;
    if (hit?.type === SHA2_256_CHUNKED && visit?.stat.size === entry.size) {
      visit.settle(hit);
      return { hashed: Promise.resolve({ ...entry, hash: { type: hit.type, value: hit.value } }) };
    }
    return { hashed: submit(entry, index++, visit) };
  }

  function submit(entry: PendingEntry, jobIndex: number, visit?: Visit): Promise<ManifestEntry> {
    const path = localPath(entry);
    const outcome = new Promise<HashOutcome<Job>>((resolve) => waiting.set(jobIndex, { resolve }));
    jobs.push({ path, index: jobIndex });
    const hashed = Promise.race([outcome, router.then(() => closedEarly(path))]).then((r) => withHash(entry, r));
    hashed.then(
      (e) => visit?.settle({ type: SHA2_256_CHUNKED, value: e.hash.value }),
      () => visit?.settle(undefined),
    );
    return hashed;
  }
}

/** Remote entries are hashed beside the pool, a few at a time; their order is kept by the slots. */
function remoteHasher(options: HashEntriesOptions): (entry: PendingEntry) => Promise<ManifestEntry> {
  const remotes = options.remotes;
  if (remotes === undefined) return (entry) => Promise.reject(remoteUnsupported(entry));
  const hash = limited(options.remoteConcurrency ?? 16, (entry: PendingEntry) => hashRemoteEntry(entry, remotes, options.signal));
  return (entry) => {
    const promise = hash(entry);
    // Awaited in order by the consumer; until then a failure must not count as unhandled.
    promise.catch(() => undefined);
    return promise;
  };
}

function isLocalEntry(entry: PendingEntry): boolean {
  return entry.physicalKey.startsWith("file:");
}

async function settle(slot: Slot): Promise<ManifestEntry> {
  if (slot.hashed) return slot.hashed;
  return slot.entry as ManifestEntry;
}

function localPath(entry: PendingEntry): string {
  const pk = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false });
  if (pk.kind !== "file") throw remoteUnsupported(entry);
  return pk.path;
}

function remoteUnsupported(entry: PendingEntry): StorageError {
  return new StorageError("HASH_REMOTE_UNSUPPORTED", `Cannot hash ${entry.physicalKey} (${entry.logicalKey}) here: no S3 access was given.`, {
    hint: "Give the builder a `remotes` option (the CLI always does), or the entry's hash.",
  });
}

function withHash(entry: PendingEntry, outcome: HashOutcome<Job>): ManifestEntry {
  if (!outcome.ok) throw outcome.error;
  if (outcome.size !== entry.size) throw changed(entry, outcome.size);
  const value = outcome.hashes[SHA2_256_CHUNKED];
  if (value === undefined) throw new StorageError("HASH_FAILED", `No hash computed for ${entry.physicalKey}.`);
  return { ...entry, hash: { type: SHA2_256_CHUNKED, value } };
}

function changed(entry: PendingEntry, size: number): QuiltError {
  return new StorageError(
    "SOURCE_CHANGED",
    `${entry.physicalKey} (logical key ${entry.logicalKey}) was ${entry.size} bytes when added, ${size} bytes now.`,
    { hint: "The file changed while the package was being built; add it again and rebuild." },
  );
}

function closedEarly(path: string): HashOutcome<Job> {
  throw new StorageError("HASH_FAILED", `Hashing stopped before ${path} was hashed.`);
}
