// Prototype of the browse sidecar index (docs/design.md §4): build it from a manifest in tree-walk
// order in one streaming pass, write it, then answer `ls` and point lookups with positioned reads
// only, counting the bytes each needs. Checks every answer against a full scan.
// Usage: node browse-index.mjs SORTED_MANIFEST INDEX_OUT [--block-kib 64]
//
// Layout (all integers little-endian):
//   "QKBI" u32 formatVersion=1 u32 headerJsonLength, header JSON (manifest bytes/sha256, counts,
//   section offsets and sizes), then the sections:
//   dirs    64-byte records in (parent, name) order: the children of a folder are contiguous
//           u32 parent, u32 firstChild, u32 childCount, u32 nameOff, u32 nameLen, u32 firstRun,
//           u32 runCount, u32 directFiles, u64 subtreeStart, u64 subtreeEnd, u64 directBytes,
//           u32 subtreeFiles, u32 subtreeMiB
//   runs    24 bytes: u64 start, u64 end, u32 firstOrdinal, u32 count — maximal byte ranges of a
//           folder's own entry lines between its subfolders' subtrees
//   samples 16 bytes: u64 offset, u32 ordinal, u32 keyOff — the first line at or after every
//           block boundary of the manifest; keys in the string heap
//   strings UTF-8 heap of folder names and sample keys
import { createHash } from "node:crypto";
import { openSync, readSync, closeSync, writeFileSync, statSync } from "node:fs";
import { lineBatches, keyOfLine, maxRssMiB, seconds, arg, cpuRefMs, quiltkitSort } from "./lib.mjs";

const { compareLogicalKeys } = await quiltkitSort();
const [manifest, indexPath] = process.argv.slice(2);
const blockBytes = Number(arg("block-kib", "64")) * 1024;
const DIR_BYTES = 64;
const RUN_BYTES = 24;
const SAMPLE_BYTES = 16;

// Keys and paths are cut out of 1 MiB chunk strings; V8 keeps the whole chunk alive behind a
// slice, so anything kept past the current line must be copied first (this cost 3 GB of RSS).
const own = (s) => Buffer.from(s, "utf8").toString("utf8");

const sizeOfLine = (l) => {
  const i = l.indexOf('"size": ') + 8;
  return Number(l.slice(i, l.indexOf(",", i)));
};

// ---------- build: one pass, a stack of open folders ----------
function newDir(path, start, preorder) {
  return { path, start, end: 0, preorder, files: 0, bytes: 0, subFiles: 0, subBytes: 0, runs: [], runStart: -1, runFirst: 0, runCount: 0, parent: undefined };
}

async function build() {
  const t0 = performance.now();
  const sha = createHash("sha256");
  const dirs = [];
  const samples = [];
  const stack = [newDir("", 0, 0)];
  let preorder = 1;
  let offset = 0;
  let ordinal = 0;
  let nextSample = 0;
  const closeRun = (d, at) => {
    if (d.runStart >= 0) d.runs.push({ start: d.runStart, end: at, first: d.runFirst, count: d.runCount });
    d.runStart = -1;
  };
  const closeTop = (at) => {
    const d = stack.pop();
    closeRun(d, at);
    d.end = at;
    const parent = stack[stack.length - 1];
    parent.subFiles += d.subFiles;
    parent.subBytes += d.subBytes;
    d.parent = parent.path;
    dirs.push(d);
  };
  for await (const batch of lineBatches(manifest)) {
    for (const line of batch) {
      const bytes = Buffer.byteLength(line) + 1;
      sha.update(line + "\n");
      const key = keyOfLine(line);
      const slash = key.lastIndexOf("/");
      const dir = slash < 0 ? "" : key.slice(0, slash);
      while (stack.length > 1 && !(dir === stack.at(-1).path || dir.startsWith(stack.at(-1).path + "/"))) closeTop(offset);
      for (let top = stack.at(-1); top.path !== dir; top = stack.at(-1)) {
        const rest = top.path === "" ? dir : dir.slice(top.path.length + 1);
        const name = rest.split("/", 1)[0];
        closeRun(top, offset);
        stack.push(newDir(own(top.path === "" ? name : `${top.path}/${name}`), offset, preorder++));
      }
      const d = stack.at(-1);
      if (d.runStart < 0) {
        d.runStart = offset;
        d.runFirst = ordinal;
        d.runCount = 0;
      }
      const size = sizeOfLine(line);
      d.runCount++;
      d.files++;
      d.bytes += size;
      d.subFiles++;
      d.subBytes += size;
      if (offset >= nextSample) {
        samples.push({ offset, ordinal, key: own(key) });
        nextSample = (Math.floor(offset / blockBytes) + 1) * blockBytes;
      }
      offset += bytes;
      ordinal++;
    }
  }
  while (stack.length > 1) closeTop(offset);
  const root = stack[0];
  closeRun(root, offset);
  root.end = offset;
  dirs.push(root);
  return { dirs, samples, manifestBytes: offset, entries: ordinal, sha256: sha.digest("hex"), buildSeconds: seconds(t0) };
}

