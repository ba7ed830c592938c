import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { refusedOptions, workerExecArgv } from "./spawn.js";

describe("workerExecArgv", () => {
  it("drops the options about the main script's source and V8's heap sizes, and keeps the others", () => {
    expect(workerExecArgv(["--input-type=module", "-e", "code", "--max-old-space-size=100", "--no-warnings"])).toEqual(["--no-warnings"]);
    expect(workerExecArgv(["--max-semi-space-size", "16", "--max-young-generation-size=8", "--conditions=x"])).toEqual(["--conditions=x"]);
    expect(workerExecArgv(["--input-type", "module", "--eval", "x", "-p", "y", "--print=z", "--eval=w", "--enable-source-maps"])).toEqual(["--enable-source-maps"]);
    expect(workerExecArgv([])).toEqual([]);
  });

  it("reads the options a refused start names", () => {
    expect(refusedOptions("Initiated Worker with invalid execArgv flags: --a=1, --b")).toEqual(["--a=1", "--b"]);
    expect(refusedOptions("something else")).toEqual([]);
  });

  // The compiled worker, started from `node --max-old-space-size=N --input-type=module -e`: the way
  // the benchmarks run. Either option alone made every worker fail to start.
  const dist = fileURLToPath(new URL("../../dist/workers/spawn.js", import.meta.url));
  // `npm test` builds dist/ first; without it this test fails and says so rather than skipping.
  it("lets a worker start under node --max-old-space-size=N --input-type=module -e", () => {
    expect(existsSync(dist), `${dist} is missing: run \`npm run build\` first`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "quiltkit-spawn-"));
    const worker = join(dir, "worker.js");
    writeFileSync(worker, "process.exit(7);\n");
    writeFileSync(join(dir, "package.json"), '{"type": "module"}\n'); // an ES module, as ours are: those failed
    const script =
      `import { spawnModuleWorker } from ${JSON.stringify(dist)};` +
      `const w = spawnModuleWorker(new URL(${JSON.stringify(pathToFileURL(worker).href)}), null, "X");` +
      `w.on("error", (e) => { console.log("error " + e.message); }); w.on("exit", (c) => console.log("exit " + c));`;
    const out = execFileSync(process.execPath, ["--max-old-space-size=300", "--input-type=module", "-e", script], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    expect(out.trim()).toBe("exit 7");
  });
});
