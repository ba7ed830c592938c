/**
 * Python's `float.__repr__` (spec §2.4): the shortest digits that round-trip, in fixed notation
 * when the decimal exponent `decpt` (value = 0.d1d2… × 10^decpt) is in -3..16, else in exponent
 * notation. JS finds the same shortest digits; only the layout differs.
 */
export function floatRepr(x: number): string {
  if (x !== x) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const magnitude = Math.abs(x);
  // 1e-4 <= |x| < 1e16 is exactly -4 < decpt <= 16: both bounds are doubles whose own shortest
  // digits are "1", so no value below a bound can print as the bound. In this range JS's
  // String() is already fixed notation with the shortest digits; Python adds ".0" to integers.
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    const fixed = String(x);
    return fixed.includes(".") ? fixed : fixed + ".0";
  }
  return exponentForm(x);
}

/** `1e+16`, `1e-05`, `-2.5e-08`: no `.0` on a one-digit mantissa, signed exponent of 2+ digits. */
function exponentForm(x: number): string {
  const s = x.toExponential(); // "-2.5e-8": shortest round-trip digits, like Python's 'r' mode
  const e = s.indexOf("e");
  const sign = s.charAt(e + 1); // toExponential always writes "+" or "-"
  const digits = s.slice(e + 2);
  return s.slice(0, e + 1) + sign + (digits.length < 2 ? "0" + digits : digits);
}