// ---------- serialize ----------
function serialize({ dirs, samples, manifestBytes, entries, sha256 }) {
  // (parent, name) order = order by (parent's preorder, own preorder): children stay contiguous
  // and sorted by name, because preorder is tree-walk order.
  const byPath = new Map(dirs.map((d) => [d.path, d]));
  const rank = (d) => (d.path === "" ? -1 : byPath.get(d.parent).preorder);
  const table = [...dirs].sort((a, b) => rank(a) - rank(b) || a.preorder - b.preorder);
  table.forEach((d, i) => (d.index = i));
  for (const d of table) d.children = [];
  for (const d of table) if (d.path !== "") byPath.get(d.parent).children.push(d);
  const strings = [];
  let stringBytes = 0;
  const addString = (s) => {
    const b = Buffer.from(s, "utf8");
    strings.push(b);
    stringBytes += b.length;
    return [stringBytes - b.length, b.length];
  };
  const dirBuf = Buffer.alloc(table.length * DIR_BYTES);
  const runList = [];
  for (const d of table) {
    const o = d.index * DIR_BYTES;
    const [nameOff, nameLen] = addString(d.path.slice(d.path.lastIndexOf("/") + 1));
    dirBuf.writeUInt32LE(d.path === "" ? 0xffffffff : byPath.get(d.parent).index, o);
    dirBuf.writeUInt32LE(d.children.length ? d.children[0].index : 0, o + 4);
    dirBuf.writeUInt32LE(d.children.length, o + 8);
    dirBuf.writeUInt32LE(nameOff, o + 12);
    dirBuf.writeUInt32LE(nameLen, o + 16);
    dirBuf.writeUInt32LE(runList.length, o + 20);
    dirBuf.writeUInt32LE(d.runs.length, o + 24);
    dirBuf.writeUInt32LE(d.files, o + 28);
    dirBuf.writeBigUInt64LE(BigInt(d.start), o + 32);
    dirBuf.writeBigUInt64LE(BigInt(d.end), o + 40);
    dirBuf.writeBigUInt64LE(BigInt(d.bytes), o + 48);
    dirBuf.writeUInt32LE(d.subFiles, o + 56);
    dirBuf.writeUInt32LE(Math.min(0xffffffff, Math.floor(d.subBytes / 2 ** 20)), o + 60); // MiB
    runList.push(...d.runs);
  }
  const runBuf = Buffer.alloc(runList.length * RUN_BYTES);
  runList.forEach((r, i) => {
    runBuf.writeBigUInt64LE(BigInt(r.start), i * RUN_BYTES);
    runBuf.writeBigUInt64LE(BigInt(r.end), i * RUN_BYTES + 8);
    runBuf.writeUInt32LE(r.first, i * RUN_BYTES + 16);
    runBuf.writeUInt32LE(r.count, i * RUN_BYTES + 20);
  });
  const sampleBuf = Buffer.alloc(samples.length * SAMPLE_BYTES);
  samples.forEach((s, i) => {
    const [keyOff, keyLen] = addString(s.key);
    sampleBuf.writeBigUInt64LE(BigInt(s.offset), i * SAMPLE_BYTES);
    sampleBuf.writeUInt32LE(s.ordinal, i * SAMPLE_BYTES + 8);
    sampleBuf.writeUInt32LE(keyOff, i * SAMPLE_BYTES + 12);
    s.keyLen = keyLen;
  });
  const sampleKeyLens = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => sampleKeyLens.writeUInt16LE(s.keyLen, i * 2));
  const sections = [["dirs", dirBuf], ["runs", runBuf], ["samples", sampleBuf], ["sampleKeyLens", sampleKeyLens], ["strings", Buffer.concat(strings)]];
  const header = { format: "quiltkit-browse-index", version: 1, manifest: { bytes: manifestBytes, sha256 }, entries, dirs: table.length, runs: runList.length, samples: samples.length, blockBytes, sections: {} };
  let at = 0;
  for (const [name, buf] of sections) {
    header.sections[name] = { offset: at, length: buf.length };
    at += buf.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const pre = Buffer.alloc(12);
  pre.write("QKBI", 0, "latin1");
  pre.writeUInt32LE(1, 4);
  pre.writeUInt32LE(json.length, 8);
  const base = 12 + json.length;
  return { file: Buffer.concat([pre, json, ...sections.map((s) => s[1])]), header, base, sectionSizes: Object.fromEntries(sections.map(([n, b]) => [n, b.length])) };
}

