/**
 * Package handles: which package, in which registry, at which revision.
 *
 *   quilt+s3://BUCKET#package=NS/NAME[:TAG][@HASH][&path=P]   (Quilt+ URI, as the catalog prints it)
 *   s3://BUCKET/NS/NAME[:TAG][@HASH]
 *   NS/NAME[:TAG][@HASH]                                       (registry from --registry / QUILT_REGISTRY)
 *
 * `:TAG` names a tag (`:` followed by 64 hex digits is a top hash instead), `@HASH` a top hash or a
 * prefix of at least 6 hex digits. Both may be given (they must then agree: a `:<64 hex>` and an
 * `@prefix` are checked here, a tag and a hash by `Registry.resolve`). Neither means `latest`.
 * Hex digits are accepted in either case and returned in lowercase, as registries store them.
 */
import { UsageError } from "../errors/index.js";
import { MIN_HASH_PREFIX, packageNameProblem, tagProblem } from "./names.js";

export interface PackageHandle {
  /** `s3://BUCKET`, a `file://` URL or a local path; absent when nothing named one. */
  readonly registry?: string;
  readonly name: string;
  readonly tag?: string;
  /** A full top hash or a prefix of 6 to 63 lowercase hex digits. */
  readonly hash?: string;
  /** The `path=` of a Quilt+ URI: a folder or entry inside the package. */
  readonly path?: string;
}

export interface ParseHandleOptions {
  /** The registry for a bare `NS/NAME` handle (from `--registry` or `QUILT_REGISTRY`). */
  readonly defaultRegistry?: string;
}

export const HANDLE_FORMS_HINT =
  "Use quilt+s3://BUCKET#package=NS/NAME[:TAG][@HASH], s3://BUCKET/NS/NAME[:TAG][@HASH], " +
  "or NS/NAME[:TAG][@HASH] with --registry URL (or QUILT_REGISTRY), e.g. user/dataset:v1 or user/dataset@3e6e97cc.";

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
/** S3 bucket names, including legacy ones (uppercase, `_`); no `/`, `#`, `?`, `:`, `@` or spaces. */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_BUCKET_LENGTH = 255;

export function parseHandle(text: string, options: ParseHandleOptions = {}): PackageHandle {
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const spec = parseSpec(text, text);
    return options.defaultRegistry === undefined ? spec : { registry: normalizeRegistry(options.defaultRegistry), ...spec };
  }
  const rest = text.slice(scheme.length + 3);
  if (scheme === "quilt+s3") return parseQuiltPlus(text, rest);
  if (scheme === "s3") return parseS3(text, rest);
  if (scheme.startsWith("quilt+")) {
    throw invalid(text, `Quilt+ URIs over '${scheme.slice(6)}' are not supported (only quilt+s3)`);
  }
  throw invalid(text, `the scheme '${scheme}' is not one of quilt+s3 or s3`);
}

function parseQuiltPlus(text: string, rest: string): PackageHandle {
  const hashMark = rest.indexOf("#");
  if (hashMark < 0) throw invalid(text, "it has no '#package=NS/NAME' fragment");
  const authority = rest.slice(0, hashMark);
  if (authority.includes("?")) throw invalid(text, "a Quilt+ URI has no '?query' before its '#' fragment");
  const bucket = checkBucket(text, authority.endsWith("/") ? authority.slice(0, -1) : authority);

  let packageSpec: string | undefined;
  let path: string | undefined;
  for (const field of rest.slice(hashMark + 1).split("&")) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    const key = decodeFormComponent(text, eq < 0 ? field : field.slice(0, eq));
    const value = decodeFormComponent(text, eq < 0 ? "" : field.slice(eq + 1));
    if (key === "package") {
      if (packageSpec !== undefined) throw invalid(text, "'package=' appears more than once");
      packageSpec = value;
    } else if (key === "path") {
      if (path !== undefined) throw invalid(text, "'path=' appears more than once");
      path = value;
    }
    // Other parameters (catalog=, ...) concern other tools: ignored.
  }
  if (packageSpec === undefined) throw invalid(text, "its fragment has no 'package=NS/NAME'");
  const spec = parseSpec(text, packageSpec);
  return path === undefined || path === "" ? { registry: `s3://${bucket}`, ...spec } : { registry: `s3://${bucket}`, ...spec, path };
}

function parseS3(text: string, rest: string): PackageHandle {
  if (rest.includes("?") || rest.includes("#")) throw invalid(text, "an s3:// handle has no '?query' or '#fragment'");
  const slash = rest.indexOf("/");
  if (slash < 0 || slash === rest.length - 1) throw invalid(text, "there is no package name after the bucket");
  const bucket = checkBucket(text, rest.slice(0, slash));
  return { registry: `s3://${bucket}`, ...parseSpec(text, rest.slice(slash + 1)) };
}

