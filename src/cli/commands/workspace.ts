/**
 * The workspace commands that change what a package holds: init, add, set, set-meta, rm, mv
 * (the seed's "Command Line code samples"). The state lives in `.quiltkit/` of the workspace,
 * found from the working folder upwards like git finds `.git`.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { NotFoundError, UsageError } from "../../errors/index.js";
import { initTarget, locate, planAdd, Workspace, displaySource, type AddSource } from "../../workspace/index.js";
import type { CliContext } from "../context.js";
import { parseMetaFlag, REGISTRY_HELP, type RegistryFlag } from "./common.js";

/** The workspace around the working folder; NOT_A_WORKSPACE (with what the folder is instead) otherwise. */
export async function openWorkspace(context: CliContext): Promise<Workspace> {
  const found = await locate(process.cwd());
  if (found?.kind !== "workspace") {
    const what = found === undefined ? "No workspace here or in any folder above" : `${found.root} is an installed package, not a workspace`;
    throw new NotFoundError("NOT_A_WORKSPACE", `${what}.`, { hint: "Run `quilt init NAME --registry URL` to make this folder a package workspace." });
  }
  return Workspace.open(found.root, {
    remotes: context.remotes,
    signal: context.signal,
    maxRecordSize: context.config.maxRecordSize,
  });
}

export function registerWorkspace(program: Command, context: CliContext): void {
  registerInit(program, context);
  registerAdd(program, context);
  registerSet(program, context);
  registerSetMeta(program, context);
  registerRm(program, context);
  registerMv(program, context);
}

function registerInit(program: Command, context: CliContext): void {
  program
    .command("init")
    .description("Make the current folder a package workspace (state in .quiltkit/), for a package of a registry.")
    .argument("<name>", "ns/name, or s3://BUCKET/ns/name; status shows it as BUCKET/ns/name (or FOLDER/ns/name)")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExamples:\n  $ quilt init data/dataset --registry s3://bucket\n  New PackageBuilder bucket/data/dataset created\n  $ quilt init s3://bucket/data/dataset")
    .action(async (name: string, flags: RegistryFlag) => {
      const target = initTarget(name, flags.registry, context.config.registry);
      const workspace = await Workspace.init(process.cwd(), target, { remotes: context.remotes });
      if (context.output.json) context.output.data({ name: target.name, registry: target.registry, root: workspace.root });
      else context.output.text(`New PackageBuilder ${workspace.display} created`);
    });
}

function registerAdd(program: Command, context: CliContext): void {
  program
    .command("add")
    .description("Add a file, a folder, an S3 object or prefix, or another package to the workspace's package.")
    .argument("<logical>", "the logical key (a folder ends in /; . is the root); alone, a local path inside the workspace")
    .argument("[source]", "a local file or folder, s3://BUCKET/PREFIX/, s3://BUCKET/KEY, or a package: ns/name:tag, ns/name@hash, s3://BUCKET/ns/name:tag")
    .option("--overwrite", "replace entries the package already has at the same logical keys")
    .addHelpText(
      "after",
      "\nLogical-key collisions: adding a key the package already has is refused (exit 4) and names the\n" +
        "first such key; nothing is changed. --overwrite replaces those entries instead. (`quilt set` always replaces.)\n" +
        "\nExamples:\n  $ quilt add train2017/\n  Adding contents of directory ./train2017/ to bucket/data/dataset as train2017/...\n" +
        "  $ quilt add val2017/ s3://otherbucket/abc/validation/\n  $ quilt add reference/ s3://bucket/data/reference:v2",
    )
    .action(async (logical: string, source: string | undefined, flags: { overwrite?: boolean }) => {
      const workspace = await openWorkspace(context);
      const plan = await planAdd(logical, source, {
        root: workspace.root,
        cwd: process.cwd(),
        registry: workspace.state.registry,
        remotes: context.remotes,
        signal: context.signal,
        ...(context.config.tmpDir === undefined ? {} : { tmpDir: context.config.tmpDir }),
      });
      if (plan.kind === "package") context.onExit(() => plan.pkg.close());
      if (!context.output.json) context.output.text(addingLine(plan, workspace));
      await workspace.add(plan, flags.overwrite === true);
      if (context.output.json) context.output.data({ logical: lineKeyOf(plan), source: plan.line, entries: workspace.state.entries, bytes: workspace.state.bytes });
    });
}

