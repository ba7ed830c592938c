import type { QuiltConfig } from "../config/index.js";
import type { CanonicalOptions, WriteOptions } from "../manifest/index.js";
import type { Remotes } from "../storage/index.js";
import type { Output } from "./output.js";

/** What every command gets: the configuration, where to print, and cancellation. */
export interface CliContext {
  readonly config: QuiltConfig;
  readonly output: Output;
  readonly signal: AbortSignal;
  /** S3 buckets and folders, reached with the configuration's settings (one S3 client per run). */
  readonly remotes: Remotes;
  manifestOptions(): CanonicalOptions & WriteOptions;
  /** Clean-up run after the command, whether it succeeded or not. */
  onExit(cleanup: () => Promise<void> | void): void;
}
