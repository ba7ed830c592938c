import { UsageError } from "../errors/index.js";
import type { ListOptions } from "./types.js";

/** Every storage lists with `/` or no delimiter; anything else (from untyped callers) is refused. */
export function assertListDelimiter(url: string, options: ListOptions): void {
  const delimiter: unknown = options.delimiter;
  if (delimiter !== undefined && delimiter !== "/") {
    throw new UsageError("LIST_DELIMITER_UNSUPPORTED", `Cannot list ${url} with delimiter ${JSON.stringify(delimiter)}.`, {
      hint: "Use '/' or no delimiter.",
    });
  }
}
