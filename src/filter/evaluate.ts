/**
 * Evaluates a parsed filter (parse.ts) on one entry. Never throws: a missing path is `null`, and
 * a comparison between different types (or an ordering with `null`) is false, so one odd entry
 * does not stop an install of millions.
 */
import { toPlain } from "../json/index.js";
import type { ManifestEntry } from "../manifest/types.js";
import type { CompareOp, Node } from "./parse.js";

export type Value = null | boolean | number | string | readonly Value[] | { readonly [key: string]: Value };

/** What a filter sees of an entry; user metadata is converted on first use only. */
interface Scope {
  readonly entry: Pick<ManifestEntry, "logicalKey" | "size" | "meta">;
  userMeta?: Value;
}

export function evaluate(node: Node, entry: Scope["entry"]): boolean {
  return truthy(evalNode(node, { entry }));
}

function evalNode(node: Node, scope: Scope): Value {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "list":
      return node.items.map((item) => evalNode(item, scope));
    case "path":
      return lookup(rootOf(node.root, scope), node.segments);
    case "not":
      return !truthy(evalNode(node.operand, scope));
    case "and":
      return truthy(evalNode(node.left, scope)) && truthy(evalNode(node.right, scope));
    case "or":
      return truthy(evalNode(node.left, scope)) || truthy(evalNode(node.right, scope));
    case "compare":
      return compare(node.op, evalNode(node.left, scope), evalNode(node.right, scope));
    case "call": {
      const [x, affix] = node.args.map((arg) => evalNode(arg, scope));
      if (typeof x !== "string" || typeof affix !== "string") return false;
      return node.name === "startswith" ? x.startsWith(affix) : x.endsWith(affix);
    }
    case "glob": {
      const subject = evalNode(node.subject, scope);
      return typeof subject === "string" && node.regexp.test(subject);
    }
  }
}

function rootOf(root: "meta" | "key" | "size", scope: Scope): Value {
  if (root === "key") return scope.entry.logicalKey;
  if (root === "size") return scope.entry.size;
  scope.userMeta ??= plain(toPlain(scope.entry.meta.get("user_meta") ?? null));
  return scope.userMeta;
}

/** toPlain's values as filter values: an int too big for a double is compared as the nearest double. */
function plain(v: unknown): Value {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v as Value;
}

function lookup(value: Value, segments: readonly (string | number)[]): Value {
  let current = value;
  for (const segment of segments) {
    if (Array.isArray(current) && typeof segment === "number") current = (current as readonly Value[])[segment] ?? null;
    else if (isObject(current) && Object.hasOwn(current, String(segment))) current = current[String(segment)] ?? null;
    else return null;
  }
  return current;
}

function compare(op: CompareOp, a: Value, b: Value): boolean {
  switch (op) {
    case "==":
      return equal(a, b);
    case "!=":
      return !equal(a, b);
    case "in":
      return contains(b, a);
    case "not in":
      return !contains(b, a);
    default:
      return order(op, a, b);
  }
}

/** `<`, `<=`, `>`, `>=` between two numbers or two strings; anything else is false. */
function order(op: "<" | "<=" | ">" | ">=", a: Value, b: Value): boolean {
  const comparable = (typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string");
  if (!comparable) return false;
  if (op === "<") return a < b;
  if (op === "<=") return a <= b;
  if (op === ">") return a > b;
  return a >= b;
}

/** `x in list` (an equal item), `s in string` (a substring), `k in object` (a key). */
function contains(haystack: Value, needle: Value): boolean {
  if (Array.isArray(haystack)) return (haystack as readonly Value[]).some((item) => equal(item, needle));
  if (typeof haystack === "string") return typeof needle === "string" && haystack.includes(needle);
  if (isObject(haystack)) return typeof needle === "string" && Object.hasOwn(haystack, needle);
  return false;
}

function equal(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const x = a as readonly Value[];
    const y = b as readonly Value[];
    return x.length === y.length && x.every((item, i) => equal(item, y[i] ?? null));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equal(a[k] ?? null, b[k] ?? null));
  }
  return a === b;
}

function isObject(v: Value): v is { readonly [key: string]: Value } {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Python's truth: null, false, 0, "", [] and {} are false. */
function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}
