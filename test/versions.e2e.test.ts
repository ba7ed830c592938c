/**
 * The built `quilt` command's history commands end to end — log, tag (a tag that moves, and
 * --delete), rollback (then undone), diff of two revisions (lists, counts, metadata changes, exit
 * codes) and delete (quilt3's delete_package, latest to the newest remaining timestamp) — each run
 * on a local registry and on versitygw.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HashPool } from "../src/hash/index.js";
import { Package } from "../src/package/index.js";
import { openRegistry } from "../src/package/registries.js";
import { Remotes } from "../src/storage/index.js";
import { expectJsonError, expectOk, runQuilt, type RunResult } from "./helpers/cli.js";
import { awsEnvOf, clientOptionsOf } from "./helpers/s3-server.js";
import { writeTree } from "./helpers/tree.js";

const s3 = inject("s3");
const root = mkdtempSync(join(tmpdir(), "quiltkit-versions-"));
const remotes = new Remotes(clientOptionsOf(s3));
afterAll(() => {
  remotes.close();
  rmSync(root, { recursive: true, force: true });
});

interface Target {
  readonly label: string;
  readonly registry: string;
  readonly env: Record<string, string>;
}

const TARGETS: Target[] = [
  { label: "a local registry", registry: join(root, "registry"), env: {} },
  {
    label: "versitygw",
    registry: `s3://${s3.bucket}`,
    env: awsEnvOf(s3),
  },
];

interface LogLine {
  time: string;
  timestamp: string;
  topHash: string;
  tags: string[];
  message: string | null;
  manifestFound: boolean;
}

describe.each(TARGETS)("quilt log, tag, rollback, diff and delete on $label", (target) => {
  const name = `ver-${randomBytes(4).toString("hex")}/pkg`;
  const q = (...args: string[]): Promise<RunResult> => runQuilt([...args, "--registry", target.registry], { env: target.env });
  const log = async (): Promise<LogLine[]> => expectOk(await q("log", name, "--json")).lines<LogLine>();
  const latest = async (): Promise<string> => expectOk(await q("show", name, "--json")).json<{ topHash: string }>().topHash;
  // r1: first (tag v1), r2: files changed and package metadata changed, r3: one entry's metadata only.
  const r: string[] = [];

  beforeAll(async () => {
    const d1 = join(root, `${target.label}-1`);
    const d2 = join(root, `${target.label}-2`);
    writeTree(d1, { "a.txt": "alpha\n", "keep.txt": "keep\n", "sub/c.txt": "gamma\n" });
    writeTree(d2, { "a.txt": "ALPHA, changed\n", "keep.txt": "keep\n", "new.txt": "new\n" });
    const push = async (...args: string[]): Promise<string> => expectOk(await q("push", name, ...args, "--json")).json<{ topHash: string }>().topHash;
    r.push(await push("--dir", d1, "-m", "first", "--meta", '{"stage": 1}', "-t", "v1"));
    r.push(await push("--dir", d2, "-m", "second\nwith a body", "--meta", '{"stage": 2.0}'));
    r.push(await pushMetaOnly(target.registry, name, r[1] as string));
  });

  it("log: every revision newest first with time, top hash, tags and message; -n limits", async () => {
    const lines = await log();
    expect(lines.map((l) => [l.topHash, l.tags, l.message])).toEqual([
      [r[2], ["latest"], "entry metadata only"],
      [r[1], [], "second\nwith a body"],
      [r[0], ["v1"], "first"],
    ]);
    for (const line of lines) {
      expect(line.time).toBe(new Date(Number(line.timestamp) * 1000).toISOString().replace(".000Z", "Z"));
      expect(line.manifestFound).toBe(true);
    }
    expect(Number(lines[0]?.timestamp)).toBeGreaterThan(Number(lines[1]?.timestamp));
    const text = expectOk(await q("log", name, "-n", "2")).stdout.trimEnd().split("\n");
    expect(text).toHaveLength(2);
    expect(text[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  ${r[2]?.slice(0, 10)}  \\(latest\\) +entry metadata only$`));
    expect(text[1]).toMatch(/ second$/); // the first line of the message only
  });

  it("tag: creates a tag, moves it (saying from where), and --delete removes only the tag", async () => {
    const created = expectOk(await q("tag", `${name}@${r[1]?.slice(0, 8)}`, "stable"));
    expect(created.stdout).toMatch(new RegExp(`^Tagged ${name}:stable -> ${r[1]?.slice(0, 7)}\\w*\n$`));
    const moved = expectOk(await q("tag", `${name}:v1`, "stable", "--json")).json();
    expect(moved).toEqual({ name, tag: "stable", topHash: r[0], previous: r[1] });
    const text = expectOk(await q("tag", name, "stable")); // latest: moves again
    expect(text.stdout).toMatch(new RegExp(`-> ${r[2]?.slice(0, 7)}\\w* \\(moved from ${r[0]?.slice(0, 7)}\\w*\\)`));
    expect((await log())[0]?.tags).toEqual(["latest", "stable"]);
    expect(expectOk(await q("tag", "--delete", name, "stable", "--json")).json()).toEqual({ name, tag: "stable", deleted: true, topHash: r[2] });
    expect((await log()).map((l) => l.tags)).toEqual([["latest"], [], ["v1"]]);
  });

  it("tag: refuses latest, bad names, revisions for --delete; unknown tags are not found", async () => {
    const [reserved, bad, revision, missing, noPkg] = await Promise.all([
      q("tag", name, "latest", "--json"),
      q("tag", name, "bad tag", "--json"),
      q("tag", "--delete", `${name}:v1`, "v1", "--json"),
      q("tag", "--delete", name, "nope", "--json"),
      q("tag", `${name}-none`, "x", "--json"),
    ]);
    expectJsonError(reserved, 2, "TAG_RESERVED");
    expectJsonError(bad, 2, "TAG_INVALID");
    expectJsonError(revision, 2, "NAME_EXPECTED");
    expectJsonError(missing, 3, "REVISION_NOT_FOUND");
    expectJsonError(noPkg, 3, "PACKAGE_NOT_FOUND");
  });

  it("rollback: moves only latest, keeps every revision, and is undone with the hash it printed", async () => {
    const before = await log();
    expect(expectOk(await q("rollback", name, "--to", "v1", "--json")).json()).toEqual({ name, from: r[2], to: r[0] });
    expect(await latest()).toBe(r[0]);
    const after = await log();
    expect(after.map((l) => [l.timestamp, l.topHash])).toEqual(before.map((l) => [l.timestamp, l.topHash]));
    expect(after.map((l) => l.tags)).toEqual([[], [], ["latest", "v1"]]);
    // Undo: roll forward to the "from" hash, as the text output tells.
    const undo = expectOk(await q("rollback", name, "--to", r[2]?.slice(0, 8) as string));
    expect(undo.stdout).toMatch(new RegExp(`^${name} latest: ${r[0]?.slice(0, 7)}\\w* -> ${r[2]?.slice(0, 7)}\\w*\nUndo with: quilt rollback ${name} --to @${r[0]?.slice(0, 7)}`));
    expect(await latest()).toBe(r[2]);
    expect((await log()).map((l) => l.tags)).toEqual([["latest"], [], ["v1"]]);
    const again = expectOk(await q("rollback", name, "--to", `@${r[2]}`));
    expect(again.stdout).toContain("nothing changed");
  });

  it("rollback: an unknown target is not found and changes nothing", async () => {
    const [tag, hash] = await Promise.all([q("rollback", name, "--to", "nope", "--json"), q("rollback", name, "--to", "@abcdef01", "--json")]);
    expectJsonError(tag, 3, "REVISION_NOT_FOUND");
    expectJsonError(hash, 3, "REVISION_NOT_FOUND");
    expect(await latest()).toBe(r[2]);
  });

  it("diff of two revisions: lists, counts, package metadata (exact numbers) and message; exit 1", async () => {
    const run = expectOk(await q("diff", `${name}:v1`, `${name}@${r[1]?.slice(0, 8)}`, "--json"), 1);
    expect(run.json()).toMatchObject({
      from: { name, topHash: r[0] },
      to: { name, topHash: r[1] },
      added: ["new.txt"],
      modified: ["a.txt"],
      deleted: ["sub/c.txt"],
      metaOnly: [],
      counts: { added: 1, modified: 1, deleted: 1, metaOnly: 0 },
      packageMeta: { changed: true },
      message: { changed: true, before: "first", after: "second\nwith a body" },
    });
    expect(run.stdout).toContain('"packageMeta":{"changed":true,"before":{"stage":1},"after":{"stage":2.0}}');
    const text = expectOk(await q("diff", `${name}:v1`, `${name}@${r[1]}`), 1).stdout;
    expect(text).toContain("added    new.txt\nmodified a.txt\ndeleted  sub/c.txt\n");
    expect(text).toContain('package metadata: {"stage":1} -> {"stage":2.0}\n');
    expect(text).toContain("1 added, 1 modified, 1 deleted; package metadata changed, message changed\n");
  });

  it("diff: an entry whose metadata alone changed is modified (metadata only); the same revision is exit 0", async () => {
    const json = expectOk(await q("diff", `${name}@${r[1]}`, name, "--json"), 1).json();
    expect(json).toMatchObject({ added: [], modified: ["keep.txt"], deleted: [], metaOnly: ["keep.txt"], packageMeta: { changed: false } });
    const text = expectOk(await q("diff", `${name}@${r[1]}`, name), 1).stdout;
    expect(text).toContain("modified keep.txt (metadata only)\n");
    expect(text).toContain("0 added, 1 modified, 0 deleted; 1 with metadata changes only, message changed\n");
    const same = expectOk(await q("diff", name, `${name}@${r[2]}`, "--json")).json();
    expect(same).toMatchObject({ counts: { added: 0, modified: 0, deleted: 0, metaOnly: 0 }, packageMeta: { changed: false }, message: { changed: false } });
    expect(expectOk(await q("diff", name, `${name}@${r[2]}`)).stdout).toBe("No changes\n");
  });

  it("delete: asks first, or needs --yes; --dry-run deletes nothing", async () => {
    expectJsonError(await q("delete", `${name}@${r[2]}`, "--json"), 2, "CONFIRMATION_NEEDED");
    const dry = expectOk(await q("delete", `${name}@${r[2]}`, "--dry-run", "--json")).json<{ deleted: string[] }>();
    expect(dry.deleted.sort()).toEqual([(await log())[0]?.timestamp, "latest"].sort());
    expect((await log()).length).toBe(3);
    expectJsonError(await q("delete", name, "--yes", "--json"), 2, "REVISION_REQUIRED");
  });

  it("delete: removes every pointer of the revision; latest goes to the newest remaining timestamp, not to a tag", async () => {
    const before = await log();
    const run = expectOk(await q("delete", `${name}@${r[2]?.slice(0, 8)}`, "--yes", "--json"));
    expect(run.json<{ deleted: string[] }>().deleted.sort()).toEqual([before[0]?.timestamp, "latest"].sort());
    // quilt3's max(remaining names) would be 'v1' (r1); the newest remaining revision is r2.
    expect(run.json()).toMatchObject({ name, topHash: r[2], latest: r[1], manifestKept: true });
    expect((await log()).map((l) => [l.topHash, l.tags])).toEqual([
      [r[1], ["latest"]],
      [r[0], ["v1"]],
    ]);
    // The manifest stays (as quilt3): the deleted revision still opens by its hash.
    expect(expectOk(await q("show", `${name}@${r[2]}`, "--json")).json()).toMatchObject({ topHash: r[2] });
  });

  it("delete by tag: that revision's timestamp and tags go; latest, elsewhere, stays; --all removes the package", async () => {
    const text = expectOk(await q("delete", `${name}:v1`, "--yes")).stdout;
    expect(text).toMatch(new RegExp(`^Deleted ${name}@${r[0]?.slice(0, 7)}\\w*: \\d+, v1\nlatest unchanged`));
    expect((await log()).map((l) => [l.topHash, l.tags])).toEqual([[r[1], ["latest"]]]);
    expect(expectOk(await q("delete", name, "--all", "--yes", "--json")).json<{ deleted: string[] }>().deleted.length).toBe(2);
    expectJsonError(await q("log", name, "--json"), 3, "PACKAGE_NOT_FOUND");
    expectJsonError(await q("delete", name, "--all", "--yes", "--json"), 3, "PACKAGE_NOT_FOUND");
  });
});

/** A revision on top of `parent` whose only change is one entry's metadata (the CLI cannot make one). */
async function pushMetaOnly(registryUrl: string, name: string, parent: string): Promise<string> {
  const registry = await openRegistry(registryUrl, { remotes });
  const pool = new HashPool({ size: 1 });
  const pkg = await Package.browse(`${name}@${parent}`, { registry, remotes, pool });
  try {
    const builder = await pkg.toBuilder({ pool });
    try {
      await builder.setEntryMeta("keep.txt", { label: "kept" });
      return (await builder.push({ registry, name, message: "entry metadata only" })).topHash;
    } finally {
      await builder.dispose();
    }
  } finally {
    await pkg.close();
    await pool.close();
  }
}
