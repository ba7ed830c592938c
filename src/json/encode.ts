/**
 * The three Python encoders quilt3 output depends on. All build one string by concatenation,
 * which V8 turns into cheap ropes; keys and strings pay one regex test each (see quote.ts).
 */
import { UsageError } from "../errors/index.js";
import type { PyObject, PyValue } from "./index.js";
import { badKey, checkDepth, finiteFloatText, intText, notPyValue } from "./encode-common.js";
import { quoteKeyRaw, quoteRaw, rawState } from "./quote.js";

export { dumpsHash } from "./encode-hash.js";

/**
 * A manifest line (spec §1.1): `json.JSONEncoder(ensure_ascii=False, allow_nan=False)`, i.e.
 * separators `", "` and `": "`, insertion order, raw UTF-8. Throws `UsageError`
 * `JSON_NAN_FORBIDDEN` for NaN/±Infinity and `JSON_LONE_SURROGATE` for text that UTF-8 cannot
 * hold.
 */
export function dumpsManifest(v: PyValue): string {
  return dumpsRaw(v, ", ", ": ");
}

/** As `dumpsManifest` with separators `,` and `:`: compact `--json` output with exact numbers. */
export function dumpsCompact(v: PyValue): string {
  return dumpsRaw(v, ",", ":");
}

let itemSep = ", ";
let keySep = ": ";

function dumpsRaw(v: PyValue, items: string, keys: string): string {
  itemSep = items;
  keySep = keys;
  rawState.loneSurrogate = false;
  const out = rawValue(v, 0);
  if (rawState.loneSurrogate) {
    throw new UsageError("JSON_LONE_SURROGATE", "A string holds a lone UTF-16 surrogate, which UTF-8 cannot encode", {
      hint: "Python fails the same way ('surrogates not allowed') when it writes the manifest.",
    });
  }
  return out;
}

function rawValue(v: PyValue, depth: number): string {
  switch (typeof v) {
    case "string":
      return quoteRaw(v);
    case "bigint":
      return intText(v);
    case "number":
      return finiteFloatText(v);
    case "boolean":
      return v ? "true" : "false";
    case "object":
      if (v === null) return "null";
      if (v instanceof Map) return rawObject(v, depth + 1);
      if (Array.isArray(v)) return rawArray(v, depth + 1);
  }
  throw notPyValue(v);
}

function rawArray(arr: PyValue[], depth: number): string {
  checkDepth(depth);
  let out = "[";
  let first = true;
  for (const item of arr) {
    if (first) first = false;
    else out += itemSep;
    out += rawValue(item, depth);
  }
  return out + "]";
}

function rawObject(obj: PyObject, depth: number): string {
  checkDepth(depth);
  let out = "{";
  let first = true;
  for (const [key, value] of obj) {
    if (typeof key !== "string") throw badKey(key);
    if (first) first = false;
    else out += itemSep;
    out += quoteKeyRaw(key) + keySep + rawValue(value, depth);
  }
  return out + "}";
}
