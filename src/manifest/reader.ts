import { IntegrityError, QuiltError } from "../errors/index.js";
import { hasEscapeOrControl, parsePyJson, type PyObject, type PyValue } from "../json/index.js";
import { formatPhysicalKey, isCanonicalFileUrl, parsePhysicalKey } from "../storage/physical-key.js";
import { splitLines } from "./lines.js";
import { assertSafeLoadedKey, dirPathOf } from "./logical-key.js";
import type { EntryHash, ManifestEntry, ManifestRecord } from "./types.js";

export interface ReadOptions {
  /** Refuse unsafe logical keys (traversal, NUL). Default true; off only to hash foreign manifests. */
  readonly checkKeys?: boolean;
  readonly maxLineBytes?: number;
  /**
   * Only entries whose logical key starts with this are wanted, from a manifest already known to
   * be in tree-walk order (a verified one): lines in quilt3's layout whose raw key does not start
   * with it are skipped without being parsed, and the first one after the matching block ends
   * the read (those keys are contiguous in tree-walk order).
   */
  readonly entryPrefix?: string;
}

/** How quilt3 (and we) start every entry and directory line. */
const LINE_START = '{"logical_key": "';
/** What comes between the hash's value and the metadata in quilt3's entry lines. */
const META_START = '"}, "meta": ';

/**
 * Read a manifest's lines as records, in file order, with quilt3's loading rules (spec §1.2–1.4):
 * the header first, then any line without `physical_keys` is directory metadata, the rest entries.
 */
export async function* readManifestRecords(
  chunks: AsyncIterable<Uint8Array>,
  options: ReadOptions = {},
): AsyncGenerator<ManifestRecord> {
  const checkKeys = options.checkKeys ?? true;
  const skip = prefixSkipper(options.entryPrefix);
  let sawHeader = false;
  let matched = false;
  for await (const { text, line } of splitLines(chunks, options.maxLineBytes)) {
    if (sawHeader && skip !== undefined) {
      const verdict = skip(text);
      if (verdict === "skip") {
        if (matched) return;
        continue;
      }
      if (verdict === "match") matched = true;
    }
    if (!sawHeader) {
      sawHeader = true;
      yield { kind: "header", header: headerOf(parseLine(text, line), line), line };
    } else {
      yield lineRecord(text, line, checkKeys);
    }
  }
  if (!sawHeader) {
    throw new IntegrityError("MANIFEST_EMPTY", "The manifest is empty: it has no header line.", {
      hint: "A manifest has at least one line, e.g. {\"version\": \"v0\", \"message\": null}.",
    });
  }
}

/**
 * One line after the header, parsed with the rules above: for ranged reads of a manifest whose
 * layout is already known (a browse index says where its entry lines are).
 */
export function parseRecordLine(text: string, line: number, options: Pick<ReadOptions, "checkKeys"> = {}): ManifestRecord {
  return lineRecord(text, line, options.checkKeys ?? true);
}

/** A line after the header: by position when it is in quilt3's plain layout, else parsed whole. */
function lineRecord(text: string, line: number, checkKeys: boolean): ManifestRecord {
  return quiltEntryLine(text, line, checkKeys) ?? recordOf(asObject(parseLine(text, line), line), line, checkKeys);
}

/**
 * The entry of a line laid out exactly as quilt3 writes it, with no escape or control character:
 * `{"logical_key": "K", "physical_keys": ["P"], "size": N, "hash": {"type": "T", "value": "V"}, "meta": M}`.
 * Every string then ends at the next `"`, so the fields are found with `indexOf` and only `meta` goes
 * through the JSON parser: the same record the general path gives, at a fraction of the cost.
 * `undefined` for any other line (the general path then reads it, or reports what is wrong).
 */
