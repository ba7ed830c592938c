import { stat } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import { Option, type Command } from "commander";
import { LINK_MODES, type LinkMode, type PlaceStats } from "../../cache/index.js";
import { UsageError } from "../../errors/index.js";
import { EXIT_CODES } from "../../errors/index.js";
import type { Package } from "../../package/index.js";
import type { CliContext } from "../context.js";
import { createProgress } from "../progress.js";
import { parseHandle } from "../../registry/handle.js";
import { entrySelector } from "../../filter/index.js";
import { browse, REGISTRY_HELP, type RegistryFlag } from "./common.js";
import { REVISION_DIFF_HELP, reportRevisionDiff } from "./diff-revisions.js";

/** Commands that read or write a local folder: install (copy), diff, verify, force-match. */
export function registerFiles(program: Command, context: CliContext): void {
  const installAction = async (handle: string, dest: string, flags: RegistryFlag & SelectFlags & { path?: string; concurrency?: string; link?: LinkMode }) => {
    // Parsed before anything is fetched, so a bad --filter or --glob fails fast.
    const filter = entrySelector({ globs: flags.glob, ...(flags.filter === undefined ? {} : { expression: flags.filter }) });
    const pkg = await browse(context, handle, flags);
    // A Quilt+ URI may name the folder itself: quilt+s3://bucket#package=a/b&path=train/
    const path = flags.path ?? parseHandle(handle).path;
    if (flags.link === "hardlink" && process.getuid?.() === 0) {
      // Read-only stops ordinary users from editing a shared file in place; root ignores it.
      context.output.warn("Warning: running as root, which may write to read-only files: editing an installed file in place would change every install sharing it (the cache itself notices and fetches the file again).");
    }
    const progress = createProgress("Installing", {}, context.output.json);
    if (!context.output.json) context.output.text(`Installing ${pkg.name}@${pkg.topHash.slice(0, 10)} to ${dest}...`);
    const result = await pkg.install(dest, {
      signal: context.signal,
      onProgress: (p) => progress.update({ files: p.files + p.skipped, bytes: p.bytes }),
      ...(path === undefined ? {} : { path }),
      ...(filter === undefined ? {} : { filter }),
      ...(flags.link === undefined ? {} : { link: flags.link }),
      concurrency: flags.concurrency === undefined ? context.config.transferConcurrency : positiveInt(flags.concurrency, "--concurrency"),
    });
    progress.stop();
    if (context.output.json) context.output.data({ name: pkg.name, topHash: pkg.topHash, dest, ...result });
    else if (result.unchanged === true) context.output.text(`Installed 0 files, ${result.skipped} already in place (nothing changed since the last install), in ${result.seconds.toFixed(1)} s`);
    else context.output.text(`Installed ${result.files} files (${result.bytes} bytes), ${result.skipped} already in place, in ${result.seconds.toFixed(1)} s${fromCache(result.cache)}`);
  };

  program
    .command("install")
    .description("Install a package (or a folder of it) into a local folder, every file checked against its hash.")
    .argument("<handle>", "the package: ns/name[:tag][@hash]")
    .requiredOption("--dest <dir>", "the folder to install into")
    .option("--path <prefix>", "only this folder (or file) of the package")
    .option("--concurrency <n>", "files transferred at once (default 16, or QUILT_TRANSFER_CONCURRENCY)")
    .option("--glob <pattern>", GLOB_HELP, collect, [])
    .option("--filter <expr>", FILTER_HELP)
    .addOption(linkOption())
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExamples:\n  $ quilt install user/dataset:v1 --dest ./dataset --path train/\n  $ quilt install user/dataset:v1 --dest ./csv --glob '**/*.csv' --filter 'meta.split == \"train\" and size > 0'\n  $ quilt install user/dataset:v1 --dest ./readonly-copy --link hardlink")
    .action((handle: string, flags: RegistryFlag & SelectFlags & { dest: string; path?: string; concurrency?: string; link?: LinkMode }) => installAction(handle, flags.dest, flags));

  program
    .command("copy")
    .description("The seed's name for install: copy a package into a local folder.")
    .argument("<handle>", "the package")
    .requiredOption("--to <dir>", "the folder to copy into")
    .option("--path <prefix>", "only this folder (or file) of the package")
    .option("--glob <pattern>", GLOB_HELP, collect, [])
    .option("--filter <expr>", FILTER_HELP)
    .addOption(linkOption())
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExample:\n  $ quilt copy user/dataset:v1 --to /my/path/to/data")
    .action((handle: string, flags: RegistryFlag & SelectFlags & { to: string; path?: string; link?: LinkMode }) => installAction(handle, flags.to, flags));

  program
    .command("diff")
    .description("Show what differs between a package and a folder, or two packages (exit 1 when something does).")
    .argument("<handle>", "the package")
    .argument("<other>", "a folder, or another package handle")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExamples:\n  $ quilt diff user/dataset ./dataset\n  $ quilt diff user/dataset:v1 user/dataset:v2")
    .addHelpText("after", REVISION_DIFF_HELP)
    .action(async (handle: string, other: string, flags: RegistryFlag) => {
      const pkg = await browse(context, handle, flags);
      if (!(await isFolder(other))) return reportRevisionDiff(context, pkg, await browse(context, other, flags));
      const result = await pkg.diff(other, { signal: context.signal, statCache: statCacheOf(context) });
      report(context, result, { hash: pkg.topHash.slice(0, 8) });
    });

  program
    .command("verify")
    .description("Check that a folder matches a package exactly (exit 1 when it does not).")
    .argument("<handle>", "the package")
    .argument("<dir>", "the folder")
    .option("--extra-files-ok", "files in the folder that are not in the package are fine")
    .option("--path <prefix>", "the folder holds only this folder (or file) of the package, as `install --path` lays it out")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExamples:\n  $ quilt verify user/dataset:v1 ./dataset\n  $ quilt verify user/dataset:v1 ./train --path train/")
    .action(async (handle: string, dir: string, flags: RegistryFlag & { extraFilesOk?: boolean; path?: string }) => {
      const pkg = await browse(context, handle, flags);
      const path = flags.path ?? parseHandle(handle).path;
      const result = await pkg.verify(dir, {
        signal: context.signal,
        extraFilesOk: flags.extraFilesOk ?? false,
        statCache: statCacheOf(context),
        ...(path === undefined ? {} : { path }),
      });
      const shown = flags.extraFilesOk ? { ...result, added: [] } : result;
      report(context, shown, { hash: pkg.topHash.slice(0, 8) }, describeFor(pkg, dir));
    });

  program
    .command("force-match")
    .description("Make a folder match a package with the least work: fetch what is missing or changed, remove extra files.")
    .argument("<handle>", "the package")
    .argument("<dir>", "the folder")
    .option("--dry-run", "show the changes without making them")
    .option("-y, --yes", "do not ask before removing files")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExample:\n  $ quilt force-match user/dataset:v2 ./dataset --dry-run")
    .action(async (handle: string, dir: string, flags: RegistryFlag & { dryRun?: boolean; yes?: boolean }) => {
      const pkg = await browse(context, handle, flags);
      const plan = await pkg.forceMatch(dir, { dryRun: true, signal: context.signal });
      const removals = plan.changes.filter((c) => c.kind === "remove").length;
      if (flags.dryRun || plan.changes.length === 0) return printChanges(context, dir, plan.changes, true);
      if (removals > 0 && !flags.yes) await confirm(context, `Remove ${removals} file(s) from ${dir}?`);
      const result = await pkg.forceMatch(dir, { signal: context.signal });
      printChanges(context, dir, result.changes, false);
    });
}

