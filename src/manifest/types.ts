import type { PyObject, PyValue } from "../json/index.js";

/** The `hash` object of an entry, e.g. `{"type": "sha2-256-chunked", "value": "<base64>"}`. */
export interface EntryHash {
  readonly type: string;
  readonly value: string;
  /**
   * The dict exactly as a loaded manifest held it, kept only when it differs from the canonical
   * `{"type", "value"}` (other key order, extra keys): quilt3 re-dumps and hashes it as stored.
   */
  readonly raw?: PyObject;
}

/** One file of a package: an entry line of the manifest (spec §1.3). */
export interface ManifestEntry {
  readonly logicalKey: string;
  /** `physical_keys[0]`, normalized as quilt3 re-prints it (spec §4.6). */
  readonly physicalKey: string;
  readonly size: number;
  readonly hash: EntryHash;
  /** The entry's whole metadata dict; user metadata lives under `user_meta`. */
  readonly meta: PyObject;
}

/** A directory-metadata line (spec §1.4): `meta` is the user metadata itself. */
export interface DirMeta {
  /** The directory's logical key with its trailing `/`, e.g. `data/sub/`. */
  readonly logicalKey: string;
  readonly meta: PyValue;
}

/** A manifest line as read, in file order. */
export type ManifestRecord =
  | { readonly kind: "header"; readonly header: PyObject; readonly line: number }
  | { readonly kind: "dir"; readonly dir: DirMeta; readonly line: number }
  | { readonly kind: "entry"; readonly entry: ManifestEntry; readonly line: number };

/** A manifest's bytes, as a stream of chunks; re-openable so a second pass is possible. */
export type ManifestSource = () => AsyncIterable<Uint8Array>;
