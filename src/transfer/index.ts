/**
 * Moving package files between storage and a local folder (spec §7, §8.1): install, verify
 * (compare a folder with a package), diff two packages, and force a folder to match a package.
 * Everything streams: memory is bounded whatever the number of entries; plans spill to disk.
 */
export type { DifferenceKind, EntryRef, EntrySource, ReadEntry } from "./types.js";
export type { Item } from "./scan.js";
export {
  install,
  planInstall,
  executeInstall,
  type ExecuteInstallOptions,
  type InstallOptions,
  type InstallPlan,
  type InstallProgress,
  type InstallResult,
  type PlanInstallOptions,
} from "./install.js";
export {
  compareDir,
  type CompareDirOptions,
  type CompareDirResult,
  type CompareProgress,
  type JoinOptions,
} from "./compare-dir.js";
export { diffEntries, changedFields, type ChangedField, type DiffOptions, type DiffResult } from "./diff.js";
export {
  forceMatch,
  planForceMatch,
  executeForceMatch,
  type ExecuteForceMatchOptions,
  type ForceMatchChange,
  type ForceMatchKind,
  type ForceMatchOptions,
  type ForceMatchPlan,
  type ForceMatchProgress,
  type ForceMatchRecord,
  type ForceMatchResult,
  type PlanForceMatchOptions,
} from "./force-match.js";
export { readLocalEntry } from "./write-file.js";
export { foldKey, installTarget } from "./keys.js";
export { throwIfAborted } from "./errors.js";
