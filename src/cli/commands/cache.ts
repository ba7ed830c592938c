import type { Command } from "commander";
import { ObjectCache, type CachedObject, type CacheTotals } from "../../cache/index.js";
import { UsageError } from "../../errors/index.js";
import { formatBytes } from "../../transfer/errors.js";
import type { CliContext } from "../context.js";

/** The object cache the CLI reads and fills: QUILT_CACHE_DIR, default `$QUILT_HOME/cache/objects`. */
export function objectCacheOf(context: CliContext): ObjectCache {
  return new ObjectCache(context.config.cacheDir);
}

const CACHE_HELP = `
The object cache keeps package files fetched from remote registries, keyed by their hash and shared
by every package: \`quilt cat\` and installs fetch a file once and then read it from here. Files are
checked against their hash, and a damaged one is fetched again. Nothing is removed unless you ask.
Folder: QUILT_CACHE_DIR, default $QUILT_HOME/cache/objects.

Examples:
  $ quilt cache size
  $ quilt cache ls --json
  $ quilt cache prune --max-size 10G
  $ quilt cache clear`;

const SIZE_HELP = "a size: 10G, 500M, 1.5T (powers of 1024; also KiB..TiB), 10GB (powers of 1000), or bytes";

/** `quilt cache ls|size|clear|prune`: look after the object cache. */
export function registerCache(program: Command, context: CliContext): void {
  const cache = program.command("cache").description("Look after the local object cache: list, size, clear, prune.").addHelpText("after", CACHE_HELP);

  cache
    .command("ls")
    .description("List the cached objects: last use, size, hash (NDJSON with --json).")
    .addHelpText("after", "\nExample:\n  $ quilt cache ls --json")
    .action(async () => {
      for await (const object of objectCacheOf(context).list({ signal: context.signal })) await context.output.line(lineOf(context, object));
    });

  cache
    .command("size")
    .description("Count the cached objects and their bytes.")
    .addHelpText("after", "\nExample:\n  $ quilt cache size")
    .action(async () => {
      const objects = objectCacheOf(context);
      report(context, { dir: objects.dir, ...(await objects.size({ signal: context.signal })) }, "in");
    });

  cache
    .command("clear")
    .description("Remove every cached object (installs keep their files; packages fetch again when needed).")
    .addHelpText("after", "\nExample:\n  $ quilt cache clear")
    .action(async () => {
      const objects = objectCacheOf(context);
      report(context, { dir: objects.dir, ...(await objects.clear({ signal: context.signal })) }, "removed from");
    });

  cache
    .command("prune")
    .description("Remove the least recently used objects until the cache holds at most --max-size.")
    .requiredOption("--max-size <size>", SIZE_HELP)
    .addHelpText("after", "\nExamples:\n  $ quilt cache prune --max-size 10G\n  $ quilt cache prune --max-size 0   # empties it")
    .action(async (flags: { maxSize: string }) => {
      const objects = objectCacheOf(context);
      const result = await objects.prune(parseByteSize(flags.maxSize), { signal: context.signal, ...(context.config.tmpDir === undefined ? {} : { tmpDir: context.config.tmpDir }) });
      if (context.output.json) return context.output.data({ dir: objects.dir, ...result });
      context.output.text(`Removed ${describe(result.removed)}; ${describe(result.kept)} kept in ${objects.dir}`);
    });
}

function lineOf(context: CliContext, o: CachedObject): string {
  if (context.output.json) return JSON.stringify({ type: o.type, hash: o.hash, size: o.size, lastUsed: o.lastUsed.toISOString(), links: o.links, path: o.path });
  return `${o.lastUsed.toISOString()}  ${String(o.size).padStart(12)}  ${o.type}:${o.hash}`;
}

function report(context: CliContext, totals: CacheTotals & { dir: string }, preposition: string): void {
  if (context.output.json) context.output.data(totals);
  else context.output.text(`${describe(totals)} ${preposition} ${totals.dir}`);
}

function describe(t: CacheTotals): string {
  return `${t.objects} object${t.objects === 1 ? "" : "s"} (${formatBytes(t.bytes)})`;
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
const DECIMAL: Record<string, number> = { kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15 };

/** `10G` → 10 GiB; `10GB` → 10^10; `10GiB`, `10k`, `1.5T`, `4096`. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  const unit = (m?.[2] ?? "").toLowerCase();
  const suffix = (m?.[3] ?? "").toLowerCase();
  const factor = suffix === "b" && unit !== "" ? DECIMAL[`${unit}b`] : UNITS[unit];
  const bytes = m === null || factor === undefined ? NaN : Math.floor(Number(m[1]) * factor);
  if (!Number.isSafeInteger(bytes)) {
    throw new UsageError("CACHE_BAD_MAX_SIZE", `${JSON.stringify(text)} is not a size.`, { hint: `Give ${SIZE_HELP}.` });
  }
  return bytes;
}
