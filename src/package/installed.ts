import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../errors/index.js";

/** Our state folder in an installed folder or workspace; never part of a package, never compared. */
export const STATE_DIR = ".quiltkit";

/** `DEST/.quiltkit/installed.json`: what an installed folder came from (versioned format). */
export interface InstalledState {
  readonly version: 1;
  readonly registry: string;
  readonly name: string;
  readonly topHash: string;
  /** The logical prefix installed (`--path`), `""` for the whole package. */
  readonly path: string;
  readonly installedAt: string;
}

export async function writeInstalledState(dest: string, state: Omit<InstalledState, "version">): Promise<void> {
  const dir = join(dest, STATE_DIR);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `installed.json.${process.pid}.tmp`);
  await writeFile(temp, JSON.stringify({ version: 1, ...state }, null, 2) + "\n");
  await rename(temp, join(dir, "installed.json"));
}

/** The installed state of `dir`, or undefined if it was not made by `quilt install`. */
export async function readInstalledState(dir: string): Promise<InstalledState | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_DIR, "installed.json"), "utf8");
  } catch {
    return undefined;
  }
  const state = JSON.parse(text) as Partial<InstalledState>;
  if (state.version !== 1) {
    throw new UsageError("STATE_VERSION", `${join(dir, STATE_DIR)} was written by another version of quiltkit.`, {
      hint: "Upgrade quiltkit, or reinstall the folder.",
    });
  }
  return state as InstalledState;
}

/**
 * `DEST/.quiltkit/reinstall.json`: the receipt of a complete install, for a reinstall with nothing
 * changed. It names what was installed (top hash and path) and the stat cache that install left
 * (record count and checksum), which recorded every file it placed: while that cache's records
 * all still hold, the folder is that install, intact, and a reinstall reads neither the manifest
 * (immutable under its top hash, checked by that install) nor any file. Removed before any
 * install writes, written after one completes; anything unexpected in it only means no shortcut.
 */
export interface InstallReceipt {
  readonly version: 1;
  readonly topHash: string;
  /** The logical prefix installed, `""` for the whole package. */
  readonly path: string;
  readonly statCache: { readonly records: number; readonly checksum: string };
}

const RECEIPT = "reinstall.json";

export async function writeInstallReceipt(dest: string, receipt: Omit<InstallReceipt, "version">): Promise<void> {
  const dir = join(dest, STATE_DIR);
  const temp = join(dir, `${RECEIPT}.${process.pid}.tmp`);
  await writeFile(temp, JSON.stringify({ version: 1, ...receipt }) + "\n");
  await rename(temp, join(dir, RECEIPT));
}

/** The receipt, or undefined when there is none or it is not one we wrote. */
export async function readInstallReceipt(dest: string): Promise<InstallReceipt | undefined> {
  try {
    const r = JSON.parse(await readFile(join(dest, STATE_DIR, RECEIPT), "utf8")) as Partial<InstallReceipt> | null;
    const cache = r?.statCache;
    if (r?.version !== 1 || typeof r.topHash !== "string" || typeof r.path !== "string") return undefined;
    if (typeof cache?.records !== "number" || typeof cache.checksum !== "string") return undefined;
    return r as InstallReceipt;
  } catch {
    return undefined;
  }
}

/** Removes the receipt; a `dest` that is missing or not a folder has none (the install then says why). */
export async function removeInstallReceipt(dest: string): Promise<void> {
  try {
    await rm(join(dest, STATE_DIR, RECEIPT), { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") throw error;
  }
}
