/**
 * Shell completion scripts generated from the commander tree the `quilt` command really has:
 * command names (nested ones too), their options, which options take a value, and the choices of
 * arguments and options. No list is written by hand, so a new command completes as soon as it is
 * registered. Everything else (handles, folders) falls back to the shell's file completion.
 */
import type { Command, Option } from "commander";

export const SHELLS = ["bash", "zsh"] as const;
export type Shell = (typeof SHELLS)[number];

export interface OptionSpec {
  /** `--long` and `-s` forms. */
  readonly flags: readonly string[];
  readonly description: string;
  readonly takesValue: boolean;
  readonly choices: readonly string[];
}

export interface CommandSpec {
  /** Space-separated path from the root: `""` for `quilt`, `config set` for `quilt config set`. */
  readonly path: string;
  readonly names: readonly string[];
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly subcommands: readonly CommandSpec[];
  /** Choices of the command's arguments, in order (empty for free arguments). */
  readonly argChoices: readonly string[];
}

const HELP: OptionSpec = { flags: ["-h", "--help"], description: "show help", takesValue: false, choices: [] };
/** Words that are safe to write unquoted in both shells' scripts. */
const WORD = /^[A-Za-z0-9][A-Za-z0-9_.:+-]*$/;

/** The tree under `command` (usually the root program). */
export function describeCommand(command: Command, parentPath = ""): CommandSpec {
  const path = parentPath;
  return {
    path,
    names: [command.name(), ...command.aliases()].filter((n) => WORD.test(n)),
    description: command.description(),
    options: [...command.options.filter((o) => !o.hidden).map(optionSpec), HELP],
    subcommands: command.commands.map((sub) => describeCommand(sub, path === "" ? sub.name() : `${path} ${sub.name()}`)),
    argChoices: command.registeredArguments.flatMap((a) => a.argChoices ?? []).filter((c) => WORD.test(c)),
  };
}

function optionSpec(option: Option): OptionSpec {
  return {
    flags: [option.long, option.short].filter((f): f is string => f !== undefined && WORD.test(f.replace(/^-+/, ""))),
    description: option.description,
    takesValue: option.required || option.optional,
    choices: (option.argChoices ?? []).filter((c) => WORD.test(c)),
  };
}

/** Every command of the tree, depth first, root included. */
export function allCommands(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.subcommands.flatMap(allCommands)];
}

export function completionScript(shell: Shell, root: CommandSpec): string {
  return shell === "bash" ? bashScript(root) : zshScript(root);
}

/** One `case` arm per command path: `"config set") BODY ;;`. */
function caseArms(root: CommandSpec, body: (c: CommandSpec) => string | undefined): string {
  return allCommands(root)
    .map((c) => [c.path, body(c)] as const)
    .filter((arm): arm is readonly [string, string] => arm[1] !== undefined)
    .map(([path, text]) => `    "${path}") ${text} ;;`)
    .join("\n");
}

const words = (list: readonly string[]): string => list.join(" ");
const globalOptions = (root: CommandSpec): OptionSpec[] => root.options.filter((o) => o !== HELP);

/** The shared helpers: which words are subcommands, options, value options, choices at a path. */
function helpers(root: CommandSpec, prefix: string): string {
  const global = globalOptions(root);
  const valueFlags = (c: CommandSpec): string[] => [...c.options, ...global].filter((o) => o.takesValue).flatMap((o) => o.flags);
  return [
    `${prefix}_subcommands() {\n  case "$1" in\n${caseArms(root, (c) => (c.subcommands.length ? `echo "${words(c.subcommands.flatMap((s) => s.names))}"` : undefined))}\n  esac\n}`,
    `${prefix}_value_options() {\n  case "$1" in\n${caseArms(root, (c) => `echo "${words(valueFlags(c))}"`)}\n  esac\n}`,
    `${prefix}_choices() {\n  case "$1" in\n${caseArms(root, (c) => (c.argChoices.length ? `echo "${words(c.argChoices)}"` : undefined))}\n  esac\n}`,
    `${prefix}_option_choices() {\n  case "$1" in\n${allCommands(root)
      .flatMap((c) => [...c.options, ...global].filter((o) => o.choices.length).flatMap((o) => o.flags.map((f) => `    "${c.path}|${f}") echo "${words(o.choices)}" ;;`)))
      .join("\n")}\n  esac\n}`,
    // Walks the words before the cursor: sets `qpath` (the command; `path` is special in zsh) and `prev_value_option`.
    `${prefix}_locate() {\n  local i word skip=0\n  qpath=""\n  prev_value_option=""\n  for ((i = $1; i < $2; i++)); do\n    word="\${${prefix}_words[i]}"\n` +
      `    if ((skip)); then skip=0; prev_value_option=""; continue; fi\n` +
      `    case "$word" in\n      --*=*) continue ;;\n      -*)\n        if [[ " $(${prefix}_value_options "$qpath") " == *" $word "* ]]; then skip=1; prev_value_option="$word"; fi\n        continue ;;\n    esac\n` +
      `    if [[ " $(${prefix}_subcommands "$qpath") " == *" $word "* ]]; then qpath="\${qpath:+$qpath }$word"; fi\n  done\n}`,
  ].join("\n\n");
}

