import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root, and `../shared` beside it (as laid out for developers and CI). */
export const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
export const SHARED = process.env.QUILTKIT_SHARED ?? resolve(ROOT, "../shared");
export const QUILT3_VECTORS = resolve(SHARED, "vectors/quilt3");
export const QUILT_RS_VECTORS = resolve(SHARED, "vectors/quilt-rs");

if (!existsSync(QUILT3_VECTORS)) {
  throw new Error(`The shared vectors are not at ${QUILT3_VECTORS}; set QUILTKIT_SHARED to the shared/ folder.`);
}

export interface VectorFile {
  size: number;
  SHA256: string;
  "sha2-256-chunked": string;
  CRC64NVME: string;
  chunksize: number;
  num_chunks: number;
  part_sha256_hex: string[];
}

export interface VectorOp {
  op: string;
  [key: string]: unknown;
}

export interface VectorCase {
  id: string;
  description: string;
  ops: VectorOp[];
  op_results: unknown[];
  top_hash: string;
  top_hash_preimage_parts: string[];
  header_json: string;
  entries: { logical_key: string; physical_key: string; size: number; hash: unknown; meta_json: string }[];
  dir_meta: unknown[];
  dump_file: string;
  dump_sha256: string;
  registry_writes: { path: string; kind: string; content?: string; file?: string; sha256: string; size: number }[];
}

export interface Quilt3Vectors {
  fixed_paths: { inputs_root: string; local_registry: string };
  files: Record<string, VectorFile>;
  checksum_examples: unknown;
  cases: VectorCase[];
}

export function loadQuilt3Vectors(): Quilt3Vectors {
  // The vectors are plain JSON with no number whose Python meaning matters at this level:
  // every metadata value is carried as JSON text (meta_json, header_json).
  return JSON.parse(readFileSync(resolve(QUILT3_VECTORS, "expected.json"), "utf8")) as Quilt3Vectors;
}
