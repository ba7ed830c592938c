/**
 * Package names, tags, top hashes and pointer names (spec §4.1, §4.3, §5).
 */
import { UsageError } from "../errors/index.js";

/** The pointer every push moves; the default revision of a handle. */
export const LATEST = "latest";

/**
 * quilt3's rule `^[\w-]+/[\w-]+$` (Python `\w` = general category L*, N* or `_`), except that the
 * trailing newline Python's `$` lets through is refused: quilt3 accepts `"user/pkg\n"` and would
 * create a folder whose name ends in a newline, which no other tool (catalog, lambdas, shells)
 * handles. We refuse it everywhere, including names quilt3 would accept, and say why.
 */
const PACKAGE_NAME = /^[\p{L}\p{N}_-]+\/[\p{L}\p{N}_-]+$/u;
const PACKAGE_NAME_HINT = "A package name is two parts of letters, digits, '_' or '-' joined by '/', e.g. user/dataset.";

/** Why `name` is not a valid package name, or `undefined` if it is. */
export function packageNameProblem(name: string): string | undefined {
  if (PACKAGE_NAME.test(name)) return undefined;
  if (/\n$/.test(name) && PACKAGE_NAME.test(name.slice(0, -1))) {
    return "it ends with a newline (quilt3 would accept it and create a folder named with a newline; Quiltkit refuses it)";
  }
  if (name === "") return "it is empty";
  const parts = name.split("/");
  if (parts.length !== 2) return `it has ${parts.length} part${parts.length === 1 ? "" : "s"} separated by '/' instead of 2`;
  if (parts.some((p) => p === "")) return "one of its two parts is empty";
  const bad = Array.from(name).find((ch) => ch !== "/" && !/^[\p{L}\p{N}_-]$/u.test(ch));
  return bad === undefined ? "it does not match [letters, digits, _ -]/[letters, digits, _ -]" : `it contains ${describeChar(bad)}`;
}

export function validatePackageName(name: string): string {
  const problem = packageNameProblem(name);
  if (problem !== undefined) {
    throw new UsageError("PACKAGE_NAME_INVALID", `Invalid package name ${JSON.stringify(name)}: ${problem}.`, {
      hint: PACKAGE_NAME_HINT,
    });
  }
  return name;
}

/** `[namespace, name]` of a valid package name. */
export function splitPackageName(name: string): [string, string] {
  validatePackageName(name);
  const slash = name.indexOf("/");
  return [name.slice(0, slash), name.slice(slash + 1)];
}

const TAG = /^[A-Za-z0-9._-]+$/;
/** Tags are file names in a local registry: stay within the usual 255-byte limit. */
export const MAX_TAG_LENGTH = 255;
const TAG_HINT = "A tag is letters, digits, '.', '_' or '-' (not only digits, not '.' or '..', not a 64-digit hex hash), e.g. v1.0 or stable.";

/** Why `tag` is not a valid tag name, or `undefined` if it is. */
export function tagProblem(tag: string): string | undefined {
  if (tag === "") return "it is empty";
  if (!TAG.test(tag)) {
    const bad = Array.from(tag).find((ch) => !/^[A-Za-z0-9._-]$/.test(ch)) ?? "";
    return `it contains ${describeChar(bad)}`;
  }
  if (isTimestampPointer(tag)) return "it is all digits, which names a timestamp pointer (a revision), not a tag";
  // `.` and `..` pass the character rule but would name the package folder or its parent.
  if (tag === "." || tag === "..") return `'${tag}' is not a usable file name`;
  // `:<64 hex>` in a handle is a top hash, so such a tag could never be named.
  if (isTopHash(tag.toLowerCase())) return "it looks like a top hash (64 hex digits)";
  if (tag.length > MAX_TAG_LENGTH) return `it is longer than ${MAX_TAG_LENGTH} characters`;
  return undefined;
}

export function validateTag(tag: string): string {
  const problem = tagProblem(tag);
  if (problem !== undefined) {
    throw new UsageError("TAG_INVALID", `Invalid tag ${JSON.stringify(tag)}: ${problem}.`, { hint: TAG_HINT });
  }
  return tag;
}

/** A full top hash: exactly 64 lowercase hex digits. */
export function isTopHash(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

export const MIN_HASH_PREFIX = 6;

/** A top-hash prefix usable to name a revision: 6 to 63 lowercase hex digits. */
export function isHashPrefix(s: string): boolean {
  return /^[0-9a-f]{6,63}$/.test(s);
}

/** A pointer named by its push time: all ASCII digits (quilt3 writes `str(int(time.time()))`). */
export function isTimestampPointer(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

/**
 * Why `pointer` cannot name a pointer file of a package, or `undefined` if it can: `latest`, a
 * timestamp, or a valid tag.
 */
export function pointerNameProblem(pointer: string): string | undefined {
  if (pointer === LATEST || isTimestampPointer(pointer)) return undefined;
  return tagProblem(pointer);
}

export function validatePointerName(pointer: string): string {
  const problem = pointerNameProblem(pointer);
  if (problem !== undefined) {
    throw new UsageError("POINTER_NAME_INVALID", `Invalid pointer name ${JSON.stringify(pointer)}: ${problem}.`, {
      hint: `A pointer is 'latest', a timestamp (digits) or a tag. ${TAG_HINT}`,
    });
  }
  return pointer;
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? `'${ch}' (${hex})` : hex;
}
