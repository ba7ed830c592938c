import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { QUILT3_VECTORS } from "./shared.js";

/** Where set A's manifests say their inputs were: materialized there, the file:// keys match. */
export const A_INPUTS = "/tmp/quilt3-vectors/A/inputs";

interface InputSpec {
  files: { path: string; size: number; sha256: string }[];
}

/** Materialize set A's inputs with the vectors' own script, unless they are already there intact. */
export function materializeSetAInputs(): string {
  const spec = JSON.parse(readFileSync(resolve(QUILT3_VECTORS, "inputs_spec.json"), "utf8")) as InputSpec;
  const intact = spec.files.every((f) => {
    const path = join(A_INPUTS, f.path);
    return existsSync(path) && createHash("sha256").update(readFileSync(path)).digest("hex") === f.sha256;
  });
  if (!intact) {
    execFileSync("python3", [resolve(QUILT3_VECTORS, "make_inputs.py"), "--dest", A_INPUTS], { stdio: "pipe" });
  }
  return A_INPUTS;
}
