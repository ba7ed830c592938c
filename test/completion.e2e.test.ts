/**
 * `quilt completion bash|zsh` against the commands the built `quilt` really has, as its --help
 * lists them: every command (nested ones too) is completed, with its options; bash completion is
 * run for real, and zsh's script is checked by zsh when it is installed. Also the rule that
 * every command's --help shows an example (a group's example covers its subcommands).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, runQuilt } from "./helpers/cli.js";

interface Listed {
  readonly path: string[];
  readonly help: string;
  readonly children: string[];
}

const root = mkdtempSync(join(tmpdir(), "quiltkit-completion-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const commands: Listed[] = [];
const scripts: Record<"bash" | "zsh", string> = { bash: "", zsh: "" };

/** The command names a --help lists under "Commands:" (commander's own `help` left out). */
function listedCommands(help: string): string[] {
  const section = (help.split(/^Commands:\n/m)[1] ?? "").split("\n\n")[0] ?? "";
  return [...section.matchAll(/^ {2}([a-z][a-z0-9-]*)\b/gm)].map((m) => m[1] as string).filter((n) => n !== "help");
}

async function walk(path: string[]): Promise<void> {
  const help = expectOk(await runQuilt([...path, "--help"])).stdout;
  const children = listedCommands(help);
  commands.push({ path, help, children });
  await Promise.all(children.map((child) => walk([...path, child])));
}

beforeAll(async () => {
  await walk([]);
  scripts.bash = expectOk(await runQuilt(["completion", "bash"])).stdout;
  scripts.zsh = expectOk(await runQuilt(["completion", "zsh"])).stdout;
});

describe("quilt completion", () => {
  it("lists every registered command, nested ones under their group, in both shells", () => {
    expect(commands.length).toBeGreaterThan(20);
    for (const shell of ["bash", "zsh"] as const) {
      for (const { path, children } of commands) {
        if (children.length === 0) continue;
        const arm = scripts[shell].split("\n").find((line) => line.startsWith(`    "${path.join(" ")}") `));
        expect(arm, `${shell}: subcommands of '${path.join(" ")}'`).toBeDefined();
        for (const child of children) expect(arm, `${shell}: ${[...path, child].join(" ")}`).toMatch(new RegExp(`[ "']${child}[ ":]`));
      }
    }
  });

  it("offers each command's options as its --help shows them", () => {
    for (const { path, help } of commands.filter((c) => c.path.length > 0)) {
      const options = [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1] as string);
      const arm = scripts.bash.split("\n").find((line) => line.includes(`"${path.join(" ")}") echo "-`) && line.includes("--help"));
      for (const option of options) expect(arm, `${path.join(" ")} ${option}`).toContain(option);
    }
  });

  it("completes commands, options, option values and argument choices when bash runs it", () => {
    const file = join(root, "quilt.bash");
    writeFileSync(file, scripts.bash);
    const complete = (...words: string[]): string[] => {
      const script = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(" ")}); COMP_CWORD=${words.length - 1}; _quilt; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const run = spawnSync("bash", ["--noprofile", "--norc", "-c", script], { encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      return run.stdout.split("\n").filter((w) => w !== "");
    };
    const top = commands.find((c) => c.path.length === 0)?.children ?? [];
    expect(complete("quilt", "")).toEqual(top);
    expect(complete("quilt", "ro")).toEqual(["rollback"]);
    expect(complete("quilt", "--json", "config", "s")).toEqual(["set"]);
    expect(complete("quilt", "log", "--")).toEqual(["--max-count", "--registry", "--help", "--json"]);
    expect(complete("quilt", "push", "u/p", "--dir", "")).toEqual([]); // a value: the shell's file completion
    expect(complete("quilt", "completion", "")).toEqual(["bash", "zsh"]);
    expect(complete("quilt", "tag", "--registry", "/r", "u/p", "--de")).toEqual(["--delete"]);
  });

  it("gives zsh a script it parses (when zsh is installed)", () => {
    const zsh = spawnSync("zsh", ["-n"], { input: scripts.zsh, encoding: "utf8" });
    if (zsh.error !== undefined) return; // no zsh on this machine
    expect(zsh.status, zsh.stderr).toBe(0);
    expect(scripts.zsh.startsWith("#compdef quilt\n")).toBe(true);
  });

  it("every command's --help has an example (a group's covers its subcommands, and its subcommands a group)", () => {
    const find = (path: readonly string[]): Listed | undefined => commands.find((c) => c.path.join(" ") === path.join(" "));
    const hasExample = (c: Listed | undefined): boolean => /Examples?:/.test(c?.help ?? "");
    const missing = commands
      .filter((c) => c.path.length > 0 && !hasExample(c))
      .filter((c) =>
        c.children.length > 0
          ? !c.children.every((child) => hasExample(find([...c.path, child])))
          : !(c.path.length > 1 && hasExample(find(c.path.slice(0, -1)))),
      )
      .map((c) => `quilt ${c.path.join(" ")}`);
    expect(missing, "commands whose --help has no example").toEqual([]);
  });
});