/** `--glob` (repeatable: any matches) and `--filter` (src/filter), applied to entries as they stream. */
type SelectFlags = { glob?: string[]; filter?: string };
const GLOB_HELP = "only logical keys matching this glob (repeatable: any of them): * ? [abc] [!a] {a,b}, ** for any depth";
const FILTER_HELP = "only entries for which this holds, e.g. 'meta.split == \"train\" and size > 0' (meta.a.b, meta[\"k\"], key, size; == != < <= > >= in; and or not; startswith, endswith, glob)";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** "; from the object cache: 3 cloned, 1 copied", or nothing when it gave no file. */
function fromCache(stats: PlaceStats | undefined): string {
  if (stats === undefined) return "";
  const parts = ([
    [stats.reflink, "cloned"],
    [stats.hardlink, "hard-linked (read-only)"],
    [stats.copy, "copied"],
  ] as const).filter(([n]) => n > 0);
  return parts.length === 0 ? "" : `; from the object cache: ${parts.map(([n, what]) => `${n} ${what}`).join(", ")}`;
}

/** `--link`: how installed files come out of the object cache (src/cache/objects/place.ts). */
function linkOption(): Option {
  return new Option(
    "--link <mode>",
    "files from the object cache: auto (clone where the filesystem can, else copy), reflink (clone or refuse), hardlink (read-only files sharing the cache's space), copy",
  ).choices(LINK_MODES);
}

