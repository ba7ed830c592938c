/**
 * Python compares `str` by code point; JS's `<` and default `sort()` compare UTF-16 units. They
 * agree unless a surrogate is involved (U+1F600 is D83D DE00 in UTF-16, which sorts before
 * U+FF01), so the exact comparison is only used for key sets that contain surrogates.
 */

const SURROGATE = /[\ud800-\udfff]/;

/** The keys of `m` in Python's `sorted()` order. */
export function sortedKeys(m: ReadonlyMap<string, unknown>): string[] {
  const keys = Array.from(m.keys());
  if (keys.length < 2) return keys;
  return keys.some((k) => SURROGATE.test(k)) ? keys.sort(compareCodePoints) : keys.sort();
}

/**
 * Orders two strings by code point, where a valid surrogate pair is one astral code point and a
 * lone surrogate is its own code point (Python keeps lone surrogates as such).
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  // The first differing unit may be the second half of a pair: compare whole code points from
  // the start of the character that holds it.
  if (isHighSurrogate(a.charCodeAt(i - 1))) {
    const d = codePointAt(a, i - 1) - codePointAt(b, i - 1);
    if (d !== 0) return d;
  }
  return codePointAt(a, i) - codePointAt(b, i);
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function codePointAt(s: string, i: number): number {
  return s.codePointAt(i) ?? -1;
}