// ---------- reader: positioned reads only, every byte counted ----------
class Reader {
  constructor(indexPath, manifestPath) {
    this.ifd = openSync(indexPath, "r");
    this.mfd = openSync(manifestPath, "r");
    this.indexBytes = 0;
    this.manifestBytes = 0;
    this.reads = 0;
    const pre = this.readIndex(0, 12);
    const json = this.readIndex(12, pre.readUInt32LE(8));
    this.header = JSON.parse(json.toString());
    this.base = 12 + json.length;
  }
  readAt(fd, pos, len) {
    const b = Buffer.alloc(len);
    readSync(fd, b, 0, len, pos);
    this.reads++;
    return b;
  }
  readIndex(pos, len) {
    this.indexBytes += len;
    return this.readAt(this.ifd, pos, len);
  }
  section(name, pos, len) {
    return this.readIndex(this.base + this.header.sections[name].offset + pos, len);
  }
  dir(i) {
    const b = this.section("dirs", i * DIR_BYTES, DIR_BYTES);
    return { index: i, parent: b.readUInt32LE(0), firstChild: b.readUInt32LE(4), childCount: b.readUInt32LE(8), nameOff: b.readUInt32LE(12), nameLen: b.readUInt32LE(16), firstRun: b.readUInt32LE(20), runCount: b.readUInt32LE(24), files: b.readUInt32LE(28), subFiles: b.readUInt32LE(56) };
  }
  children(d) {
    // One ranged read for all child records, one for their names (contiguous in the heap).
    if (d.childCount === 0) return [];
    const recs = this.section("dirs", d.firstChild * DIR_BYTES, d.childCount * DIR_BYTES);
    const kids = [];
    for (let k = 0; k < d.childCount; k++) {
      const o = k * DIR_BYTES;
      kids.push({ index: d.firstChild + k, firstChild: recs.readUInt32LE(o + 4), childCount: recs.readUInt32LE(o + 8), nameOff: recs.readUInt32LE(o + 12), nameLen: recs.readUInt32LE(o + 16), firstRun: recs.readUInt32LE(o + 20), runCount: recs.readUInt32LE(o + 24), files: recs.readUInt32LE(o + 28), subFiles: recs.readUInt32LE(o + 56) });
    }
    const first = kids[0].nameOff;
    const last = kids.at(-1);
    const names = this.section("strings", first, last.nameOff + last.nameLen - first);
    for (const k of kids) k.name = names.toString("utf8", k.nameOff - first, k.nameOff - first + k.nameLen);
    return kids;
  }
  /** Walks from the root: at each level, a binary search over the (already read) child names. */
  lookupDir(path) {
    let d = this.dir(0);
    if (path === "") return d;
    for (const name of path.split("/")) {
      const kids = this.children(d);
      let lo = 0;
      let hi = kids.length - 1;
      let found;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const c = compareLogicalKeys(kids[mid].name, name);
        if (c === 0) {
          found = kids[mid];
          break;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
      }
      if (!found) return undefined;
      d = found;
    }
    return d;
  }
  runs(d) {
    const b = this.section("runs", d.firstRun * RUN_BYTES, d.runCount * RUN_BYTES);
    return Array.from({ length: d.runCount }, (_, i) => ({ start: Number(b.readBigUInt64LE(i * RUN_BYTES)), end: Number(b.readBigUInt64LE(i * RUN_BYTES + 8)), first: b.readUInt32LE(i * RUN_BYTES + 16), count: b.readUInt32LE(i * RUN_BYTES + 20) }));
  }
  manifestLines(start, end) {
    this.manifestBytes += end - start;
    return this.readAt(this.mfd, start, end - start).toString("utf8").split("\n").slice(0, -1);
  }
  /** `ls PATH`: child folders (with counts) and the folder's own entries, optionally one page. */
  ls(path, { limit = Infinity } = {}) {
    const d = this.lookupDir(path);
    const folders = this.children(d).map((k) => `${k.name}/ (${k.subFiles})`);
    const files = [];
    for (const r of this.runs(d)) {
      if (files.length >= limit) break;
      // Paging: read only as much of the run as the page needs, rounded to a block.
      const want = limit - files.length;
      const end = want >= r.count ? r.end : Math.min(r.end, r.start + Math.ceil((want * (r.end - r.start)) / r.count / blockBytes + 1) * blockBytes);
      for (const l of this.manifestLines(r.start, end).slice(0, want)) files.push(keyOfLine(l));
    }
    return { folders, files: files.slice(0, limit) };
  }
  /** Point lookup: binary search over block samples (keys read lazily), then one block read. */
  get(key) {
    const n = this.header.samples;
    const sampleKey = (i) => {
      const s = this.section("samples", i * SAMPLE_BYTES, SAMPLE_BYTES);
      const len = this.section("sampleKeyLens", i * 2, 2).readUInt16LE(0);
      return { offset: Number(s.readBigUInt64LE(0)), key: this.section("strings", s.readUInt32LE(12), len).toString("utf8") };
    };
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareLogicalKeys(sampleKey(mid).key, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    const start = sampleKey(lo).offset;
    const end = lo + 1 < n ? sampleKey(lo + 1).offset : this.header.manifest.bytes;
    return this.manifestLines(start, end).find((l) => keyOfLine(l) === key);
  }
  measure(fn) {
    this.indexBytes = 0;
    this.manifestBytes = 0;
    this.reads = 0;
    const t0 = performance.now();
    const result = fn();
    return { result, indexBytes: this.indexBytes, manifestBytes: this.manifestBytes, reads: this.reads, ms: +(performance.now() - t0).toFixed(1) };
  }
}

// ---------- ground truth by full scan ----------
async function truth(queries) {
  const out = new Map(queries.map((q) => [q, { folders: new Map(), files: [] }]));
  for await (const batch of lineBatches(manifest)) {
    for (const line of batch) {
      const key = keyOfLine(line);
      for (const q of queries) {
        const prefix = q === "" ? "" : `${q}/`;
        if (!key.startsWith(prefix)) continue;
        const rest = key.slice(prefix.length);
        const t = out.get(q);
        const slash = rest.indexOf("/");
        if (slash < 0) t.files.push(key);
        else t.folders.set(rest.slice(0, slash), (t.folders.get(rest.slice(0, slash)) ?? 0) + 1);
      }
    }
  }
  return out;
}

const cpuRef = cpuRefMs();
const built = await build();
const t1 = performance.now();
const { file, header, sectionSizes } = serialize(built);
writeFileSync(indexPath, file);
const serializeSeconds = seconds(t1);
const buildRss = maxRssMiB();
const reader = new Reader(indexPath, manifest);
const queries = ["", "train", "train/000123", "train/000123/ann", "raw/big", "extra/a/b/c/d"];
const expected = await truth(queries);
const results = {};
for (const q of queries) {
  const m = reader.measure(() => reader.ls(q));
  const e = expected.get(q);
  const ok = JSON.stringify(m.result.files) === JSON.stringify(e.files) && JSON.stringify(m.result.folders) === JSON.stringify([...e.folders].map(([n, c]) => `${n}/ (${c})`));
  if (!ok) throw new Error(`ls ${q} differs from the scan`);
  results[`ls ${q || "/"}`] = { folders: m.result.folders.length, files: m.result.files.length, indexBytes: m.indexBytes, manifestBytes: m.manifestBytes, reads: m.reads, ms: m.ms };
}
const page = reader.measure(() => reader.ls("raw/big", { limit: 1000 }));
if (JSON.stringify(page.result.files) !== JSON.stringify(expected.get("raw/big").files.slice(0, 1000))) throw new Error("page differs");
results["ls raw/big first 1000"] = { files: page.result.files.length, indexBytes: page.indexBytes, manifestBytes: page.manifestBytes, reads: page.reads, ms: page.ms };
const someKey = expected.get("train/000123").files[17];
const got = reader.measure(() => reader.get(someKey));
if (!got.result || keyOfLine(got.result) !== someKey) throw new Error("get failed");
results[`get ${someKey}`] = { indexBytes: got.indexBytes, manifestBytes: got.manifestBytes, reads: got.reads, ms: got.ms };
console.log(
  JSON.stringify({
    manifestMiB: +(built.manifestBytes / 2 ** 20).toFixed(0),
    entries: built.entries,
    dirs: header.dirs,
    runs: header.runs,
    samples: header.samples,
    blockKiB: blockBytes / 1024,
    indexBytes: statSync(indexPath).size,
    sectionSizes,
    buildSeconds: built.buildSeconds,
    serializeSeconds,
    buildMaxRssMiB: buildRss,
    cpuRefMs: cpuRef,
    queries: results,
  }),
);
closeSync(reader.ifd);
closeSync(reader.mfd);
