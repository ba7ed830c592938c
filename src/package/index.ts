/** Packages: the builder now; the immutable Package, browse and install come next. */
export {
  PackageBuilder,
  PyMeta,
  py,
  type BuilderOptions,
  type BuildOptions,
  type BuiltManifest,
  type EntryInput,
  type MetaInput,
  type SetDirOptions,
  type AddOptions,
  type MoveOptions,
} from "./builder.js";
export type { DataOutcome } from "./push-local.js";
export type { PendingEntry } from "./ops.js";
export { walkDir, type DirFile, type WalkOptions } from "./walk-dir.js";
export { QuiltIgnore, fnmatchRegExp } from "./quiltignore.js";
export { Package, type BrowseOptions, type LsItem, type LsResult } from "./package.js";
export { openRegistry, isLocalRegistry } from "./registries.js";
export type {
  PushDataOptions,
  PushDataResult,
  PushManifestOptions,
  PushManifestResult,
} from "./builder.js";
export { STATE_DIR, readInstalledState, type InstalledState } from "./installed.js";
export type { InstallOptionsOf as InstallOptions, CompareOptionsOf as CompareOptions, ForceMatchOptionsOf as ForceMatchOptions } from "./package.js";
export type { InstallResultOf as InstallResult } from "./package.js";
