import { setMaxListeners } from "node:events";
import { Command, CommanderError, Option } from "commander";
import { loadConfig } from "../config/index.js";
import { remotesOf } from "../package/registries.js";
import { EXIT_CODES, InterruptedError, UsageError } from "../errors/index.js";
import { registerBrowse } from "./commands/browse.js";
import { registerBuild } from "./commands/build.js";
import { registerCache } from "./commands/cache.js";
import { registerCompletion } from "./commands/completion.js";
import { registerConfig } from "./commands/config.js";
import { registerFiles } from "./commands/files.js";
import { registerManifest } from "./commands/manifest.js";
import { registerRegistry } from "./commands/registry.js";
import { registerVersions } from "./commands/versions.js";
import { registerWorkspace } from "./commands/workspace.js";
import { registerWorkspacePush } from "./commands/workspace-push.js";
import type { CliContext } from "./context.js";
import { createOutput, EXIT_OUTPUT_CLOSED, OutputClosedError, reportError } from "./output.js";
import { interruptHandler } from "./interrupt.js";

const EXIT_HELP = `
Exit codes:
  ${EXIT_CODES.ok}    ok
  ${EXIT_CODES.differences}    differences found (diff, verify, status)
  ${EXIT_CODES.usage}    usage error
  ${EXIT_CODES["not-found"]}    not found
  ${EXIT_CODES.conflict}    conflict
  ${EXIT_CODES.integrity}    integrity (hash mismatch, hostile or malformed manifest)
  ${EXIT_CODES.storage}    storage or network
  ${EXIT_CODES.interrupted}  interrupted
  ${EXIT_OUTPUT_CLOSED}  the reader of the output went away (quilt ... | head)`;

/** Run the `quilt` command line on `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json");
  const cleanups: (() => Promise<void> | void)[] = [];
  const abort = new AbortController();
  // Every transfer in flight listens to Ctrl-C's signal: many listeners is normal.
  setMaxListeners(0, abort.signal);
  const onSigint = interruptHandler(() => abort.abort(new InterruptedError("Interrupted by Ctrl-C")));
  process.on("SIGINT", onSigint);
  const output = createOutput(json, process.stdout, process.stderr, (closed) => abort.abort(closed));
  try {
    const config = loadConfig();
    const remotes = remotesOf(config);
    cleanups.push(() => remotes.close());
    const context: CliContext = {
      config,
      remotes,
      output,
      signal: abort.signal,
      manifestOptions: () => ({ maxRecordSize: config.maxRecordSize, tmpDir: config.tmpDir, signal: abort.signal }),
      onExit: (cleanup) => void cleanups.push(cleanup),
    };
    await buildProgram(context).parseAsync([...argv], { from: "user" });
    if (output.closed !== undefined) return EXIT_OUTPUT_CLOSED;
    // diff, verify and status set exit code 1 when they found differences.
    return typeof process.exitCode === "number" ? process.exitCode : EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error, json);
    // Whatever the command threw once stdout's reader left (its abort, a write), nobody is listening.
    if (output.closed !== undefined || error instanceof OutputClosedError) return EXIT_OUTPUT_CLOSED;
    return reportError(error, json);
  } finally {
    process.removeListener("SIGINT", onSigint);
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

function buildProgram(context: CliContext): Command {
  const program = new Command("quilt")
    .description("Quilt data packages: build, push, browse and install versioned datasets (quilt3-compatible).")
    .addOption(new Option("--json", "print JSON (NDJSON for listings); errors as {code, message, hint} on stderr"))
    .showHelpAfterError()
    .exitOverride()
    // With --json, usage errors are reported once, as JSON, by commanderExit.
    .configureOutput({
      writeErr: (s) => void (context.output.json || process.stderr.write(s)),
      writeOut: (s) => void process.stdout.write(s),
    })
    .addHelpText("after", EXIT_HELP);
  registerBrowse(program, context);
  registerFiles(program, context);
  registerCache(program, context);
  registerBuild(program, context);
  registerRegistry(program, context);
  registerConfig(program, context);
  registerManifest(program, context);
  registerVersions(program, context);
  registerWorkspace(program, context);
  registerWorkspacePush(program, context);
  registerCompletion(program, context);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * Commander reports help and usage mistakes by throwing after it has printed them; only the
 * JSON form still has to be written, and the exit code mapped to ours.
 */
function commanderExit(error: CommanderError, json: boolean): number {
  if (error.exitCode === 0) return EXIT_CODES.ok;
  // No command at all: commander printed the help (to stderr) and "(outputHelp)" is no message.
  if (error.code === "commander.help") error.message = "No command given.";
  if (json) {
    const usage = new UsageError("USAGE", error.message.replace(/^error: /, ""), { hint: "Run `quilt --help` for usage." });
    process.stderr.write(JSON.stringify(usage.toJSON()) + "\n");
  }
  return EXIT_CODES.usage;
}