export function quiltEntryLine(text: string, line: number, checkKeys: boolean): ManifestRecord | undefined {
  if (!text.startsWith(LINE_START) || text.charCodeAt(text.length - 1) !== 0x7d || hasEscapeOrControl(text)) return undefined;
  let at = LINE_START.length;
  const field = (prefix: string, end: string): string | undefined => {
    if (!text.startsWith(prefix, at)) return undefined;
    const from = at + prefix.length;
    const to = text.indexOf(end, from);
    if (to === -1) return undefined;
    at = to;
    return text.slice(from, to);
  };
  const logicalKey = field("", '"');
  const physical = field('", "physical_keys": ["', '"');
  const size = field('"], "size": ', ",");
  const type = field(', "hash": {"type": "', '"');
  const value = field('", "value": "', '"');
  if (logicalKey === undefined || physical === undefined || size === undefined || type === undefined || value === undefined) return undefined;
  if (!text.startsWith(META_START, at) || !/^(?:0|[1-9][0-9]{0,14})$/.test(size)) return undefined;
  let meta: PyValue;
  try {
    meta = parsePyJson(text.slice(at + META_START.length, -1), true);
  } catch {
    return undefined; // not one JSON value: the whole line may still be valid (or need its exact error)
  }
  if (!(meta instanceof Map)) return undefined;
  if (checkKeys) assertSafeLoadedKey(logicalKey, line);
  const entry: ManifestEntry = { logicalKey, physicalKey: physicalKeyOf([physical], line), size: Number(size), hash: { type, value }, meta };
  return { kind: "entry", entry, line };
}

/**
 * A cheap pre-filter on raw lines for `entryPrefix`. Only for printable-ASCII prefixes without
 * `"` or `\\`, which Python, serde and we never escape (with or without ensure_ascii), so the raw key text
 * starts with the prefix exactly when the key does; only entry lines (with physical keys) are
 * judged, and every other line or prefix is parsed as usual.
 */
