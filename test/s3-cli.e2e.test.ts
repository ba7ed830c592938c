/**
 * The built `quilt` command against a real S3 server: settings from the standard AWS variables,
 * push to `--registry s3://bucket`, the three handle forms, installs of a Quilt+ `path=`, the
 * "data exists, skipping" rerun and `--dedupe`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { expectJsonError, expectOk, runQuilt, type RunResult } from "./helpers/cli.js";
import { filesUnder, writeTree } from "./helpers/tree.js";
import { awsEnvOf } from "./helpers/s3-server.js";

const s3 = inject("s3");
const env = awsEnvOf(s3);
const quilt = (args: string[]): Promise<RunResult> => runQuilt(args, { env });
const name = `cli-${randomBytes(4).toString("hex")}/data`;
const registry = `s3://${s3.bucket}`;
let root = "";
let dir = "";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "quiltkit-s3-cli-"));
  dir = join(root, "data");
  writeTree(dir, {
    "README.md": "# A dataset on S3\n",
    "train/a.csv": "x,y\n1,2\n",
    "train/deep/b.txt": "b",
    "val/c 50% #1.txt": "c",
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("quilt on an S3 registry", () => {
  let topHash = "";

  it("pushes a folder to --registry s3://bucket with a tag", async () => {
    const run = expectOk(await quilt(["push", name, "--dir", dir, "--registry", registry, "-m", "first", "-t", "v1", "--meta", '{"f": 1.0}', "--json"]));
    const out = run.json<{ topHash: string; pointers: string[]; data: { copied: number } }>();
    expect(out.data.copied).toBe(4);
    expect(out.pointers.slice(1)).toEqual(["latest", "v1"]);
    topHash = out.topHash;
  });

  it("lists packages and versions of the bucket", async () => {
    const [packages, versions] = await Promise.all([
      quilt(["packages", "--registry", registry, "--json"]),
      quilt(["versions", name, "--registry", registry, "--json"]),
    ]);
    expect(expectOk(packages).lines<{ name: string }>().map((p) => p.name)).toContain(name);
    const pointers = expectOk(versions).lines<{ pointer: string; topHash: string }>();
    expect(pointers.filter((p) => p.topHash === topHash).map((p) => p.pointer)).toEqual(expect.arrayContaining(["latest", "v1"]));
  });

  it("browses by s3:// handle and by Quilt+ URI with a hash prefix", async () => {
    const [ls, cat, meta] = await Promise.all([
      quilt(["ls", `${registry}/${name}:v1`, "train/", "--json"]),
      quilt(["cat", `quilt+s3://${s3.bucket}#package=${name}@${topHash.slice(0, 8)}`, "val/c 50% #1.txt"]),
      quilt(["meta", `quilt+s3://${s3.bucket}#package=${name}:v1`, "--json"]),
    ]);
    expect(expectOk(ls).lines<{ logicalKey: string }>().map((e) => e.logicalKey)).toEqual(["train/a.csv", "train/deep/"]);
    expect(expectOk(cat).stdout).toBe("c");
    expect(expectOk(meta).stdout).toBe('{"f":1.0}\n');
  });

  it("installs the folder a Quilt+ path= names, relative to it as quilt3 does", async () => {
    const dest = join(root, "installed");
    const uri = `quilt+s3://${s3.bucket}#package=${name}:v1&path=train/`;
    expectOk(await quilt(["install", uri, "--dest", dest]));
    expect(filesUnder(dest).filter((f) => !f.startsWith(".quiltkit/"))).toEqual(["a.csv", "deep/b.txt"]);
    expect(readFileSync(join(dest, "a.csv"), "utf8")).toBe("x,y\n1,2\n");
  });

  it("skips data already there on a rerun, and --dedupe writes no pointer", async () => {
    const again = expectOk(await quilt(["push", name, "--dir", dir, "--registry", registry, "-m", "first", "--meta", '{"f": 1.0}', "--dedupe"]));
    expect(again.stdout).toContain("0 copied (0 bytes), 4 already there (data exists, skipping)");
    expect(again.stdout).toContain(`Skipping since package with hash ${topHash} already exists`);
  });

  it("refuses a bucket that does not exist, with exit 6 and the bucket named", async () => {
    const run = await quilt(["ls", `s3://no-such-bucket-${randomBytes(3).toString("hex")}/a/b`, "--json"]);
    expectJsonError(run, 6, "STORAGE_BUCKET_NOT_FOUND");
    expect(run.error().message).toContain("no-such-bucket-");
  });

  it("says that no credentials were found, with exit 6, when none are set anywhere", async () => {
    const home = mkdtempSync(join(tmpdir(), "quiltkit-nocreds-"));
    try {
      // The server's endpoint but no keys, and a HOME without ~/.aws: the SDK's chain finds nothing.
      const run = await runQuilt(["ls", `${name}`, "--registry", registry, "--json"], {
        env: { AWS_ENDPOINT_URL_S3: env.AWS_ENDPOINT_URL_S3, AWS_REGION: env.AWS_REGION, HOME: home, AWS_EC2_METADATA_DISABLED: "true", AWS_SHARED_CREDENTIALS_FILE: undefined, AWS_CONFIG_FILE: undefined },
      });
      expectJsonError(run, 6, "STORAGE_NO_CREDENTIALS");
      expect(run.error().hint).toContain("AWS_ACCESS_KEY_ID");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
