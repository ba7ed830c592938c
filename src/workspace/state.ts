/**
 * `.quiltkit/workspace.json`: what a workspace is (name, registry) and where it stands (content
 * revision, last build, last push, where its data came from). Small: the entries themselves are in
 * the staged file it names (staged.ts). Format `quiltkit-workspace`, version 1; a reader refuses
 * any other, and every write replaces the whole file atomically (atomic.ts), under the lock.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NotFoundError, UsageError } from "../errors/index.js";
import { writeFileAtomic } from "./atomic.js";
import type { SourceLine } from "./source-lines.js";

export const STATE_FORMAT = "quiltkit-workspace";
export const STATE_VERSION = 1;
export const STATE_FILE = "workspace.json";

export interface BuiltState {
  readonly topHash: string;
  /** The content revision it was built from: it stands while `revision` is still this. */
  readonly revision: number;
  readonly message: string | null;
}

export interface PushedState extends BuiltState {
  /** Tags pointed at it by that push (`-t`). */
  readonly tags: readonly string[];
}

export interface WorkspaceState {
  readonly format: typeof STATE_FORMAT;
  readonly version: typeof STATE_VERSION;
  /** The package name, `ns/name`. */
  readonly name: string;
  /** `s3://bucket`, or an absolute folder path. */
  readonly registry: string;
  /** Bumped by every change of content (add, set, set-meta, rm, mv); not by pushes of data. */
  readonly revision: number;
  /** Bumped by every rewrite of the staged file: its name is `staged-<generation>.v1.jsonl`. */
  readonly generation: number;
  readonly entries: number;
  readonly bytes: number;
  /** Entries whose hash is not known yet (the build computes them). */
  readonly unhashed: number;
  /** Top hashes the content descends from (pushes of it, packages of the same name added): `latest` may be one of them. */
  readonly parents: readonly string[];
  readonly built: BuiltState | null;
  readonly pushed: PushedState | null;
  /** Where the data came from, as added, for status (at most MAX_SOURCE_LINES). */
  readonly sources: readonly SourceLine[];
  /** Source lines left out past the limit. */
  readonly moreSources: number;
}

export function stagedFileName(generation: number): string {
  return `staged-${generation}.v1.jsonl`;
}

export function newState(name: string, registry: string): WorkspaceState {
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    name,
    registry,
    revision: 0,
    generation: 0,
    entries: 0,
    bytes: 0,
    unhashed: 0,
    parents: [],
    built: null,
    pushed: null,
    sources: [],
    moreSources: 0,
  };
}

/** The state in `stateDir`; NOT_A_WORKSPACE when there is none, STATE_VERSION for another format or version. */
export async function readState(stateDir: string): Promise<WorkspaceState> {
  const path = join(stateDir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new NotFoundError("NOT_A_WORKSPACE", `${path} does not exist.`, { hint: "Run `quilt init NAME` to make this folder a workspace.", cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError("STATE_CORRUPT", `${path} is not valid JSON.`, { hint: "The workspace state is damaged; run `quilt init` in a new folder.", cause: error });
  }
  return checkState(value, path);
}

function checkState(value: unknown, path: string): WorkspaceState {
  const record = (typeof value === "object" && value !== null ? value : {}) as Partial<WorkspaceState>;
  if (record.format !== STATE_FORMAT) {
    throw new UsageError("STATE_CORRUPT", `${path} is not a workspace state (format ${JSON.stringify(record.format ?? null)}).`, {
      hint: "The file was not written by quiltkit; move it away and run `quilt init`.",
    });
  }
  if (record.version !== STATE_VERSION) {
    throw new UsageError("STATE_VERSION", `${path} is workspace format version ${JSON.stringify(record.version ?? null)}; this quiltkit reads version ${STATE_VERSION}.`, {
      hint: "Use the quiltkit version that made this workspace, or upgrade quiltkit.",
    });
  }
  if (typeof record.name !== "string" || typeof record.registry !== "string" || typeof record.revision !== "number" || !Array.isArray(record.sources)) {
    throw new UsageError("STATE_CORRUPT", `${path} lacks its name, registry, revision or sources.`, { hint: "The workspace state is damaged; run `quilt init` in a new folder." });
  }
  return record as WorkspaceState;
}

export async function writeState(stateDir: string, state: WorkspaceState): Promise<void> {
  await writeFileAtomic(join(stateDir, STATE_FILE), JSON.stringify(state, null, 2) + "\n");
}
