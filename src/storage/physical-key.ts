/**
 * Physical keys: where an entry's bytes live, as quilt3's `PhysicalKey` (quilt3 8.0.0
 * `util.py:125-230`, spec §4.5/§4.6) parses and prints them. Manifests store `str(PhysicalKey)`, and
 * quilt3 re-normalises every URL it loads, so the bytes we write must be exactly the bytes Python's
 * `urllib.parse` would give. That is why this file re-implements the few pieces of `urllib.parse`,
 * `posixpath.realpath` and `PurePosixPath` it needs instead of using WHATWG `URL` or
 * `encodeURIComponent`: those resolve `.`/`..` segments, treat `\` and hosts their own way, and
 * leave a different set of characters unescaped (`encodeURIComponent` keeps `!'()*`, Python does not).
 *
 * Deliberate departures from quilt3 on POSIX, each refused with a `UsageError`:
 *  - an S3 bucket containing `[` or `]` (Python accepts only `[<IPv6 literal>]`; S3 has no such bucket);
 *  - a local path containing `\`, NUL, or an unpaired UTF-16 surrogate (quilt3 refuses `\` on Windows
 *    only; we refuse it everywhere so that keys mean the same on every OS);
 *  - formatting a bucket that would not parse back to itself (quilt3 prints a broken URL).
 * One difference is not a choice: Python strings hold code points and JS strings UTF-16 units, so
 * two unpaired surrogates that urlsplit brings together (by deleting a tab between them) form one
 * character here, and a key Python cannot print.
 */
import { isUtf8 } from "node:buffer";
import { lstatSync, readlinkSync } from "node:fs";
import { StorageError, UsageError } from "../errors/index.js";

export type PhysicalKey =
  | { kind: "s3"; bucket: string; path: string; versionId?: string }
  | { kind: "file"; path: string };
export type S3PhysicalKey = Extract<PhysicalKey, { kind: "s3" }>;
/** `path` is absolute and POSIX; it ends with `/` when the key names a directory. */
export type FilePhysicalKey = Extract<PhysicalKey, { kind: "file" }>;

export interface ResolveOptions {
  /**
   * Resolve symbolic links on the local filesystem, as quilt3's `os.path.realpath` does (default
   * `true`). With `false`, the path is normalised as realpath would normalise it on a filesystem
   * without symlinks, and the filesystem is never touched.
   */
  resolveSymlinks?: boolean;
}

const INVALID = "PHYSICAL_KEY_INVALID";
const URL_HINT = "Use s3://<bucket>/<key>[?versionId=<id>] or file:///<absolute path>, percent-encoding special characters.";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** quilt3 `PhysicalKey.from_url`: parse an `s3://` or `file://` URL. */
export function parsePhysicalKey(url: string, options: ResolveOptions = {}): PhysicalKey {
  const parts = urlsplit(url);
  if (parts.scheme === "s3") return parseS3(url, parts);
  if (parts.scheme === "file") return parseFile(url, parts, options);
  throw new UsageError(
    "PHYSICAL_KEY_UNSUPPORTED_SCHEME",
    `Unsupported physical key ${describeUrl(url)}: ` +
      (parts.scheme === "" ? "it has no URL scheme." : `scheme '${parts.scheme}' is neither s3 nor file.`),
    { hint: URL_HINT },
  );
}

/** quilt3 `str(PhysicalKey)`: the URL written into manifests. */
export function formatPhysicalKey(pk: PhysicalKey): string {
  return pk.kind === "s3" ? formatS3(pk.bucket, pk.path, pk.versionId) : formatFile(pk.path);
}

/**
 * quilt3 `PhysicalKey.from_path`: a local key for `path`, made absolute against the working
 * directory with symlinks resolved (`os.path.realpath`). A trailing `/` is kept.
 */
