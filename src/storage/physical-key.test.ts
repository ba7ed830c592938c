import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QuiltError } from "../errors/index.js";
import { QUILT3_VECTORS, QUILT_RS_VECTORS } from "../../test/helpers/shared.js";
import {
  basename,
  fileKeyFromPath,
  formatPhysicalKey,
  isLocal,
  joinPhysicalKey,
  parsePhysicalKey,
  type PhysicalKey,
} from "./physical-key.js";
import { errorOf } from "../../test/helpers/expect.js";

const s3 = (bucket: string, path: string, versionId?: string): PhysicalKey =>
  versionId === undefined ? { kind: "s3", bucket, path } : { kind: "s3", bucket, path, versionId };
const local = (path: string): PhysicalKey => ({ kind: "file", path });
const LEXICAL = { resolveSymlinks: false } as const;
const parseLexical = (url: string): PhysicalKey => parsePhysicalKey(url, LEXICAL);
const redump = (url: string): string => formatPhysicalKey(parseLexical(url));

describe("spec §4.5: formatting S3 keys", () => {
  it("prints the spec's example", () => {
    const pk = s3("bkt", "user/pkg/dir with space/50% off #1.txt", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
    expect(formatPhysicalKey(pk)).toBe(
      "s3://bkt/user/pkg/dir%20with%20space/50%25%20off%20%231.txt?versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY",
    );
  });

  it("keeps only A-Z a-z 0-9 _ . - ~ / literal in the path", () => {
    const safe = "ABCXYZabcxyz0189_.-~/";
    expect(formatPhysicalKey(s3("b", safe))).toBe("s3://b/" + safe);
    const escaped: Record<string, string> = {
      " ": "%20", "%": "%25", "#": "%23", "+": "%2B", "&": "%26", "=": "%3D", ";": "%3B", ":": "%3A",
      "@": "%40", $: "%24", ",": "%2C", "!": "%21", "'": "%27", "(": "%28", ")": "%29", "*": "%2A",
      "?": "%3F", '"': "%22", "\\": "%5C", "\n": "%0A", "\0": "%00", "\x7f": "%7F",
      "é": "%C3%A9", "😀": "%F0%9F%98%80", "\uFFFD": "%EF%BF%BD",
    };
    for (const [char, code] of Object.entries(escaped)) {
      expect(formatPhysicalKey(s3("b", `x${char}y`)), JSON.stringify(char)).toBe(`s3://b/x${code}y`);
    }
  });

  it("encodes the versionId with quote_plus", () => {
    expect(formatPhysicalKey(s3("b", "k", "a/b+c=d e~_.-"))).toBe("s3://b/k?versionId=a%2Fb%2Bc%3Dd+e~_.-");
  });

  it("prints the empty path as s3://bkt/, and an empty versionId as none", () => {
    expect(formatPhysicalKey(s3("bkt", ""))).toBe("s3://bkt/");
    expect(formatPhysicalKey(s3("bkt", "k", ""))).toBe("s3://bkt/k");
  });

  it("refuses what cannot be printed", () => {
    for (const bucket of ["", "a/b", "a?b", "a#b", "a\tb", "[::1]", "b\u2100"]) {
      expect(errorOf(() => formatPhysicalKey(s3(bucket, "k"))).code, JSON.stringify(bucket)).toBe("PHYSICAL_KEY_INVALID");
    }
    expect(errorOf(() => formatPhysicalKey(s3("b", "a\uD800b"))).code).toBe("PHYSICAL_KEY_INVALID");
    expect(errorOf(() => formatPhysicalKey(s3("b", "k", "\uDC00"))).code).toBe("PHYSICAL_KEY_INVALID");
  });
});

describe("spec §4.5: parsing S3 URLs", () => {
  it("unquotes the path without turning '+' into a space", () => {
    expect(parseLexical("s3://bkt/a+b/c%20d%2Be")).toEqual(s3("bkt", "a+b/c d+e"));
  });

  it("reads versionId with parse_qs, which turns '+' into a space", () => {
    expect(parseLexical("s3://bkt/k?versionId=a+b%2Bc%2F")).toEqual(s3("bkt", "k", "a b+c/"));
  });

  it("refuses any other query parameter, naming it", () => {
    const error = errorOf(() => parseLexical("s3://bkt/k?versionId=1&foo=secret"));
    expect(error.code).toBe("PHYSICAL_KEY_INVALID");
    expect(error.kind).toBe("usage");
    expect(error.message).toContain('"foo"');
    expect(error.message).not.toContain("secret");
    expect(error.hint).toBeTruthy();
  });

  it("drops a #fragment silently", () => {
    expect(parseLexical("s3://bkt/k#frag")).toEqual(s3("bkt", "k"));
    expect(parseLexical("s3://bkt/k#x?versionId=1")).toEqual(s3("bkt", "k"));
  });

  it("§4.6: re-dumps a loose URL in normal form", () => {
    expect(redump("s3://bkt/a b/first+x.txt")).toBe("s3://bkt/a%20b/first%2Bx.txt");
  });
});

describe("Python urlparse / unquote / parse_qs quirks, as quilt3 inherits them", () => {
  const cases: [string, PhysicalKey][] = [
    ["S3://Bkt/a", s3("Bkt", "a")], // the scheme is lowercased, the bucket is not
    [" \x01\x1fs3://b/k", s3("b", "k")], // leading C0 controls and spaces are stripped
    ["s3://b/a\tb\nc\r", s3("b", "abc")], // tabs and line breaks are deleted anywhere
    ["s3://b/a b ", s3("b", "a b ")], // trailing spaces are kept
    ["s3://b/a;p=1", s3("b", "a;p=1")], // ;params are not split off for s3
    ["s3://b/k?versionId=one&versionId=two", s3("b", "k", "one")], // the first of several wins
    ["s3://b/k?version%49d=v", s3("b", "k", "v")], // parameter names are unquoted too
    ["s3://b/k?versionId=a=b", s3("b", "k", "a=b")],
    ["s3://b/k?versionId=", s3("b", "k")], // blank values are dropped...
    ["s3://b/k?versionId", s3("b", "k")], // ...as are fields without '='...
    ["s3://b/k?foo=&bar&&", s3("b", "k")], // ...so these are not "other parameters"
    ["s3://b/k?", s3("b", "k")],
    ["s3://b/k?versionId=a;foo=b", s3("b", "k", "a;foo=b")], // ';' is no separator
    ["s3://b/k?versionId=%zz%C3", s3("b", "k", "%zz\uFFFD")],
    ["s3://b/%zz%4%", s3("b", "%zz%4%")], // malformed escapes stay as they are
    ["s3://b/%C3%A9%C3", s3("b", "é\uFFFD")], // bad UTF-8 becomes U+FFFD
    ["s3://b/%F0%80%80a", s3("b", "\uFFFD\uFFFD\uFFFDa")], // one U+FFFD per maximal bad subpart
    ["s3://b/%ED%A0%80", s3("b", "\uFFFD\uFFFD\uFFFD")], // an encoded surrogate is bad UTF-8
    ["s3://b/%C3é%A9", s3("b", "\uFFFDé\uFFFD")], // decoding is per run of ASCII characters
    ["s3://b/é%20", s3("b", "é ")],
    ["s3://b/é%EF%BB%BFx", s3("b", "é\uFEFFx")], // a BOM that starts a run is a character like any other
    ["s3://b/%EF%BB%BF", s3("b", "\uFEFF")],
    ["s3://b/%2Fa", s3("b", "/a")], // the key may start with '/'
    ["s3://b//a", s3("b", "/a")],
    ["s3://bkt", s3("bkt", "")],
    ["s3://bkt?versionId=1", s3("bkt", "", "1")],
    ["s3://bkt#x", s3("bkt", "")],
    ["s3://user@bkt:9/k", s3("user@bkt:9", "k")], // quilt3 takes the whole netloc as the bucket
    ["s3://b%41/k", s3("b%41", "k")], // ...without unquoting it
  ];
  it.each(cases)("%j", (url, expected) => {
    expect(parseLexical(url)).toEqual(expected);
  });

  it("prints what it parsed back in normal form", () => {
    expect(redump("s3://b//a")).toBe("s3://b//a");
    expect(redump("s3://bkt?versionId=1")).toBe("s3://bkt/?versionId=1");
    expect(redump("s3://b/k?versionId=a+b")).toBe("s3://b/k?versionId=a+b");
    expect(redump("s3://b/%7e%41")).toBe("s3://b/~A");
  });

  const refused: string[] = [
    "s3://", "s3:///k", "s3:bkt/k", "s3:/bkt/k", // no bucket
    "s3://b/k?=x", "s3://b/k?foo=1", "s3://b/k?versionId+=1", "s3://b/k?VersionId=1",
    "s3://a[/k", "s3://a]/k", "s3://[x]/k", "s3://[::1]/k", // brackets (Python accepts only the last)
    "s3://b\u2100/k", // U+2100 is 'a/c' under NFKC
    "gs://b/k", "http://h/k", "https://user:pw@host/k?X-Amz-Signature=s", "/tmp/x", "tmp/x", "", "1s3://b/k", "s 3://b/k",
    "file://host/x", "file://LOCALHOST/x", "file:x", "file:", "file://", "file:///x?q", "file:///x?q=1",
    "file:///a%5Cb", "file:///a\\b", "file:///a%00b",
  ];
  it.each(refused)("refuses %j", (url) => {
    const error = errorOf(() => parseLexical(url));
    expect(["PHYSICAL_KEY_INVALID", "PHYSICAL_KEY_UNSUPPORTED_SCHEME"]).toContain(error.code);
    expect(error.hint).toBeTruthy();
  });

  it("names the URL but not its credentials", () => {
    const error = errorOf(() => parseLexical("https://user:pw@host/k?X-Amz-Signature=sig&versionId=v"));
    expect(error.code).toBe("PHYSICAL_KEY_UNSUPPORTED_SCHEME");
    expect(error.message).toContain("host/k");
    expect(error.message).toContain("versionId=v");
    expect(error.message).not.toMatch(/pw|sig/);
    for (const url of ["file://user:pw@host/x", "s3://user:pw@[x]/k"]) {
      expect(errorOf(() => parseLexical(url)).message).not.toContain("pw");
    }
  });
});

describe("spec §4.5: file URLs", () => {
  it("formats with PurePath.as_uri: quoted, trailing '/' dropped", () => {
    expect(formatPhysicalKey(local("/tmp/a b/50% #1.txt"))).toBe("file:///tmp/a%20b/50%25%20%231.txt");
    expect(formatPhysicalKey(local("/tmp/dir/"))).toBe("file:///tmp/dir");
    expect(formatPhysicalKey(local("/a//b/./c"))).toBe("file:///a/b/c");
    expect(formatPhysicalKey(local("/a/../b"))).toBe("file:///a/../b"); // PurePath keeps '..'
    expect(formatPhysicalKey(local("//"))).toBe("file:////"); // POSIX keeps exactly two leading slashes
  });

  it("parses: unquote, localhost, a trailing '/' kept in the key", () => {
    expect(parseLexical("file:///tmp/a%20b+c")).toEqual(local("/tmp/a b+c"));
    expect(parseLexical("file://localhost/tmp/x")).toEqual(local("/tmp/x"));
    expect(parseLexical("file:/tmp/x")).toEqual(local("/tmp/x"));
    expect(parseLexical("file:///tmp/x#frag")).toEqual(local("/tmp/x"));
    expect(parseLexical("file:///tmp/x?")).toEqual(local("/tmp/x"));
    expect(parseLexical("file:///tmp/dir/")).toEqual(local("/tmp/dir/"));
    expect(redump("file:///tmp/dir/")).toBe("file:///tmp/dir");
  });

  it("normalises like os.path.realpath", () => {
    expect(parseLexical("file:///a/./b/../c//d")).toEqual(local("/a/c/d"));
    expect(parseLexical("file:///a/%2E%2E/b")).toEqual(local("/b"));
    expect(parseLexical("file:///a%2Fb")).toEqual(local("/a/b"));
    expect(parseLexical("file:///../x")).toEqual(local("/x"));
    expect(parseLexical("file:////x")).toEqual(local("/x"));
    expect(parseLexical("file:///")).toEqual(local("//")); // realpath('/') + the trailing '/'
    expect(redump("file:///")).toBe("file:////");
  });

  it("refuses relative or non-POSIX local keys when formatting", () => {
    for (const path of ["", "tmp/x", "/a\\b", "/a\0b", "/a\uD800"]) {
      expect(errorOf(() => formatPhysicalKey(local(path))).code, JSON.stringify(path)).toBe("PHYSICAL_KEY_INVALID");
    }
  });
});

describe("round trips for every character class", () => {
  const classes = [
    " ", "%", "%20", "#", "+", "&", "=", ";", ":", "@", "$", ",", "!", "'", "(", ")", "*", "?", "~", "/",
    "\u00e9", "e\u0301", "\u00c5", "A\u030a", "\u65e5\u672c", "\u{1F600}", "\u{1F468}\u200D\u{1F469}", "\uFFFD", "\u0000", "\u001f", "\u007f",
  ];
  it.each(classes)("%j", (chars) => {
    const path = `dir ${chars}/x${chars}y.txt`;
    for (const versionId of [undefined, `v${chars}w`]) {
      const key = s3("bkt", path, versionId);
      expect(parseLexical(formatPhysicalKey(key))).toEqual(key);
    }
    if (!chars.includes("\0") && !chars.includes("/")) {
      const file = local(`/tmp/${path}`);
      expect(parseLexical(formatPhysicalKey(file))).toEqual(file);
    }
  });

  it("keeps NFC and NFD apart", () => {
    expect(formatPhysicalKey(s3("b", "\u00e9"))).toBe("s3://b/%C3%A9");
    expect(formatPhysicalKey(s3("b", "e\u0301"))).toBe("s3://b/e%CC%81");
  });

  it("holds for any well-formed key (property)", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 12 });
    const key = fc.record({ bucket: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/), path: text, versionId: fc.option(text, { nil: undefined }) });
    fc.assert(
      fc.property(key, ({ bucket, path, versionId }) => {
        const pk = s3(bucket, path, versionId === "" ? undefined : versionId);
        expect(parseLexical(formatPhysicalKey(pk))).toEqual(pk);
      }),
      { numRuns: 500 },
    );
  });
});

