/**
 * The top-hash encoder (spec §2): `json.JSONEncoder(sort_keys=True, separators=(',', ':'))`,
 * with the defaults `ensure_ascii=True` and `allow_nan=True`.
 */
import type { PyObject, PyValue } from "./index.js";
import { sortKeysWithValues } from "./code-point-order.js";
import { anyFloatText, badKey, checkDepth, intText, notPyValue } from "./encode-common.js";
import { quoteAscii, quoteKeyAscii } from "./quote.js";

/** Pure-ASCII text with every object's keys sorted by code point; NaN prints as `NaN`. */
export function dumpsHash(v: PyValue): string {
  return hashValue(v, 0);
}

function hashValue(v: PyValue, depth: number): string {
  switch (typeof v) {
    case "string":
      return quoteAscii(v);
    case "bigint":
      return intText(v);
    case "number":
      return anyFloatText(v);
    case "boolean":
      return v ? "true" : "false";
    case "object":
      if (v === null) return "null";
      if (v instanceof Map) return hashObject(v, depth + 1);
      if (Array.isArray(v)) return hashArray(v, depth + 1);
  }
  throw notPyValue(v);
}

function hashArray(arr: PyValue[], depth: number): string {
  checkDepth(depth);
  let out = "[";
  let first = true;
  for (const item of arr) {
    if (first) first = false;
    else out += ",";
    out += hashValue(item, depth);
  }
  return out + "]";
}

function hashObject(obj: PyObject, depth: number): string {
  checkDepth(depth);
  const keys: string[] = [];
  const values: PyValue[] = [];
  for (const [key, value] of obj) {
    if (typeof key !== "string") throw badKey(key);
    keys.push(key);
    values.push(value);
  }
  sortKeysWithValues(keys, values);
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ",";
    out += quoteKeyAscii(keys[i] as string) + ":" + hashValue(values[i] as PyValue, depth);
  }
  return out + "}";
}
