/**
 * Python compares `str` by code point; JS's `<` and default `sort()` compare UTF-16 units. They
 * agree unless a surrogate is involved (U+1F600 is D83D DE00 in UTF-16, which sorts before
 * U+FF01), so the exact comparison is only used for key sets that contain surrogates.
 */

const SURROGATE = /[\ud800-\udfff]/;

/** Largest key set sorted by insertion, which beats `Array.prototype.sort` on the usual 2–6 keys. */
const INSERTION_SORT_MAX = 12;

/**
 * Sorts `keys` as Python's `sorted()` would and applies the same permutation to `values`, so
 * that the encoder needs no second lookup per key. Keys are distinct (they come from a Map).
 */
export function sortKeysWithValues<V>(keys: string[], values: V[]): void {
  const n = keys.length;
  if (n < 2) return;
  const surrogates = keys.some((k) => SURROGATE.test(k));
  if (!surrogates && n <= INSERTION_SORT_MAX) {
    insertionSort(keys, values);
    return;
  }
  const order = keys.map((_, i) => i);
  order.sort((a, b) => {
    const x = keys[a] as string;
    const y = keys[b] as string;
    return surrogates ? compareCodePoints(x, y) : x < y ? -1 : 1;
  });
  const k0 = keys.slice();
  const v0 = values.slice();
  order.forEach((from, to) => {
    keys[to] = k0[from] as string;
    values[to] = v0[from] as V;
  });
}

/** Without surrogates, UTF-16 order (JS `<`) is code-point order. */
function insertionSort<V>(keys: string[], values: V[]): void {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = values[i] as V;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > k; j--) {
      keys[j + 1] = keys[j] as string;
      values[j + 1] = values[j] as V;
    }
    keys[j + 1] = k;
    values[j + 1] = v;
  }
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
