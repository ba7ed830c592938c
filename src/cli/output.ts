import { QuiltError, exitCodeFor } from "../errors/index.js";

/**
 * The one place that prints. Commands return data; this writes it as text or, with `--json`,
 * as JSON (one object, or NDJSON for listings), and reports errors as `{code, message, hint}`.
 */
export interface Output {
  readonly json: boolean;
  text(line: string): void;
  data(value: unknown): void;
  /** A line of JSON text composed by the caller (exact Python numbers). */
  raw(jsonText: string): void;
  /** One line of a long stream (NDJSON, listings): waits when the reader is slower than us. */
  line(text: string): Promise<void>;
  warn(line: string): void;
}

export function createOutput(json: boolean, stdout = process.stdout, stderr = process.stderr): Output {
  return {
    json,
    text: (line) => void stdout.write(line + "\n"),
    data: (value) => void stdout.write(JSON.stringify(value) + "\n"),
    raw: (jsonText) => void stdout.write(jsonText + "\n"),
    line: (text) =>
      stdout.write(text + "\n") ? Promise.resolve() : new Promise((resolve) => stdout.once("drain", () => resolve())),
    warn: (line) => void stderr.write(line + "\n"),
  };
}

/** Print an error the way the user asked for, and give the exit code that goes with it. */
export function reportError(error: unknown, json: boolean, stderr = process.stderr): number {
  const quiltError = error instanceof QuiltError ? error : undefined;
  if (json) {
    const body = quiltError?.toJSON() ?? { code: "INTERNAL", message: messageOf(error) };
    stderr.write(JSON.stringify(body) + "\n");
  } else if (quiltError) {
    stderr.write(`Error: ${quiltError.message}\n`);
    if (quiltError.hint) stderr.write(`Hint: ${quiltError.hint}\n`);
  } else {
    stderr.write(`Internal error: ${messageOf(error)}\n`);
    if (error instanceof Error && error.stack) stderr.write(error.stack + "\n");
  }
  return exitCodeFor(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
