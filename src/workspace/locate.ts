import { stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { STATE_DIR } from "../package/index.js";
import { STATE_FILE } from "./state.js";

/** What a folder with a `.quiltkit/` is: a workspace (`quilt init`) or an installed package (`quilt install`). */
export type FolderKind = "workspace" | "installed";

export interface Located {
  readonly kind: FolderKind;
  /** The folder holding `.quiltkit/`. */
  readonly root: string;
}

export const INSTALLED_FILE = "installed.json";

/**
 * The nearest folder at or above `from` whose `.quiltkit/` holds a workspace or an installed
 * package's state (like git finding `.git`), or undefined. A workspace wins when both are there.
 */
export async function locate(from: string): Promise<Located | undefined> {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (await isFile(join(dir, STATE_DIR, STATE_FILE))) return { kind: "workspace", root: dir };
    if (await isFile(join(dir, STATE_DIR, INSTALLED_FILE))) return { kind: "installed", root: dir };
    if (dirname(dir) === dir) return undefined;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}