/** The seed's "Adding contents of directory ./train2017/ to bucket/dataset as train2017/...". */
function addingLine(plan: AddSource, workspace: Workspace): string {
  const source = displaySource(plan.line, workspace.root);
  const what =
    plan.kind === "package"
      ? `package ${source}`
      : plan.line.startsWith("s3://")
        ? plan.folder
          ? `objects in ${source}`
          : `object ${source}`
        : plan.folder
          ? `contents of directory ${source}`
          : `file ${source}`;
  return `Adding ${what} to ${workspace.display} as ${lineKeyOf(plan)}...`;
}

function lineKeyOf(plan: AddSource): string {
  if (plan.logical === "") return "./";
  return plan.folder ? `${plan.logical}/` : plan.logical;
}

function registerSet(program: Command, context: CliContext): void {
  program
    .command("set")
    .description("Set one logical key to a local file or an S3 object, replacing what is there.")
    .argument("<key>", "the logical key, e.g. train2017/1.jpg")
    .argument("<source>", "a local file, or s3://BUCKET/KEY[?versionId=ID]")
    .option("--meta <json>", "the entry's user metadata, as JSON")
    .addHelpText("after", "\nExample:\n  $ quilt set train2017/1.jpg ./replacement/1.jpg\n  Setting logical key train2017/1.jpg as ./replacement/1.jpg")
    .action(async (key: string, source: string, flags: { meta?: string }) => {
      const workspace = await openWorkspace(context);
      const meta = parseMetaFlag(flags.meta);
      const line = source.startsWith("s3://") ? source : resolvePath(source);
      if (!context.output.json) context.output.text(`Setting logical key ${key} as ${displaySource(line, workspace.root)}`);
      await workspace.set(key, source, line, meta);
      if (context.output.json) context.output.data({ logical: key, source: line, entries: workspace.state.entries });
    });
}

function registerSetMeta(program: Command, context: CliContext): void {
  program
    .command("set-meta")
    .description("Set the user metadata of an entry (KEY), a folder (DIR/) or the package (.).")
    .argument("<target>", "an entry's logical key, a folder ending in /, or . for the package")
    .argument("<json>", "the metadata, as JSON (numbers keep Python's meaning: 1.0 stays a float)")
    .addHelpText("after", `\nExamples:\n  $ quilt set-meta . '{"source": "labelling service"}'\n  $ quilt set-meta train2017/ '{"split": "train"}'\n  $ quilt set-meta train2017/1.jpg '{"label": 3}'`)
    .action(async (target: string, json: string) => {
      const workspace = await openWorkspace(context);
      const meta = parseMetaFlag(json);
      await workspace.setMeta(target, meta);
      const what = target === "." || target === "./" ? "the package" : target;
      if (context.output.json) context.output.data({ target, revision: workspace.state.revision });
      else context.output.text(`Set the metadata of ${what}`);
    });
}

function registerRm(program: Command, context: CliContext): void {
  program
    .command("rm")
    .description("Remove an entry, or a folder with everything in it, from the workspace's package.")
    .argument("<key>", "a logical key, or a folder (with or without its /)")
    .addHelpText("after", "\nExample:\n  $ quilt rm train2017/1.jpg\n  Removed train2017/1.jpg (1 entry)")
    .action(async (key: string) => {
      const workspace = await openWorkspace(context);
      const removed = await workspace.remove(key);
      if (context.output.json) context.output.data({ key, removed, entries: workspace.state.entries });
      else context.output.text(`Removed ${key} (${removed} ${removed === 1 ? "entry" : "entries"})`);
    });
}

function registerMv(program: Command, context: CliContext): void {
  program
    .command("mv")
    .description("Move an entry or a folder to another logical key; refused on collisions unless --overwrite.")
    .argument("<from>", "a logical key or folder")
    .argument("<to>", "the new logical key (into a folder when it ends in /)")
    .option("--overwrite", "replace entries already at the new keys")
    .addHelpText(
      "after",
      "\nExamples:\n  $ quilt mv new_data/ labelled/\n" +
        '  Error: Collision detected. moving "new_data/1.jpg" to "labelled/1.jpg", but "labelled/1.jpg" already exists. ' +
        'Use --overwrite if you would like to replace "labelled/1.jpg" with "new_data/1.jpg".\n  $ quilt mv new_data/ labelled/ --overwrite',
    )
    .action(async (from: string, to: string, flags: { overwrite?: boolean }) => {
      const workspace = await openWorkspace(context);
      const result = await workspace.move(from, to, flags.overwrite === true);
      if (context.output.json) context.output.data({ from, to: result.to, moved: result.moved });
      else context.output.text(`Moved ${from} to ${result.to}`);
    });
}

function resolvePath(path: string): string {
  if (path === "") throw new UsageError("SOURCE_INVALID", "The source is empty.", { hint: "Give a file path or an s3:// URL." });
  return path.startsWith("file://") ? fileURLToPath(path) : resolve(path);
}