describe("vectors: physical keys written by quilt3 and quilt-rs re-dump unchanged", () => {
  function physicalKeysIn(dir: string): string[] {
    const urls: string[] = [];
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".jsonl")) continue;
      for (const line of readFileSync(join(entry.parentPath, entry.name), "utf8").split("\n")) {
        const found = /"physical_keys": ?\["((?:[^"\\]|\\.)*)"/.exec(line);
        if (found?.[1] !== undefined) urls.push(JSON.parse(`"${found[1]}"`) as string);
      }
    }
    return urls;
  }

  it("A06-remote-entries, exactly", () => {
    const urls = physicalKeysIn(join(QUILT3_VECTORS, "manifests")).filter((u) => u.startsWith("s3://example-bucket/"));
    expect(new Set(urls)).toEqual(
      new Set([
        "s3://example-bucket/path/plain.txt?versionId=abcDEF123._-",
        "s3://example-bucket/dir%20x/special%20name%20%231%2050%25.txt?versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY",
        "s3://example-bucket/%C3%BCn%C3%AF.txt",
      ]),
    );
    expect(parseLexical("s3://example-bucket/dir%20x/special%20name%20%231%2050%25.txt?versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY")).toEqual(
      s3("example-bucket", "dir x/special name #1 50%.txt", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"),
    );
    for (const url of urls) expect(redump(url)).toBe(url);
  });

  it("every s3:// and file:// key in both vector sets", () => {
    const urls = [...physicalKeysIn(QUILT3_VECTORS), ...physicalKeysIn(QUILT_RS_VECTORS)];
    expect(urls.filter((u) => u.startsWith("file://")).length).toBeGreaterThan(10);
    expect(urls.filter((u) => u.startsWith("s3://")).length).toBeGreaterThan(10);
    for (const url of urls) expect(redump(url)).toBe(url);
  });
});

