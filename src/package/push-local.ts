import { createWriteStream } from "node:fs";
import { copyFile, link, mkdir, rm, stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { dirname, join, relative, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { StorageError } from "../errors/index.js";
import { verifyFile } from "../hash/index.js";
import type { ManifestEntry } from "../manifest/index.js";
import type { Registry } from "../registry/registry.js";
import { formatPhysicalKey, parsePhysicalKey } from "../storage/physical-key.js";
import { LocalStorage, type Remotes } from "../storage/index.js";
import { readPhysical } from "./read-physical.js";

export type DataOutcome = "copied" | "exists" | "referenced";

export interface PushedEntry {
  readonly entry: ManifestEntry;
  readonly outcome: DataOutcome;
  /** Where the data was before the push. */
  readonly source: string;
}

/**
 * Copy one entry's data into a local registry at `<prefix><logical key>` (quilt3's layout: prefix
 * `<ns>/<name>/`): a local file, or with `remotes` an S3 object (downloaded). A local folder keeps
 * no object versions, so a file that an earlier revision points to is never overwritten: identical
 * data is reused ("data exists"), different data goes to `<prefix>.versions/<hash>/<logical key>`.
 */
export async function pushEntryToLocalRegistry(entry: ManifestEntry, registry: Registry, prefix: string, remotes?: Remotes): Promise<PushedEntry> {
  const storage = registry.storage;
  if (!(storage instanceof LocalStorage)) throw new Error("pushEntryToLocalRegistry needs a local registry");
  const pk = parsePhysicalKey(entry.physicalKey, { resolveSymlinks: false });
  const inPlace = pk.kind === "file" ? isInside(storage.root, pk.path) : remotes === undefined;
  if (inPlace) return { entry, outcome: "referenced", source: entry.physicalKey };
  const fill = pk.kind === "file" ? (temp: string) => copyFile(pk.path, temp) : (temp: string) => download(remotes as Remotes, entry, temp);
  const plain = storage.pathOf(`${prefix}${entry.logicalKey}`);
  for (const target of [plain, storage.pathOf(`${prefix}.versions/${hashDir(entry)}/${entry.logicalKey}`)]) {
    const placed = await place(fill, entry.physicalKey, target, entry);
    if (placed) {
      const physicalKey = formatPhysicalKey({ kind: "file", path: target });
      return { entry: { ...entry, physicalKey }, outcome: placed, source: entry.physicalKey };
    }
  }
  throw new StorageError("PUSH_DATA_CONFLICT", `Both ${plain} and its versioned twin hold other data than ${entry.physicalKey}.`, {
    hint: "Someone edited files inside the registry folder; restore them or push under another name.",
  });
}

/** Put the data (`fill` writes it to a path) at `target` unless something else is there: "copied", "exists" (same data), or undefined. */
async function place(fill: (temp: string) => Promise<void>, source: string, target: string, entry: ManifestEntry): Promise<DataOutcome | undefined> {
  if (await holdsEntry(target, entry)) return "exists";
  if (await exists(target)) return undefined;
  await mkdir(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.quiltkit-tmp-${randomBytes(6).toString("hex")}`);
  try {
    await fill(temp);
    const check = await verifyFile(temp, entry.hash);
    if (!check.ok || check.size !== entry.size) {
      throw new StorageError("SOURCE_CHANGED", `${source} changed after it was hashed (logical key ${entry.logicalKey}).`, {
        hint: "Rebuild the package so its hashes match the files, then push again.",
      });
    }
    // link() fails if the target appeared meanwhile: never overwrite, even racing another push.
    await link(temp, target);
    return "copied";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return (await holdsEntry(target, entry)) ? "exists" : undefined;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

async function download(remotes: Remotes, entry: ManifestEntry, path: string): Promise<void> {
  await pipeline(readPhysical(remotes, entry), createWriteStream(path, { flags: "wx" }));
}

async function holdsEntry(path: string, entry: ManifestEntry): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile() || info.size !== entry.size) return false;
  return (await verifyFile(path, entry.hash)).ok;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep);
}

function hashDir(entry: ManifestEntry): string {
  return Buffer.from(entry.hash.value, entry.hash.type === "SHA256" ? "hex" : "base64").toString("hex").slice(0, 16);
}
