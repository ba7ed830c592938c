/**
 * What stands for a file's content without reading it: its size, modification and change times
 * (nanoseconds) and its identity (inode and device). A file whose stat is unchanged since its hash
 * was recorded has, short of clock games, the same bytes; `isRacy` covers the one common way
 * that goes wrong (git's "racy clean" problem).
 *
 * A file an install wrote itself is recorded with its stat taken just after its rename, the content
 * known from the bytes written and checked (format.ts `ownWrites`); readers trust it once they start
 * at least the racy margin after its times. What that cannot see, as git after a checkout: another
 * process rewriting the file in place, to the same size, within the same timestamp tick as our
 * rename (a few ms), before anything reads it. A later write or `utimes` moves ctime to a later tick.
 */
import type { BigIntStats } from "node:fs";

export interface FileStat {
  readonly size: number;
  readonly mtimeNs: bigint;
  /** Changes with any write, and also with `utimes`: restoring mtime after a write does not hide it. */
  readonly ctimeNs: bigint;
  readonly ino: bigint;
  readonly dev: bigint;
}

export function fileStatOf(st: BigIntStats): FileStat {
  return { size: Number(st.size), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, dev: st.dev };
}

export function sameStat(a: FileStat, b: FileStat): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

/** The racy margin when none is given (`StatCacheOptions.racyMs`). */
export const DEFAULT_RACY_MS = 2000;

/**
 * Whether the file's times are too close to when its hash was recorded to prove anything.
 * Timestamps have a granularity (a jiffy on ext4, 2 s on FAT), so a file written again just after
 * it was read may keep the very same mtime and ctime; only a file whose times were already
 * `racyNs` old when the recording run started can be trusted. A time in the future is racy too.
 */
export function isRacy(stat: FileStat, recordedNs: bigint, racyNs: bigint): boolean {
  const latest = stat.mtimeNs > stat.ctimeNs ? stat.mtimeNs : stat.ctimeNs;
  return latest + racyNs > recordedNs;
}
