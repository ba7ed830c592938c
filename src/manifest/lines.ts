import { isUtf8 } from "node:buffer";
import { IntegrityError } from "../errors/index.js";

export interface ManifestLine {
  readonly text: string;
  /** 1-based line number, for messages. */
  readonly line: number;
}

/**
 * Guard against a hostile manifest with one enormous line: quilt3 writes at most 1,000,000 bytes
 * a record by default, so a line over this is refused before it is buffered whole.
 */
export const DEFAULT_MAX_READ_LINE = 64 * 1024 * 1024;

/** Split a byte stream into UTF-8 lines (`\n`-terminated; the last line may lack it). */
export async function* splitLines(
  chunks: AsyncIterable<Uint8Array>,
  maxLineBytes = DEFAULT_MAX_READ_LINE,
): AsyncGenerator<ManifestLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  for await (const raw of chunks) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      const bytes = pendingBytes === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      pendingBytes = 0;
      line += 1;
      checkLength(bytes.length, maxLineBytes, line);
      yield { text: decode(bytes, line), line };
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      checkLength(pendingBytes, maxLineBytes, line + 1);
    }
  }
  if (pendingBytes > 0) {
    line += 1;
    yield { text: decode(Buffer.concat(pending), line), line };
  }
}

function checkLength(bytes: number, max: number, line: number): void {
  if (bytes > max) {
    throw new IntegrityError(
      "MANIFEST_LINE_TOO_LONG",
      `Manifest line ${line} is longer than ${max} bytes; refusing to read it.`,
      { hint: "quilt3 writes records of at most 1,000,000 bytes: this manifest is corrupt or hostile." },
    );
  }
}

function decode(bytes: Buffer, line: number): string {
  if (!isUtf8(bytes)) {
    throw new IntegrityError("MANIFEST_BAD_UTF8", `Manifest line ${line} is not valid UTF-8.`, {
      hint: "Manifests are UTF-8 JSON lines; this file is corrupt or not a manifest.",
    });
  }
  if (line === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new IntegrityError("MANIFEST_BOM", "The manifest starts with a UTF-8 byte order mark.", {
      hint: "quilt3 refuses it too (JSON cannot start with U+FEFF); re-save the file without a BOM.",
    });
  }
  return bytes.toString("utf8");
}