function prefixSkipper(prefix: string | undefined): ((text: string) => "skip" | "match" | "unknown") | undefined {
  if (prefix === undefined || prefix === "" || !/^[\x20-\x7e]+$/.test(prefix) || /["\\]/.test(prefix)) return undefined;
  const wanted = LINE_START + prefix;
  return (text) => {
    if (!text.startsWith(LINE_START) || !text.includes('", "physical_keys": [')) return "unknown";
    return text.startsWith(wanted) ? "match" : "skip";
  };
}

function parseLine(text: string, line: number): PyValue {
  if (text.trim() === "") {
    throw new IntegrityError("MANIFEST_BLANK_LINE", `Manifest line ${line} is blank.`, {
      hint: "quilt3 refuses blank lines in a manifest (jsonlines InvalidLineError); the file is corrupt.",
    });
  }
  try {
    return parsePyJson(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new IntegrityError("MANIFEST_BAD_JSON", `Manifest line ${line} is not valid JSON: ${detail}`, {
      hint: "The manifest is corrupt or not a Quilt manifest.",
      cause: error,
    });
  }
}

function asObject(value: PyValue, line: number): PyObject {
  if (value instanceof Map) return value;
  throw malformed(line, "is not a JSON object");
}

function headerOf(value: PyValue, line: number): PyObject {
  const header = asObject(value, line);
  // Obsolete since quilt3 PR #130: quilt3 drops it on load, and so do we (spec §1.2).
  header.delete("top_hash");
  return header;
}

function recordOf(obj: PyObject, line: number, checkKeys: boolean): ManifestRecord {
  const logicalKey = requireString(obj, "logical_key", line);
  const physicalKeys = obj.get("physical_keys");
  if (physicalKeys === undefined || physicalKeys === null || (Array.isArray(physicalKeys) && physicalKeys.length === 0)) {
    if (checkKeys) dirPathOf(logicalKey, line);
    return { kind: "dir", dir: { logicalKey, meta: requireField(obj, "meta", line) }, line };
  }
  if (checkKeys) assertSafeLoadedKey(logicalKey, line);
  const entry: ManifestEntry = {
    logicalKey,
    physicalKey: physicalKeyOf(physicalKeys, line),
    size: sizeOf(requireField(obj, "size", line), line),
    hash: hashOf(requireField(obj, "hash", line), line),
    meta: metaOf(requireField(obj, "meta", line), line, logicalKey),
  };
  return { kind: "entry", entry, line };
}

function requireField(obj: PyObject, name: string, line: number): PyValue {
  const value = obj.get(name);
  if (value === undefined) {
    const key = obj.get("logical_key");
    const where = typeof key === "string" ? ` (logical key ${JSON.stringify(key)})` : "";
    throw new IntegrityError("MANIFEST_MISSING_FIELD", `Manifest line ${line}${where} has no "${name}" field.`, {
      hint: `quilt3 refuses such a manifest too (KeyError: '${name}'); every entry needs logical_key, physical_keys, size, hash and meta.`,
    });
  }
  return value;
}

function requireString(obj: PyObject, name: string, line: number): string {
  const value = requireField(obj, name, line);
  if (typeof value !== "string") throw malformed(line, `has a "${name}" that is not a string`);
  return value;
}

function physicalKeyOf(value: PyValue, line: number): string {
  const first: PyValue | undefined = Array.isArray(value) ? value[0] : undefined;
  if (typeof first !== "string") throw malformed(line, 'has "physical_keys" that is not a list of URLs');
  // Most keys are already in quilt3's printed form; these tests prove it without parsing.
  if (CANONICAL_S3.test(first) || isCanonicalFileUrl(first)) return first;
  try {
    // quilt3 re-normalizes the first physical key through PhysicalKey (spec §4.6); others are
    // dropped. Unlike quilt3 we do not resolve symlinks of file:// keys here: reading a manifest
    // must not probe paths that a (possibly hostile) manifest names.
    return formatPhysicalKey(parsePhysicalKey(first, { resolveSymlinks: false }));
  } catch (error) {
    if (error instanceof QuiltError) {
      throw new IntegrityError("MANIFEST_BAD_PHYSICAL_KEY", `Manifest line ${line}: ${error.message}`, {
        hint: "The manifest holds a physical key that is not a valid s3:// or file:// URL.",
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * An s3:// URL that parsing and printing would leave unchanged: a plain bucket, a key of
 * characters `quote` keeps (no `%`, so no escape to re-case), no `//` or trailing-slash
 * subtleties, and a versionId of characters `quote_plus` keeps.
 */
export const CANONICAL_S3 = /^s3:\/\/[a-z0-9][a-z0-9.-]*\/(?:[A-Za-z0-9_.~-]+\/)*[A-Za-z0-9_.~-]+(?:\?versionId=[A-Za-z0-9_.~-]+)?$/;

function sizeOf(value: PyValue, line: number): number {
  if (typeof value === "bigint" && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  throw malformed(line, 'has a "size" that is not a non-negative integer');
}

function hashOf(value: PyValue, line: number): EntryHash {
  if (!(value instanceof Map)) throw malformed(line, 'has a "hash" that is not an object');
  const type = value.get("type");
  const hashValue = value.get("value");
  if (typeof type !== "string" || typeof hashValue !== "string") {
    throw malformed(line, 'has a "hash" without a string "type" and "value"');
  }
  const keys = [...value.keys()];
  const canonical = keys.length === 2 && keys[0] === "type" && keys[1] === "value";
  return canonical ? { type, value: hashValue } : { type, value: hashValue, raw: value };
}

function metaOf(value: PyValue, line: number, logicalKey: string): PyObject {
  // quilt3: `self._meta = meta or {}` — any falsy meta (null, {}, [], 0, "") becomes {}.
  if (value instanceof Map) return value;
  if (!pyTruthy(value)) return new Map();
  throw malformed(line, `(logical key ${JSON.stringify(logicalKey)}) has a "meta" that is not an object`);
}

/** Python's truth value of a decoded JSON value. */
export function pyTruthy(value: PyValue): boolean {
  if (value === null) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "bigint") return value !== 0n;
  if (typeof value === "number") return value !== 0; // NaN is truthy in Python, and NaN !== 0.
  if (typeof value === "string") return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  return value.size > 0;
}

function malformed(line: number, what: string): IntegrityError {
  return new IntegrityError("MANIFEST_MALFORMED", `Manifest line ${line} ${what}.`, {
    hint: "The manifest is corrupt or was not written by a Quilt client.",
  });
}