/** `NS/NAME[:TAG][@HASH]`. */
function parseSpec(text: string, spec: string): { name: string; tag?: string; hash?: string } {
  const at = spec.indexOf("@");
  const colon = spec.indexOf(":");
  if (at >= 0 && colon > at) throw invalid(text, "':TAG' must come before '@HASH'");
  const nameEnd = colon >= 0 ? colon : at >= 0 ? at : spec.length;
  const name = spec.slice(0, nameEnd);
  const problem = packageNameProblem(name);
  if (problem !== undefined) throw invalid(text, `the package name ${JSON.stringify(name)} is invalid: ${problem}`);

  let tag: string | undefined;
  let hash: string | undefined;
  if (colon >= 0) {
    const value = spec.slice(colon + 1, at >= 0 ? at : spec.length);
    if (value === "") throw invalid(text, "the tag after ':' is empty");
    if (/^[0-9A-Fa-f]{64}$/.test(value)) {
      hash = value.toLowerCase(); // `:` + 64 hex digits is a top hash
    } else {
      const tagIssue = tagProblem(value);
      if (tagIssue !== undefined) throw invalid(text, `the tag ${JSON.stringify(value)} is invalid: ${tagIssue}`);
      tag = value;
    }
  }
  if (at >= 0) {
    const value = spec.slice(at + 1);
    if (value === "") throw invalid(text, "the hash after '@' is empty");
    if (!/^[0-9A-Fa-f]+$/.test(value)) throw invalid(text, `the hash ${JSON.stringify(value)} is not hexadecimal`);
    if (value.length < MIN_HASH_PREFIX) throw invalid(text, `the hash prefix '${value}' is shorter than ${MIN_HASH_PREFIX} hex digits`);
    if (value.length > 64) throw invalid(text, `the hash '${value}' is longer than 64 hex digits`);
    const prefix = value.toLowerCase();
    if (hash !== undefined && !hash.startsWith(prefix)) {
      throw invalid(text, `the top hash after ':' and the hash after '@' disagree`);
    }
    hash ??= prefix;
  }
  return { name, ...(tag === undefined ? {} : { tag }), ...(hash === undefined ? {} : { hash }) };
}

export type HandleForm = "quilt+" | "s3" | "short";

export interface FormatHandleOptions {
  /** Default: `quilt+` when the registry is an S3 bucket, else `short` (which omits the registry). */
  readonly form?: HandleForm;
}

/** The text of a handle; `parseHandle(formatHandle(h))` gives `h` back (registry aside for `short`). */
export function formatHandle(handle: PackageHandle, options: FormatHandleOptions = {}): string {
  const bucket = handle.registry?.startsWith("s3://") === true ? handle.registry.slice(5).replace(/\/$/, "") : undefined;
  const form = options.form ?? (bucket === undefined ? "short" : "quilt+");
  const spec = `${handle.name}${handle.tag === undefined ? "" : `:${handle.tag}`}${handle.hash === undefined ? "" : `@${handle.hash}`}`;
  if (form === "short") return spec;
  if (bucket === undefined) {
    throw new UsageError("HANDLE_FORMAT_UNSUPPORTED", `Cannot write ${spec} as an ${form} handle: its registry ${handle.registry ?? "(none)"} is not an S3 bucket.`, {
      hint: "Use the short form NS/NAME[:TAG][@HASH] with --registry for local registries.",
    });
  }
  if (form === "s3") return `s3://${bucket}/${spec}`;
  const path = handle.path === undefined || handle.path === "" ? "" : `&path=${encodeURIComponent(handle.path).replace(/%2F/g, "/")}`;
  return `quilt+s3://${bucket}#package=${spec}${path}`;
}

/**
 * A registry given on its own (`--registry`, `QUILT_REGISTRY`): `s3://BUCKET` (a trailing `/` is
 * dropped; a path is refused, as quilt3 refuses it), `quilt+s3://BUCKET` (read as `s3://BUCKET`),
 * a `file://` URL, or a local path (both returned as given).
 */
export function normalizeRegistry(text: string): string {
  const fail = (why: string): UsageError =>
    new UsageError("REGISTRY_INVALID", `Invalid registry ${JSON.stringify(text)}: ${why}.`, {
      hint: "Give s3://BUCKET, a file:// URL, or a folder path.",
    });
  if (text === "") throw fail("it is empty");
  if (text.includes("\0")) throw fail("it contains a NUL character");
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "file") return text;
  if (scheme !== "s3" && scheme !== "quilt+s3") throw fail(`the scheme '${scheme}' is not s3 or file`);
  let bucket = text.slice(scheme.length + 3);
  if (bucket.endsWith("/")) bucket = bucket.slice(0, -1);
  if (bucket.includes("/")) throw fail("an S3 registry is a bucket, without a path");
  if (!BUCKET.test(bucket) || bucket.length > MAX_BUCKET_LENGTH) throw fail(`'${bucket}' is not a bucket name`);
  return `s3://${bucket}`;
}

function checkBucket(text: string, bucket: string): string {
  if (bucket === "") throw invalid(text, "the bucket is empty");
  if (!BUCKET.test(bucket) || bucket.length > MAX_BUCKET_LENGTH) {
    throw invalid(text, `'${bucket}' is not a bucket name${bucket.includes("/") ? " (an S3 registry is a bucket, without a path)" : ""}`);
  }
  return bucket;
}

/** application/x-www-form-urlencoded decoding, as the catalog and quilt-rs read the fragment. */
function decodeFormComponent(text: string, value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch (error) {
    throw invalid(text, `'${value}' has a malformed %-escape`, error);
  }
}

function invalid(text: string, why: string, cause?: unknown): UsageError {
  return new UsageError("HANDLE_INVALID", `Invalid package handle ${JSON.stringify(text)}: ${why}.`, {
    hint: HANDLE_FORMS_HINT,
    cause,
  });
}

