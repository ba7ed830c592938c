/** Reading and checking the fixed prefix and the header JSON of a QKBI file. */
import { indexCorrupt, indexUnknownVersion } from "./errors.js";
import {
  DIR_BYTES,
  INDEX_FORMAT,
  INDEX_MAGIC,
  INDEX_VERSION,
  PREFIX_BYTES,
  RUN_BYTES,
  SAMPLE_BYTES,
  SECTION_NAMES,
  type IndexHeader,
} from "./format.js";

/** Magic and version of the first 12 bytes; the header JSON's length. */
export function headerLengthOf(prefix: Buffer): number {
  if (prefix.length < PREFIX_BYTES || prefix.toString("latin1", 0, 4) !== INDEX_MAGIC) throw indexUnknownVersion("it does not start with QKBI");
  const version = prefix.readUInt32LE(4);
  if (version !== INDEX_VERSION) throw indexUnknownVersion(`version ${version}`);
  const length = prefix.readUInt32LE(8);
  if (length === 0 || length > 1024 * 1024) throw indexCorrupt(`a header of ${length} bytes`);
  return length;
}

export function parseHeader(json: Buffer): IndexHeader {
  let value: unknown;
  try {
    value = JSON.parse(json.toString("utf8"));
  } catch {
    throw indexCorrupt("its header is not JSON");
  }
  const header = value as IndexHeader;
  if (typeof value !== "object" || value === null || header.format !== INDEX_FORMAT || header.version !== INDEX_VERSION) {
    throw indexUnknownVersion(`format ${JSON.stringify((value as { format?: unknown } | null)?.format)}`);
  }
  checkShape(header);
  return header;
}

/** The total file size the header describes. */
export function fileSizeOf(header: IndexHeader, headerLength: number): number {
  return PREFIX_BYTES + headerLength + header.sections.keys.offset + header.sections.keys.length;
}

function checkShape(h: IndexHeader): void {
  const counts = [h.entries, h.totalBytes, h.dirs, h.runs, h.samples, h.blockBytes, h.headerEnd, h.entriesStart, h.entriesLine];
  if (!counts.every(isCount) || typeof h.manifest !== "object" || h.manifest === null) throw indexCorrupt("its header has missing or invalid fields");
  const m = h.manifest;
  if (!isCount(m.bytes) || typeof m.sha256 !== "string" || typeof m.topHash !== "string") throw indexCorrupt("its header does not identify a manifest");
  if (h.dirs < 1 || h.headerEnd > h.entriesStart || h.entriesStart > m.bytes) throw indexCorrupt("its header's offsets are inconsistent");
  const want = { dirs: h.dirs * DIR_BYTES, runs: h.runs * RUN_BYTES, samples: h.samples * SAMPLE_BYTES };
  let at = 0;
  for (const name of SECTION_NAMES) {
    const section = h.sections?.[name];
    if (section === undefined || !isCount(section.offset) || !isCount(section.length) || section.offset !== at) {
      throw indexCorrupt(`its section ${name} is missing or misplaced`);
    }
    const expected = (want as Record<string, number | undefined>)[name];
    if (expected !== undefined && section.length !== expected) throw indexCorrupt(`its section ${name} has the wrong length`);
    at += section.length;
  }
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