export function fileKeyFromPath(path: string, options: ResolveOptions = {}): FilePhysicalKey {
  assertLocalPath(path, () => `Invalid local path ${JSON.stringify(path)}`);
  const readLink = options.resolveSymlinks === false ? noLinks : readLinkFromDisk;
  const resolved = pyRealpath(path, readLink);
  // realpath drops a trailing '/'; quilt3 adds it back so that directory keys stay directories.
  return { kind: "file", path: path.endsWith("/") ? resolved + "/" : resolved };
}

/**
 * Whether `formatPhysicalKey(parsePhysicalKey(url, { resolveSymlinks: false }))` is `url` itself,
 * proved without parsing (manifest readers re-normalise every key, and most are already canonical).
 * That holds for `file:///` and one or more segments, none `.` or `..`, each of characters `quote`
 * keeps or `%XX` escapes (uppercase hex) that `quote` would write back the same: of an ASCII byte it
 * escapes other than NUL and `\` (refused), or of bytes that are well-formed UTF-8 together (lenient
 * decoding would turn anything else into U+FFFD). `false` only means "take the slow path".
 */
export function isCanonicalFileUrl(url: string): boolean {
  if (!CANONICAL_FILE.test(url) || DOT_SEGMENT.test(url)) return false;
  let escape = url.indexOf("%");
  if (escape < 0) return true;
  let wide = false;
  for (; escape >= 0; escape = url.indexOf("%", escape + 3)) {
    const byte = parseInt(url.slice(escape + 1, escape + 3), 16);
    if (byte >= 0x80) wide = true;
    else if (!ESCAPED_ASCII[byte]) return false;
  }
  return !wide || isUtf8(percentBytes(url.slice("file://".length)));
}

const CANONICAL_FILE = /^file:\/\/(?:\/(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})+)+$/;
/** A `.` or `..` segment: normpath removes it. Escapes never spell one (`.` is never escaped here). */
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

export function isLocal(pk: PhysicalKey): pk is FilePhysicalKey {
  return pk.kind === "file";
}

/**
 * quilt3 `PhysicalKey.join`: `path.rstrip('/') + '/' + rel.lstrip('/')`. The result never has a
 * versionId, and joining onto a versioned key is refused: a version names one object, not a prefix.
 */
export function joinPhysicalKey(pk: PhysicalKey, rel: string): PhysicalKey {
  if (pk.kind === "s3" && pk.versionId !== undefined) {
    throw new UsageError(
      "PHYSICAL_KEY_JOIN_VERSIONED",
      `Cannot append ${JSON.stringify(rel)} to ${formatPhysicalKey(pk)}: it has a versionId.`,
      { hint: "Join onto the key without its versionId (a prefix), then look up the version of the result." },
    );
  }
  if (pk.kind === "file" && rel.includes("\\")) {
    throw new UsageError(INVALID, `Cannot append ${JSON.stringify(rel)} to a local key: it contains '\\'.`, {
      hint: "Use '/' as the path separator.",
    });
  }
  const tail = rel.replace(/^\/+/, "");
  const path = pk.path === "" ? tail : pk.path.replace(/\/+$/, "") + "/" + tail;
  return pk.kind === "s3" ? { kind: "s3", bucket: pk.bucket, path } : { kind: "file", path };
}

/** quilt3 `PhysicalKey.basename`: the text after the last `/` (empty for a directory key). */
export function basename(pk: PhysicalKey): string {
  return pk.path.slice(pk.path.lastIndexOf("/") + 1);
}

// ---------------------------------------------------------------------------------------------
// from_url
// ---------------------------------------------------------------------------------------------

function parseS3(url: string, parts: UrlParts): PhysicalKey {
  if (parts.netloc === "") invalid(url, "it has no bucket");
  // unquote, not unquote_plus: '+' stays '+' in the key; dropping the leading '/' of the path.
  const path = unquote(parts.path).slice(1);
  const query = parseQs(parts.query);
  // quilt3 takes the first versionId and ignores the others (parse_qs returns a list).
  const versionId = query.get("versionId")?.[0];
  query.delete("versionId");
  if (query.size > 0) {
    const names = [...query.keys()].map((name) => JSON.stringify(name)).join(", ");
    invalid(url, `its query has parameters other than versionId (${names})`);
  }
  return versionId === undefined
    ? { kind: "s3", bucket: parts.netloc, path }
    : { kind: "s3", bucket: parts.netloc, path, versionId };
}

