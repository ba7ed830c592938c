/**
 * The second half of a build: sort the spooled folder and run records into table order and write
 * the file, sections streamed one after the other. The header goes first but holds the body's
 * SHA-256, so it is written with a placeholder digest of the same length and patched at the end.
 */
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { externalSort } from "../sort/index.js";
import {
  DIR_BYTES,
  INDEX_FORMAT,
  INDEX_VERSION,
  NO_PARENT,
  RUN_BYTES,
  SAMPLE_BYTES,
  encodeDir,
  encodePrefix,
  encodeRun,
  encodeSample,
  type IndexHeader,
  type ManifestIdentity,
  type SectionName,
} from "./format.js";
import { compareSortKeys, decodeFolder, decodeSpooledRun, firstChildRows } from "./folders.js";
import { FileSink, writeAt } from "./sink.js";
import { Spool } from "./spool.js";

export interface AssembleInput {
  readonly identity: ManifestIdentity & { readonly topHashChecked: boolean };
  readonly headerEnd: number;
  readonly entriesStart: number;
  readonly entriesLine: number;
  readonly entries: number;
  readonly totalBytes: number;
  readonly blockBytes: number;
  readonly folders: number;
  readonly childCounts: Uint32Array;
  /** UTF-8 bytes of all folder names. */
  readonly nameBytes: number;
  readonly folderSpool: Spool;
  readonly runSpool: Spool;
  readonly samples: readonly { offset: number; ordinal: number; key: Buffer }[];
  readonly tmpDir: string;
  readonly sortBytes?: number;
  readonly signal?: AbortSignal;
}

/** The sorts' memory budget: millions of folders spill instead of growing the heap (§4.3). */
const SORT_BUDGET = 32 * 1024 * 1024;
const PLACEHOLDER = "0".repeat(64);

export async function assembleIndex(input: AssembleInput, outPath: string): Promise<IndexHeader> {
  const names = new Spool(join(input.tmpDir, "names.spool"), input.sortBytes);
  const temp = `${outPath}.${process.pid}.${Date.now().toString(36)}.tmp`;
  const handle = await open(temp, "w");
  try {
    const header = headerOf(input);
    const json = Buffer.from(JSON.stringify(header), "utf8");
    const sink = new FileSink(handle);
    await sink.write(encodePrefix(json.length));
    await sink.write(json);
    sink.startHashing();
    await writeDirs(input, sink, names);
    await writeRuns(input, sink);
    await writeSamples(input, sink);
    for await (const name of names.records()) await sink.write(name);
    for (const sample of input.samples) await sink.write(sample.key);
    await sink.flush();
    const digest = sink.digest();
    const at = json.indexOf(PLACEHOLDER);
    await writeAt(handle, Buffer.from(digest, "latin1"), 12 + at);
    await handle.sync();
    await handle.close();
    await rename(temp, outPath);
    return { ...header, bodySha256: digest };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  } finally {
    await names.dispose();
  }
}

function headerOf(input: AssembleInput): IndexHeader {
  const keys = input.samples.reduce((sum, s) => sum + s.key.length, 0);
  const names = input.nameBytes;
  // Offsets into names and keys are u32.
  if (names >= 2 ** 32 || keys >= 2 ** 32) throw new Error("QKBI: folder names or sample keys exceed 4 GiB");
  const lengths: Record<SectionName, number> = {
    dirs: input.folders * DIR_BYTES,
    runs: input.runSpool.length * RUN_BYTES,
    samples: input.samples.length * SAMPLE_BYTES,
    names,
    keys,
  };
  let offset = 0;
  const sections = {} as Record<SectionName, { offset: number; length: number }>;
  for (const name of ["dirs", "runs", "samples", "names", "keys"] as const) {
    sections[name] = { offset, length: lengths[name] };
    offset += lengths[name];
  }
  const { topHashChecked, ...manifest } = input.identity;
  return {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    manifest,
    headerEnd: input.headerEnd,
    entriesStart: input.entriesStart,
    entriesLine: input.entriesLine,
    entries: input.entries,
    totalBytes: input.totalBytes,
    dirs: input.folders,
    runs: input.runSpool.length,
    samples: input.samples.length,
    blockBytes: input.blockBytes,
    digests: false,
    topHashChecked,
    sections,
    bodySha256: PLACEHOLDER,
  };
}

function sorted(spool: Spool, input: AssembleInput): AsyncGenerator<Buffer> {
  return externalSort(spool.records(), {
    compare: compareSortKeys,
    serialize: (record: Buffer) => record,
    deserialize: (bytes: Buffer) => Buffer.from(bytes),
    sizeOf: (record: Buffer) => record.length + 96,
    maxBytesInMemory: input.sortBytes ?? SORT_BUDGET,
    tmpDir: input.tmpDir,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
  });
}

async function writeDirs(input: AssembleInput, sink: FileSink, names: Spool): Promise<void> {
  const firstChild = firstChildRows(input.childCounts, input.folders);
  const record = Buffer.alloc(DIR_BYTES);
  let row = 0;
  let nameOff = 0;
  let firstRun = 0;
  for await (const raw of sorted(input.folderSpool, input)) {
    const f = decodeFolder(raw);
    const parent = f.sortParent === 0 ? NO_PARENT : f.sortParent === 1 ? 0 : 1 + (firstChild[f.grandPre] as number) + f.parentRank;
    // Rows follow from the counts alone; a disagreement would be a bug in the builder, not bad input.
    const expected = f.sortParent === 0 ? 0 : 1 + (firstChild[f.sortParent - 1] as number) + f.rank;
    if (row !== expected) throw new Error(`QKBI builder: folder ${f.pre} landed in row ${row}, expected ${expected}`);
    encodeDir(
      {
        parent,
        firstChild: f.childCount === 0 ? 0 : 1 + (firstChild[f.pre] as number),
        childCount: f.childCount,
        nameOff,
        nameLen: f.name.length,
        firstRun,
        runCount: f.runCount,
        ownFiles: f.ownFiles,
        start: f.start,
        end: f.end,
        ownBytes: f.ownBytes,
        subtreeFiles: f.subtreeFiles,
        subtreeBytes: f.subtreeBytes,
        firstOrdinal: f.firstOrdinal,
      },
      record,
      0,
    );
    await sink.write(Buffer.from(record));
    names.append(Buffer.from(f.name));
    nameOff += f.name.length;
    firstRun += f.runCount;
    row += 1;
  }
  if (row !== input.folders || firstRun !== input.runSpool.length) throw new Error("QKBI builder: folder or run count mismatch");
}

async function writeRuns(input: AssembleInput, sink: FileSink): Promise<void> {
  const record = Buffer.alloc(RUN_BYTES);
  for await (const raw of sorted(input.runSpool, input)) {
    encodeRun(decodeSpooledRun(raw), record, 0);
    await sink.write(Buffer.from(record));
  }
}

async function writeSamples(input: AssembleInput, sink: FileSink): Promise<void> {
  const record = Buffer.alloc(SAMPLE_BYTES);
  let keyOff = 0;
  for (const sample of input.samples) {
    encodeSample({ offset: sample.offset, ordinal: sample.ordinal, keyOff, keyLen: sample.key.length }, record, 0);
    await sink.write(Buffer.from(record));
    keyOff += sample.key.length;
  }
}
