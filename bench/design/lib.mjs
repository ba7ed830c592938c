// Shared helpers of the design benchmarks: fast line reading, key extraction, measurement.
import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Built Quiltkit (npm run build); QK_DIST points elsewhere, e.g. a scratch build. */
export async function quiltkitSort() {
  const dist = process.env.QK_DIST ?? fileURLToPath(new URL("../../dist", import.meta.url));
  return import(pathToFileURL(`${dist}/sort/index.js`).href);
}

/** Lines of a file (without "\n"), in arrays of a few thousand: one await per chunk, not per line. */
export async function* lineBatches(path, { start = 0, end = Infinity } = {}) {
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, start, end: end - 1 })) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const last = buf.lastIndexOf(10);
    if (last < 0) {
      carry = buf;
      continue;
    }
    carry = Buffer.from(buf.subarray(last + 1));
    yield buf.toString("utf8", 0, last).split("\n");
  }
  if (carry.length > 0) yield [carry.toString("utf8")];
}

export async function* lines(path) {
  for await (const batch of lineBatches(path)) yield* batch;
}

const KEY_START = '{"logical_key": "'.length;

/** The logical key of a manifest entry line, without parsing the whole line. */
export function keyOfLine(line) {
  let i = KEY_START;
  let escaped = false;
  for (;;) {
    const c = line.charCodeAt(i);
    if (c === 0x22) break;
    if (c === 0x5c) {
      escaped = true;
      i++;
    }
    i++;
  }
  const raw = line.slice(KEY_START, i);
  return escaped ? JSON.parse(`"${raw}"`) : raw;
}

/** Byte string whose memcmp order is tree-walk order: UTF-8, '/' → 0x00, every other byte + 1. */
export function sortKeyBlob(key) {
  const b = Buffer.from(key, "utf8");
  for (let i = 0; i < b.length; i++) b[i] = b[i] === 0x2f ? 0 : b[i] + 1;
  return b;
}

/** A buffered line writer: one syscall per ~1 MiB. */
export function lineWriter(path) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let parts = [];
  let size = 0;
  let bytes = 0;
  return {
    async write(line) {
      parts.push(line);
      size += line.length + 1;
      if (size >= 1 << 20) await this.flush();
    },
    async flush() {
      if (parts.length === 0) return;
      const s = parts.join("\n") + "\n";
      bytes += Buffer.byteLength(s);
      parts = [];
      size = 0;
      if (!out.write(s)) await once(out, "drain");
    },
    async close() {
      await this.flush();
      out.end();
      await once(out, "finish");
      return bytes;
    },
  };
}

export const maxRssMiB = () => +(process.resourceUsage().maxRSS / 1024).toFixed(0);
export const seconds = (t0) => +((performance.now() - t0) / 1000).toFixed(1);

/** Samples RSS every 200 ms; `peak` is the largest value seen (maxRSS never goes down). */
export function rssSampler() {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 200);
  timer.unref();
  return { stop: () => (clearInterval(timer), +(Math.max(peak, process.memoryUsage.rss()) / 2 ** 20).toFixed(0)) };
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Samples free space of the filesystem holding `dir`; `peakUsedMiB` is the largest drop seen. */
export async function diskSampler(dir) {
  const { statfsSync } = await import("node:fs");
  const free = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  const start = free();
  let min = start;
  const timer = setInterval(() => (min = Math.min(min, free())), 250);
  timer.unref();
  return { stop: () => (clearInterval(timer), +((start - Math.min(min, free())) / 2 ** 20).toFixed(0)) };
}

/** A fixed CPU workload (ms), printed beside every result: this machine is shared, so compare runs by it. */
export function cpuRefMs() {
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < 2e7; i++) x = (x + i * 7) % 1000003;
  return +(performance.now() - t0).toFixed(0) + (x < 0 ? 1 : 0);
}
