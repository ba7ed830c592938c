// The library halves of the scale bench, each run as its own measured child process
// (node --max-old-space-size=1536 --max-semi-space-size=32 scale-child.mjs OP CONFIG_JSON); prints one JSON line.
//   build    PackageBuilder fed N + 1,000 entries in scrambled order: build() (phase "build"),
//            then push() to a local registry (phase "push"); phases report their own CPU and
//            the peak RSS so far, the whole child is measured from outside as well.
//   edit     Package.browse(v1).toBuilder(), the known changes, push(): version 2.
//   verify   compare the installed real/ folder with the package's entries under real/.
//   tophash  topHashOf(fileSource(manifest)).
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { changesOf, entryInput, MESSAGE, NAME, PER_DIR, REAL_COUNT, REAL_PREFIX, realFile, scrambled, userMeta } from "./scale-inputs.mjs";
import { syntheticEntry } from "./synthetic.mjs";

const [op, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson ?? "{}");
const dist = (path) => import(pathToFileURL(join(config.dist, path)).href);

function phase(started) {
  const cpu = process.cpuUsage(started.cpu);
  return {
    seconds: round((performance.now() - started.wall) / 1000),
    cpuSeconds: round((cpu.user + cpu.system) / 1e6),
    peakRssMiB: round(process.resourceUsage().maxRSS / 1024, 0),
  };
}
const start = () => ({ wall: performance.now(), cpu: process.cpuUsage() });
const round = (x, d = 2) => Number(x.toFixed(d));

async function build() {
  const { PackageBuilder, openRegistry } = await dist("index.js");
  const t = start();
  const builder = new PackageBuilder({ tmpDir: config.tmpDir });
  await builder.setMeta(userMeta(config.entries));
  const order = scrambled(config.entries);
  const realAt = Math.floor(config.entries / 2);
  for (let j = 0; j < config.entries; j++) {
    if (j === realAt) await setRealFiles(builder);
    const e = syntheticEntry(order(j), PER_DIR);
    await builder.setEntry(e.key, entryInput(e));
  }
  const built = await builder.build({ message: MESSAGE });
  const buildPhase = { ...phase(t), topHash: built.topHash, entries: built.entries };
  const t2 = start();
  const registry = await openRegistry(config.registry);
  const pushed = await builder.push({ registry, name: NAME, message: MESSAGE });
  await builder.dispose();
  return { build: buildPhase, push: { ...phase(t2), topHash: pushed.topHash, entries: pushed.entries, data: pushed.data } };
}

async function setRealFiles(builder) {
  for (let r = 0; r < REAL_COUNT; r++) {
    const f = realFile(r);
    // No hash: the builder hashes these files itself.
    await builder.setEntry(f.key, { physicalKey: pathToFileURL(join(config.realDir, f.key)).href, size: f.bytes.length });
  }
}

async function edit() {
  const { Package, openRegistry } = await dist("index.js");
  const registry = await openRegistry(config.registry);
  const pkg = await Package.browse(NAME, { registry, tmpDir: config.tmpDir });
  const builder = await pkg.toBuilder({ tmpDir: config.tmpDir });
  const changes = changesOf(config.entries);
  for (let j = 0; j < changes.k; j++) {
    await builder.delete(changes.deleted(j));
    const m = changes.modified(j);
    await builder.setEntry(m.key, entryInput(m));
    const a = changes.added(j);
    await builder.setEntry(a.key, entryInput(a));
  }
  const pushed = await builder.push({ registry, name: NAME, message: "scale v2" });
  await builder.dispose();
  await pkg.close();
  return { from: pkg.topHash, topHash: pushed.topHash, entries: pushed.entries };
}

async function verify() {
  const { Package } = await dist("index.js");
  const { compareDir } = await dist("transfer/index.js");
  const pkg = await Package.browse(`${NAME}@${config.topHash}`, { registry: config.registry, tmpDir: config.tmpDir });
  const prefix = `${REAL_PREFIX}/`;
  // Installed with --path real: files sit relative to the folder, so its keys are compared without it.
  const entries = async function* () {
    for await (const e of pkg.entries({ prefix })) yield { ...e, logicalKey: e.logicalKey.slice(prefix.length) };
  };
  const r = await compareDir(entries, config.dir, { exclude: [".quiltkit"], tmpDir: config.tmpDir });
  await pkg.close();
  return { matches: r.matches, unchanged: r.unchanged, added: r.added.length, modified: r.modified.length, deleted: r.deleted.length, verified: pkg.verified };
}

async function tophash() {
  const { topHashOf, fileSource } = await dist("manifest/index.js");
  return { topHash: await topHashOf(fileSource(config.manifest)) };
}

const ops = { build, edit, verify, tophash };
if (!ops[op]) throw new Error(`unknown op ${op}; known: ${Object.keys(ops).join(", ")}`);
console.log(JSON.stringify(await ops[op]()));
