/** Messages between the parallel top hash and its line workers. */
export interface LineTask {
  readonly id: number;
  /** Whole manifest lines; transferred, so the main thread lets go of them. */
  readonly bytes: ArrayBuffer;
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
    }
  | { readonly id: number; readonly ok: false; readonly reason: "unsorted" | "invalid" };
