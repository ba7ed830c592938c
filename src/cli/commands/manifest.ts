import { open } from "node:fs/promises";
import type { Command } from "commander";
import { NotFoundError } from "../../errors/index.js";
import { fileSource, rewriteManifest, topHashOf } from "../../manifest/index.js";
import type { CliContext } from "../context.js";

export function registerManifest(program: Command, context: CliContext): void {
  const manifest = program
    .command("manifest")
    .description("Work on a manifest file directly: its top hash, or quilt3's canonical re-dump.");

  manifest
    .command("hash")
    .description("Print the top hash of a manifest file (quilt3's, computed in one streaming pass).")
    .argument("<file>", "a manifest (JSONL)")
    .addHelpText("after", "\nExample:\n  $ quilt manifest hash .quilt/packages/2a5a6715…\n  2a5a67156ca9238c14d12042db51c5b52260fdd5511b61ea89b58929d6e1769b")
    .action(async (file: string) => {
      await assertExists(file);
      const topHash = await topHashOf(fileSource(file), context.manifestOptions());
      if (context.output.json) context.output.data({ topHash });
      else context.output.text(topHash);
    });

  manifest
    .command("rewrite")
    .description("Write a manifest back as quilt3 would after loading it (sorted, normalized).")
    .argument("<file>", "a manifest (JSONL)")
    .argument("<out>", "where to write the canonical manifest")
    .addHelpText("after", "\nExample:\n  $ quilt manifest rewrite in.jsonl out.jsonl")
    .action(async (file: string, out: string) => {
      await assertExists(file);
      const result = await rewriteManifest(
        fileSource(file),
        async () => {
          const handle = await open(out, "w");
          context.onExit(() => handle.close());
          return async (chunk: Buffer) => void (await handle.write(chunk));
        },
        context.manifestOptions(),
      );
      if (context.output.json) context.output.data(result);
      else context.output.text(`${result.topHash} (${result.entries} entries, ${result.bytes} bytes)`);
    });
}

async function assertExists(file: string): Promise<void> {
  try {
    await (await open(file, "r")).close();
  } catch (error) {
    throw new NotFoundError("FILE_NOT_FOUND", `Cannot read ${file}.`, {
      hint: "Check the path of the manifest file.",
      cause: error,
    });
  }
}
