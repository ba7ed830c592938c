/**
 * `quilt add LOGICAL [SOURCE]`: what SOURCE is, and under which logical key it goes, decided
 * before anything is read in bulk (one stat, one HEAD, or one package lookup).
 *
 * - No SOURCE: LOGICAL is a local file or folder, inside the workspace; its logical key is its
 *   path from the workspace root (`quilt add train2017/`).
 * - `s3://bucket/ns/name:tag`, `s3://bucket/ns/name@hash` or `quilt+s3://...#package=...`: a package.
 * - `s3://bucket/prefix/` (or a key with no object): every object under it; `s3://bucket/key`: one object.
 * - An existing local path: that file or folder.
 * - Otherwise `ns/name[:tag][@hash]`: a package of the workspace's registry.
 *
 * A file goes to LOGICAL itself, or into it when LOGICAL ends in `/`; anything else goes under LOGICAL.
 */
import { realpath, stat } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import { NotFoundError, UsageError } from "../errors/index.js";
import { Package, STATE_DIR } from "../package/index.js";
import { formatHandle, parseHandle } from "../registry/handle.js";
import { parsePhysicalKey, type Remotes } from "../storage/index.js";
import type { AddSource } from "./workspace.js";

export interface AddContext {
  readonly root: string;
  readonly cwd: string;
  /** The workspace's registry, for bare `ns/name` handles. */
  readonly registry: string;
  readonly remotes: Remotes;
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
}

/** What is added; a package source holds an open Package, which the caller closes. */
export async function planAdd(logicalArg: string, sourceArg: string | undefined, context: AddContext): Promise<AddSource> {
  if (sourceArg === undefined) return planLocalOnly(logicalArg, context);
  const logical = normalizeLogical(logicalArg);
  if (sourceArg.startsWith("quilt+s3://")) return planPackage(sourceArg, logical, context);
  if (isS3PackageHandle(sourceArg)) {
    // `s3://b/logs/t:00` may be an object after all: a package that does not exist falls back to S3.
    return planPackage(sourceArg, logical, context).catch((error: unknown) => {
      if (error instanceof NotFoundError) return planS3(sourceArg, logical, logicalArg.endsWith("/"), context);
      throw error;
    });
  }
  if (sourceArg.startsWith("s3://")) return planS3(sourceArg, logical, logicalArg.endsWith("/"), context);
  const info = await stat(resolve(context.cwd, sourceArg)).catch(() => undefined);
  if (info !== undefined) return planPath(resolve(context.cwd, sourceArg), logical, logicalArg.endsWith("/"), info.isDirectory(), context);
  if (looksLikeHandle(sourceArg)) return planPackage(sourceArg, logical, context);
  throw new NotFoundError("SOURCE_NOT_FOUND", `${sourceArg} is neither a file or folder here, an s3:// URL, nor a package handle.`, {
    hint: "Give a local path, s3://BUCKET/PREFIX/, or a package as ns/name:tag, ns/name@hash or s3://BUCKET/ns/name:tag.",
  });
}

async function planLocalOnly(pathArg: string, context: AddContext): Promise<AddSource> {
  const abs = resolve(context.cwd, pathArg);
  const info = await stat(abs).catch((error: unknown) => {
    throw new NotFoundError("SOURCE_NOT_FOUND", `${pathArg} does not exist.`, { hint: "Check the path, or give the source after the logical key: quilt add KEY SOURCE.", cause: error });
  });
  const rel = relative(await realpath(context.root), await realpath(abs));
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new UsageError("ADD_OUTSIDE_WORKSPACE", `${pathArg} is outside the workspace ${context.root}, so it has no logical key of its own.`, {
      hint: `Say where it goes: quilt add ${basename(abs)}${info.isDirectory() ? "/" : ""} ${pathArg}`,
    });
  }
  return planPath(abs, rel.split(sep).join("/"), false, info.isDirectory(), context);
}

async function planPath(abs: string, logical: string, intoFolder: boolean, isDir: boolean, context: AddContext): Promise<AddSource> {
  if (!isDir) {
    const key = logical === "" || intoFolder ? joinKey(logical, basename(abs)) : logical;
    return { kind: "path", path: abs, logical: key, folder: false, line: abs };
  }
  return { kind: "path", path: abs, logical, folder: true, line: abs.endsWith("/") ? abs : `${abs}/`, exclude: await stateExclusion(abs, context.root) };
}

/** A folder that holds the workspace must not add the workspace's own `.quiltkit/`. */
async function stateExclusion(folder: string, root: string): Promise<string[]> {
  const rel = relative(await realpath(folder), await realpath(root));
  if (rel.startsWith("..") || isAbsolute(rel)) return [];
  return [rel === "" ? STATE_DIR : join(rel, STATE_DIR).split(sep).join("/")];
}

async function planS3(url: string, logical: string, intoFolder: boolean, context: AddContext): Promise<AddSource> {
  const pk = parsePhysicalKey(url);
  if (pk.kind !== "s3") throw new Error("planS3 needs an s3:// URL");
  const isObject = pk.path !== "" && !pk.path.endsWith("/") && (await (await context.remotes.s3(pk.bucket)).head(pk.path, pk.versionId)) !== undefined;
  if (isObject) {
    const name = pk.path.slice(pk.path.lastIndexOf("/") + 1);
    const key = logical === "" || intoFolder ? joinKey(logical, name) : logical;
    return { kind: "path", path: url, logical: key, folder: false, line: url };
  }
  const prefix = pk.path === "" || pk.path.endsWith("/") ? pk.path : `${pk.path}/`;
  const folderUrl = `s3://${pk.bucket}/${prefix}`;
  return { kind: "path", path: folderUrl, logical, folder: true, line: folderUrl };
}

async function planPackage(text: string, logical: string, context: AddContext): Promise<AddSource> {
  const pkg = await Package.browse(text, {
    registry: context.registry,
    remotes: context.remotes,
    ...(context.tmpDir === undefined ? {} : { tmpDir: context.tmpDir }),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
  const registry = pkg.registry.url;
  const handle = { registry, name: pkg.name, hash: pkg.topHash.slice(0, 10) };
  const line = registry.startsWith("s3://") ? formatHandle(handle, { form: "s3" }) : `${formatHandle(handle, { form: "short" })}`;
  return { kind: "package", pkg, logical, folder: true, line };
}

/** `s3://bucket/ns/name` followed by `:tag` and/or `@hash`, and nothing else: a package, not an object. */
function isS3PackageHandle(text: string): boolean {
  if (!/^s3:\/\/[^/]+\/[^/]+\/[^/:@]+(?::[^/@]+)?(?:@[0-9A-Fa-f]+)?$/.test(text)) return false;
  if (!/[:@][^/]*$/.test(text.slice(5))) return false;
  return attempt(() => parseHandle(text));
}

function looksLikeHandle(text: string): boolean {
  return attempt(() => parseHandle(text));
}

function attempt(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/** `.`, `./` and `/` are the root (`""`); otherwise slashes at either end go. */
function normalizeLogical(logical: string): string {
  const trimmed = logical.replace(/^\/+|\/+$/g, "");
  return trimmed === "." ? "" : trimmed.replace(/^\.\//, "");
}

function joinKey(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}/${name}`;
}
