import type { Command } from "commander";
import { readSettings, SETTINGS, writeSettings, type SettingName } from "../../config/index.js";
import { UsageError } from "../../errors/index.js";
import type { CliContext } from "../context.js";

/** `quilt config get|set`: settings in `$QUILT_HOME/config.json`; environment variables override them. */
export function registerConfig(program: Command, context: CliContext): void {
  const config = program
    .command("config")
    .description("Read or change settings ($QUILT_HOME/config.json; environment variables override them).")
    .addHelpText("after", `\nSettings:\n${Object.entries(SETTINGS).map(([k, v]) => `  ${k.padEnd(14)} ${v}`).join("\n")}\n\nExample:\n  $ quilt config set registry ~/datasets-registry`);

  config
    .command("get")
    .description("Print a setting's value as it applies now (environment included), or all of them.")
    .argument("[key]", "a setting name")
    .action((key: string | undefined) => {
      const s3 = context.config.s3;
      const effective: Record<SettingName, string> = {
        registry: context.config.registry,
        "s3.endpoint": s3.endpoint ?? "",
        "s3.region": s3.region ?? "",
        "s3.path-style": String(s3.forcePathStyle ?? s3.endpoint !== undefined),
      };
      if (key === undefined) {
        if (context.output.json) context.output.data(effective);
        else for (const [k, v] of Object.entries(effective)) context.output.text(`${k}=${v}`);
        return;
      }
      const value = effective[settingName(key)];
      if (context.output.json) context.output.data({ [key]: value });
      else context.output.text(value);
    });

  config
    .command("set")
    .description("Store a setting (an empty value removes it).")
    .argument("<key>", "a setting name")
    .argument("<value>", "its value")
    .action((key: string, value: string) => {
      const name = settingName(key);
      const settings = readSettings(context.config.configFile);
      const values = { ...settings.values };
      if (value === "") delete values[name];
      else values[name] = value;
      writeSettings(context.config.configFile, { version: 1, values });
      if (context.output.json) context.output.data({ [name]: value });
    });
}

function settingName(key: string): SettingName {
  if (key in SETTINGS) return key as SettingName;
  throw new UsageError("CONFIG_UNKNOWN_KEY", `Unknown setting '${key}'.`, {
    hint: `Known settings: ${Object.keys(SETTINGS).join(", ")}.`,
  });
}