function parseFile(url: string, parts: UrlParts, options: ResolveOptions): PhysicalKey {
  if (parts.netloc !== "" && parts.netloc !== "localhost") {
    invalid(url, "its host is neither empty nor 'localhost'");
  }
  if (parts.path === "") invalid(url, "it has no path");
  if (!parts.path.startsWith("/")) invalid(url, "its path is relative");
  if (parts.query !== "") invalid(url, "it has a query string");
  // On POSIX, url2pathname is plain unquote.
  const path = unquote(parts.path);
  assertLocalPath(path, () => `Invalid physical key ${describeUrl(url)}`);
  return fileKeyFromPath(path, options);
}

function invalid(url: string, problem: string): never {
  throw new UsageError(INVALID, `Invalid physical key ${describeUrl(url)}: ${problem}.`, { hint: URL_HINT });
}

/** The URL for a message, without user-info or query values other than versionId: they may be secrets. */
function describeUrl(url: string): string {
  let shown = url.replace(/^([^:/?#]*:\/\/)[^/?#]*@/, "$1***@");
  const mark = shown.indexOf("?");
  if (mark >= 0) {
    const query = shown.slice(mark).replace(/([?&])([^=&#]*)=([^&#]*)/g, (_all, sep: string, name: string, value: string) =>
      `${sep}${name}=${name === "versionId" ? value : "…"}`,
    );
    shown = shown.slice(0, mark) + query;
  }
  if (shown.length > 300) shown = shown.slice(0, 300) + "…";
  return JSON.stringify(shown);
}

// ---------------------------------------------------------------------------------------------
// str()
// ---------------------------------------------------------------------------------------------

function formatS3(bucket: string, path: string, versionId: string | undefined): string {
  assertFormattableBucket(bucket);
  // urlunparse(('s3', bucket, quote('/' + path), None, urlencode({'versionId': vid}), None)).
  const url = "s3://" + bucket + quote("/" + path, SAFE_PATH, () => `S3 key ${JSON.stringify(path)}`);
  // An empty versionId is printed as none, as spec §4.5 says (`if vid`), so that it round-trips:
  // parse_qs drops blank values. (quilt3 8.0.0's code tests `is None` and prints `?versionId=`.)
  if (versionId === undefined || versionId === "") return url;
  return url + "?versionId=" + quote(versionId, SAFE_QUERY, () => `versionId ${JSON.stringify(versionId)}`);
}

function formatFile(path: string): string {
  const what = (): string => `Invalid local key ${JSON.stringify(path)}`;
  if (!path.startsWith("/")) {
    throw new UsageError(INVALID, `${what()}: a relative path cannot be a file URL.`, {
      hint: "Local keys hold absolute paths; build them with fileKeyFromPath.",
    });
  }
  assertLocalPath(path, what);
  // PurePath(path).as_uri(): 'file://' + quote(str(PurePosixPath(path))).
  return "file://" + quote(purePosixString(path), SAFE_PATH, what);
}

/** Buckets already known to print and parse back unchanged (most manifests use one or two). */
const formattableBuckets = new Set<string>();

function assertFormattableBucket(bucket: string): void {
  if (formattableBuckets.has(bucket)) return;
  const problem = bucketProblem(bucket);
  if (problem !== undefined) {
    throw new UsageError(INVALID, `Invalid S3 bucket ${JSON.stringify(bucket)}: ${problem}.`, {
      hint: "Use the bucket's name alone, e.g. 'my-bucket'.",
    });
  }
  if (formattableBuckets.size < 1024) formattableBuckets.add(bucket);
}

/** Why `s3://<bucket>/` would not parse back to `bucket`, if it would not. */
function bucketProblem(bucket: string): string | undefined {
  if (bucket === "") return "it is empty";
  if (/[/?#\t\r\n]/.test(bucket)) return "it contains '/', '?', '#', a tab or a line break";
  return netlocProblem(bucket);
}

// ---------------------------------------------------------------------------------------------
// urllib.parse, as CPython 3.11 does it, for the parts quilt3 uses
// ---------------------------------------------------------------------------------------------

interface UrlParts {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
}

/**
 * `urlparse(url)` without the fragment (quilt3 ignores it). `;params` are split off only for
 * schemes such as http, never for s3 or file, so they stay in the path here.
 */
function urlsplit(raw: string): UrlParts {
  // Leading C0 controls and spaces are stripped; tabs and line breaks anywhere are deleted.
  let rest = stripLeadingControls(raw).replace(/[\t\r\n]/g, "");
  let scheme = "";
  const colon = rest.indexOf(":");
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(rest.slice(0, colon))) {
    scheme = rest.slice(0, colon).toLowerCase();
    rest = rest.slice(colon + 1);
  }
  let netloc = "";
  if (rest.startsWith("//")) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end < 0 ? rest.slice(2) : rest.slice(2, end + 2);
    rest = end < 0 ? "" : rest.slice(end + 2);
  }
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const mark = rest.indexOf("?");
  const path = mark < 0 ? rest : rest.slice(0, mark);
  const query = mark < 0 ? "" : rest.slice(mark + 1);
  const problem = netlocProblem(netloc);
  // The host part is not quoted in the message: it may hold user-info.
  if (problem !== undefined) invalid(raw, `its host part is refused: ${problem}`);
  return { scheme, netloc, path, query };
}

/** `str.lstrip` of the WHATWG "C0 control or space" set (U+0000 to U+0020). */
function stripLeadingControls(text: string): string {
  let start = 0;
  while (start < text.length && text.charCodeAt(start) <= 0x20) start++;
  return text.slice(start);
}

/** urlsplit's checks on the network location, plus our refusal of brackets (see file header). */
function netlocProblem(netloc: string): string | undefined {
  if (/[[\]]/.test(netloc)) return "it contains '[' or ']'";
  // _checknetloc: characters such as U+2100 (℀) turn into '/', '?', '#', '@' or ':' under NFKC.
  if (ASCII_ONLY.test(netloc)) return undefined;
  const stripped = netloc.replace(/[@:#?]/g, "");
  const folded = stripped.normalize("NFKC");
  if (folded !== stripped && /[/?#@:]/.test(folded)) return "it contains characters that NFKC-normalise to URL delimiters";
  return undefined;
}

// ignoreBOM: Python decodes a leading U+FEFF as a character; TextDecoder would drop it by default.
const utf8Lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const HEX_BYTE = /^[0-9A-Fa-f]{2}/;
// Written as "not U+0080 and above" to say "U+0000 to U+007F" without control characters.
const ASCII_RUNS = /[^\u0080-\uFFFF]+/g;
const ASCII_ONLY = /^[^\u0080-\uFFFF]*$/;

/**
 * `urllib.parse.unquote`: each maximal run of ASCII characters has its `%XX` escapes turned into
 * bytes and is decoded as UTF-8 with U+FFFD for bad sequences; non-ASCII characters pass through;
 * a `%` not followed by two hex digits stays as it is.
 */
function unquote(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(ASCII_RUNS, (run) => (run.includes("%") ? decodeAsciiRun(run) : run));
}

function decodeAsciiRun(run: string): string {
  return utf8Lenient.decode(percentBytes(run));
}

/** The bytes of a run of ASCII characters: each `%XX` escape one byte, every other character its own. */
function percentBytes(run: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < run.length; i++) {
    if (run[i] === "%" && HEX_BYTE.test(run.slice(i + 1, i + 3))) {
      bytes.push(parseInt(run.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(run.charCodeAt(i));
    }
  }
  return Uint8Array.from(bytes);
}

/**
 * `parse_qs(query)` with its defaults: split on `&`, skip fields without `=` or with an empty value,
 * `+` becomes a space, then unquote names and values. Values of a repeated name keep their order.
 */
function parseQs(query: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const field of query === "" ? [] : query.split("&")) {
    const eq = field.indexOf("=");
    if (eq < 0 || eq === field.length - 1) continue;
    const name = unquote(field.slice(0, eq).replace(/\+/g, " "));
    const value = unquote(field.slice(eq + 1).replace(/\+/g, " "));
    const values = fields.get(name);
    if (values === undefined) fields.set(name, [value]);
    else values.push(value);
  }
  return fields;
}

/** Per byte, the literal character when safe, else `%XX` with uppercase hex; `plain`: nothing to escape. */
interface QuoteTable {
  bytes: readonly string[];
  plain: RegExp;
}

function quoteTable(safe: string, spaceAsPlus: boolean): QuoteTable {
  const bytes = Array.from({ length: 256 }, (_, byte) => {
    if (spaceAsPlus && byte === 0x20) return "+";
    const char = String.fromCharCode(byte);
    return safe.includes(char) ? char : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  });
  const plain = new RegExp(`^[${safe.replace(/[-\]\\^/]/g, "\\$&")}]*$`);
  return { bytes, plain };
}

const ALWAYS_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~";
/** `quote(s)`: safe='/'. */
const SAFE_PATH = quoteTable(ALWAYS_SAFE + "/", false);
/** `quote_plus(s, safe='')`, as `urlencode` applies it: space becomes `+`, `/` is escaped. */
const SAFE_QUERY = quoteTable(ALWAYS_SAFE, true);
const utf8 = new TextEncoder();

function quote(text: string, table: QuoteTable, what: () => string): string {
  if (table.plain.test(text)) return text;
  // Python encodes with errors='strict': an unpaired surrogate has no UTF-8 form.
  if (LONE_SURROGATE.test(text)) {
    throw new UsageError(INVALID, `${what()} contains an unpaired UTF-16 surrogate, which has no UTF-8 form.`, {
      hint: "Use well-formed Unicode text.",
    });
  }
  let out = "";
  for (const byte of utf8.encode(text)) out += table.bytes[byte] as string;
  return out;
}

/**
 * ASCII bytes whose `%XX` escape survives parse and print: `quote` escapes them, and the decoded
 * character is neither `/` (a separator, which `quote` keeps), NUL nor `\` (refused in local paths).
 */
const ESCAPED_ASCII: readonly boolean[] = Array.from(
  { length: 0x80 },
  (_, byte) => byte !== 0 && byte !== 0x5c && SAFE_PATH.bytes[byte] !== String.fromCharCode(byte),
);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// ---------------------------------------------------------------------------------------------
// Local paths: posixpath.realpath and PurePosixPath, as CPython 3.11 does them
// ---------------------------------------------------------------------------------------------

function assertLocalPath(path: string, what: () => string): void {
  let problem: string | undefined;
  if (path.includes("\0")) problem = "contains a NUL character";
  else if (path.includes("\\")) problem = "contains '\\' (only '/' separates path segments)";
  else if (LONE_SURROGATE.test(path)) problem = "contains an unpaired UTF-16 surrogate";
  if (problem !== undefined) {
    throw new UsageError(INVALID, `${what()}: the local path ${problem}.`, {
      hint: "Local keys are POSIX paths: '/'-separated, well-formed Unicode, without NUL or '\\'.",
    });
  }
}

/** Returns the target of the symlink at `path`, or `undefined` when it is not a symlink. */
type ReadLink = (path: string) => string | undefined;

const noLinks: ReadLink = () => undefined;

function readLinkFromDisk(path: string): string | undefined {
  let isLink: boolean;
  try {
    isLink = lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
  } catch {
    return undefined; // realpath treats any lstat failure (ENOTDIR, EACCES…) as "not a link"
  }
  if (!isLink) return undefined;
  try {
    return readlinkSync(path);
  } catch (cause) {
    throw new StorageError("LOCAL_PATH_UNRESOLVABLE", `Cannot read the symbolic link ${JSON.stringify(path)}.`, {
      hint: "Check the permissions of the directories on the path.",
      cause,
    });
  }
}

/**
 * `os.path.realpath(path)` (strict=False): walk the segments, replacing each symlink by its
 * target; a missing segment is kept as written, and a symlink loop stops resolution there.
 * Node's `fs.realpath` would instead fail on a missing file and differs on loops.
 */
function pyRealpath(path: string, readLink: ReadLink): string {
  return pyAbspath(joinRealpath("", path, readLink, new Map()).path);
}

function joinRealpath(
  start: string,
  rest: string,
  readLink: ReadLink,
  seen: Map<string, string | null>,
): { path: string; ok: boolean } {
  let path = start;
  if (rest.startsWith("/")) {
    rest = rest.slice(1);
    path = "/";
  }
  while (rest !== "") {
    const slash = rest.indexOf("/");
    const name = slash < 0 ? rest : rest.slice(0, slash);
    rest = slash < 0 ? "" : rest.slice(slash + 1);
    if (name === "" || name === ".") continue;
    if (name === "..") {
      path = parentOf(path);
      continue;
    }
    const next = pyJoin(path, name);
    const target = readLink(next);
    if (target === undefined) {
      path = next;
      continue;
    }
    const known = seen.get(next);
    if (known !== undefined) {
      // null: we are inside this link's own resolution, i.e. a loop; give up resolving here.
      if (known === null) return { path: pyJoin(next, rest), ok: false };
      path = known;
      continue;
    }
    seen.set(next, null);
    const inner = joinRealpath(path, target, readLink, seen);
    if (!inner.ok) return { path: pyJoin(inner.path, rest), ok: false };
    path = inner.path;
    seen.set(next, path);
  }
  return { path, ok: true };
}

/** The `..` step of realpath: drop the last segment, or pile up `..` on a relative path. */
function parentOf(path: string): string {
  if (path === "") return "..";
  const { head, tail } = pySplit(path);
  return tail === ".." ? pyJoin(pyJoin(head, ".."), "..") : head;
}

/** posixpath.join for two parts. */
function pyJoin(a: string, b: string): string {
  if (b.startsWith("/")) return b;
  if (a === "" || a.endsWith("/")) return a + b;
  return a + "/" + b;
}

/** posixpath.split. */
function pySplit(path: string): { head: string; tail: string } {
  const cut = path.lastIndexOf("/") + 1;
  let head = path.slice(0, cut);
  if (head !== "" && !/^\/+$/.test(head)) head = head.replace(/\/+$/, "");
  return { head, tail: path.slice(cut) };
}

/** posixpath.abspath: join the working directory, then normpath. */
function pyAbspath(path: string): string {
  return pyNormpath(path.startsWith("/") ? path : pyJoin(process.cwd(), path));
}

/** posixpath.normpath: exactly two leading slashes survive (POSIX leaves `//` to the system). */
function pyNormpath(path: string): string {
  if (path === "") return ".";
  const lead = /^\/\/(?!\/)/.test(path) ? "//" : path.startsWith("/") ? "/" : "";
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    const last = out[out.length - 1];
    if (segment !== ".." || (lead === "" && out.length === 0) || last === "..") out.push(segment);
    else if (out.length > 0) out.pop();
  }
  return lead + out.join("/") || ".";
}

/** str(PurePosixPath(path)): drop empty and `.` segments and a trailing `/`; keep `..`. */
function purePosixString(path: string): string {
  const root = /^\/\/(?!\/)/.test(path) ? "//" : path.startsWith("/") ? "/" : "";
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  return root + segments.join("/") || ".";
}
