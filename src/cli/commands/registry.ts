import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { REGISTRY_HELP, registryOf, type RegistryFlag } from "./common.js";

/** What a registry holds: its packages, and the revisions and tags of one. */
export function registerRegistry(program: Command, context: CliContext): void {
  program
    .command("packages")
    .description("List the packages of a registry (NDJSON with --json).")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExample:\n  $ quilt packages --registry ./my-registry")
    .action(async (flags: RegistryFlag) => {
      for await (const name of (await registryOf(context, flags)).listPackages()) {
        await context.output.line(context.output.json ? JSON.stringify({ name }) : name);
      }
    });

  program
    .command("versions")
    .description("List the pointers of a package: timestamps (revisions), tags and latest.")
    .argument("<name>", "ns/name")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", "\nExample:\n  $ quilt versions user/dataset")
    .action(async (name: string, flags: RegistryFlag) => {
      for await (const pointer of (await registryOf(context, flags)).listPointers(name)) {
        await context.output.line(
          context.output.json ? JSON.stringify(pointer) : `${pointer.pointer.padEnd(12)} ${pointer.topHash}  ${pointer.kind}`,
        );
      }
    });
}
