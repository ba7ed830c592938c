/**
 * What the index builder needs from a manifest line (its kind, key and size) read off the raw
 * bytes: lines laid out as quilt3 and we write them take no JSON parse; any other layout is parsed.
 */
import { parsePyJson, type PyValue } from "../json/index.js";

export type ScannedLine = { readonly kind: "entry"; readonly key: string; readonly size: number } | { readonly kind: "dir" };

const LINE_START = Buffer.from('{"logical_key": "', "latin1");
const ENTRY_NEXT = Buffer.from('", "physical_keys": [', "latin1");
const DIR_NEXT = Buffer.from('", "meta": ', "latin1");
const SIZE_NEXT = Buffer.from(', "size": ', "latin1");
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The line `buf[start, end)` (without its `\n`); `undefined` when it is not a manifest line at all. */
export function scanLine(buf: Buffer, start: number, end: number): ScannedLine | undefined {
  return fastScan(buf, start, end) ?? slowScan(buf.toString("utf8", start, end));
}

function fastScan(buf: Buffer, start: number, end: number): ScannedLine | undefined {
  if (!startsWith(buf, start, end, LINE_START)) return undefined;
  const keyStart = start + LINE_START.length;
  const close = stringEnd(buf, keyStart, end);
  if (close === undefined) return undefined;
  if (startsWith(buf, close, end, DIR_NEXT)) return DIR;
  if (!startsWith(buf, close, end, ENTRY_NEXT)) return undefined;
  const afterKeys = skipStrings(buf, close + ENTRY_NEXT.length, end);
  if (afterKeys === undefined || !startsWith(buf, afterKeys, end, SIZE_NEXT)) return undefined;
  const size = digitsAt(buf, afterKeys + SIZE_NEXT.length, end);
  if (size === undefined) return undefined;
  const raw = buf.toString("utf8", keyStart, close);
  // An escape in the key (`\"`, `\\`, `\uXXXX`) needs JSON's decoding; plain text is the key.
  const key = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
  return { kind: "entry", key, size };
}

const DIR: ScannedLine = { kind: "dir" };

/** The index of the `"` that closes a JSON string whose text starts at `at`. */
function stringEnd(buf: Buffer, at: number, end: number): number | undefined {
  for (let i = at; i < end; i++) {
    const c = buf[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return undefined;
}

/** Past `"a", "b"]` (a non-empty list of strings, `[` already consumed): the index after `]`. */
function skipStrings(buf: Buffer, at: number, end: number): number | undefined {
  let i = at;
  for (;;) {
    if (buf[i] !== QUOTE) return undefined;
    const close = stringEnd(buf, i + 1, end);
    if (close === undefined) return undefined;
    i = close + 1;
    if (buf[i] === 0x5d) return i + 1; // ]
    if (buf[i] !== 0x2c || buf[i + 1] !== 0x20) return undefined; // ", "
    i += 2;
  }
}

function digitsAt(buf: Buffer, at: number, end: number): number | undefined {
  let value = 0;
  let i = at;
  for (; i < end && i - at < 16; i++) {
    const c = buf[i] as number;
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  if (i === at || buf[i] !== 0x2c || (buf[at] === 0x30 && i - at > 1)) return undefined;
  return value;
}

/** A loop, not `Buffer#compare`: for a prefix of a few bytes the native call's fixed cost was most of the scan. */
function startsWith(buf: Buffer, at: number, end: number, prefix: Buffer): boolean {
  if (end - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

/** Any other layout, with the reader's rules: no (or empty) `physical_keys` makes a directory line. */
function slowScan(text: string): ScannedLine | undefined {
  let value: PyValue;
  try {
    value = parsePyJson(text);
  } catch {
    return undefined;
  }
  if (!(value instanceof Map)) return undefined;
  const key = value.get("logical_key");
  if (typeof key !== "string") return undefined;
  const physical = value.get("physical_keys");
  if (physical === undefined || physical === null || (Array.isArray(physical) && physical.length === 0)) return { kind: "dir" };
  const size = value.get("size");
  if (typeof size !== "bigint" || size < 0n || size > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { kind: "entry", key, size: Number(size) };
}
