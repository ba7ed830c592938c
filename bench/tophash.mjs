// Top hash of a synthetic 1,000,000-entry manifest: Quiltkit and quilt3 side by side, same file.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { measure, quilt3Available, quilt3Env, ratio } from "./lib/measure.mjs";
import { writeSyntheticManifest } from "./lib/synthetic.mjs";

const DIST = fileURLToPath(new URL("../dist/manifest/index.js", import.meta.url));

export async function run({ entries = 1_000_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "quiltkit-bench-tophash-"));
  try {
    const manifest = join(dir, "manifest.jsonl");
    await writeSyntheticManifest(manifest, entries);
    const bytes = statSync(manifest).size;
    const ours = await measure(process.execPath, [
      "--input-type=module",
      "-e",
      `import { topHashOf, fileSource } from ${JSON.stringify(DIST)};` +
        `console.log(await topHashOf(fileSource(${JSON.stringify(manifest)})));`,
    ]);
    const result = { entries, manifestBytes: bytes, quiltkit: { ...ours, bytesRead: bytes } };
    const version = await quilt3Available();
    if (version) {
      const theirs = await measure(
        "python3",
        ["-c", `import quilt3\nwith open(${JSON.stringify(manifest)}) as f:\n    print(quilt3.Package.load(f).top_hash)`],
        { env: quilt3Env() },
      );
      result.quilt3 = { version, ...theirs, bytesRead: bytes };
      result.sameTopHash = theirs.stdout === ours.stdout;
      result.speedup = ratio(ours.seconds, theirs.seconds);
      result.cpuSpeedup = ratio(ours.cpuSeconds, theirs.cpuSeconds);
      result.memoryRatio = ratio(ours.peakRssMiB, theirs.peakRssMiB);
    } else {
      result.quilt3 = "not installed (pip install quilt3==8.0.0)";
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ entries: Number(process.argv[2] ?? 1_000_000) }), null, 2));
}
