/** Messages between the parallel top hash and its line workers. */
import type { BatchIndex } from "./batch-index.js";

export interface LineTask {
  readonly id: number;
  /** Whole manifest lines; transferred, so the main thread lets go of them. */
  readonly bytes: ArrayBuffer;
  /** Where these lines start in the manifest (for the browse index's sample blocks). */
  readonly base: number;
}

/** What a line worker is started with. */
export interface LineWorkerData {
  readonly checkKeys: boolean;
  /** Set when a browse index is fed from the pass: each reply then carries its `BatchIndex`. */
  readonly indexBlockBytes?: number;
}

export type LineReply =
  | {
      readonly id: number;
      readonly ok: true;
      /** The pre-image is the first `preimageLength` bytes of this buffer. */
      readonly preimage: ArrayBuffer;
      readonly preimageLength: number;
      readonly entries: number;
      readonly bytes: number;
      readonly firstKey: string | undefined;
      readonly lastKey: string | undefined;
      readonly index?: BatchIndex;
    }
  | { readonly id: number; readonly ok: false; readonly reason: "unsorted" | "invalid" };
