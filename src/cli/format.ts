import { dumpsCompact, type PyValue } from "../json/index.js";
import type { ManifestEntry } from "../manifest/index.js";

/**
 * JSON text for `--json`, camelCase, with metadata numbers exact (`1.0` stays `1.0`, big ints
 * stay whole): composed here because `JSON.stringify` cannot write Python's numbers.
 */
export function entryJson(entry: ManifestEntry): string {
  return (
    `{"logicalKey":${JSON.stringify(entry.logicalKey)},"physicalKey":${JSON.stringify(entry.physicalKey)},` +
    `"size":${entry.size},"hash":{"type":${JSON.stringify(entry.hash.type)},"value":${JSON.stringify(entry.hash.value)}},` +
    `"meta":${dumpsCompact(entry.meta)}}`
  );
}

/** An object whose values are already JSON texts, keys in the order given. */
export function objectJson(fields: Record<string, string>): string {
  return `{${Object.entries(fields)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(",")}}`;
}

export const json = (value: unknown): string => JSON.stringify(value);
export const pyJson = (value: PyValue): string => dumpsCompact(value);

export function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
