import type { Command } from "commander";
import { UsageError } from "../../errors/index.js";
import { HashPool } from "../../hash/index.js";
import { PackageBuilder, STATE_DIR, type BuilderOptions } from "../../package/index.js";
import { validatePackageName, validateTag } from "../../registry/names.js";
import { isS3Storage, type Storage } from "../../storage/index.js";
import type { CliContext } from "../context.js";
import { createProgress } from "../progress.js";
import { parseMetaFlag, REGISTRY_HELP, registryOf, type RegistryFlag } from "./common.js";
import { checkWorkflow } from "../../workflows/index.js";
import { pushWorkspace } from "./workspace-push.js";
import { imageDigestOption, imageOption, metaWithProvenance, PROVENANCE_HELP, provenanceOption, type ProvenanceFlags } from "./provenance.js";


interface BuildFlags extends ProvenanceFlags {
  message?: string;
  meta?: string;
}

/** A builder holding `dir` as quilt3's `set_dir('.', dir, meta)` does. */
async function builderForDir(
  context: CliContext,
  dir: string,
  flags: BuildFlags,
  pool: HashPool,
  name?: string,
  more: Pick<BuilderOptions, "statCache"> = {},
): Promise<PackageBuilder> {
  const builder = new PackageBuilder({
    ...more,
    pool,
    maxRecordSize: context.config.maxRecordSize,
    ...(context.config.tmpDir === undefined ? {} : { tmpDir: context.config.tmpDir }),
    ...(name === undefined ? {} : { name }),
  });
  context.onExit(() => builder.dispose());
  const meta = await metaWithProvenance(context, dir, parseMetaFlag(flags.meta), flags);
  await builder.setDir(".", dir, { exclude: [STATE_DIR], ...(meta === undefined ? {} : { meta }) });
  return builder;
}

/**
 * Without versioning, physical keys carry no versionId and the next push of the same logical key
 * overwrites the bytes older revisions point to: say so before pushing (quilt3 does not).
 */
async function warnIfUnversioned(context: CliContext, storage: Storage): Promise<void> {
  if (!isS3Storage(storage)) return;
  // Reading the setting needs s3:GetBucketVersioning, which a pusher may lack: then say nothing.
  const status = await storage.versioningStatus().catch(() => undefined);
  if (status === undefined || status === "Enabled") return;
  context.output.warn(
    `Warning: ${storage.url} has versioning ${status === "Off" ? "off" : "suspended"}: physical keys will carry no versionId, ` +
      "and a later push can overwrite data that older revisions point to. Enable versioning on the bucket to keep every revision intact.",
  );
}

function withPool(context: CliContext): HashPool {
  const pool = new HashPool();
  context.onExit(() => pool.close());
  return pool;
}

