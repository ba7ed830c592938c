/**
 * Python values (`PyValue`) as the plain JSON ajv validates. The one loss: ints beyond 2^53
 * become the nearest double (Python's jsonschema compares them exactly), as ajv has no bigint.
 * `1.0` and `1` both become `1`, which is right: draft-07 (and jsonschema) call both integers.
 */
import type { PyValue } from "../json/index.js";

export function toSchemaValue(value: PyValue): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(toSchemaValue);
  if (value instanceof Map) {
    // Object.fromEntries defines own properties, so a "__proto__" key stays a key.
    return Object.fromEntries(Array.from(value, ([key, inner]) => [key, toSchemaValue(inner)]));
  }
  return value;
}
