import { stat } from "node:fs/promises";
import { NotFoundError, UsageError } from "../errors/index.js";
import { fileKeyFromPath, formatPhysicalKey, parsePhysicalKey, type PhysicalKey } from "../storage/physical-key.js";

/** quilt3 `fix_url`: a URL is taken as is, anything else is a local path made absolute (realpath). */
export function toPhysicalKey(source: string): PhysicalKey {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(source)) return parsePhysicalKey(source);
  return fileKeyFromPath(source);
}

/** A local file's physical key URL and size, or a clear error when it is not a file. */
export async function localFile(path: string): Promise<{ physicalKey: string; size: number }> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new NotFoundError("FILE_NOT_FOUND", `${path} does not exist.`, { hint: "Check the path of the file to add.", cause: error });
  }
  if (!info.isFile()) {
    throw new UsageError("NOT_A_FILE", `${path} is not a file.`, { hint: "To add a folder, use setDir or add with a folder path." });
  }
  return { physicalKey: formatPhysicalKey({ kind: "file", path }), size: info.size };
}
