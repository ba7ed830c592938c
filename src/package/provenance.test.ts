import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "../../test/helpers/expect.js";
import { dumpsCompact, parsePyJson } from "../json/index.js";
import { collectProvenance, redactUrl, withProvenance } from "./provenance.js";

const root = mkdtempSync(join(tmpdir(), "quiltkit-provenance-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** git with a fixed identity and no user or system config. */
function git(cwd: string, ...args: string[]): string {
  const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
  return execFileSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args], { cwd, env, encoding: "utf8" }).trim();
}

describe("collectProvenance", () => {
  const repo = join(root, "repo");
  const data = join(repo, "data");
  let commit = "";
  beforeAll(() => {
    mkdirSync(data, { recursive: true });
    git(repo, "init", "-q");
    writeFileSync(join(data, "a.txt"), "a\n");
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "first");
    git(repo, "remote", "add", "origin", "https://user:s3cr3t@github.com/org/repo.git");
    commit = git(repo, "rev-parse", "HEAD");
  });

  it("records commit, remote without credentials, branch, clean state and the folder's path", async () => {
    const { provenance, warnings } = await collectProvenance(data);
    expect(warnings).toEqual([]);
    expect(provenance).toEqual({ git: { commit, remote: "https://github.com/org/repo.git", branch: "main", dirty: false, path: "data" } });
  });

  it("sees untracked and modified files as dirty, and a detached HEAD as no branch", async () => {
    writeFileSync(join(repo, "new.txt"), "new\n");
    expect((await collectProvenance(repo)).provenance.git).toMatchObject({ dirty: true, path: "" });
    rmSync(join(repo, "new.txt"));
    git(repo, "checkout", "-q", "--detach");
    expect((await collectProvenance(repo)).provenance.git).toMatchObject({ dirty: false, branch: null, commit });
    git(repo, "checkout", "-q", "main");
  });

  it("warns and records git: null outside a work tree; a repository without commits has commit null", async () => {
    const plain = join(root, "plain");
    mkdirSync(plain);
    const outside = await collectProvenance(plain, { git: "git" });
    // tmpdir() may itself be inside a repository on a developer machine: only check when it is not.
    if (outside.provenance.git === null) expect(outside.warnings[0]).toMatch(/not in a git work tree/);
    const empty = join(root, "empty");
    mkdirSync(empty);
    git(empty, "init", "-q");
    expect((await collectProvenance(empty)).provenance.git).toEqual({ commit: null, remote: null, branch: "main", dirty: false, path: "" });
    const missing = await collectProvenance(plain, { git: join(root, "no-such-git") });
    expect(missing.provenance.git).toBeNull();
    expect(missing.warnings[0]).toMatch(/is not installed/);
  });

  it("records a container image and digest; the digest may come from the image reference", async () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    expect((await collectProvenance(data, { imageDigest: digest })).provenance.container).toEqual({ image: null, digest });
    expect((await collectProvenance(data, { image: `ghcr.io/o/app@${digest}` })).provenance.container).toEqual({ image: `ghcr.io/o/app@${digest}`, digest });
    expect((await collectProvenance(data, { image: "app:1", imageDigest: " " })).provenance.container).toEqual({ image: "app:1", digest: null });
    await expect(collectProvenance(data, { imageDigest: "latest" })).rejects.toMatchObject({ code: "IMAGE_DIGEST_INVALID" });
  });
});

describe("redactUrl", () => {
  it.each([
    ["https://user:token@github.com/o/r.git", "https://github.com/o/r.git"],
    ["https://ghp_token@github.com/o/r.git", "https://github.com/o/r.git"],
    ["https://x:p%40ss@host:8443/o/r.git?private_token=abc#frag", "https://host:8443/o/r.git"],
    ["https://github.com/o/r.git?token=abc", "https://github.com/o/r.git"],
    ["ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"],
    ["ssh://git:pw@github.com/o/r.git", "ssh://git@github.com/o/r.git"],
    ["git@github.com:o/r.git", "git@github.com:o/r.git"],
    ["/srv/git/repo.git", "/srv/git/repo.git"],
  ])("%s -> %s", (url, redacted) => expect(redactUrl(url)).toBe(redacted));
});

describe("withProvenance", () => {
  const provenance = { git: null, container: { image: "app:1", digest: null } };
  it("adds the provenance to --meta, numbers kept exactly", () => {
    const meta = withProvenance(parsePyJson('{"f": 1.0, "n": 18446744073709551616}'), provenance);
    expect(dumpsCompact(meta)).toBe('{"f":1.0,"n":18446744073709551616,"provenance":{"git":null,"container":{"image":"app:1","digest":null}}}');
    expect(dumpsCompact(withProvenance(undefined, provenance))).toBe('{"provenance":{"git":null,"container":{"image":"app:1","digest":null}}}');
  });

  it("refuses metadata that is not an object, or that has its own provenance", () => {
    expect(errorOf(() => withProvenance(parsePyJson("[1]"), provenance)).code).toBe("META_NOT_OBJECT");
    expect(errorOf(() => withProvenance(parsePyJson('{"provenance": 1}'), provenance)).code).toBe("META_PROVENANCE_CONFLICT");
  });
});
