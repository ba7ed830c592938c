/**
 * Provenance for the "store the entire workspace" use case: where the pushed folder came from,
 * recorded in the package metadata under one key so it travels with the revision:
 *
 *   "provenance": {
 *     "git": {"commit", "remote", "branch", "dirty", "path"} | null,
 *     "container": {"image", "digest"}          (only when an image or digest is known)
 *   }
 *
 * Git is asked through its own command (no library: the user's git, config and hooks-free
 * plumbing commands). Remote URLs lose any user name and password before they are stored.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { UsageError } from "../errors/index.js";
import type { PyObject, PyValue } from "../json/index.js";

/** The key of the package metadata that holds the provenance. */
export const PROVENANCE_KEY = "provenance";

export interface GitProvenance {
  /** The full commit id of HEAD; null in a repository without commits. */
  readonly commit: string | null;
  /** The URL of `origin` (else of the first remote), without credentials; null without remotes. */
  readonly remote: string | null;
  /** The checked-out branch; null when HEAD is detached. */
  readonly branch: string | null;
  /** Whether anything differs from HEAD: staged, unstaged or untracked files (`git status --porcelain`). */
  readonly dirty: boolean;
  /** The pushed folder relative to the repository root, `/`-separated (`""` for the root itself). */
  readonly path: string;
}

export interface ContainerProvenance {
  readonly image: string | null;
  /** An OCI digest, `sha256:<64 hex>` (or another algorithm's `alg:hex`). */
  readonly digest: string | null;
}

export interface Provenance {
  /** null when the folder is not in a git work tree, or git is not installed. */
  readonly git: GitProvenance | null;
  readonly container?: ContainerProvenance;
}

export interface ProvenanceOptions {
  /** A container image reference, e.g. `ghcr.io/org/app:1.2` or `…@sha256:…` (the digest is taken from it). */
  readonly image?: string;
  readonly imageDigest?: string;
  /** The git command (default `git` on the PATH). */
  readonly git?: string;
}

export interface CollectedProvenance {
  readonly provenance: Provenance;
  /** Why part of it could not be recorded (e.g. not a git work tree), for the caller to show. */
  readonly warnings: readonly string[];
}

const GIT_TIMEOUT_MS = 60_000;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** The provenance of folder `dir`. */
export async function collectProvenance(dir: string, options: ProvenanceOptions = {}): Promise<CollectedProvenance> {
  const warnings: string[] = [];
  const command = options.git ?? "git";
  const git = await gitProvenance(dir, command).catch((error: Error & { cause?: { code?: unknown } }) => {
    // spawn says ENOENT both for a missing git and a missing folder.
    const why = !existsSync(dir)
      ? "the folder does not exist"
      : error.cause?.code === "ENOENT"
        ? `${command} is not installed`
        : `it is not in a git work tree (${firstLine(error.message)})`;
    warnings.push(`no git provenance recorded for ${dir}: ${why}`);
    return null;
  });
  const container = containerProvenance(options);
  return { provenance: container === undefined ? { git } : { git, container }, warnings };
}

async function gitProvenance(dir: string, command: string): Promise<GitProvenance> {
  const git = (...args: string[]): Promise<string> => run(command, args, dir);
  const path = await git("rev-parse", "--show-prefix"); // fails outside a work tree
  const [commit, branch, status, remote] = await Promise.all([
    git("rev-parse", "--verify", "-q", "HEAD").catch(() => ""),
    git("symbolic-ref", "--short", "-q", "HEAD").catch(() => ""),
    git("status", "--porcelain", "--untracked-files=normal"),
    remoteUrl(git),
  ]);
  return {
    commit: commit === "" ? null : commit,
    remote: remote === undefined ? null : redactUrl(remote),
    branch: branch === "" ? null : branch,
    dirty: status !== "",
    path: path.replace(/\/$/, ""),
  };
}

