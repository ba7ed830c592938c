import { once } from "node:events";
import { InterruptedError, QuiltError, exitCodeFor } from "../errors/index.js";

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
  /** Raw bytes (`cat`), resolved once written. */
  bytes(data: Uint8Array): Promise<void>;
  warn(line: string): void;
}

/**
 * The reader of stdout went away (`quilt ls ... | head`). The command stops: a listing at its
 * next line, other work through `onClosed` (the command's abort signal), which cleans up as for
 * Ctrl-C. Nothing is reported; the exit status is that of a Unix tool killed by SIGPIPE.
 */
export class OutputClosedError extends InterruptedError {
  constructor(cause: unknown) {
    super("The reader of the output went away", { cause });
  }
}

/** 128 + SIGPIPE, as a shell reports `cat big | head` for `cat`. */
export const EXIT_OUTPUT_CLOSED = 141;

type Stdout = Pick<NodeJS.WriteStream, "write" | "on"> & NodeJS.EventEmitter;

export function createOutput(json: boolean, stdout: Stdout = process.stdout, stderr = process.stderr, onClosed?: (error: OutputClosedError) => void): Output & { readonly closed: OutputClosedError | undefined } {
  let closed: OutputClosedError | undefined;
  stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (closed !== undefined || error.code !== "EPIPE") return;
    closed = new OutputClosedError(error);
    onClosed?.(closed);
  });
  const write = (text: string): boolean => closed === undefined && stdout.write(text);
  return {
    json,
    get closed() {
      return closed;
    },
    text: (line) => void write(line + "\n"),
    data: (value) => void write(JSON.stringify(value) + "\n"),
    raw: (jsonText) => void write(jsonText + "\n"),
    line: (text) => {
      if (write(text + "\n")) return Promise.resolve();
      if (closed !== undefined) return Promise.reject(closed);
      // Wait for the reader, or for its going away (EPIPE then arrives as an error event).
      return once(stdout, "drain").then(
        () => undefined,
        () => {
          if (closed !== undefined) throw closed;
        },
      );
    },
    bytes: (data) =>
      new Promise((resolve, reject) => {
        if (closed !== undefined) return reject(closed);
        stdout.write(data, (error?: NodeJS.ErrnoException | null) => (error ? reject(error.code === "EPIPE" ? new OutputClosedError(error) : error) : resolve()));
      }),
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
