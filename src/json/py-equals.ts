import type { PyValue } from "./index.js";

/**
 * Python's `a == b` on values decoded by `json.loads` (quilt3's diff compares meta dicts so):
 * - numbers compare across types exactly: `True == 1 == 1.0`, `False == 0 == -0.0`, but
 *   `9007199254740993 != 9007199254740992.0`; strings never equal numbers;
 * - dicts compare as key sets with equal values, ignoring order; lists elementwise;
 * - NaN: `NaN == NaN` is False at the top level, but True inside a list or dict, because
 *   `json.loads` returns one shared NaN object and container comparison tests identity first.
 */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  return equals(a, b, false);
}

function equals(a: PyValue, b: PyValue, nested: boolean): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a === "string" || typeof b === "string") return false;
  if (Array.isArray(a)) return Array.isArray(b) && arraysEqual(a, b);
  if (a instanceof Map) return b instanceof Map && mapsEqual(a, b);
  if (Array.isArray(b) || b instanceof Map) return false;
  return numbersEqual(a, b, nested);
}

function arraysEqual(a: PyValue[], b: PyValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!equals(a[i] as PyValue, b[i] as PyValue, true)) return false;
  }
  return true;
}

function mapsEqual(a: Map<string, PyValue>, b: Map<string, PyValue>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) {
    const other = b.get(key);
    if (other === undefined || !equals(value, other, true)) return false;
  }
  return true;
}

/** bool, int and float compared as Python compares numbers: exactly, across types. */
function numbersEqual(a: boolean | bigint | number, b: boolean | bigint | number, nested: boolean): boolean {
  const x = typeof a === "boolean" ? BigInt(a) : a;
  const y = typeof b === "boolean" ? BigInt(b) : b;
  if (typeof x === "number" && typeof y === "number") return x === y || (nested && x !== x && y !== y);
  if (typeof x === "bigint" && typeof y === "bigint") return x === y;
  const [int, float] = typeof x === "bigint" ? [x, y as number] : [y as bigint, x];
  return Number.isInteger(float) && BigInt(float) === int;
}
