/**
 * A workspace's entries between commands: `.quiltkit/staged-<n>.v1.jsonl`, written in one
 * streaming pass from a builder and read back as a stream, so a workspace of millions of entries
 * is never held in memory. JSON lines, in tree-walk order:
 *
 *   {"format": "quiltkit-workspace-staged", "version": 1}
 *   {"header": {<package header without message: version, user_meta, ...>}}
 *   {"dir": "a/b/", "meta": <folder metadata>}            (zero or more)
 *   {"key": "a/b/c.jpg", "pk": "<physical key>", "size": 12, "hash": {"type", "value"} | null, "meta": {<entry meta>}}
 *
 * Metadata is written with Python's JSON rules (dumpsCompact), so floats stay floats and big
 * integers stay whole. A hash dict kept raw from a loaded manifest is written whole as "hash".
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { ConflictError, UsageError } from "../errors/index.js";
import { dumpsCompact, parsePyJson, type PyObject, type PyValue } from "../json/index.js";
import { pyRepr, type DirMeta, type EntryHash } from "../manifest/index.js";
import type { PendingEntry } from "../package/index.js";
import { writeLinesNew } from "./atomic.js";

export const STAGED_FORMAT = "quiltkit-workspace-staged";
export const STAGED_VERSION = 1;

export interface StagedContent {
  readonly header: PyObject;
  readonly dirs: readonly DirMeta[];
  readonly entries: AsyncIterable<PendingEntry>;
}

export interface StagedReader extends StagedContent {
  /** Close the file when the entries are not read to their end. */
  close(): Promise<void>;
}

export interface StagedTotals {
  readonly entries: number;
  readonly bytes: number;
  readonly unhashed: number;
}

/**
 * Write the staged file at `path` (new). Entries must come in tree-walk order; a key that is
 * also another key's folder (`a` and `a/b`) is refused here, so no command can leave the
 * workspace in a state that cannot be built.
 */
export async function writeStaged(path: string, content: StagedContent): Promise<StagedTotals> {
  const totals = { entries: 0, bytes: 0, unhashed: 0 };
  async function* lines(): AsyncGenerator<string> {
    yield JSON.stringify({ format: STAGED_FORMAT, version: STAGED_VERSION });
    yield `{"header":${dumpsCompact(withoutMessage(content.header))}}`;
    for (const dir of content.dirs) yield `{"dir":${JSON.stringify(dir.logicalKey)},"meta":${dumpsCompact(dir.meta)}}`;
    let previous: string | undefined;
    for await (const entry of content.entries) {
      if (previous !== undefined && entry.logicalKey.startsWith(previous + "/")) throw fileAndFolder(previous, entry.logicalKey);
      previous = entry.logicalKey;
      totals.entries += 1;
      totals.bytes += entry.size;
      if (entry.hash === undefined) totals.unhashed += 1;
      yield entryText(entry);
    }
  }
  await writeLinesNew(path, lines());
  return totals;
}

function entryText(entry: PendingEntry): string {
  const hash = entry.hash === undefined ? "null" : hashText(entry.hash);
  return `{"key":${JSON.stringify(entry.logicalKey)},"pk":${JSON.stringify(entry.physicalKey)},"size":${entry.size},"hash":${hash},"meta":${dumpsCompact(entry.meta)}}`;
}

function hashText(hash: EntryHash): string {
  return hash.raw === undefined ? JSON.stringify({ type: hash.type, value: hash.value }) : dumpsCompact(hash.raw);
}

function withoutMessage(header: PyObject): PyObject {
  const copy = new Map(header);
  copy.delete("message");
  return copy;
}

