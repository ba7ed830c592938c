/** Starting a hash worker thread (see src/workers/spawn.ts for how sources are loaded in tests). */
import type { Worker } from "node:worker_threads";
import { spawnModuleWorker } from "../workers/spawn.js";
import type { WorkerInit } from "./protocol.js";

export function spawnHashWorker(init: WorkerInit): Worker {
  // `../hash/`, not `./`: the same URL from dist/hash/ and from the CLI bundle in dist/bin/.
  return spawnModuleWorker(new URL("../hash/worker.js", import.meta.url), init, "HASH_WORKER_MISSING");
}
