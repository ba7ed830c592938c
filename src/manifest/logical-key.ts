import { UsageError, IntegrityError } from "../errors/index.js";
import { pyRepr } from "./py-repr.js";

/**
 * Why a logical key is unsafe, or `undefined` when it is fine. The rules are quilt3's for new
 * keys (spec §1.6: non-empty, no trailing `/`, no `''`, `.` or `..` segment, hence no leading `/`
 * and no `//`) plus NUL, which no filesystem can store. quilt3 checks none of this on load
 * (spec §7.2); we check on load too, so a hostile manifest cannot write outside a destination.
 */
export function logicalKeyProblem(key: string): string | undefined {
  // One regex test rules out every problem for ordinary keys; only a suspect key is split.
  if (key.length > 0 && !SUSPECT.test(key)) return undefined;
  if (key.length === 0) return "it is empty";
  if (key.endsWith("/")) return "it ends with '/' (a package entry cannot be a directory)";
  if (key.includes("\0")) return "it contains a NUL character";
  for (const segment of key.split("/")) {
    if (segment === "") return "it has an empty path segment (a leading '/' or '//')";
    if (segment === "." || segment === "..") return `it has a '${segment}' path segment`;
  }
  return undefined;
}

/** Matches every key that could fail the checks below (and a few that do not). */
const SUSPECT = /^\/|\/$|\/\/|(?:^|\/)\.\.?(?:\/|$)|\0/;

/** Refuse a logical key given by the caller (building a package). */
export function assertValidLogicalKey(key: string): void {
  const problem = logicalKeyProblem(key);
  if (problem !== undefined) {
    throw new UsageError("LOGICAL_KEY_INVALID", `Invalid logical key ${pyRepr(key)}: ${problem}.`, {
      hint: "Use a relative path of non-empty segments separated by '/', without '.' or '..'.",
    });
  }
}

/** Refuse a logical key read from a manifest: it came from elsewhere and may be hostile. */
export function assertSafeLoadedKey(key: string, line: number): void {
  const problem = logicalKeyProblem(key);
  if (problem !== undefined) {
    throw new IntegrityError(
      "MANIFEST_UNSAFE_KEY",
      `Manifest line ${line}: logical key ${pyRepr(key)} is refused: ${problem}.`,
      { hint: "The manifest may be hostile or corrupt; it could write outside the destination. Do not install it." },
    );
  }
}

/** Split a directory-metadata key (`a/b/`) into its directory path (`a/b`), checked like a key. */
export function dirPathOf(dirKey: string, line: number): string {
  const path = dirKey.endsWith("/") ? dirKey.slice(0, -1) : dirKey;
  assertSafeLoadedKey(path, line);
  return path;
}
