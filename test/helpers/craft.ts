/**
 * Hand-made manifests and registries, written without any Quiltkit code so that hostile inputs
 * are exactly what a test says: the top hash (spec §2.1), sha2-256-chunked of small files (§3.2),
 * quilt3's manifest line format (§1) and the V1 registry layout (§4.1) are re-implemented here for
 * the simple values tests use (strings, integers, booleans, null, lists, dicts).
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CraftedEntry {
  readonly logicalKey: string;
  readonly physicalKey: string;
  readonly size: number;
  readonly hash: { readonly type: string; readonly value: string };
  readonly meta?: { [key: string]: Json };
}

/** sha2-256-chunked of a file under 8 MiB (one part; the empty file has none). */
export function chunkedSha256(data: Buffer): string {
  const sha = (b: Buffer): Buffer => createHash("sha256").update(b).digest();
  return (data.length === 0 ? sha(data) : sha(sha(data))).toString("base64");
}

/** An entry for `data` stored at the local file `path` (written here). */
export function fileEntry(logicalKey: string, path: string, data: Buffer | string): CraftedEntry {
  const bytes = Buffer.from(data);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return { logicalKey, physicalKey: pathToFileURL(path).href, size: bytes.length, hash: { type: "sha2-256-chunked", value: chunkedSha256(bytes) } };
}

function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] as string).codePointAt(0)! - (y[i] as string).codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** quilt3's walk order: segment lists compared segment by segment, by code point (§1.5). */
export function compareWalkOrder(a: string, b: string): number {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = compareCodePoints(x[i] as string, y[i] as string);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** `json.dumps(v, sort_keys=True, separators=(',', ':'))` (ensure_ascii) for simple values. */
export function hashJson(value: Json): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isSafeInteger(value)) throw new Error("hashJson: integers only");
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  if (Array.isArray(value)) return `[${value.map(hashJson).join(",")}]`;
  const keys = Object.keys(value).sort(compareCodePoints);
  return `{${keys.map((k) => `${hashJson(k)}:${hashJson(value[k] as Json)}`).join(",")}}`;
}

/** `json.dumps(v, ensure_ascii=False)`, keys in insertion order: a manifest line. */
export function lineJson(value: Json): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(lineJson).join(", ")}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}: ${lineJson(v)}`)
    .join(", ")}}`;
}

export interface CraftedManifest {
  /** The manifest file's text (JSONL, every line ending in `\n`). */
  readonly text: string;
  /** quilt3's top hash of it: header, then entries in walk order (duplicates hashed as listed). */
  readonly topHash: string;
}

/** A manifest of `entries` (written in walk order unless `keepOrder`), with its top hash. */
export function craftManifest(
  entries: readonly CraftedEntry[],
  options: { header?: { [key: string]: Json }; keepOrder?: boolean } = {},
): CraftedManifest {
  const header = options.header ?? { version: "v0", message: "crafted" };
  const ordered = options.keepOrder ? [...entries] : [...entries].sort((a, b) => compareWalkOrder(a.logicalKey, b.logicalKey));
  const hash = createHash("sha256").update(hashJson(header));
  const lines = [lineJson(header)];
  for (const e of ordered) {
    const meta = e.meta ?? {};
    hash.update(hashJson({ hash: e.hash, logical_key: e.logicalKey, meta, size: e.size }));
    lines.push(lineJson({ logical_key: e.logicalKey, physical_keys: [e.physicalKey], size: e.size, hash: e.hash, meta }));
  }
  return { text: lines.map((l) => l + "\n").join(""), topHash: hash.digest("hex") };
}

/**
 * A V1 registry by hand: the manifest at `.quilt/packages/<name>` (its top hash unless `fileName`
 * says otherwise) and the pointers `latest` (plus `extraPointers`), holding `pointerText` when
 * given instead of the bare hash.
 */
export function writeCraftedRegistry(
  root: string,
  packageName: string,
  manifest: { text: string | Buffer; topHash: string },
  options: { fileName?: string; pointerText?: string; extraPointers?: readonly string[] } = {},
): void {
  const manifestPath = join(root, ".quilt", "packages", options.fileName ?? manifest.topHash);
  mkdirSync(dirname(manifestPath), { recursive: true });
  writeFileSync(manifestPath, manifest.text);
  const pointers = join(root, ".quilt", "named_packages", ...packageName.split("/"));
  mkdirSync(pointers, { recursive: true });
  for (const pointer of ["latest", "1700000000", ...(options.extraPointers ?? [])]) {
    writeFileSync(join(pointers, pointer), options.pointerText ?? manifest.topHash);
  }
}
