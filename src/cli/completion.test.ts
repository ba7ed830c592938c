import { Argument, Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { allCommands, completionScript, describeCommand } from "./completion.js";

function program(): Command {
  const root = new Command("quilt").option("--json", "JSON");
  root.command("push").argument("<name>").requiredOption("--dir <dir>", "the folder").option("-t, --tag <tag>", "a tag").option("--force", "force");
  const config = root.command("config").description("settings");
  config.command("set").description("store one").argument("<key>").argument("<value>");
  root.command("completion").addArgument(new Argument("<shell>").choices(["bash", "zsh"]));
  root.command("mode").addOption(new Option("--level <n>", "it's a level: [1-3]").choices(["1", "2", "3"]));
  root.command("secret").addOption(new Option("--hidden-one").hideHelp());
  return root;
}

describe("describeCommand", () => {
  it("walks the commander tree: paths, options, value options, choices", () => {
    const spec = describeCommand(program());
    expect(allCommands(spec).map((c) => c.path)).toEqual(["", "push", "config", "config set", "completion", "mode", "secret"]);
    const push = spec.subcommands[0];
    expect(push?.options.map((o) => [o.flags, o.takesValue])).toEqual([
      [["--dir"], true],
      [["--tag", "-t"], true],
      [["--force"], false],
      [["-h", "--help"], false],
    ]);
    expect(spec.subcommands[2]?.argChoices).toEqual(["bash", "zsh"]);
    expect(spec.subcommands[3]?.options[0]?.choices).toEqual(["1", "2", "3"]);
    expect(spec.subcommands[4]?.options.map((o) => o.flags)).toEqual([["-h", "--help"]]);
  });
});

describe("completionScript", () => {
  it("names every command and option in both shells, quoting descriptions for zsh", () => {
    const spec = describeCommand(program());
    for (const shell of ["bash", "zsh"] as const) {
      const script = completionScript(shell, spec);
      for (const c of allCommands(spec)) expect(script).toContain(`"${c.path}")`);
      expect(script).toContain("--dir");
      expect(script).toContain('"mode|--level") echo "1 2 3"');
    }
    expect(completionScript("zsh", spec)).toContain(String.raw`'--level:it'\''s a level: [1-3]'`);
    expect(completionScript("bash", spec)).toContain("complete -o default -F _quilt quilt");
  });
});
