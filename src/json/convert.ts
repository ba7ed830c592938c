/**
 * Bridges between plain JS values and `PyValue`, and Python's `==` on decoded values.
 */
import { UsageError } from "../errors/index.js";
import type { PyObject, PyValue } from "./index.js";

export { pyEquals } from "./py-equals.js";

/**
 * JS value to `PyValue`: integer-valued safe numbers become Python ints (`bigint`), other
 * numbers floats; plain objects (and `Map`s with string keys) become dicts in own-key order;
 * arrays, null, booleans, strings and bigints are kept. `undefined`, functions, symbols, other
 * objects and cycles throw `UsageError` (`JSON_UNSUPPORTED_VALUE`, `JSON_CIRCULAR`).
 * Note that JS objects list integer-like keys first, so use a `Map` when key order matters.
 */
export function fromPlain(v: unknown): PyValue {
  return convert(v, new Set(), "$");
}

function convert(v: unknown, ancestors: Set<object>, path: string): PyValue {
  switch (typeof v) {
    case "string":
    case "boolean":
    case "bigint":
      return v;
    case "number":
      return Number.isSafeInteger(v) ? BigInt(v) : v;
    case "object":
      return v === null ? null : convertObject(v, ancestors, path);
    default:
      throw unsupported(typeof v, path);
  }
}

function convertObject(v: object, ancestors: Set<object>, path: string): PyValue {
  if (ancestors.has(v)) {
    throw new UsageError("JSON_CIRCULAR", `Circular reference detected at ${path}`);
  }
  ancestors.add(v);
  try {
    if (Array.isArray(v)) return convertArray(v, ancestors, path);
    if (v instanceof Map) return convertMap(v, ancestors, path);
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw unsupported(typeName(v), path);
    const out: PyObject = new Map();
    for (const key of Object.keys(v)) {
      out.set(key, convert((v as Record<string, unknown>)[key], ancestors, `${path}.${key}`));
    }
    return out;
  } finally {
    ancestors.delete(v);
  }
}

function convertArray(v: unknown[], ancestors: Set<object>, path: string): PyValue[] {
  const out: PyValue[] = [];
  // An index loop, not map(): holes must reach convert() as undefined and be rejected.
  for (let i = 0; i < v.length; i++) out.push(convert(v[i], ancestors, `${path}[${i}]`));
  return out;
}

function convertMap(v: Map<unknown, unknown>, ancestors: Set<object>, path: string): PyObject {
  const out: PyObject = new Map();
  for (const [key, value] of v) {
    if (typeof key !== "string") throw unsupported(`a Map key of type ${typeof key}`, path);
    out.set(key, convert(value, ancestors, `${path}.${key}`));
  }
  return out;
}

function typeName(v: object): string {
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" ? name : "object";
}

/** Worded like Python's `TypeError: Object of type X is not JSON serializable`. */
function unsupported(type: string, path: string): UsageError {
  return new UsageError("JSON_UNSUPPORTED_VALUE", `Object of type ${type} is not JSON serializable (at ${path})`);
}

/**
 * `PyValue` to a plain JS value: dicts become ordinary objects (built with `Object.fromEntries`,
 * so a `"__proto__"` key is an own property, not a prototype change), ints become numbers when
 * they are safe integers and stay `bigint`s otherwise. Lossy by design: `1.0` and `1` both
 * become `1`, and integer-like keys move first.
 */
export function toPlain(v: PyValue): unknown {
  if (typeof v === "bigint") {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if (v instanceof Map) return Object.fromEntries(Array.from(v, ([k, x]) => [k, toPlain(x)]));
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}
