/**
 * What `quilt push-data` reports, one line per source line of the workspace: where that part of
 * the data was, where it is now, and whether anything had to move ("data exists, skipping").
 * Entries are tallied as their pushes finish; the source lines then follow the data.
 */
import type { DataOutcome } from "../package/index.js";
import { parsePhysicalKey } from "../storage/index.js";
import { covers, displayIndexes, isFolderLine, lineOf, type SourceLine } from "./source-lines.js";

export interface PushLine {
  readonly logical: string;
  /** Where the data was: the line's source (absolute path, URL or handle). */
  readonly from: string;
  /** Where it is now: one folder (or file) location, or undefined when the entries went to several places. */
  readonly to: string | undefined;
  readonly folder: boolean;
  readonly copied: number;
  readonly exists: number;
  readonly referenced: number;
  readonly bytes: number;
}

interface Count {
  copied: number;
  exists: number;
  referenced: number;
  bytes: number;
  /** Locations seen (at most two: one is all that matters). */
  readonly roots: Set<string>;
}

/** Tallies per source line; entries no line describes go to one "other" line. */
export class PushTally {
  private readonly counts = new Map<number, Count>();

  constructor(private readonly lines: readonly SourceLine[]) {}

  record(logicalKey: string, outcome: DataOutcome, size: number, to: string): void {
    const index = lineOf(this.lines, logicalKey);
    let count = this.counts.get(index);
    if (count === undefined) {
      count = { copied: 0, exists: 0, referenced: 0, bytes: 0, roots: new Set() };
      this.counts.set(index, count);
    }
    count[outcome] += 1;
    if (outcome === "copied") count.bytes += size;
    const line = this.lines[index];
    if (count.roots.size < 2) count.roots.add(line === undefined ? locationOf(to) : rootOf(line, logicalKey, to));
  }

  /** One report line per source line that had entries pushed, in status's order; the "other" line last. */
  report(): PushLine[] {
    const out: PushLine[] = [];
    for (const index of [...displayIndexes(this.lines), -1]) {
      const count = this.counts.get(index);
      if (count === undefined) continue;
      const line = this.lines[index];
      const to = count.roots.size === 1 ? [...count.roots][0] : undefined;
      const { copied, exists, referenced, bytes } = count;
      out.push({ logical: line?.logical ?? "", from: line?.source ?? "", to, folder: line === undefined || isFolderLine(line), copied, exists, referenced, bytes });
    }
    return out;
  }

  /**
   * The source lines after the push: a line whose entries all landed in one place points there;
   * a line inside a folder line that now says exactly what the folder line says is folded away.
   */
  updatedLines(): SourceLine[] {
    const moved = this.lines.map((line, index) => {
      const count = this.counts.get(index);
      const to = count?.roots.size === 1 ? [...count.roots][0] : undefined;
      return to === undefined ? line : { ...line, source: to };
    });
    return moved.filter((line) => !moved.some((parent) => parent !== line && isFolderLine(parent) && parent.logical !== line.logical && covers(parent, line.logical) && parent.source + rest(parent, line.logical) === line.source));
  }
}

function rest(folder: SourceLine, logical: string): string {
  return folder.logical === "./" ? logical : logical.slice(folder.logical.length);
}

/**
 * The folder an entry of a folder line landed in (its location minus the part of its key below
 * the line), or the entry's own location for a one-entry line.
 */
function rootOf(line: SourceLine, logicalKey: string, to: string): string {
  const location = locationOf(to);
  if (!isFolderLine(line)) return location;
  const below = rest(line, logicalKey);
  return location.endsWith(below) ? location.slice(0, location.length - below.length) : location;
}

/** A physical key as people read it: `s3://bucket/key` (no version, not %-encoded), or a local path. */
export function locationOf(physicalKey: string): string {
  const pk = parsePhysicalKey(physicalKey, { resolveSymlinks: false });
  return pk.kind === "s3" ? `s3://${pk.bucket}/${pk.path}` : pk.path;
}