/** Read the staged file: header and folders at once, entries as a stream (read when iterated). */
export async function readStaged(path: string): Promise<StagedReader> {
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity })[Symbol.asyncIterator]();
  const next = async (): Promise<string | undefined> => {
    const result = await lines.next();
    return result.done === true ? undefined : result.value;
  };
  checkFormat(await next(), path);
  const header = field(parseLine(await next(), path, 2), "header", path);
  if (!(header instanceof Map)) throw corrupt(path, "its header is not a dict");
  const dirs: DirMeta[] = [];
  let line = await next();
  for (; line !== undefined && line.startsWith('{"dir":'); line = await next()) {
    const value = parseLine(line, path, dirs.length + 3);
    const key = field(value, "dir", path);
    if (typeof key !== "string") throw corrupt(path, "a folder line's key is not a string");
    dirs.push({ logicalKey: key, meta: field(value, "meta", path) });
  }
  const first = line;
  async function* entries(): AsyncGenerator<PendingEntry> {
    try {
      for (let text = first; text !== undefined; text = await next()) yield entryOf(parseLine(text, path, 0), path);
    } finally {
      await lines.return?.();
    }
  }
  return { header, dirs, entries: entries(), close: async () => void (await lines.return?.()) };
}

function checkFormat(line: string | undefined, path: string): void {
  let value: { format?: unknown; version?: unknown } = {};
  try {
    value = JSON.parse(line ?? "{}") as typeof value;
  } catch {
    // judged below
  }
  if (value.format !== STAGED_FORMAT) throw corrupt(path, "it does not start with the quiltkit-workspace-staged format line");
  if (value.version !== STAGED_VERSION) {
    throw new UsageError("STATE_VERSION", `${path} is staged-entries format version ${JSON.stringify(value.version ?? null)}; this quiltkit reads version ${STAGED_VERSION}.`, {
      hint: "Use the quiltkit version that made this workspace, or upgrade quiltkit.",
    });
  }
}

function entryOf(value: PyValue, path: string): PendingEntry {
  const logicalKey = field(value, "key", path);
  const physicalKey = field(value, "pk", path);
  const size = field(value, "size", path);
  const hash = field(value, "hash", path);
  const meta = field(value, "meta", path);
  if (typeof logicalKey !== "string" || typeof physicalKey !== "string" || typeof size !== "bigint" || !(meta instanceof Map)) {
    throw corrupt(path, "an entry line lacks its key, physical key, size or meta");
  }
  const base = { logicalKey, physicalKey, size: Number(size), meta };
  return hash === null ? base : { ...base, hash: hashOf(hash, path) };
}

function hashOf(value: PyValue, path: string): EntryHash {
  const type = field(value, "type", path);
  const hashValue = field(value, "value", path);
  if (typeof type !== "string" || typeof hashValue !== "string") throw corrupt(path, "a hash lacks its type or value");
  const canonical = value instanceof Map && value.size === 2 && [...value.keys()].join() === "type,value";
  return canonical ? { type, value: hashValue } : { type, value: hashValue, raw: value as PyObject };
}

function parseLine(line: string | undefined, path: string, number: number): PyValue {
  if (line === undefined) throw corrupt(path, "it ends early");
  try {
    return parsePyJson(line);
  } catch (error) {
    throw corrupt(path, `line ${number || "of an entry"} is not JSON`, error);
  }
}

function field(value: PyValue, name: string, path: string): PyValue {
  if (!(value instanceof Map) || !value.has(name)) throw corrupt(path, `a line lacks "${name}"`);
  return value.get(name) as PyValue;
}

function corrupt(path: string, why: string, cause?: unknown): UsageError {
  return new UsageError("STATE_CORRUPT", `The staged entries ${path} are damaged: ${why}.`, {
    hint: "Restore the workspace's .quiltkit folder, or start again with `quilt init` in a new folder.",
    cause,
  });
}

function fileAndFolder(file: string, under: string): ConflictError {
  return new ConflictError("LOGICAL_KEY_FILE_AND_FOLDER", `${pyRepr(file)} is a file, but ${pyRepr(under)} would make it a folder too.`, {
    hint: `A logical key cannot be both a file and a folder: remove one (quilt rm ${file}) or use another logical key.`,
  });
}
