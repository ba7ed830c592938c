/**
 * Worker-thread entry of the parallel top hash: hashes one batch of manifest lines per message.
 * Loaded as dist/manifest/line-worker.js, or as the .ts source through the dev loader in tests.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BatchFallback, hashLines } from "./hash-lines.js";
import type { LineReply, LineTask, LineWorkerData } from "./line-protocol.js";

const port = parentPort;
if (!port) throw new Error("manifest line worker must run in a worker thread");
const { checkKeys, indexBlockBytes } = workerData as LineWorkerData;

port.on("message", (task: LineTask) => {
  let reply: LineReply;
  try {
    const request = indexBlockBytes === undefined ? undefined : { base: task.base, blockBytes: indexBlockBytes };
    const { preimage, ...rest } = hashLines(Buffer.from(task.bytes), checkKeys, request);
    // The bytes sit at the start of their own ArrayBuffer (hash-lines allocates it unpooled).
    reply = { id: task.id, ok: true, preimage: preimage.buffer as ArrayBuffer, preimageLength: preimage.length, ...rest };
    port.postMessage(reply, [reply.preimage]);
  } catch (error) {
    // Anything unexpected falls back too: the sequential path then reports it properly.
    const reason = error instanceof BatchFallback ? error.reason : "invalid";
    reply = { id: task.id, ok: false, reason };
    port.postMessage(reply);
  }
});
