import { Argument, type Command } from "commander";
import type { CliContext } from "../context.js";
import { completionScript, describeCommand, SHELLS, type Shell } from "../completion.js";

/** `quilt completion bash|zsh`: a script generated from the commands registered at run time. */
export function registerCompletion(program: Command, context: CliContext): void {
  program
    .command("completion")
    .description("Print a shell completion script for quilt (commands, options, choices; files for the rest).")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .addHelpText(
      "after",
      "\nExamples:\n  $ source <(quilt completion bash)\n  $ quilt completion bash > ~/.local/share/bash-completion/completions/quilt\n" +
        '  $ quilt completion zsh > "${fpath[1]}/_quilt"',
    )
    .action((shell: Shell) => {
      // A script, not data: printed as is, also with --json.
      context.output.text(completionScript(shell, describeCommand(program)).trimEnd());
    });
}