type Change = { kind: "add" | "replace" | "remove"; key: string; physicalKey?: string };

function printChanges(context: CliContext, dir: string, changes: readonly Change[], dryRun: boolean): void {
  if (context.output.json) {
    context.output.data({ dryRun, changes });
    return;
  }
  if (changes.length === 0) return context.output.text("Folder matches the package; nothing to do.");
  context.output.text(dryRun ? "Changes (dry run, nothing done):" : "Changes:");
  for (const change of changes) {
    const path = `${dir.replace(/\/$/, "")}/${change.key}`;
    if (change.kind === "remove") context.output.text(`  ${path} removed`);
    else if (change.kind === "add") context.output.text(`  ${path} added from ${change.physicalKey ?? "?"}`);
    else context.output.text(`  ${path} replaced with ${change.physicalKey ?? "?"}`);
  }
}

/** Deleting files asks first on a terminal; elsewhere it needs --yes. */
export async function confirm(context: CliContext, question: string): Promise<void> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError("CONFIRMATION_NEEDED", `${question} Not on a terminal, so not asking.`, { hint: "Pass --yes to confirm, or --dry-run to see the changes." });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: context.signal });
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError("CANCELLED", "Nothing was changed.");
  } finally {
    rl.close();
  }
}

interface Differences {
  added: readonly string[];
  modified: readonly string[];
  deleted: readonly string[];
}

function describeFor(pkg: Package, dir: string): (kind: keyof Differences, key: string) => string {
  const where = `${pkg.name}@${pkg.topHash.slice(0, 10)}`;
  return (kind, key) => {
    const path = `${dir.replace(/\/$/, "")}/${key}`;
    if (kind === "added") return `${path} exists locally, but does not exist in the manifest ${where}`;
    if (kind === "deleted") return `${path} is in the manifest ${where}, but does not exist locally`;
    return `${path} exists locally, but contents do not match manifest ${where}`;
  };
}

function report(context: CliContext, result: Differences, extra: { hash: string }, describe?: (kind: keyof Differences, key: string) => string): void {
  const count = result.added.length + result.modified.length + result.deleted.length;
  if (context.output.json) {
    context.output.data({ added: result.added, modified: result.modified, deleted: result.deleted, hash: extra.hash });
  } else if (count === 0) {
    context.output.text("No changes");
  } else {
    for (const kind of ["added", "modified", "deleted"] as const) {
      for (const key of result[kind]) context.output.text(describe ? describe(kind, key) : `${kind.padEnd(8)} ${key}`);
    }
    context.output.text(`${result.added.length} added, ${result.modified.length} modified, ${result.deleted.length} deleted`);
  }
  if (count > 0) process.exitCode = EXIT_CODES.differences;
}

/** Unchanged files are not read again: the folder's own stat cache, or one under $QUILT_HOME/cache/stat/. */
function statCacheOf(context: CliContext): { home: string } {
  return { home: context.config.home };
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError("USAGE", `${flag} must be a positive whole number, not ${text}.`);
  return n;
}
