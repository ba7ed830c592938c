import type { Command } from "commander";
import { toPlain, type PyValue } from "../../json/index.js";
import type { CliContext } from "../context.js";
import { entryJson, humanBytes, objectJson, pyJson } from "../format.js";
import { browse, REGISTRY_HELP, type RegistryFlag } from "./common.js";

/** Browse commands read only what they need through the package's browse index, unless asked to check. */
const VERIFY_HELP = "check the whole manifest against its top hash first (default: read only what is needed, trusting the registry's binding)";
type BrowseFlags = RegistryFlag & { verify?: boolean };

/** The read path that does not write files: ls, cat, meta, show. */
export function registerBrowse(program: Command, context: CliContext): void {
  program
    .command("ls")
    .description("List the files and folders of a package folder (NDJSON with --json).")
    .argument("<handle>", "the package: ns/name[:tag][@hash], s3://BUCKET/ns/name… or quilt+s3://…")
    .argument("[prefix]", "a folder inside the package", "")
    .option("-r, --recursive", "list every file below the folder")
    .option("--registry <url>", REGISTRY_HELP)
    .option("--verify", VERIFY_HELP)
    .addHelpText("after", "\nExamples:\n  $ quilt ls user/dataset\n  $ quilt ls user/dataset:v1 cats/ --json")
    .action(async (handle: string, prefix: string, flags: BrowseFlags & { recursive?: boolean }) => {
      const pkg = await browse(context, handle, flags);
      const folder = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
      if (flags.recursive) {
        for await (const entry of pkg.entries({ prefix: folder, signal: context.signal })) {
          await context.output.line(context.output.json ? entryJson(entry) : entry.logicalKey);
        }
        return;
      }
      for await (const item of pkg.lsItems(folder)) {
        if (item.kind === "dir") {
          await context.output.line(context.output.json ? JSON.stringify({ logicalKey: item.logicalKey, kind: "dir" }) : item.logicalKey);
        } else {
          await context.output.line(context.output.json ? entryJson(item.entry) : item.entry.logicalKey);
        }
      }
    });

  program
    .command("cat")
    .description("Write a file of a package to stdout, checked against its hash.")
    .argument("<handle>", "the package")
    .argument("<key>", "the file's logical key")
    .option("--registry <url>", REGISTRY_HELP)
    .option("--verify", VERIFY_HELP)
    .addHelpText("after", "\nExample:\n  $ quilt cat user/dataset README.md")
    .action(async (handle: string, key: string, flags: BrowseFlags) => {
      const pkg = await browse(context, handle, flags);
      const bytes = await pkg.getBytes(key, { signal: context.signal });
      await context.output.bytes(bytes);
    });

  program
    .command("meta")
    .description("Print the package's metadata, or one file's (JSON, numbers exact).")
    .argument("<handle>", "the package")
    .argument("[key]", "a file's logical key")
    .option("--registry <url>", REGISTRY_HELP)
    .option("--verify", VERIFY_HELP)
    .addHelpText("after", "\nExamples:\n  $ quilt meta user/dataset\n  $ quilt meta user/dataset labels/1.json")
    .action(async (handle: string, key: string | undefined, flags: BrowseFlags) => {
      const pkg = await browse(context, handle, flags);
      // quilt3's `meta`: the stored user_meta, null included; `{}` only when there is none.
      const owner = key === undefined ? pkg.header : (await pkg.entry(key)).meta;
      const meta: PyValue = owner.has("user_meta") ? (owner.get("user_meta") as PyValue) : new Map();
      context.output.raw(context.output.json ? pyJson(meta) : JSON.stringify(toPlain(meta), jsonBigints, 2));
    });

  program
    .command("show")
    .description("Summarize a package revision: name, top hash, message, metadata, entries, size.")
    .argument("<handle>", "the package")
    .option("--registry <url>", REGISTRY_HELP)
    .option("--verify", VERIFY_HELP)
    .addHelpText("after", "\nExample:\n  $ quilt show user/dataset:v1")
    .action(async (handle: string, flags: BrowseFlags) => {
      const pkg = await browse(context, handle, flags);
      const { entries, bytes } = await pkg.stats();
      const meta = pkg.header.get("user_meta");
      if (context.output.json) {
        context.output.raw(
          objectJson({
            name: JSON.stringify(pkg.name),
            registry: JSON.stringify(pkg.registry.url),
            topHash: JSON.stringify(pkg.topHash),
            message: JSON.stringify(pkg.message),
            meta: meta === undefined ? "null" : pyJson(meta),
            entries: String(entries),
            bytes: String(bytes),
          }),
        );
        return;
      }
      context.output.text(`Package: ${pkg.name}`);
      context.output.text(`Registry: ${pkg.registry.url}`);
      context.output.text(`Top hash: ${pkg.topHash}`);
      context.output.text(`Message: ${pkg.message ?? "(none)"}`);
      context.output.text(`Entries: ${entries.toLocaleString("en")} (${humanBytes(bytes)})`);
      if (meta !== undefined) context.output.text(`Metadata: ${JSON.stringify(toPlain(meta), jsonBigints)}`);
    });
}

/** Plain JSON of metadata for people: big ints as numbers' text. */
function jsonBigints(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
