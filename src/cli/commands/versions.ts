import type { Command } from "commander";
import { UsageError } from "../../errors/index.js";
import { packageHistory, resolveRevisionRef, type Revision } from "../../registry/history.js";
import { LATEST } from "../../registry/names.js";
import type { CliContext } from "../context.js";
import { REGISTRY_HELP, type RegistryFlag } from "./common.js";
import { registerDelete } from "./delete.js";
import { locate, packageName, shortOf, type Located } from "./locate.js";

/** History and labels: log, tag, rollback, delete. */
export function registerVersions(program: Command, context: CliContext): void {
  registerLog(program, context);
  registerTag(program, context);
  registerRollback(program, context);
  registerDelete(program, context);
}

const LOG_HELP = `
Output: one line per revision (timestamp pointer), newest first:
  TIME (UTC)            HASH        TAGS              MESSAGE (first line)
With --json, NDJSON: {"time", "timestamp", "topHash", "tags", "message", "manifestFound"}
(time: ISO 8601 UTC; timestamp: the pointer's name, unix seconds as a string; tags include
latest). A top hash that only tags point at comes last, with time and timestamp null.

Examples:
  $ quilt log user/dataset
  $ quilt log s3://bucket/user/dataset -n 5 --json`;

function registerLog(program: Command, context: CliContext): void {
  program
    .command("log")
    .description("List every revision of a package, newest first: time, top hash, tags and message.")
    .argument("<name>", "ns/name, s3://BUCKET/ns/name or quilt+s3://BUCKET#package=ns/name")
    .option("-n, --max-count <n>", "show only the newest N revisions")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", LOG_HELP)
    .action(async (text: string, flags: RegistryFlag & { maxCount?: string }) => {
      const located = await locate(context, text, flags);
      const name = packageName(located, text, "log");
      const max = flags.maxCount === undefined ? Infinity : count(flags.maxCount, "--max-count");
      let shown = 0;
      const options = { signal: context.signal, maxRecordSize: context.config.maxRecordSize };
      for await (const revision of packageHistory(located.registry, name, options)) {
        if (shown++ >= max) break;
        await context.output.line(context.output.json ? JSON.stringify(revisionJson(revision)) : revisionLine(revision));
      }
    });
}

function revisionJson(r: Revision): object {
  return { time: isoTime(r.time), timestamp: r.timestamp, topHash: r.topHash, tags: r.tags, message: r.message, manifestFound: r.manifestFound };
}

function revisionLine(r: Revision): string {
  const time = (isoTime(r.time) ?? "(no timestamp)").padEnd(20);
  const tags = r.tags.length > 0 ? `(${r.tags.join(", ")})` : "";
  const message = !r.manifestFound ? "(manifest missing)" : (r.message?.split("\n")[0] ?? "");
  return `${time}  ${r.topHash.slice(0, 10)}  ${tags.padEnd(16)}  ${message}`.trimEnd();
}

/** `2024-05-01T12:00:00Z`: seconds are all a timestamp pointer has. */
function isoTime(time: Date | null): string | null {
  return time === null ? null : time.toISOString().replace(/\.000Z$/, "Z");
}

const TAG_HELP = `
Output: "Tagged NAME:TAG -> HASH", and "(moved from HASH)" when the tag pointed elsewhere.
--json: {"name", "tag", "topHash", "previous"} (previous: null for a new tag); with --delete,
{"name", "tag", "deleted": true, "topHash"}. Moving latest is \`quilt rollback\`'s job.

Examples:
  $ quilt tag user/dataset@3e6e97cc v1.0
  $ quilt tag user/dataset stable            # the latest revision
  $ quilt tag --delete user/dataset v1.0`;

function registerTag(program: Command, context: CliContext): void {
  program
    .command("tag")
    .description("Point a tag at a revision (creating or moving it), or remove a tag with --delete.")
    .argument("<handle>", "the revision: ns/name[:tag][@hash] (latest when neither); with --delete, the package name")
    .argument("<tag>", "the tag: letters, digits, '.', '_' or '-'")
    .option("-d, --delete", "remove the tag instead (the revision and its other pointers stay)")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", TAG_HELP)
    .action(async (text: string, tag: string, flags: RegistryFlag & { delete?: boolean }) => {
      const located = await locate(context, text, flags);
      if (flags.delete) return untag(context, located, packageName(located, text, "tag --delete"), tag);
      if (tag === LATEST) throw latestReserved(located.handle.name);
      const { registry, handle } = located;
      const topHash = await registry.resolve({ name: handle.name, ...pick("tag", handle.tag), ...pick("hash", handle.hash) });
      const { previous } = await registry.tag(handle.name, tag, topHash);
      if (context.output.json) return context.output.data({ name: handle.name, tag, topHash, previous: previous ?? null });
      const moved = previous === undefined || previous === topHash ? "" : ` (moved from ${await shortOf(registry, previous)})`;
      context.output.text(`Tagged ${handle.name}:${tag} -> ${await shortOf(registry, topHash)}${moved}`);
    });
}

async function untag(context: CliContext, { registry }: Located, name: string, tag: string): Promise<void> {
  const topHash = await registry.untag(name, tag);
  if (context.output.json) return context.output.data({ name, tag, deleted: true, topHash });
  context.output.text(`Deleted tag ${name}:${tag} (was ${await shortOf(registry, topHash)})`);
}

function latestReserved(name: string): UsageError {
  return new UsageError("TAG_RESERVED", "'latest' is moved by push and by rollback, not by tag.", {
    hint: `Use \`quilt rollback ${name} --to HASH|TAG\` to point latest at an older revision.`,
  });
}

const ROLLBACK_HELP = `
Only latest moves: no revision, timestamp or tag is deleted, so a rollback is undone by rolling
back to the previous hash it prints. --to takes a tag, a timestamp, a top hash (or 6+ digits of
one), or :TAG / @HASH to say which. Output: "NAME latest: FROM -> TO"; --json: {"name", "from", "to"}
(from: null when the package had no latest).

Examples:
  $ quilt rollback user/dataset --to v1.0
  $ quilt rollback user/dataset --to 3e6e97cc`;

function registerRollback(program: Command, context: CliContext): void {
  program
    .command("rollback")
    .description("Point latest at an older (or any) revision of a package; every revision is kept.")
    .argument("<name>", "ns/name (or s3://BUCKET/ns/name)")
    .requiredOption("--to <ref>", "the revision: a tag, timestamp or top hash")
    .option("--registry <url>", REGISTRY_HELP)
    .addHelpText("after", ROLLBACK_HELP)
    .action(async (text: string, flags: RegistryFlag & { to: string }) => {
      const located = await locate(context, text, flags);
      const name = packageName(located, text, "rollback");
      const { registry } = located;
      const to = await resolveRevisionRef(registry, name, flags.to);
      const { previous } = await registry.tag(name, LATEST, to);
      if (context.output.json) return context.output.data({ name, from: previous ?? null, to });
      const [from, target] = await Promise.all([previous === undefined ? "(none)" : shortOf(registry, previous), shortOf(registry, to)]);
      if (previous === to) return context.output.text(`${name} latest is already ${target}; nothing changed.`);
      context.output.text(`${name} latest: ${from} -> ${target}`);
      if (previous !== undefined) context.output.text(`Undo with: quilt rollback ${name} --to @${from}`);
    });
}

function count(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError("USAGE", `${flag} must be a whole number, not ${text}.`);
  return n;
}

function pick<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