function bashScript(root: CommandSpec): string {
  const options = caseArms(root, (c) => `echo "${words([...c.options, ...globalOptions(root)].flatMap((o) => o.flags).filter((f) => f.startsWith("--")))}"`);
  return `# bash completion for quilt, generated by \`quilt completion bash\` from the commands it has.
# Install: quilt completion bash > ~/.local/share/bash-completion/completions/quilt
#      or: echo 'source <(quilt completion bash)' >> ~/.bashrc

${helpers(root, "_quilt")}

_quilt_options() {
  case "$1" in
${options}
  esac
}

_quilt() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" qpath prev_value_option
  local -a _quilt_words=("\${COMP_WORDS[@]}")
  _quilt_locate 1 "$COMP_CWORD"
  COMPREPLY=()
  if [[ -n "$prev_value_option" ]]; then
    # An option's value: its choices, else the shell's file completion (-o default).
    COMPREPLY=($(compgen -W "$(_quilt_option_choices "$qpath|$prev_value_option")" -- "$cur"))
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_quilt_options "$qpath")" -- "$cur"))
    return 0
  fi
  local candidates
  candidates="$(_quilt_subcommands "$qpath")"
  [[ -z "$candidates" ]] && candidates="$(_quilt_choices "$qpath")"
  [[ -n "$candidates" ]] && COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
  return 0
}

complete -o default -F _quilt quilt
`;
}

function zshScript(root: CommandSpec): string {
  const describeList = (list: readonly { name: string; description: string }[]): string =>
    list.map((x) => zshQuote(`${x.name.replace(/:/g, "\\:")}:${oneLine(x.description)}`)).join(" ");
  const commandsArm = (c: CommandSpec): string | undefined =>
    c.subcommands.length ? `items=(${describeList(c.subcommands.flatMap((s) => s.names.map((name) => ({ name, description: s.description }))))})` : undefined;
  const optionsArm = (c: CommandSpec): string =>
    `items=(${describeList([...c.options, ...globalOptions(root)].flatMap((o) => o.flags.filter((f) => f.startsWith("--")).map((name) => ({ name, description: o.description }))))})`;
  return `#compdef quilt
# zsh completion for quilt, generated by \`quilt completion zsh\` from the commands it has.
# Install: quilt completion zsh > "\${fpath[1]}/_quilt"   (then restart zsh)
#      or: echo 'source <(quilt completion zsh)' >> ~/.zshrc   (after compinit)

${helpers(root, "_quilt")}

_quilt_command_items() {
  case "$1" in
${caseArms(root, commandsArm)}
  esac
}

_quilt_option_items() {
  case "$1" in
${caseArms(root, optionsArm)}
  esac
}

_quilt() {
  local qpath prev_value_option
  local -a items _quilt_words
  _quilt_words=("\${words[@]}")  # words[1] is quilt, as COMP_WORDS[0] in bash
  _quilt_locate 2 "$CURRENT"
  if [[ -n "$prev_value_option" ]]; then
    local choices="$(_quilt_option_choices "$qpath|$prev_value_option")"
    if [[ -n "$choices" ]]; then compadd -- \${=choices}; else _files; fi
    return
  fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _quilt_option_items "$qpath"
    _describe -t options 'quilt option' items
    return
  fi
  _quilt_command_items "$qpath"
  if (( \${#items} )); then
    _describe -t commands 'quilt command' items
    return
  fi
  local choices="$(_quilt_choices "$qpath")"
  if [[ -n "$choices" ]]; then compadd -- \${=choices}; else _files; fi
}

if [[ "\${funcstack[1]}" == "_quilt" ]]; then
  _quilt "$@"
else
  compdef _quilt quilt
fi
`;
}

/** A single-quoted shell word (both shells). */
function zshQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
