/**
 * `quilt push --provenance` end to end, on a local registry and on versitygw: the git commit,
 * remote (credentials stripped), branch, dirty state and folder, and the container image and
 * digest (flag or environment), merged with --meta, as `quilt meta` then shows them.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { expectJsonError, expectOk, runQuilt, type RunResult } from "./helpers/cli.js";
import { writeTree } from "./helpers/tree.js";
import { awsEnvOf } from "./helpers/s3-server.js";

const s3 = inject("s3");
const root = mkdtempSync(join(tmpdir(), "quiltkit-provenance-e2e-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TARGETS = [
  { label: "a local registry", registry: join(root, "registry"), env: {} },
  {
    label: "versitygw",
    registry: `s3://${s3.bucket}`,
    env: awsEnvOf(s3),
  },
];

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

function git(cwd: string, ...args: string[]): string {
  const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
  return execFileSync("git", ["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args], { cwd, env, encoding: "utf8" }).trim();
}

describe.each(TARGETS)("quilt push --provenance on $label", (target) => {
  const name = `prov-${randomBytes(4).toString("hex")}/ws`;
  const repo = join(root, `repo-${target.label.replace(/\W/g, "")}`);
  const workspace = join(repo, "ws");
  let commit = "";
  const q = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
    runQuilt([...args, "--registry", target.registry], { env: { ...target.env, ...env } });
  const meta = async (): Promise<Record<string, unknown>> => expectOk(await q(["meta", name, "--json"])).json();

  beforeAll(() => {
    writeTree(workspace, { "train.py": "print('hi')\n", "data/x.csv": "a\n1\n" });
    git(repo, "init", "-q");
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "workspace");
    git(repo, "checkout", "-q", "-b", "exp/run-1");
    git(repo, "remote", "add", "origin", "https://oauth2:glpat-SECRET@gitlab.example.com/team/ws.git");
    commit = git(repo, "rev-parse", "HEAD");
  });

  it("records git and the container image (flag and environment), merged with --meta", async () => {
    const run = expectOk(
      await q(["push", name, "--dir", workspace, "--provenance", "--image", "ghcr.io/team/train:1.2", "--meta", '{"f": 1.0}', "-m", "run 1"], {
        QUILT_IMAGE_DIGEST: DIGEST,
      }),
    );
    expect(run.stdout).toContain(`Provenance: git ${commit.slice(0, 12)} on exp/run-1 from https://gitlab.example.com/team/ws.git; image ghcr.io/team/train:1.2 (${DIGEST})`);
    expect(run.stdout + run.stderr).not.toContain("SECRET");
    expect(expectOk(await q(["meta", name, "--json"])).stdout).toContain(`{"f":1.0,"provenance":`);
    expect(await meta()).toEqual({
      f: 1.0,
      provenance: {
        git: { commit, remote: "https://gitlab.example.com/team/ws.git", branch: "exp/run-1", dirty: false, path: "ws" },
        container: { image: "ghcr.io/team/train:1.2", digest: DIGEST },
      },
    });
  });

  it("a dirty tree is recorded as dirty; without an image there is no container key", async () => {
    writeFileSync(join(workspace, "notes.txt"), "uncommitted\n");
    try {
      expectOk(await q(["push", name, "--dir", workspace, "--provenance", "--json"]));
      const provenance = (await meta()).provenance as { git: { dirty: boolean }; container?: unknown };
      expect(provenance.git.dirty).toBe(true);
      expect(provenance.container).toBeUndefined();
    } finally {
      rmSync(join(workspace, "notes.txt"));
    }
  });

  it("outside a git work tree: a warning, git null, and the push still succeeds", async () => {
    const plain = join(root, `plain-${target.label.replace(/\W/g, "")}`);
    mkdirSync(plain, { recursive: true });
    writeFileSync(join(plain, "a.txt"), "a\n");
    const run = expectOk(await q(["push", name, "--dir", plain, "--provenance", "--image-digest", DIGEST, "--json"]));
    expect(run.stderr).toMatch(/Warning: --provenance: no git provenance recorded for .*not in a git work tree/);
    expect((await meta()).provenance).toEqual({ git: null, container: { image: null, digest: DIGEST } });
  });

  it("refuses a --meta that is not an object or already has provenance, and a malformed digest, before pushing", async () => {
    const [list, conflict, digest] = await Promise.all([
      q(["push", name, "--dir", workspace, "--provenance", "--meta", "[1]", "--json"]),
      q(["push", name, "--dir", workspace, "--provenance", "--meta", '{"provenance": "mine"}', "--json"]),
      q(["push", name, "--dir", workspace, "--provenance", "--json"], { QUILT_IMAGE_DIGEST: "latest" }),
    ]);
    expectJsonError(list, 2, "META_NOT_OBJECT");
    expectJsonError(conflict, 2, "META_PROVENANCE_CONFLICT");
    expectJsonError(digest, 2, "IMAGE_DIGEST_INVALID");
  });

  it("inside a package workspace, quilt push --provenance records the workspace's git state", async () => {
    const wsName = `${name}-workspace`;
    const env = { ...target.env, QUILT_IMAGE_DIGEST: DIGEST };
    const inWorkspace = (args: string[]): Promise<RunResult> => runQuilt(args, { env, cwd: workspace });
    expectOk(await inWorkspace(["init", wsName, "--registry", target.registry]));
    expectOk(await inWorkspace(["set-meta", ".", '{"run": 2}']));
    expectOk(await inWorkspace(["add", "data/"]));
    const pushed = expectOk(await inWorkspace(["push", "--provenance", "-m", "workspace run"]));
    expect(pushed.stdout).toContain(`Provenance: git ${commit.slice(0, 12)} on exp/run-1`);
    const recorded = expectOk(await q(["meta", wsName, "--json"])).json<{ run: number; provenance: { git: { commit: string }; container: { digest: string } } }>();
    expect(recorded.run).toBe(2);
    expect(recorded.provenance.git.commit).toBe(commit);
    expect(recorded.provenance.container.digest).toBe(DIGEST);
    rmSync(join(workspace, ".quiltkit"), { recursive: true, force: true });
  });

  it("without --provenance the image settings are ignored and nothing is added", async () => {
    expectOk(await q(["push", name, "--dir", workspace, "--meta", '{"plain": true}', "--json"], { QUILT_IMAGE_DIGEST: DIGEST }));
    expect(await meta()).toEqual({ plain: true });
  });
});
