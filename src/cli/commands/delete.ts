import type { Command } from "commander";
import { NotFoundError, UsageError } from "../../errors/index.js";
import { deletePackage, deleteRevision } from "../../registry/history.js";
import { isTopHash, LATEST } from "../../registry/names.js";
import type { PointerInfo, Registry } from "../../registry/registry.js";
import type { CliContext } from "../context.js";
import { REGISTRY_HELP, type RegistryFlag } from "./common.js";
import { confirm } from "./files.js";
import { locate, packageName, shortOf, type Located } from "./locate.js";

const DELETE_HELP = `
As quilt3's delete_package: every pointer that names the revision goes (its timestamps, tags
and latest). When latest was one of them, it moves to the newest remaining timestamp (quilt3 would
take the alphabetically last pointer name, which can be a tag), or is removed when no revision is
left. The manifest and the data are kept, as quilt3 keeps them: the revision still opens by hash.
Asks first on a terminal; elsewhere needs --yes. --dry-run lists the pointers and deletes none.
--json: {"name", "topHash", "deleted": [pointer names], "latest": top hash or null, "manifestKept": true}

Examples:
  $ quilt delete user/dataset:v0.9 --yes
  $ quilt delete user/dataset@3e6e97cc
  $ quilt delete user/dataset --all --yes     # every pointer of the package`;

type DeleteFlags = RegistryFlag & { yes?: boolean; all?: boolean; dryRun?: boolean };

export function registerDelete(program: Command, context: CliContext): void {
  program
    .command("delete")
    .description("Delete a revision's pointers (timestamps, tags, latest); latest moves to the newest remaining revision.")
    .argument("<handle>", "the revision: ns/name:tag or ns/name@hash (with --all, the package name)")
    .option("-y, --yes", "do not ask first")
    .option("--dry-run", "show the pointers that would go, and delete nothing")
    .option("--all", "delete every pointer of the package (the whole package; manifests and data stay)")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", DELETE_HELP)
    .action(async (text: string, flags: DeleteFlags) => {
      const located = await locate(context, text, flags);
      if (flags.all) return deleteAll(context, located, packageName(located, text, "delete --all"), flags);
      const { registry, handle } = located;
      if (handle.tag === undefined && handle.hash === undefined) throw revisionRequired(handle.name);
      const topHash = await target(registry, located);
      const doomed = await pointersOf(registry, handle.name, (p) => p.topHash === topHash);
      if (doomed.length === 0) throw noPointers(handle.name, topHash, registry);
      const short = await shortOf(registry, topHash);
      if (flags.dryRun) return dryRun(context, handle.name, topHash, doomed);
      if (!flags.yes) await confirm(context, `Delete ${handle.name}@${short} (pointers ${doomed.map((p) => p.pointer).join(", ")})?`);
      const result = await deleteRevision(registry, handle.name, topHash);
      const latest = (await registry.currentLatest(handle.name)) ?? null;
      const deleted = result.deleted.map((p) => p.pointer);
      if (context.output.json) return context.output.data({ name: handle.name, topHash, deleted, latest, manifestKept: true });
      context.output.text(`Deleted ${handle.name}@${short}: ${deleted.join(", ")}`);
      context.output.text(await latestLine(registry, deleted.includes(LATEST), latest));
      context.output.text(`Kept the manifest ${registry.manifestKey(topHash)} (as quilt3 does): ${handle.name}@${short} still opens by hash.`);
    });
}

/** A full hash is taken as is, so pointers to a manifest already gone can still be deleted. */
async function target(registry: Registry, { handle }: Located): Promise<string> {
  if (handle.tag === undefined && handle.hash !== undefined && isTopHash(handle.hash)) return handle.hash;
  return registry.resolve({ name: handle.name, ...(handle.tag ? { tag: handle.tag } : {}), ...(handle.hash ? { hash: handle.hash } : {}) });
}

async function deleteAll(context: CliContext, { registry }: Located, name: string, flags: DeleteFlags): Promise<void> {
  const doomed = await pointersOf(registry, name, () => true);
  if (doomed.length === 0) {
    throw new NotFoundError("PACKAGE_NOT_FOUND", `Package ${name} not found in ${registry.url}; nothing to delete.`, {
      hint: `\`quilt packages --registry ${registry.url}\` lists the packages of this registry.`,
    });
  }
  if (flags.dryRun) return dryRun(context, name, null, doomed);
  if (!flags.yes) await confirm(context, `Delete package ${name} from ${registry.url}: all ${doomed.length} pointers?`);
  const deleted = (await deletePackage(registry, name)).deleted.map((p) => p.pointer);
  if (context.output.json) return context.output.data({ name, deleted, latest: null, manifestKept: true });
  context.output.text(`Deleted package ${name}: ${deleted.length} pointers (${deleted.join(", ")}). Manifests and data are kept.`);
}

function dryRun(context: CliContext, name: string, topHash: string | null, doomed: readonly PointerInfo[]): void {
  const pointers = doomed.map((p) => p.pointer);
  if (context.output.json) return context.output.data({ name, topHash, dryRun: true, deleted: pointers });
  context.output.text(`Would delete ${pointers.length} pointers of ${name} (dry run, nothing done): ${pointers.join(", ")}`);
}

async function latestLine(registry: Registry, latestDeleted: boolean, latest: string | null): Promise<string> {
  if (latest === null) return "latest removed: no revision is left (tags, if any, stay).";
  const short = await shortOf(registry, latest);
  return latestDeleted ? `latest -> ${short} (the newest remaining revision)` : `latest unchanged (${short})`;
}

async function pointersOf(registry: Registry, name: string, select: (p: PointerInfo) => boolean): Promise<PointerInfo[]> {
  const out: PointerInfo[] = [];
  for await (const pointer of registry.listPointers(name)) if (select(pointer)) out.push(pointer);
  return out;
}

function revisionRequired(name: string): UsageError {
  return new UsageError("REVISION_REQUIRED", `quilt delete needs a revision (${name}:TAG or ${name}@HASH), not only the package name.`, {
    hint: `Name the revision, e.g. \`quilt delete ${name}@HASH\` (see \`quilt log ${name}\`), or pass --all to delete every pointer of ${name}.`,
  });
}

function noPointers(name: string, topHash: string, registry: Registry): NotFoundError {
  return new NotFoundError("REVISION_NOT_FOUND", `No pointer of ${name} in ${registry.url} names ${topHash}; nothing to delete.`, {
    hint: `See what exists with \`quilt log ${name} --registry ${registry.url}\`.`,
  });
}
