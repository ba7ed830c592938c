/**
 * The `Data:` part of `quilt status`: where the workspace's data came from, one line per `add` or
 * `set` (a folder is one line, `train2017/ -> ./train2017/`; a file set inside it is its own
 * line), kept up to date by rm, mv and push-data. Lines are bookkeeping for people: the entries
 * themselves are in the staged file. Pure functions over a small list.
 */
import { isAbsolute, relative, sep } from "node:path";

export interface SourceLine {
  /** `train2017/` for a folder (`./` for the root), `train2017/1.jpg` for one entry. */
  readonly logical: string;
  /** An absolute local path (a folder's ends in `/`), an `s3://` URL, or a package handle. */
  readonly source: string;
}

/** Lines kept in the state; past it, status says how many more there are. */
export const MAX_SOURCE_LINES = 1000;

/** How specific a line is: the root line least. */
function depth(line: SourceLine): number {
  return line.logical === "./" ? 0 : line.logical.length;
}

export function isFolderLine(line: SourceLine): boolean {
  return line.logical.endsWith("/");
}

/** Whether the line describes `key` (an entry's logical key): its own key, or a key under its folder. */
export function covers(line: SourceLine, key: string): boolean {
  if (line.logical === "./") return true;
  return isFolderLine(line) ? key.startsWith(line.logical) : key === line.logical;
}

/** The most specific line describing `key`, as an index into `lines`; -1 when none does. */
export function lineOf(lines: readonly SourceLine[], key: string): number {
  let best = -1;
  let bestLength = -1;
  lines.forEach((line, index) => {
    const length = depth(line);
    // Later lines win ties: the newest add at the same folder is the one that took effect.
    if (covers(line, key) && length >= bestLength) {
      best = index;
      bestLength = length;
    }
  });
  return best;
}

/**
 * A new line. One with the same logical key and source replaces the old one; `set` (an entry)
 * also replaces any other line for that key, since the entry is now wholly that source.
 */
export function addLine(lines: readonly SourceLine[], line: SourceLine): SourceLine[] {
  const kept = lines.filter((l) => l.logical !== line.logical || (isFolderLine(line) && l.source !== line.source));
  return [...kept, line];
}

/** After `rm key`: lines for the key, or for anything under it, go. */
export function removeLines(lines: readonly SourceLine[], key: string): SourceLine[] {
  const folder = key.endsWith("/") ? key : `${key}/`;
  return lines.filter((l) => l.logical !== key && l.logical !== folder && !l.logical.startsWith(folder));
}

/**
 * After `mv from to` (`from` and `to` as the entries moved: folders end in `/`). Lines under
 * `from` move with it; when `from` was part of a folder line, a new line says where the moved
 * part came from.
 */
export function moveLines(lines: readonly SourceLine[], from: string, to: string): SourceLine[] {
  const moves = (l: SourceLine): boolean => l.logical === from || (from.endsWith("/") && l.logical.startsWith(from));
  const moved = lines.map((l) => (moves(l) ? { ...l, logical: to + l.logical.slice(from.length) } : l));
  if (lines.some((l) => l.logical === from)) return moved;
  const parent = lines.filter((l) => isFolderLine(l) && covers(l, from)).sort((a, b) => depth(a) - depth(b)).pop();
  if (parent === undefined) return moved;
  const rest = parent.logical === "./" ? from : from.slice(parent.logical.length);
  return [...moved, { logical: to, source: parent.source + rest }];
}

/**
 * Display order: as added, except that a line inside another line's folder comes right after
 * that folder line (and its other such lines), as the seed shows `train2017/1.jpg` under `train2017/`.
 */
export function displayOrder(lines: readonly SourceLine[]): SourceLine[] {
  return displayIndexes(lines).map((i) => lines[i] as SourceLine);
}

/** The indexes of `lines` in display order (see displayOrder). */
export function displayIndexes(lines: readonly SourceLine[]): number[] {
  const out: number[] = [];
  const placed = new Set<number>();
  const parents = lines.map((_, i) => parentIndex(lines, i));
  const place = (index: number): void => {
    if (placed.has(index)) return;
    placed.add(index);
    out.push(index);
    parents.forEach((parent, i) => {
      if (parent === index) place(i);
    });
  };
  parents.forEach((parent, i) => {
    if (parent === -1) place(i);
  });
  return out;
}

/** The closest folder line that contains line `index` (not the line itself), or -1. */
function parentIndex(lines: readonly SourceLine[], index: number): number {
  const line = lines[index] as SourceLine;
  let best = -1;
  let bestLength = -1;
  lines.forEach((other, i) => {
    if (i === index || !isFolderLine(other) || other.logical === line.logical) return;
    const length = depth(other);
    if (covers(other, line.logical) && length > bestLength) {
      best = i;
      bestLength = length;
    }
  });
  return best;
}

/**
 * A source as status shows it: local paths relative to the workspace (`./train2017/`, or
 * `../test2017/` beside it), else absolute; URLs and handles as they are.
 */
export function displaySource(source: string, root: string): string {
  if (!isAbsolute(source)) return source;
  const rel = relative(root, source);
  const slash = source.endsWith("/") && rel !== "" ? "/" : "";
  const posix = rel.split(sep).join("/");
  if (rel === "") return "./";
  if (!rel.startsWith("..")) return `./${posix}${slash}`;
  if (!rel.startsWith(`..${sep}..`) && rel !== "..") return `${posix}${slash}`;
  return source;
}

/** The `Data:` lines: two spaces, the logical key padded, `->`, the source (the seed's layout). */
export function formatLines(lines: readonly SourceLine[], root: string): string[] {
  const ordered = displayOrder(lines);
  const width = Math.max(0, ...ordered.map((l) => l.logical.length)) + 4;
  return ordered.map((l) => `  ${l.logical.padEnd(width)}->  ${displaySource(l.source, root)}`);
}

/** Keep at most MAX_SOURCE_LINES, the newest; the count of dropped ones grows. */
export function capLines(lines: readonly SourceLine[], more: number): { sources: SourceLine[]; moreSources: number } {
  const excess = Math.max(0, lines.length - MAX_SOURCE_LINES);
  return { sources: lines.slice(excess), moreSources: more + excess };
}
