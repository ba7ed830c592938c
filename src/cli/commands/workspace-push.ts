/**
 * The workspace commands that look at, build and publish the package: status, build-manifest,
 * push-data, push-manifest, and `quilt push` without a name (both pushes, in order). Their
 * output follows the seed's transcript.
 */
import type { Command } from "commander";
import { EXIT_CODES, UsageError } from "../../errors/index.js";
import { py } from "../../package/index.js";
import { validateTag } from "../../registry/names.js";
import { displayName, displaySource, formatLines, installedFolderStatus, locate, type PushDataReport, type PushLine, type Workspace, type WorkspaceStatus } from "../../workspace/index.js";
import type { CliContext } from "../context.js";
import { metaWithProvenance, type ProvenanceFlags } from "./provenance.js";
import { createProgress } from "../progress.js";
import { openWorkspace } from "./workspace.js";

const SHORT_HASH = 9;

export function registerWorkspacePush(program: Command, context: CliContext): void {
  registerStatus(program, context);
  registerBuildManifest(program, context);
  registerPushData(program, context);
  registerPushManifest(program, context);
}

function registerStatus(program: Command, context: CliContext): void {
  program
    .command("status")
    .description("Where a workspace stands (built? pushed? where its data is), or what changed in an installed folder.")
    .addHelpText(
      "after",
      "\nExamples:\n  $ quilt status\n  PackageBuilder: bucket/data/dataset (pre-manifest)\n\n  Data:\n    train2017/    ->  ./train2017/\n" +
        "    val2017/      ->  s3://otherbucket/abc/validation/\n\n  $ quilt status    (after quilt push-manifest -t v0)\n  Package: bucket/data/dataset:v0 (82111d74b)\n  Data matches manifest",
    )
    .action(async () => {
      const found = await locate(process.cwd());
      if (found?.kind === "installed") return installedStatus(context, found.root);
      const status = (await openWorkspace(context)).status();
      if (context.output.json) context.output.data(statusJson(status));
      else for (const line of statusText(status)) context.output.text(line);
    });
}

/** `quilt status` in a folder made by `quilt install`: the revision, then what was added, modified and deleted (exit 1 then). */
async function installedStatus(context: CliContext, root: string): Promise<void> {
  const progress = createProgress("Checking", {}, context.output.json);
  const status = await installedFolderStatus(root, {
    remotes: context.remotes,
    signal: context.signal,
    onProgress: (p) => progress.update({ files: p.files, bytes: p.hashedBytes }),
    ...(context.config.tmpDir === undefined ? {} : { tmpDir: context.config.tmpDir }),
  });
  progress.stop();
  if (!status.matches) process.exitCode = EXIT_CODES.differences;
  if (context.output.json) {
    const { added, modified, deleted, counts, truncated } = status;
    const head = { kind: "installed", name: status.name, registry: status.registry, root, topHash: status.topHash, tag: status.tag ?? null };
    context.output.data({ ...head, state: status.matches ? "matches" : "changed", sources: [], added, modified, deleted, counts, truncated });
    return;
  }
  const short = status.topHash.slice(0, SHORT_HASH);
  const name = displayName(status.registry, status.name);
  context.output.text(status.tag === undefined ? `Package: ${name}@${short}` : `Package: ${name}:${status.tag} (${short})`);
  if (status.matches) {
    context.output.text("Data matches manifest");
    return;
  }
  for (const kind of ["added", "modified", "deleted"] as const) {
    const paths = status[kind];
    if (status.counts[kind] === 0) continue;
    context.output.text(`${kind[0]?.toUpperCase()}${kind.slice(1)} (${status.counts[kind]}):`);
    for (const path of paths) context.output.text(`  ${path}`);
    if (paths.length < status.counts[kind]) context.output.text(`  ... and ${status.counts[kind] - paths.length} more`);
  }
}

function statusText(status: WorkspaceStatus): string[] {
  if (status.state === "pushed" && status.topHash !== null) {
    const short = status.topHash.slice(0, SHORT_HASH);
    const head = status.tag === null ? `Package: ${status.display}@${short}` : `Package: ${status.display}:${status.tag} (${short})`;
    return [head, "Data matches manifest"];
  }
  const hash = status.topHash === null ? "pre-manifest" : status.topHash.slice(0, SHORT_HASH);
  const data = status.sources.length === 0 ? ["  (nothing yet: add data with `quilt add`)"] : formatLines(status.sources, status.root);
  const more = status.moreSources > 0 ? [`  ... and ${status.moreSources} more sources`] : [];
  return [`PackageBuilder: ${status.display} (${hash})`, "", "Data:", ...data, ...more];
}