describe("local paths and symlinks (quilt3 from_path = os.path.realpath)", () => {
  let root = "";
  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), "quiltkit-pk-")));
    buildLinkFixture(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("resolves symlinks, keeps missing parts, and a trailing '/'", () => {
    expect(fileKeyFromPath(`${root}/link/file.txt`)).toEqual(local(`${root}/real/file.txt`));
    expect(fileKeyFromPath(`${root}/abs/`)).toEqual(local(`${root}/real/`));
    expect(fileKeyFromPath(`${root}/link/../file.txt`)).toEqual(local(`${root}/file.txt`)); // '..' after the link's target
    expect(fileKeyFromPath(`${root}/dangling`)).toEqual(local(`${root}/missing/x`));
    expect(fileKeyFromPath(`${root}/loop/x`)).toEqual(local(`${root}/loop/x`)); // a loop stops resolution
    expect(fileKeyFromPath(`${root}/link/file.txt`, LEXICAL)).toEqual(local(`${root}/link/file.txt`));
    expect(parsePhysicalKey(`file://${root}/link/file.txt`)).toEqual(local(`${root}/real/file.txt`));
  });

  it("makes a relative path absolute against the working directory", () => {
    expect(fileKeyFromPath("a/../b", LEXICAL)).toEqual(local(join(process.cwd(), "b")));
    expect(fileKeyFromPath("", LEXICAL)).toEqual(local(process.cwd()));
  });

  it("refuses '\\', NUL and unpaired surrogates", () => {
    for (const path of ["/a\\b", "/a\0", "/a\uDC80"]) {
      expect(errorOf(() => fileKeyFromPath(path)).code, JSON.stringify(path)).toBe("PHYSICAL_KEY_INVALID");
    }
  });
});

