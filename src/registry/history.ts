/**
 * The history of a package, built on the pointers of a V1 registry (spec §4.1, §5): every
 * timestamp pointer is a revision, `latest` and tags are labels on revisions. What `quilt log`,
 * `quilt rollback` and `quilt delete` need, and nothing that holds a whole manifest in memory.
 */
import { IntegrityError, NotFoundError, QuiltError } from "../errors/index.js";
import { parsePyJson, type PyObject } from "../json/index.js";
import { compareCodePoints } from "../json/code-point-order.js";
import { DEFAULT_MAX_RECORD_SIZE } from "../manifest/index.js";
import { isHashPrefix, isTopHash, LATEST, pointerNameProblem } from "./names.js";
import type { DeletePointersResult, PointerInfo, Registry } from "./registry.js";

export interface Revision {
  /** The timestamp pointer's name (unix seconds), or null for a revision only tags point at. */
  readonly timestamp: string | null;
  /** The timestamp as a date, or null (no timestamp, or one out of Date's range). */
  readonly time: Date | null;
  readonly topHash: string;
  /** `latest` first when it points here, then the tags in code-point order. */
  readonly tags: readonly string[];
  /** The commit message of the manifest's header; null when it has none or the manifest is missing. */
  readonly message: string | null;
  /** False when the pointer names a manifest that is not in the registry. */
  readonly manifestFound: boolean;
}

export interface HistoryOptions {
  /** Manifest headers read at once (default 8). */
  readonly concurrency?: number;
  /** The longest header line read (default 1 MB, quilt3's QUILT_MANIFEST_MAX_RECORD_SIZE). */
  readonly maxRecordSize?: number;
  readonly signal?: AbortSignal;
}

/** Enough for any ordinary header; a longer one is read on, up to its newline. */
const HEADER_READ = 64 * 1024;
const DEFAULT_CONCURRENCY = 8;

/**
 * The revisions of `name`, newest first: one per timestamp pointer, with the tags that point at
 * the same top hash and the message of its manifest, then (rare: a registry edited by hand) any
 * top hash that only tags point at. Memory grows with the number of pointers, not of entries.
 * A package without any pointer is `NotFoundError` PACKAGE_NOT_FOUND.
 */
export async function* packageHistory(registry: Registry, name: string, options: HistoryOptions = {}): AsyncGenerator<Revision> {
  const pointers = await collect(registry.listPointers(name));
  if (pointers.length === 0) {
    throw new NotFoundError("PACKAGE_NOT_FOUND", `Package ${name} not found in ${registry.url}.`, {
      hint: `Check the name; \`quilt packages --registry ${registry.url}\` lists the packages of this registry.`,
    });
  }
  const tagsByHash = new Map<string, string[]>();
  for (const p of pointers) if (p.kind !== "timestamp") push(tagsByHash, p.topHash, p.pointer);
  const timestamps = pointers.filter((p) => p.kind === "timestamp").sort((a, b) => compareTimestamps(b.pointer, a.pointer));
  const dated = new Set(timestamps.map((p) => p.topHash));
  const undated = [...tagsByHash.keys()].filter((hash) => !dated.has(hash)).map((topHash) => ({ pointer: null, topHash }));
  const rows: { pointer: string | null; topHash: string }[] = [...timestamps, ...undated];

  const headers = new Map<string, Promise<PyObject | undefined>>();
  const headerOf = (topHash: string): Promise<PyObject | undefined> => {
    let header = headers.get(topHash);
    if (header === undefined) {
      header = readManifestHeader(registry, topHash, options);
      header.catch(() => undefined); // awaited in order below
      headers.set(topHash, header);
    }
    return header;
  };
  const revision = async (row: { pointer: string | null; topHash: string }): Promise<Revision> => {
    const header = await headerOf(row.topHash);
    const message = header?.get("message");
    return {
      timestamp: row.pointer,
      time: row.pointer === null ? null : timeOf(row.pointer),
      topHash: row.topHash,
      tags: sortTags(tagsByHash.get(row.topHash) ?? []),
      message: typeof message === "string" ? message : null,
      manifestFound: header !== undefined,
    };
  };
  yield* mapOrdered(rows, revision, options.concurrency ?? DEFAULT_CONCURRENCY);
}

/**
 * The header (first line) of manifest `topHash`, read with a ranged read of its first 64 KiB
 * (and on only if the line is longer), never the whole manifest; undefined when the manifest is
 * missing. The top hash is not checked: this is for listing, not for trusting the content.
 */
export async function readManifestHeader(
  registry: Registry,
  topHash: string,
  options: { signal?: AbortSignal; maxRecordSize?: number } = {},
): Promise<PyObject | undefined> {
  const key = registry.manifestKey(topHash);
  let line: Buffer;
  try {
    line = await firstLine(registry, key, options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE, options.signal);
  } catch (error) {
    if (error instanceof NotFoundError && error.code === "OBJECT_NOT_FOUND") return undefined;
    throw error;
  }
  let header: unknown;
  try {
    header = parsePyJson(line.toString("utf8"));
  } catch (error) {
    throw badHeader(registry, key, `its first line is not JSON (${(error as Error).message})`, error);
  }
  if (!(header instanceof Map)) throw badHeader(registry, key, "its first line is not a JSON object");
  return header as PyObject;
}

