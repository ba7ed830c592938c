/**
 * `entries_schema`: quilt3 validates one array, `[{"logical_key", "size", "meta": user_meta}, …]`
 * in walk order, built whole in memory. Here the entries stream past instead when the schema's
 * verdict can be reached one entry at a time: a schema made of `type`, `minItems`, `maxItems`,
 * `items` (one schema for every entry) and `contains`, plus annotations. Any other schema (e.g.
 * `uniqueItems`, tuple `items`) is checked on the whole array, held in memory up to
 * `maxBufferedEntries` entries (default 1,000,000); a bigger package is refused with a clear error.
 */
import type { ValidateFunction } from "ajv";
import { InterruptedError, UsageError } from "../errors/index.js";
import type { PyObject, PyValue } from "../json/index.js";
import { compileSchema, failuresOf, type SchemaFailure } from "./ajv.js";
import { schemaViolation, type ViolationList } from "./report.js";
import type { LoadedSchema } from "./schemas.js";
import { toSchemaValue } from "./values.js";

export const DEFAULT_MAX_BUFFERED_ENTRIES = 1_000_000;

/** What the entries schema sees of an entry (quilt3: logical key, size and `entry.meta`). */
export interface EntryToValidate {
  readonly logicalKey: string;
  readonly size: number;
  /** The entry's whole metadata dict; the schema sees its `user_meta` (`{}` when absent). */
  readonly meta: PyObject;
}

export interface EntriesCheckOptions {
  readonly maxBufferedEntries?: number;
  readonly signal?: AbortSignal;
}

const ARRAY_KEYWORDS = ["$schema", "type", "minItems", "maxItems"];
const ANNOTATIONS = ["$id", "$comment", "title", "description", "default", "examples", "definitions", "readOnly", "writeOnly"];
const STREAMABLE = new Set([...ARRAY_KEYWORDS, ...ANNOTATIONS, "items", "contains"]);

export async function checkEntries(
  schema: LoadedSchema,
  entries: AsyncIterable<EntryToValidate>,
  report: ViolationList,
  options: EntriesCheckOptions = {},
): Promise<void> {
  const plan = streamPlan(schema.schema);
  if (plan === undefined) await checkWhole(schema, entries, report, options);
  else await checkStreaming(plan, entries, report, options.signal);
}

/** quilt3's `{'logical_key': lk, 'size': e.size, 'meta': e.meta}`. */
export function entryValue(entry: EntryToValidate): unknown {
  const meta: PyValue = entry.meta.has("user_meta") ? (entry.meta.get("user_meta") as PyValue) : new Map();
  return { logical_key: entry.logicalKey, size: entry.size, meta: toSchemaValue(meta) };
}

interface StreamPlan {
  /** The array-level keywords, checked against an array of the right length. */
  readonly shell: ValidateFunction;
  readonly items?: ValidateFunction;
  readonly contains?: ValidateFunction;
}

/** How to check the schema entry by entry, or `undefined` if it needs the whole array. */
export function streamPlan(schema: unknown): StreamPlan | undefined {
  if (typeof schema === "boolean") return { shell: compileSchema(schema) };
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return undefined;
  const keywords = schema as Record<string, unknown>;
  if (!Object.keys(keywords).every((key) => STREAMABLE.has(key))) return undefined;
  if (Array.isArray(keywords.items)) return undefined;
  const shell = Object.fromEntries(ARRAY_KEYWORDS.filter((key) => key in keywords).map((key) => [key, keywords[key]]));
  return {
    shell: compileSchema(shell),
    ...("items" in keywords ? { items: compileSchema(keywords.items) } : {}),
    ...("contains" in keywords ? { contains: compileSchema(keywords.contains) } : {}),
  };
}

async function checkStreaming(plan: StreamPlan, entries: AsyncIterable<EntryToValidate>, report: ViolationList, signal?: AbortSignal): Promise<void> {
  let count = 0;
  let containsMet = plan.contains === undefined;
  for await (const entry of entries) {
    throwIfAborted(signal);
    const value = entryValue(entry);
    if (plan.items !== undefined && !plan.items(value)) {
      for (const failure of failuresOf(plan.items)) report.add(schemaViolation("entries", under(failure, count, "items"), entry.logicalKey));
    }
    if (!containsMet && plan.contains?.(value) === true) containsMet = true;
    count += 1;
  }
  // ajv reads only `length` for these keywords, so a sparse array of that length stands for the entries.
  if (!plan.shell(new Array(count))) for (const failure of failuresOf(plan.shell)) report.add(schemaViolation("entries", failure));
  if (!containsMet) {
    report.add(schemaViolation("entries", { instancePath: "", schemaPath: "#/contains", message: "must contain at least 1 valid item(s)" }));
  }
}

/** A failure inside one item, as the whole schema would report it. */
function under(failure: SchemaFailure, index: number, keyword: string): SchemaFailure {
  return {
    instancePath: `/${index}${failure.instancePath}`,
    schemaPath: `#/${keyword}${failure.schemaPath.slice(1)}`,
    message: failure.message,
  };
}

async function checkWhole(schema: LoadedSchema, entries: AsyncIterable<EntryToValidate>, report: ViolationList, options: EntriesCheckOptions): Promise<void> {
  const limit = options.maxBufferedEntries ?? DEFAULT_MAX_BUFFERED_ENTRIES;
  const values: unknown[] = [];
  const keys: string[] = [];
  for await (const entry of entries) {
    throwIfAborted(options.signal);
    if (values.length >= limit) throw tooMany(limit);
    values.push(entryValue(entry));
    keys.push(entry.logicalKey);
  }
  if (schema.validate(values)) return;
  for (const failure of failuresOf(schema.validate)) {
    const index = /^\/(\d+)(?:\/|$)/.exec(failure.instancePath)?.[1];
    report.add(schemaViolation("entries", failure, index === undefined ? undefined : keys[Number(index)]));
  }
}

function tooMany(limit: number): UsageError {
  return new UsageError(
    "WORKFLOW_ENTRIES_TOO_MANY",
    `The workflow's entries_schema must see all entries at once, and this package has more than ${limit}.`,
    {
      hint:
        "Write the entries schema as {\"type\": \"array\", \"items\": {...}} (optionally with minItems, maxItems, contains), " +
        "which is checked entry by entry at any size, or raise maxBufferedEntries.",
    },
  );
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new InterruptedError("Interrupted: validating the entries", { cause: signal.reason });
}
