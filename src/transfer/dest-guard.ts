/**
 * Keeps writes inside a destination folder: every folder on the way to a file is lstat'ed (and
 * created, one level at a time, when writing), and a symbolic link anywhere below the
 * destination stops the transfer, because writing through it could land anywhere. The chain of
 * folders last verified is cached, so entries in tree-walk order cost one lstat per new folder.
 *
 * Limit: this is check-then-use. A process racing us inside the destination could swap a folder
 * for a link between the check and the write; temp files are still created with O_NOFOLLOW|O_EXCL.
 */
import { lstatSync, type BigIntStats, type Stats } from "node:fs";
import { lstat, mkdir } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { errnoOf, escapesDest, pathConflict, symlinkInDest, writeFailed } from "./errors.js";

export type FolderState = "dir" | "missing";

export interface GuardOptions {
  /** Create missing folders (execution) or only look (planning). */
  create: boolean;
  /** A file where a folder is needed: a conflict (install), or "will be removed first" (force-match planning). */
  fileInTheWay?: "conflict" | "missing";
}

/** Not empty, no leading, trailing or doubled `/`, no NUL. */
const PLAIN_TARGET = /^[^/\0](?:[^/\0]|\/(?!\/))*(?<!\/)$/;
/** A `.` or `..` segment. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

export class DestGuard {
  private chain: { name: string; state: FolderState }[] = [];
  /** The root with one trailing separator. */
  private readonly rootSlash: string;

  constructor(
    /** Absolute destination folder. */
    readonly root: string,
    private readonly options: GuardOptions,
  ) {
    this.rootSlash = root.endsWith(sep) ? root : root + sep;
  }

  /** The absolute path of `target` (a relative `/`-separated path), refusing anything outside the root. */
  pathOf(target: string, key: string): string {
    // A plain relative path (no empty, `.` or `..` segment) joins as it is; anything else is resolved.
    const abs = sep === "/" && PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target) ? this.rootSlash + target : resolve(this.root, ...target.split("/"));
    if (!abs.startsWith(this.rootSlash)) throw escapesDest(key, abs, this.root);
    return abs;
  }

  /**
   * Makes sure the folder of `target` is a real folder under the root (creating it when asked),
   * or reports it missing (planning). Returns the folder's absolute path and state.
   */
  async folderOf(target: string, key: string): Promise<{ dir: string; state: FolderState }> {
    const segments = target.split("/");
    segments.pop();
    let common = 0;
    while (common < this.chain.length && common < segments.length && this.chain[common]?.name === segments[common]) common++;
    this.chain.length = common;
    let state: FolderState = common === 0 ? "dir" : (this.chain[common - 1]?.state ?? "dir");
    for (let i = common; i < segments.length; i++) {
      const name = segments[i] ?? "";
      if (state === "dir") state = await this.step(join(this.root, ...segments.slice(0, i + 1)), key);
      this.chain.push({ name, state });
    }
    return { dir: join(this.root, ...segments), state };
  }

  /** Forget the cache (after folders were removed). */
  reset(): void {
    this.chain = [];
  }

  /**
   * lstat of the final path of a file: `undefined` when absent; a link is refused, a folder is a
   * conflict (unless `folderOk`, for planning where the folder may be emptied first).
   */
  async finalState(path: string, key: string, folderOk = false): Promise<Stats | undefined> {
    let st: Stats;
    try {
      st = await lstat(path);
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw writeFailed(path, "inspect", error);
    }
    return this.judged(st, path, key, folderOk);
  }

  /** As `finalState` (a file only), with nanosecond times (for the stat cache). */
  async finalStateBig(path: string, key: string): Promise<BigIntStats | undefined> {
    let st: BigIntStats;
    try {
      st = await lstat(path, { bigint: true });
    } catch (error) {
      const code = errnoOf(error);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw writeFailed(path, "inspect", error);
    }
    return this.judged(st, path, key, false);
  }

  /**
   * As `finalState`, synchronous and with nanosecond times (for the stat cache): a few µs, where an
   * awaited lstat costs a thread-pool round trip, which adds up over many files a cache lets us skip.
   */
  finalStateSync(path: string, key: string): BigIntStats | undefined {
    let st: BigIntStats | undefined;
    try {
      st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      if (errnoOf(error) === "ENOTDIR") return undefined;
      throw writeFailed(path, "inspect", error);
    }
    return st === undefined ? undefined : this.judged(st, path, key, false);
  }

  private judged<S extends Stats | BigIntStats>(st: S, path: string, key: string, folderOk: boolean): S {
    if (st.isSymbolicLink()) throw symlinkInDest(path, this.root, key);
    if (st.isDirectory()) {
      if (folderOk) return st;
      throw pathConflict(path, key, "is a folder, but the package has a file of that name");
    }
    if (!st.isFile()) throw pathConflict(path, key, "is not a regular file");
    return st;
  }

  private async step(path: string, key: string): Promise<FolderState> {
    for (let attempt = 0; ; attempt++) {
      let st: Stats;
      try {
        st = await lstat(path);
      } catch (error) {
        if (errnoOf(error) !== "ENOENT") throw writeFailed(path, "inspect", error);
        if (!this.options.create) return "missing";
        try {
          await mkdir(path);
          return "dir";
        } catch (mkdirError) {
          // Someone made it meanwhile: look again, once.
          if (errnoOf(mkdirError) === "EEXIST" && attempt === 0) continue;
          throw writeFailed(path, "create the folder", mkdirError);
        }
      }
      if (st.isSymbolicLink()) throw symlinkInDest(path, this.root, key);
      if (st.isDirectory()) return "dir";
      if (this.options.fileInTheWay === "missing") return "missing";
      throw pathConflict(path, key, "is a file, but the package needs a folder there");
    }
  }
}