function statusJson(status: WorkspaceStatus): Record<string, unknown> {
  return {
    kind: status.kind,
    name: status.name,
    registry: status.registry,
    root: status.root,
    topHash: status.topHash,
    tag: status.tag,
    state: status.state,
    entries: status.entries,
    bytes: status.bytes,
    sources: status.sources.map((s) => ({ logical: s.logical, source: s.source })),
    moreSources: status.moreSources,
  };
}

function registerBuildManifest(program: Command, context: CliContext): void {
  program
    .command("build-manifest")
    .description("Build the workspace's manifest: hash what is not hashed yet, and print the top hash.")
    .option("-m, --message <text>", "the commit message (part of the top hash; give the same one to push-manifest)")
    .addHelpText("after", "\nExample:\n  $ quilt build-manifest\n  Building manifest...\n  Tophash: 82111d74b46893c539e816a1119891362049b7a744dd1e188b58751a8ec58b73")
    .action(async (flags: { message?: string }) => {
      const workspace = await openWorkspace(context);
      if (!context.output.json) context.output.text("Building manifest...");
      const progress = createProgress("Hashing", {}, context.output.json);
      const built = await workspace.buildManifest(flags.message ?? null, (p) => progress.update(p));
      progress.stop();
      if (context.output.json) context.output.data(built);
      else context.output.text(`Tophash: ${built.topHash}`);
    });
}

interface PushDataFlags {
  prefix?: string;
  localFilesOnly?: boolean;
}

function registerPushData(program: Command, context: CliContext): void {
  program
    .command("push-data")
    .description("Put the workspace's data in its registry, at PREFIX + logical key, and point the entries there.")
    .option("--prefix <prefix>", "where in the registry the data goes (default: the package name, ns/name/)")
    .option("--local-files-only", "push only data that is in local files; leave S3 objects where they are")
    .addHelpText(
      "after",
      "\nExample:\n  $ quilt push-data --prefix=data/dataset/v0/ --local-files-only\n  Pushing ./train2017/ to s3://bucket/data/dataset/v0/train2017/...\n" +
        "  $ quilt push-data --prefix=data/dataset/v0/\n  Copying s3://bucket/data/dataset/v0/train2017/ to s3://bucket/data/dataset/v0/train2017/... (data exists, skipping)",
    )
    .action(async (flags: PushDataFlags) => {
      const workspace = await openWorkspace(context);
      const report = await pushData(context, workspace, flags);
      if (context.output.json) context.output.data(report);
    });
}

async function pushData(context: CliContext, workspace: Workspace, flags: PushDataFlags): Promise<PushDataReport> {
  const progress = createProgress("Pushing data", {}, context.output.json);
  const report = await workspace.pushData({
    ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }),
    localFilesOnly: flags.localFilesOnly === true,
    concurrency: context.config.transferConcurrency,
    onProgress: (p) => progress.update(p),
  });
  progress.stop();
  if (!context.output.json) for (const line of pushDataText(report, workspace, flags.localFilesOnly === true)) context.output.text(line);
  return report;
}

/** One line per source line: "Pushing ./train2017/ to s3://bucket/data/dataset/v0/train2017/... (data exists, skipping)". */
function pushDataText(report: PushDataReport, workspace: Workspace, localOnly: boolean): string[] {
  if (report.lines.length === 0) return [localOnly ? "No local files to push." : "Nothing to push."];
  const show = (location: string): string => displaySource(location, workspace.root);
  return report.lines.map((line) => {
    const count = line.copied + line.exists + line.referenced;
    const to = line.to === undefined ? "several places" : show(line.to);
    const from = line.logical === "" ? `${count} other ${count === 1 ? "entry" : "entries"}` : show(line.from);
    return `${verbOf(line, workspace)} ${from} to ${to}${line.folder ? "..." : ""}${suffixOf(line)}`;
  });
}

/** "Pushing" local files into the registry, "Copying" what is already in a bucket or the registry. */
function verbOf(line: PushLine, workspace: Workspace): string {
  const registry = workspace.state.registry;
  const local = line.from !== "" && line.from.startsWith("/") && !(registry.startsWith("/") && line.from.startsWith(`${registry}/`));
  return local || line.logical === "" ? "Pushing" : "Copying";
}

function suffixOf(line: PushLine): string {
  const already = line.exists + line.referenced;
  if (line.copied === 0) return " (data exists, skipping)";
  return already === 0 ? "" : ` (${line.copied} copied, ${already} already there)`;
}

interface PushManifestFlags {
  tag?: string;
  message?: string;
  force?: boolean;
  dedupe?: boolean;
  forceAllowLocalFiles?: boolean;
  workflow?: string;
}

