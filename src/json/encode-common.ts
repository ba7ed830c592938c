/** Pieces shared by the manifest and hash encoders. */
import { UsageError } from "../errors/index.js";
import { floatRepr } from "./float-repr.js";
import { MAX_DEPTH, MAX_INT_DIGITS } from "./parse.js";

/** Python 3.11's `int.__repr__` refuses more than 4300 digits, so `json.dumps` does too. */
export function intText(v: bigint): string {
  const s = v.toString();
  if (s.length > MAX_INT_DIGITS && s.length - (v < 0n ? 1 : 0) > MAX_INT_DIGITS) {
    throw new UsageError(
      "JSON_INT_TOO_LARGE",
      `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion; use ` +
        "sys.set_int_max_str_digits() to increase the limit",
      { hint: "quilt3 could neither write nor read an integer this long." },
    );
  }
  return s;
}

/** `allow_nan=False`: Python raises `ValueError` for NaN and ±Infinity. */
export function finiteFloatText(v: number): string {
  if (v - v !== 0) {
    throw new UsageError(
      "JSON_NAN_FORBIDDEN",
      `Out of range float values are not JSON compliant: ${floatRepr(v)}`,
      { hint: "quilt3 manifests cannot hold NaN or Infinity." },
    );
  }
  return floatRepr(v);
}

/** `allow_nan=True` (the hash encoder): Python's JavaScript-style spellings. */
export function anyFloatText(v: number): string {
  if (v - v === 0) return floatRepr(v);
  if (v !== v) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

/** Python would hit its recursion limit; for us this is mostly a guard against cycles. */
export function checkDepth(depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new UsageError(
      "JSON_TOO_DEEP",
      `maximum nesting depth (${MAX_DEPTH}) exceeded while encoding a JSON value`,
      { hint: "Is there a circular reference in the value?" },
    );
  }
}

/** A programming error: the encoders take `PyValue`s only (see `fromPlain`). */
export function notPyValue(v: unknown): TypeError {
  return new TypeError(`Not a PyValue: ${describe(v)}; convert JS values with fromPlain()`);
}

export function badKey(k: unknown): TypeError {
  return new TypeError(`Map keys of a PyValue must be strings, got ${describe(k)}`);
}

function describe(v: unknown): string {
  if (v === null || typeof v !== "object") return typeof v;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype) return "a plain object";
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" ? `an instance of ${name}` : "an object";
}