export function registerBuild(program: Command, context: CliContext): void {
  program
    .command("hash")
    .description("Print the top hash a folder would have as a package (quilt3's, for the same message and metadata).")
    .argument("<dir>", "the folder")
    .option("-m, --message <text>", "the commit message (part of the top hash)")
    .option("--meta <json>", "package metadata, as JSON")
    .addHelpText("after", "\nExample:\n  $ quilt hash ./dataset\n  18b6a77a6ab31d304f03e01561fbc755b44746b376bcd85e6d226948876470b3")
    .action(async (dir: string, flags: BuildFlags) => {
      // The stat cache: a second `quilt hash` of an unchanged folder reads no file.
      const statCache = { dir, home: context.config.home };
      const builder = await builderForDir(context, dir, flags, withPool(context), undefined, { statCache });
      const progress = createProgress("Hashing", {}, context.output.json);
      const built = await builder.build({ message: flags.message ?? null, signal: context.signal, onProgress: (p) => progress.update(p) });
      progress.stop();
      if (context.output.json) context.output.data({ topHash: built.topHash, entries: built.entries });
      else context.output.text(built.topHash);
    });

  program
    .command("push")
    .description("Push a folder as a new revision of a package: data, then manifest, then pointers. In a workspace, without NAME: push-data, then push-manifest.")
    .argument("[name]", "ns/name (not in a workspace)")
    .option("--dir <dir>", "the folder to push (with NAME)")
    .option("--prefix <prefix>", "in a workspace: where push-data puts the data (default ns/name/)")
    .option("-m, --message <text>", "the commit message")
    .option("--meta <json>", "package metadata, as JSON")
    .option("-t, --tag <tag>", "also point this tag at the new revision")
    .option("--force", "replace latest even if it moved since it was read")
    .option("--dedupe", "write nothing if the new revision already is latest")
    .option("--workflow <id>", "validate with this workflow of the registry's .quilt/workflows/config.yml ('' for none; default: its default_workflow)")
    .addOption(provenanceOption())
    .addOption(imageOption())
    .addOption(imageDigestOption())
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExamples:\n  $ quilt push user/dataset --dir ./dataset -m 'first version' -t v1\n  $ quilt push -t v1        (in a workspace made by quilt init)")
    .addHelpText("after", `  $ quilt push user/workspace --dir . --provenance --image-digest sha256:…\n${PROVENANCE_HELP}`)
    .action(async (name: string | undefined, flags: BuildFlags & RegistryFlag & { dir?: string; prefix?: string; tag?: string; force?: boolean; dedupe?: boolean; workflow?: string }) => {
      if (name === undefined) return pushWorkspace(context, flags);
      if (flags.dir === undefined) throw new UsageError("USAGE", "quilt push NAME needs --dir DIR.", { hint: "Give the folder to push, or run `quilt push` without NAME inside a workspace." });
      const dir = flags.dir;
      validatePackageName(name);
      // Before any hashing or copying: a bad tag is a usage error, not something found after the data push.
      if (flags.tag !== undefined) validateTag(flags.tag);
      const registry = await registryOf(context, flags);
      const builder = await builderForDir(context, dir, flags, withPool(context), name);
      const parent = await registry.currentLatest(name);
      if (parent !== undefined) builder.addParent(name, parent);
      const quiet = context.output.json;
      await warnIfUnversioned(context, registry.storage);
      // As quilt3's `--workflow`: '' means none. Checked before any data moves, and again by pushManifest.
      const workflow = flags.workflow === "" ? null : flags.workflow;
      const check = { registry, name, message: flags.message ?? null, workflow, remotes: context.remotes, signal: context.signal };
      await checkWorkflow(builder.header, { ...check, entries: () => builder.pendingEntries(context.signal) });
      if (!quiet) context.output.text(`Pushing ${dir} to ${registry.url}/${name}/...`);
      const progress = createProgress("Pushing data", {}, quiet);
      const started = Date.now();
      const data = await builder.pushData({
        registry,
        name,
        signal: context.signal,
        concurrency: context.config.transferConcurrency,
        onProgress: (p) => progress.update(p),
      });
      progress.stop();
      if (!quiet) {
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        context.output.text(
          `Data: ${data.copied} copied (${data.bytes} bytes), ${data.exists} already there (data exists, skipping), ${data.referenced} referenced, in ${seconds} s`,
        );
        context.output.text("Building manifest...");
      }
      const result = await builder.pushManifest({
        registry,
        name,
        message: flags.message ?? null,
        signal: context.signal,
        workflow,
        remotes: context.remotes,
        ...(flags.tag === undefined ? {} : { tags: [flags.tag] }),
        ...(flags.force ? { force: true } : {}),
        ...(flags.dedupe ? { dedupe: true } : {}),
      });
      if (quiet) {
        context.output.data({ ...result, data });
        return;
      }
      context.output.text(`Tophash: ${result.topHash}`);
      if (result.deduped) {
        context.output.text(`Skipping since package with hash ${result.topHash} already exists`);
        return;
      }
      context.output.text(`Pushing manifest to ${registry.url}/${result.manifestKey}`);
      const short = await registry.shortHash(result.topHash);
      for (const pointer of result.pointers.filter((p) => p !== result.timestamp)) {
        context.output.text(`Linking ${name}:${pointer} to manifest ${short}`);
      }
    });
}
