import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
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