describe("join, basename, isLocal", () => {
  it("strips slashes at the seam (spec §4.4)", () => {
    expect(joinPhysicalKey(s3("b", "prefix//"), "//x/y")).toEqual(s3("b", "prefix/x/y"));
    expect(joinPhysicalKey(s3("b", ""), "/x")).toEqual(s3("b", "x"));
    expect(joinPhysicalKey(s3("b", "p"), "")).toEqual(s3("b", "p/"));
    expect(joinPhysicalKey(local("/tmp/reg/"), "a b")).toEqual(local("/tmp/reg/a b"));
    expect(joinPhysicalKey(local("//"), "x")).toEqual(local("/x"));
  });

  it("refuses to join onto a versioned key, and '\\' in local keys", () => {
    expect(errorOf(() => joinPhysicalKey(s3("b", "p", "v"), "x")).code).toBe("PHYSICAL_KEY_JOIN_VERSIONED");
    expect(errorOf(() => joinPhysicalKey(s3("b", "p", ""), "x")).code).toBe("PHYSICAL_KEY_JOIN_VERSIONED");
    expect(errorOf(() => joinPhysicalKey(local("/p"), "a\\b")).code).toBe("PHYSICAL_KEY_INVALID");
  });

  it("basename and isLocal", () => {
    expect(basename(s3("b", "a/b.txt", "v"))).toBe("b.txt");
    expect(basename(s3("b", "a/"))).toBe("");
    expect(basename(s3("b", "x"))).toBe("x");
    expect(basename(local("/tmp/x"))).toBe("x");
    expect(isLocal(local("/x"))).toBe(true);
    expect(isLocal(s3("b", "x"))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Cross-check against Python: one python3 run answers thousands of generated cases.
// ---------------------------------------------------------------------------------------------

const REFERENCE = fileURLToPath(new URL("./testdata/physical_key_reference.py", import.meta.url));
const SEED = Number(process.env.QUILTKIT_FUZZ_SEED ?? 20260822);

/** Fragments chosen to hit every branch of urlsplit, unquote and parse_qs. */
const TOKENS = [
  "a", "Z", "0", "/", "//", "%", "%2", "%20", "%2F", "%2f", "%25", "%zz", "%C3%A9", "%C3", "%A9", "%E2%82%AC",
  "%F0%9F%98%80", "%ED%A0%80", "%FF", "%00", "%2B", "+", " ", "?", "#", "&", "=", ";", ":", "@", "[", "]",
  "\t", "\n", "\r", "\x00", "\x1f", "é", "e\u0301", "😀", "\uD800", "\uDC80", "\u2100", "\uFF41", "\\", "~", ".", "..",
  "versionId", "versionId=", "version%49d=", "localhost", "s3:", "!", "'", "(", ")", "*", "$", ",",
];
const PREFIXES = [
  "s3://", "s3://bkt/", "S3://Bkt/", "s3:", "s3:///", " \x01s3://b/", "\ts3://b/", "file://", "file:", "file:///",
  "file://localhost/", "FILE:///", "file://host/", "file://LOCALHOST/", "http://", "gs://b/", "", "3s://b/",
  "s3+x://b/", "s3://user@b:9/", "s3://b\uFF41/", "s3://[::1]/",
];
const token = fc.constantFrom(...TOKENS);
const tokens = (maxLength: number): fc.Arbitrary<string> => fc.array(token, { maxLength }).map((t) => t.join(""));

const looseUrl = fc.tuple(fc.constantFrom(...PREFIXES), tokens(12)).map(([prefix, rest]) => prefix + rest);

const queryField = fc
  .tuple(fc.constantFrom("versionId", "versionid", "version%49d", "versionId+", "x", "", "v%C3"), fc.constantFrom("", "="), tokens(3))
  .map(([name, eq, value]) => name + eq + value);
const s3Url = fc
  .tuple(
    fc.constantFrom("bkt", "b.c-d", "B", "a%41", "é", "u@h:1"),
    tokens(8),
    fc.option(fc.array(queryField, { maxLength: 3 }).map((f) => "?" + f.join("&")), { nil: "" }),
    fc.constantFrom("", "#", "#f?versionId=x"),
  )
  .map(([bucket, path, query, fragment]) => `s3://${bucket}/${path}${query}${fragment}`);

/** Segments that meet the symlink fixture, with and without percent-encoding. */
const SEGMENTS = [
  "real", "link", "abs", "loop", "loopa", "loopc", "up", "dangling", "chain", "file.txt", "missing", "..", ".", "",
  "%2E%2E", "li%6Ek", "a%2Fb", "é", "%C3%A9", "x\\y", "%00", "a b", "%20",
];
const segments = fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 6 }).map((s) => s.join("/"));
const fileUrl = (root: string): fc.Arbitrary<string> =>
  fc
    .tuple(fc.constantFrom("file://", "file://localhost", "file:", "file://h"), segments, fc.constantFrom("", "/"), fc.constantFrom("", "?", "?q", "#f"))
    .map(([prefix, rest, slash, tail]) => `${prefix}${root}/${rest}${slash}${tail}`);
const localPath = (root: string): fc.Arbitrary<string> =>
  fc
    .tuple(fc.constantFrom(`${root}/`, "", "./", "../", "/", "node_modules/.bin/"), segments, fc.constantFrom("", "/"))
    .map(([prefix, rest, slash]) => prefix + rest + slash);

const bucketChar = fc.constantFrom("a", "b", "z", "0", "9", ".", "-", "_", " ", "%", "@", ":", "é", "/", "?", "#", "[", "]", "\t", "\u2100", "\uFF41");
const anyText = fc.oneof(tokens(8), fc.string({ unit: "binary", maxLength: 8 }), fc.string({ unit: "grapheme", maxLength: 8 }));
const keyTriple = fc.tuple(
  fc.oneof(fc.constant("bkt"), fc.string({ unit: bucketChar, maxLength: 6 })),
  anyText,
  fc.option(fc.oneof(anyText, fc.constant("")), { nil: null }),
);

/**
 * urlsplit deletes tabs and line breaks, which can bring two unpaired surrogates together. A JS
 * string then holds a valid pair (one character), while Python keeps two unencodable code points
 * and fails to print the key. Only a hand-made manifest can contain this; we leave it out.
 */
const JOINS_SURROGATES = /[\uD800-\uDBFF][\t\r\n]+[\uDC00-\uDFFF]/;

type Answer = { ok: unknown; str?: Answer } | { error: string };
interface Reply {
  engine: string;
  urls: Answer[];
  keys: Answer[];
  paths: Answer[];
}

/** Our answer in the reference's shape; any failure is just "error". */
function ours(compute: () => unknown): Answer {
  try {
    return { ok: compute() };
  } catch (error) {
    if (!(error instanceof QuiltError)) throw error;
    return { error: "any" };
  }
}
const describedKey = (pk: PhysicalKey): Answer => ({
  ok: pk.kind === "s3" ? [pk.bucket, pk.path, pk.versionId ?? null] : [null, pk.path, null],
  str: ours(() => formatPhysicalKey(pk)),
});
const oursForKey = (compute: () => PhysicalKey): Answer => {
  const parsed = ours(compute);
  return "ok" in parsed ? describedKey(parsed.ok as PhysicalKey) : parsed;
};
/** Both sides refusing is agreement, whatever the exception. */
const normalised = (answer: Answer): unknown =>
  "error" in answer ? "error" : { ok: answer.ok, str: answer.str === undefined ? undefined : normalised(answer.str) };

function mismatches<T>(inputs: T[], python: Answer[], mine: (input: T) => Answer): string[] {
  expect(python).toHaveLength(inputs.length);
  const found: string[] = [];
  inputs.forEach((input, i) => {
    const theirs = normalised(python[i] as Answer);
    const us = normalised(mine(input));
    if (JSON.stringify(theirs) !== JSON.stringify(us)) {
      found.push(`${JSON.stringify(input)}: python ${JSON.stringify(theirs)}, ours ${JSON.stringify(us)}`);
    }
  });
  return found;
}

describe("cross-check against Python's urllib.parse / os.path.realpath / PurePath", () => {
  let root = "";
  let urls: string[] = [];
  let keys: [string, string, string | null][] = [];
  let paths: string[] = [];
  let reply: Reply;

  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), "quiltkit-pk-fuzz-")));
    buildLinkFixture(root);
    const sample = <T>(arb: fc.Arbitrary<T>, numRuns: number, offset: number): T[] => fc.sample(arb, { numRuns, seed: SEED + offset });
    urls = [...sample(looseUrl, 2500, 1), ...sample(s3Url, 1500, 2), ...sample(fileUrl(root), 1200, 3)].filter(
      (url) => !JOINS_SURROGATES.test(url),
    );
    keys = sample(keyTriple, 2500, 4);
    paths = sample(localPath(root), 800, 5);
    const run = spawnSync("python3", [REFERENCE], {
      input: JSON.stringify({ urls, keys, paths }),
      cwd: process.cwd(),
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    if (run.status !== 0) throw new Error(`python3 ${REFERENCE} failed (${run.status}): ${run.stderr}`);
    reply = JSON.parse(run.stdout) as Reply;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("ran quilt3's own PhysicalKey, or the spec's stdlib re-implementation of it", () => {
    expect(["quilt3", "spec"]).toContain(reply.engine);
  });

  it("parse and re-dump agree on generated URLs", () => {
    const bad = mismatches(urls, reply.urls, (url) => oursForKey(() => parsePhysicalKey(url)));
    expect(bad.slice(0, 10)).toEqual([]);
    // The sample must exercise both outcomes, else the comparison proves little.
    expect(reply.urls.filter((a) => "ok" in a).length).toBeGreaterThan(1500);
    expect(reply.urls.filter((a) => "error" in a).length).toBeGreaterThan(500);
  });

  it("formatting agrees on generated (bucket, path, versionId) triples", () => {
    const bad = mismatches(keys, reply.keys, ([bucket, path, versionId]) =>
      ours(() => formatPhysicalKey(s3(bucket, path, versionId ?? undefined))),
    );
    expect(bad.slice(0, 10)).toEqual([]);
    expect(reply.keys.filter((a) => "ok" in a).length).toBeGreaterThan(1000);
  });

  it("from_path agrees on generated local paths, symlinks included", () => {
    const bad = mismatches(paths, reply.paths, (path) => oursForKey(() => fileKeyFromPath(path)));
    expect(bad.slice(0, 10)).toEqual([]);
  });
});

/** A directory with every kind of symlink realpath must handle. */
function buildLinkFixture(root: string): void {
  mkdirSync(join(root, "real"));
  writeFileSync(join(root, "real", "file.txt"), "x");
  writeFileSync(join(root, "file.txt"), "x");
  symlinkSync("real", join(root, "link")); // relative
  symlinkSync(join(root, "real"), join(root, "abs")); // absolute
  symlinkSync("loop", join(root, "loop")); // loop on itself
  symlinkSync("loopb", join(root, "loopa")); // two-step loop
  symlinkSync("loopa", join(root, "loopb"));
  symlinkSync("loopc/x", join(root, "loopc")); // a loop with more path after it
  symlinkSync("..", join(root, "up"));
  symlinkSync("missing/x", join(root, "dangling"));
  symlinkSync("link/../abs/./", join(root, "chain")); // a link through links
  symlinkSync("real/file.txt", join(root, "real", "file.txt-link"));
}
