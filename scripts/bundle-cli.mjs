// The `quilt` command as one bundle (dist/bin/quilt.js) plus lazily loaded chunks (the S3 code):
// Node then starts it in ~0.2 CPU-s instead of ~0.35 for ~190 separate ES modules, on every
// command. Packages in node_modules stay external. The library (dist/index.js) is tsc's output.
// Worker modules are not bundled: callers find them as `../hash/worker.js` and
// `../manifest/line-worker.js` from their own URL, which holds in dist/<domain>/ and in dist/bin/.
import { chmodSync, rmSync } from "node:fs";
import { build } from "esbuild";

const outdir = new URL("../dist/bin/", import.meta.url).pathname;
// Chunks are named by content: without this, those of earlier builds would pile up beside the new ones.
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { quilt: new URL("../src/cli/main.ts", import.meta.url).pathname },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  logLevel: "warning",
});
// The bin must be runnable after `npm ci`.
chmodSync(`${outdir}quilt.js`, 0o755);
