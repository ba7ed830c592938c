import { EXIT_CODES } from "../errors/index.js";

/**
 * Ctrl-C aborts the command, which then cleans up and exits 130. A repeat within a second is the
 * same Ctrl-C (a terminal signals the whole process group, and heap.ts's parent passes it on too);
 * a later one ends the process at once, as a second Ctrl-C does without a handler.
 */
export function interruptHandler(abort: () => void, now: () => number = Date.now): () => void {
  let first: number | undefined;
  return () => {
    if (first === undefined) {
      first = now();
      abort();
    } else if (now() - first > 1000) {
      process.exit(EXIT_CODES.interrupted);
    }
  };
}
