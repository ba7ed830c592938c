// Registries for the browse bench, all holding one synthetic manifest (lib/synthetic.mjs) named by
// its real top hash, with `named_packages/<name>/latest` pointing at it, as quilt3 pushes it (no
// sidecar index). The sidecar is added later by `writeSidecar`, which runs what our push runs
// after writing a manifest (`writeIndexAfterPush`). Steps that need the library run in a child
// Node process over dist/ (with the S3 settings in its environment), measured like the rest.
import { linkSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runMeasured } from "./browse-run.mjs";
import { copyDist } from "./common.mjs";
import { syntheticEntry, syntheticKey, writeSyntheticManifest } from "./synthetic.mjs";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PER_DIR = 1000;
/** dist/ as a file URL ending in `/`: the copy of `snapshotDist` once taken, else the checkout's. */
let DIST = pathToFileURL(join(PACKAGE_ROOT, "dist")).href + "/";

/**
 * Copy dist/ (with package.json, node_modules linked) into `dir` and use it from now on: others
 * rebuild dist/ in this checkout, and a 10M run lasts an hour. Returns the copy's CLI.
 */
export function snapshotDist(dir) {
  const copy = mkdtempSync(join(dir, "dist-"));
  const cli = copyDist(copy);
  DIST = pathToFileURL(join(copy, "dist")).href + "/";
  return cli;
}

/** Run `body` in a child Node process with the library loaded; it gets `args` and may print a result. */
async function inChild(body, args, env) {
  const script = `
    const { openRegistry } = await import(${JSON.stringify(DIST + "index.js")});
    const { writeIndexAfterPush } = await import(${JSON.stringify(DIST + "package/lazy-push.js")});
    const { topHashOf, fileSource } = await import(${JSON.stringify(DIST + "manifest/index.js")});
    const { createReadStream } = await import("node:fs");
    void openRegistry; void writeIndexAfterPush; void topHashOf; void fileSource; void createReadStream;
    const args = JSON.parse(process.argv[1]);
    ${body}`;
  const r = await runMeasured(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(args)], { env });
  if (r.outcome !== "ok") throw new Error(`bench setup step failed (${r.outcome}):\n${r.stderr.slice(-3000)}`);
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, peakRssMiB: r.peakRssMiB, stdout: r.stdout };
}

/** The synthetic manifest at `path` and its top hash (our `topHashOf`, one streaming pass). */
export async function makeManifest(path, entries) {
  const t = performance.now();
  await writeSyntheticManifest(path, entries, PER_DIR);
  const generateSeconds = (performance.now() - t) / 1000;
  const hashed = await inChild(`console.log(await topHashOf(fileSource(args.path)));`, { path }, process.env);
  if (!/^[0-9a-f]{64}$/.test(hashed.stdout)) throw new Error(`bad top hash ${hashed.stdout}`);
  return { topHash: hashed.stdout, generateSeconds, topHashCpuSeconds: hashed.cpuSeconds };
}

/** A local registry at `dir` whose manifest is a hard link to `manifestPath` (no 3 GB copy). */
export function makeLocalRegistry(dir, manifestPath, topHash, name) {
  const packages = join(dir, ".quilt", "packages");
  const pointers = join(dir, ".quilt", "named_packages", ...name.split("/"));
  mkdirSync(packages, { recursive: true });
  mkdirSync(pointers, { recursive: true });
  linkSync(manifestPath, join(packages, topHash));
  writeFileSync(join(pointers, "latest"), topHash);
  return dir;
}

/** Upload the manifest and the `latest` pointer to `s3://bucket` through our storage layer. */
export async function uploadToS3(url, manifestPath, topHash, name, env) {
  return inChild(
    `const r = await openRegistry(args.url);
     await r.storage.write(r.manifestKey(args.topHash), createReadStream(args.path, { highWaterMark: 1 << 20 }));
     await r.writePointer(args.name, "latest", args.topHash);`,
    { url, path: manifestPath, topHash, name },
    env,
  );
}

/** The sidecar index our push writes beside the manifest; fails if it could not be written. */
export async function writeSidecar(url, manifestPath, topHash, env) {
  return inChild(
    `const r = await openRegistry(args.url);
     await writeIndexAfterPush(r, args.topHash, args.path, { onWarning: (m) => { throw new Error(m); } });
     const info = await r.storage.stat(r.browseIndexKey(args.topHash));
     if (info === undefined) throw new Error("no index written");
     console.log(info.size);`,
    { url, path: manifestPath, topHash },
    env,
  );
}

/** What `ls FOLDER/` must list: the keys the generator put in that folder, in order. */
export function expectedKeys(entries, folder) {
  const dir = Number(folder.slice(folder.lastIndexOf("/") + 1));
  const keys = [];
  for (let i = dir * PER_DIR; i < Math.min(entries, (dir + 1) * PER_DIR); i++) keys.push(syntheticKey(i, PER_DIR));
  return keys;
}

/** What `show` must count: the generator's entries and their total size. */
export function expectedTotals(entries) {
  let bytes = 0;
  for (let i = 0; i < entries; i++) bytes += syntheticEntry(i, PER_DIR).size;
  return { entries, bytes };
}