async function firstLine(registry: Registry, key: string, maxRecordSize: number, signal?: AbortSignal): Promise<Buffer> {
  const head = await registry.storage.readAll(key, { range: { start: 0, end: HEADER_READ }, ...(signal ? { signal } : {}) });
  const end = head.indexOf(0x0a);
  if (end >= 0) return head.subarray(0, end);
  if (head.length < HEADER_READ) return head; // a one-line manifest without a final newline
  // A header longer than 64 KiB (large package metadata): stream on to its newline only.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of registry.storage.read(key, signal ? { signal } : {})) {
    const buffer = Buffer.from(chunk);
    const at = buffer.indexOf(0x0a);
    const part = at >= 0 ? buffer.subarray(0, at) : buffer;
    size += part.length;
    if (size > maxRecordSize) {
      throw badHeader(registry, key, `its header line is longer than ${maxRecordSize} bytes (QUILT_MANIFEST_MAX_RECORD_SIZE)`);
    }
    chunks.push(part);
    if (at >= 0) break;
  }
  return Buffer.concat(chunks);
}

function badHeader(registry: Registry, key: string, why: string, cause?: unknown): IntegrityError {
  return new IntegrityError("MANIFEST_HEADER_INVALID", `The manifest ${key} in ${registry.url} is malformed: ${why}.`, {
    hint: "The manifest was damaged or not written by quilt3/Quiltkit; push that revision again or delete it with `quilt delete`.",
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The top hash a `--to` value names for package `name`: `:TAG` a pointer, `@HASH` a top hash
 * (or a prefix of 6+ hex digits); a bare value is first a pointer (tag, `latest` or timestamp)
 * and, when no such pointer exists and it is hex, a top hash. The manifest must exist.
 */
export async function resolveRevisionRef(registry: Registry, name: string, ref: string): Promise<string> {
  if (ref.startsWith(":")) return registry.resolve({ name, tag: ref.slice(1) });
  if (ref.startsWith("@")) return registry.resolve({ name, hash: ref.slice(1) });
  const hexLike = isTopHash(ref.toLowerCase()) || isHashPrefix(ref.toLowerCase());
  if (pointerNameProblem(ref) !== undefined) return registry.resolve({ name, hash: ref });
  try {
    return await registry.resolve({ name, tag: ref });
  } catch (error) {
    if (hexLike && error instanceof QuiltError && error.code === "REVISION_NOT_FOUND") return registry.resolve({ name, hash: ref });
    throw error;
  }
}

/**
 * Delete revision `topHash` of `name` as quilt3's `delete_package(name, top_hash=h)` does: every
 * pointer holding `h` (timestamps, tags, `latest`) goes; the manifest and the data stay. When
 * `latest` went, it moves to the newest remaining timestamp pointer (quilt3 takes the string
 * maximum of all remaining names, so a tag like `v0` would win over every timestamp; the issue's
 * decision is the newest revision), or is left absent when no timestamp remains.
 */
export function deleteRevision(registry: Registry, name: string, topHash: string): Promise<DeletePointersResult> {
  return registry.deletePointers(name, (p: PointerInfo) => p.topHash === topHash, { repointLatest: true });
}

/** Delete every pointer of `name` (quilt3's `delete_package(name)`); manifests and data stay. */
export function deletePackage(registry: Registry, name: string): Promise<DeletePointersResult> {
  return registry.deletePointers(name, () => true);
}

function timeOf(timestamp: string): Date | null {
  const ms = Number(timestamp) * 1000;
  const date = new Date(ms);
  return Number.isFinite(date.getTime()) ? date : null;
}

function sortTags(tags: readonly string[]): string[] {
  const rest = tags.filter((t) => t !== LATEST).sort(compareCodePoints);
  return tags.includes(LATEST) ? [LATEST, ...rest] : rest;
}

/** Numeric order of digit strings of any length (leading zeros ignored). */
export function compareTimestamps(a: string, b: string): number {
  const x = a.replace(/^0+(?=.)/, "");
  const y = b.replace(/^0+(?=.)/, "");
  return x.length !== y.length ? x.length - y.length : compareCodePoints(x, y);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

/** `fn` over `items` with up to `concurrency` calls in flight, results in order. */
async function* mapOrdered<T, U>(items: readonly T[], fn: (item: T) => Promise<U>, concurrency: number): AsyncGenerator<U> {
  const pending: Promise<U>[] = [];
  let next = 0;
  const fill = (): void => {
    while (pending.length < concurrency && next < items.length) {
      const promise = fn(items[next++] as T);
      promise.catch(() => undefined); // awaited in turn; no unhandled rejection meanwhile
      pending.push(promise);
    }
  };
  fill();
  while (pending.length > 0) {
    const value = await (pending.shift() as Promise<U>);
    fill();
    yield value;
  }
}
