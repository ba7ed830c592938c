/**
 * The builder's resolved entries of one state, kept on disk. Resolving sorts the whole operation
 * log, and a push reads the entries several times (workflow check, local-files guard, build), so
 * the first pass after a change records what it yields in a run file (src/sort's format) and later
 * passes of the same state replay that file: one sort per change, whatever the number of passes.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { deserialize, serialize } from "node:v8";
import { InterruptedError } from "../errors/index.js";
import { RunReader, RunWriter } from "../sort/run-file.js";
import type { PendingEntry } from "./ops.js";

const READ_BUFFER_BYTES = 1 << 20;
/** Entries per record: one V8 (de)serialization for a group costs about half as much as one per entry. */
const GROUP = 256;

export interface ReplaySource {
  /** Differs whenever the entries may differ (the builder's revision and log size). */
  readonly stamp: () => string;
  /** Folder of the replay file (the builder's work folder, removed with it). */
  readonly dir: () => Promise<string>;
  /** The entries resolved afresh: the sort. */
  readonly resolve: (signal?: AbortSignal) => AsyncIterable<PendingEntry>;
}

export class EntryReplay {
  private kept: { readonly path: string; readonly stamp: string } | undefined;
  private removals: Promise<unknown> = Promise.resolve();
  private files = 0;

  constructor(private readonly source: ReplaySource) {}

  /** The entries, in tree-walk order: replayed when this state was resolved to its end before. */
  async *entries(signal?: AbortSignal): AsyncGenerator<PendingEntry> {
    const stamp = this.source.stamp();
    // A change that bypassed `invalidate` (a log append before a failure) still shows in the stamp.
    if (this.kept !== undefined && this.kept.stamp !== stamp) this.invalidate();
    if (this.kept !== undefined) yield* replayEntries(this.kept.path, signal);
    else yield* this.record(stamp, signal);
  }

  /**
   * The file of the kept entries, handed over to the caller (who removes it), if the current state
   * was resolved to its end; the replay keeps nothing afterwards.
   */
  take(): string | undefined {
    const kept = this.kept;
    if (kept === undefined || kept.stamp !== this.source.stamp()) return undefined;
    this.kept = undefined;
    return kept.path;
  }

  /** Forget the kept entries (the builder changed); the file goes in the background, awaited by `dispose`. */
  invalidate(): void {
    const kept = this.kept;
    if (kept === undefined) return;
    this.kept = undefined;
    // Best effort: the file sits in the work folder, which dispose removes whole anyway.
    this.removals = Promise.all([this.removals, rm(kept.path, { force: true }).catch(() => undefined)]);
  }

  async dispose(): Promise<void> {
    this.invalidate();
    await this.removals;
  }

  /** Resolve, writing each entry to a new file as it streams past; only a pass that reached its end is kept. */
  private async *record(stamp: string, signal?: AbortSignal): AsyncGenerator<PendingEntry> {
    const path = join(await this.source.dir(), `entries-${++this.files}.run`);
    const writer = await RunWriter.create(path);
    let complete = false;
    let group: PendingEntry[] = [];
    try {
      for await (const entry of this.source.resolve(signal)) {
        group.push(entry);
        if (group.length === GROUP) {
          const full = writer.push(serialize(group));
          group = [];
          if (full) await writer.drain();
        }
        yield entry;
      }
      if (group.length > 0) writer.push(serialize(group));
      await writer.close();
      complete = true;
    } finally {
      if (!complete) await writer.abandon();
      // A change during the pass, or another pass of this state that ended first, makes this file moot.
      if (complete && this.kept === undefined && this.source.stamp() === stamp) this.kept = { path, stamp };
      else await rm(path, { force: true });
    }
  }
}

/** The entries of a file a kept pass wrote, in order. */
export async function* replayEntries(path: string, signal?: AbortSignal): AsyncGenerator<PendingEntry> {
  const reader = await RunReader.open(path, READ_BUFFER_BYTES, (bytes) => deserialize(bytes) as PendingEntry[]);
  try {
    while (reader.next() || (await reader.advance())) {
      if (signal?.aborted === true) throw new InterruptedError("Interrupted: reading the builder's entries", { cause: signal.reason });
      yield* reader.current ?? [];
    }
  } finally {
    await reader.close();
  }
}
