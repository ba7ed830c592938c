/**
 * installedFolderStatus of a folder installed from an S3 registry (versitygw): the revision and
 * its tag are read from the bucket, the folder is compared through its stat cache.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Package, PackageBuilder, openRegistry } from "../src/package/index.js";
import { Remotes } from "../src/storage/index.js";
import { installedFolderStatus } from "../src/workspace/installed-status.js";
import { clientOptionsOf } from "./helpers/s3-server.js";

const s3 = inject("s3");
const remotes = new Remotes(clientOptionsOf(s3));
const name = `status-${randomBytes(4).toString("hex")}/dataset`;
let root = "";
let topHash = "";

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "quiltkit-s3-status-"));
  const src = join(root, "src");
  mkdirSync(join(src, "train"), { recursive: true });
  writeFileSync(join(src, "README.md"), "# on S3\n");
  writeFileSync(join(src, "train", "a.csv"), "x,y\n1,2\n");
  writeFileSync(join(src, "train", "b.csv"), "x,y\n3,4\n");
  const registry = await openRegistry(`s3://${s3.bucket}`, { remotes });
  const builder = new PackageBuilder({ name, remotes });
  await builder.setDir(".", src);
  topHash = (await builder.push({ registry, name, message: "v0", tags: ["v0"] })).topHash;
  await builder.dispose();
});

afterAll(() => {
  remotes.close();
  rmSync(root, { recursive: true, force: true });
});

describe("installedFolderStatus on versitygw", () => {
  it("matches after install, then lists the changes", async () => {
    const dest = join(root, "dest");
    const pkg = await Package.browse(`s3://${s3.bucket}/${name}:v0`, { remotes });
    await pkg.install(dest);
    await pkg.close();
    const later = { now: () => Date.now() + 60_000 };

    const status = await installedFolderStatus(dest, { remotes, statCache: later });
    expect(status).toMatchObject({ registry: `s3://${s3.bucket}`, name, topHash, tag: "v0", matches: true, counts: { unchanged: 3 } });
    // The install recorded each file's stat: with a clock past the racy margin, nothing is read.
    expect(status.statCache).toMatchObject({ hits: 3, misses: 0 });
    expect((await installedFolderStatus(dest, { remotes, statCache: later })).statCache).toMatchObject({ hits: 3, misses: 0 });

    writeFileSync(join(dest, "train", "a.csv"), "x,y\n9,9\n");
    writeFileSync(join(dest, "notes.txt"), "mine\n");
    unlinkSync(join(dest, "README.md"));
    const changed = await installedFolderStatus(dest, { remotes, statCache: later });
    expect(changed).toMatchObject({
      tag: "v0",
      added: ["notes.txt"],
      modified: ["train/a.csv"],
      deleted: ["README.md"],
      counts: { added: 1, modified: 1, deleted: 1, unchanged: 1 },
      matches: false,
    });
  });
});