async function remoteUrl(git: (...args: string[]) => Promise<string>): Promise<string | undefined> {
  const remotes = (await git("remote")).split("\n").filter((r) => r !== "");
  const name = remotes.includes("origin") ? "origin" : remotes[0];
  return name === undefined ? undefined : git("remote", "get-url", name);
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  // GIT_OPTIONAL_LOCKS=0: `git status` must not take index.lock in the user's repository.
  const env = { ...process.env, GIT_OPTIONAL_LOCKS: "0", LC_ALL: "C", GIT_TERMINAL_PROMPT: "0" };
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(stderr.trim() || error.message, { cause: error }));
      else resolve(stdout.trim());
    });
  });
}

function containerProvenance(options: ProvenanceOptions): ContainerProvenance | undefined {
  const image = nonEmpty(options.image);
  const fromImage = image?.includes("@") ? image.slice(image.lastIndexOf("@") + 1) : undefined;
  const digest = nonEmpty(options.imageDigest) ?? fromImage;
  if (image === undefined && digest === undefined) return undefined;
  if (digest !== undefined && !DIGEST.test(digest)) {
    throw new UsageError("IMAGE_DIGEST_INVALID", `Invalid container image digest ${JSON.stringify(digest)}.`, {
      hint: "Give an OCI digest such as sha256:<64 hex digits> (e.g. from `docker inspect --format '{{index .RepoDigests 0}}' IMAGE`).",
    });
  }
  return { image: image ?? null, digest: digest ?? null };
}

/**
 * A remote URL without credentials: `https://user:token@host/x` and `https://token@host/x` both
 * become `https://host/x` (tokens are often passed as the user name); for ssh URLs only a password
 * goes, as the user name (`git@…`) is part of the address. scp-like `git@host:path` is kept.
 * Query strings and fragments go too (some hosts accept `?private_token=`).
 */
export function redactUrl(url: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)@([^?#]*)/.exec(url);
  if (match === null) return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) ? url.replace(/[?#].*$/, "") : url;
  const [, scheme = "", userinfo = "", rest = ""] = match;
  const ssh = /ssh/i.test(scheme);
  const user = ssh && !userinfo.includes(":") ? `${userinfo}@` : ssh ? `${userinfo.slice(0, userinfo.indexOf(":"))}@` : "";
  return `${scheme}://${user}${rest}`;
}

/** The provenance as package metadata (a Python dict, keys in a fixed order). */
export function provenanceMeta(provenance: Provenance): PyObject {
  const out: PyObject = new Map();
  const git = provenance.git;
  out.set(
    "git",
    git === null
      ? null
      : new Map<string, PyValue>([
          ["commit", git.commit],
          ["remote", git.remote],
          ["branch", git.branch],
          ["dirty", git.dirty],
          ["path", git.path],
        ]),
  );
  const container = provenance.container;
  if (container !== undefined) {
    out.set("container", new Map<string, PyValue>([["image", container.image], ["digest", container.digest]]));
  }
  return out;
}

/** `meta` (from `--meta`; absent: none) with the provenance added under `provenance`. */
export function withProvenance(meta: PyValue | undefined, provenance: Provenance): PyObject {
  if (meta !== undefined && !(meta instanceof Map)) {
    throw new UsageError("META_NOT_OBJECT", "--provenance needs the package metadata to be a JSON object, but --meta is not one.", {
      hint: `Give --meta as an object, e.g. --meta '{"source": "lab"}', or leave --provenance out.`,
    });
  }
  if (meta?.has(PROVENANCE_KEY)) {
    throw new UsageError("META_PROVENANCE_CONFLICT", `--meta already has a "${PROVENANCE_KEY}" key, which --provenance would replace.`, {
      hint: `Rename that key in --meta, or leave --provenance out to keep your own "${PROVENANCE_KEY}".`,
    });
  }
  const out: PyObject = new Map(meta ?? []);
  out.set(PROVENANCE_KEY, provenanceMeta(provenance));
  return out;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}
