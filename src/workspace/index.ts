/**
 * Package workspaces: a folder made a package with `quilt init`, changed by `quilt add / set /
 * set-meta / rm / mv`, built and pushed by `quilt build-manifest / push-data / push-manifest`, its
 * state in `.quiltkit/` (workspace.json v1 plus a staged-entries JSONL, changed under a lock).
 */
export {
  Workspace,
  type AddSource,
  type PushDataReport,
  type PushManifestReport,
  type WorkspaceOptions,
  type WorkspaceStage,
  type WorkspaceStatus,
} from "./workspace.js";
export { initTarget, absoluteRegistry, displayName, type InitTarget } from "./target.js";
export { locate, INSTALLED_FILE, type FolderKind, type Located } from "./locate.js";
export { displaySource, formatLines, MAX_SOURCE_LINES, type SourceLine } from "./source-lines.js";
export { locationOf, type PushLine } from "./push-tally.js";
export { STATE_FILE, STATE_FORMAT, STATE_VERSION, type WorkspaceState } from "./state.js";
export { STAGED_FORMAT, STAGED_VERSION } from "./staged.js";
export { planAdd, type AddContext } from "./add-plan.js";
export { installedFolderStatus, type InstalledFolderStatus, type InstalledStatusOptions } from "./installed-status.js";
