import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatPhysicalKey, isCanonicalFileUrl, parsePhysicalKey } from "./physical-key.js";

/** What the manifest reader does without the fast path; `undefined` when the key is refused. */
function slow(url: string): string | undefined {
  try {
    return formatPhysicalKey(parsePhysicalKey(url, { resolveSymlinks: false }));
  } catch {
    return undefined;
  }
}

const PREFIXES = ["file:///", "file://", "file:/", "file:", "file://localhost/", "file://host/", "FILE:///", "file:////", " file:///", "s3://b/", ""];
const PIECES = [
  "a", "B", "z9", "_", "-", "~", ".", "..", "...", "/", "//", "/./", "/../", " ", "+", "!", "'", "(", "é", "😀", "\\", "\t",
  "?", "?x=1", "#frag", "%", "%2", "%20", "%21", "%25", "%2E", "%2F", "%2f", "%3F", "%23", "%00", "%5C", "%7F", "%0A", "%41", "%7E",
  "%C3%A9", "%c3%a9", "%E2%82%AC", "%F0%9F%98%80", "%ED%A0%80", "%C0%AF", "%C3", "%A9", "%FF", "%80", "%EF%BB%BF",
];
/** The root, printed with or without its directory slash: no segment, so not in the fast path. */
const ROOTS = ["file:///", "file:////"];
const anyUrl = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }))
  .map(([prefix, pieces]) => prefix + pieces.join(""));
/** Mostly canonical segments, now and then a piece that is not (a dot segment, a bad escape, an empty segment). */
const SEGMENT_PIECES = ["a", "B", "z9", "_", "-", "~", ".", "..", "%20", "%25", "%3F", "%7F", "%0A", "%C3%A9", "%F0%9F%98%80", "%EF%BB%BF"];
const RARE_PIECES = ["", "%2F", "%41", "%c3%a9", "é", "%ED%A0%80", "%C3", "%00", "%5C", "?", " "];
const segment = fc
  .array(fc.oneof({ arbitrary: fc.constantFrom(...SEGMENT_PIECES), weight: 12 }, { arbitrary: fc.constantFrom(...RARE_PIECES), weight: 1 }), { minLength: 1, maxLength: 4 })
  .map((pieces) => pieces.join(""));
const nearCanonical = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => "file:///" + segments.join("/"));
const url = fc.oneof(anyUrl, nearCanonical);

describe("the canonical file:// fast path", () => {
  it("accepts exactly the table's canonical keys, each of which parse and print leave unchanged", () => {
    const table: [string, boolean][] = [
      ["file:///a", true],
      ["file:///dev/shm/reg/demo/big/d000/f000.bin", true],
      ["file:///a/b~c/d-e_f.g", true],
      ["file:///a%20b/c%21%28%29", true],
      ["file:///caf%C3%A9/%F0%9F%98%80", true],
      ["file:///100%25", true],
      ["file:///a/...", true],
      ["file:///a/", false], // the trailing '/' is dropped
      ["file:///a//b", false],
      ["file:///a/./b", false],
      ["file:///a/../b", false],
      ["file:///a/..", false],
      ["file:///a/.", false],
      ["file:///.", false],
      ["file:///a%2Fb", false], // decodes to a separator
      ["file:///a%2fb", false],
      ["file:///caf%c3%a9", false], // re-cased
      ["file:///%41", false], // 'A' is printed bare
      ["file:///%2E", false],
      ["file:///a%00", false], // NUL: refused
      ["file:///a%5C", false], // '\': refused
      ["file:///%ED%A0%80", false], // a UTF-16 surrogate: U+FFFD after decoding
      ["file:///%C0%AF", false], // overlong
      ["file:///%C3", false],
      ["file:///a%EF%BB%BF", true], // a BOM inside the path is kept
      ["file:///café", false], // printed escaped
      ["file:///a b", false],
      ["file:///a?x=1", false],
      ["file:///a?", false],
      ["file:///a#f", false],
      ["file://host/a", false],
      ["file://localhost/a", false],
      ["file:/a", false],
      ["file:////a", false],
      ["file:///", false],
      ["FILE:///a", false],
      ["s3://bucket/a", false],
    ];
    for (const [key, canonical] of table) {
      expect(isCanonicalFileUrl(key), key).toBe(canonical);
      if (canonical) expect(slow(key), key).toBe(key);
    }
  });

  it("only skips keys the slow path leaves unchanged, and skips every canonical key but the root", () => {
    let skipped = 0;
    fc.assert(
      fc.property(url, (u) => {
        if (isCanonicalFileUrl(u)) {
          skipped += 1;
          expect(slow(u)).toBe(u);
        }
        const printed = slow(u);
        if (printed !== undefined && printed.startsWith("file:") && !ROOTS.includes(printed)) expect(isCanonicalFileUrl(printed), printed).toBe(true);
      }),
      { numRuns: 20000, seed: 20240611 },
    );
    // The generator must reach the fast path often, else the first check proves little.
    expect(skipped).toBeGreaterThan(1000);
  });
});