function registerPushManifest(program: Command, context: CliContext): void {
  program
    .command("push-manifest")
    .description("Build the manifest and register it in the workspace's registry: latest, and a tag with -t.")
    .option("-t, --tag <tag>", "point this tag at the new revision")
    .option("-m, --message <text>", "the commit message")
    .option("--force", "replace latest even if it moved to a revision this workspace does not descend from")
    .option("--dedupe", "write nothing if the new revision already is latest")
    .option("--force-allow-local-files", "register entries that still point at local files (not pushed with push-data)")
    .option("--workflow <id>", "validate with this workflow of the registry's .quilt/workflows/config.yml ('' for none; default: its default_workflow)")
    .addHelpText(
      "after",
      "\nExample:\n  $ quilt push-manifest -t v0\n  Building manifest...\n  Tophash: 82111d74b46893c539e816a1119891362049b7a744dd1e188b58751a8ec58b73\n" +
        "  Pushing manifest to s3://bucket/.quilt/packages/82111d74b46893c539e816a1119891362049b7a744dd1e188b58751a8ec58b73\n  Linking data/dataset:v0 to manifest 82111d7",
    )
    .action(async (flags: PushManifestFlags) => {
      await pushManifest(context, await openWorkspace(context), flags);
    });
}

async function pushManifest(context: CliContext, workspace: Workspace, flags: PushManifestFlags): Promise<void> {
  // A bad tag is a usage error before anything is hashed or written.
  if (flags.tag !== undefined) validateTag(flags.tag);
  const quiet = context.output.json;
  const result = await workspace.pushManifest({
    ...(flags.tag === undefined ? {} : { tag: flags.tag }),
    message: flags.message ?? null,
    force: flags.force === true,
    dedupe: flags.dedupe === true,
    allowLocalFiles: flags.forceAllowLocalFiles === true,
    ...workflowOf(flags),
    onBuilding: () => quiet || context.output.text("Building manifest..."),
  });
  if (quiet) {
    context.output.data(result);
    return;
  }
  context.output.text(`Tophash: ${result.topHash}`);
  if (result.deduped) {
    context.output.text(`Skipping since package with hash ${result.topHash} already exists`);
    return;
  }
  context.output.text(`Pushing manifest to ${result.manifestUrl}`);
  for (const tag of result.pointers.filter((p) => p !== result.timestamp && p !== "latest")) {
    context.output.text(`Linking ${result.name}:${tag} to manifest ${result.shortHash}`);
  }
}

/** Options of `quilt push NAME --dir DIR` that a workspace push does not take. */
interface OneShotFlags {
  dir?: string;
  registry?: string;
  meta?: string;
}

/** As quilt3's `--workflow`: '' means none, absent the registry's default. */
function workflowOf(flags: { workflow?: string }): { workflow?: string | null } {
  return flags.workflow === undefined ? {} : { workflow: flags.workflow === "" ? null : flags.workflow };
}

/** `quilt push` inside a workspace: push-data, then push-manifest. */
export async function pushWorkspace(context: CliContext, flags: PushDataFlags & PushManifestFlags & OneShotFlags & ProvenanceFlags): Promise<void> {
  const given: Record<keyof OneShotFlags, unknown> = { dir: flags.dir, registry: flags.registry, meta: flags.meta };
  const stray = Object.entries(given).filter(([, value]) => value !== undefined).map(([flag]) => flag);
  if (stray.length > 0) {
    throw new UsageError("USAGE", `quilt push without NAME pushes the workspace; --${stray.join(", --")} belong to quilt push NAME --dir DIR.`, {
      hint: "Give NAME and --dir to push a folder, or leave those options out inside a workspace.",
    });
  }
  const workspace = await openWorkspace(context);
  if (flags.tag !== undefined) validateTag(flags.tag);
  // "Store entire workspace": the git commit, remote, branch and dirtiness of the workspace folder,
  // and the container image, join the package metadata before anything is pushed.
  if (flags.provenance === true) {
    await workspace.updatePackageMeta(async (current) => py((await metaWithProvenance(context, workspace.root, current, flags)) ?? new Map()));
  }
  const data = await pushData(context, workspace, { ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }) });
  if (context.output.json) {
    // One JSON document for the whole push: the manifest's result with the data's beside it.
    const result = await workspace.pushManifest({
      ...(flags.tag === undefined ? {} : { tag: flags.tag }),
      message: flags.message ?? null,
      force: flags.force === true,
      dedupe: flags.dedupe === true,
      ...workflowOf(flags),
    });
    context.output.data({ ...result, data });
    return;
  }
  await pushManifest(context, workspace, flags);
}
