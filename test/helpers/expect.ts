import { QuiltError } from "../../src/errors/index.js";

/** The QuiltError `run` throws; any other outcome fails the test. */
export function errorOf(run: () => unknown): QuiltError {
  try {
    run();
  } catch (error) {
    if (error instanceof QuiltError) return error;
    throw error;
  }
  throw new Error("expected a QuiltError, but it succeeded");
}

/** The QuiltError `run` rejects with; any other outcome fails the test. */
export async function rejectionOf(run: () => Promise<unknown>): Promise<QuiltError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof QuiltError) return error;
    throw error;
  }
  throw new Error("expected a QuiltError, but it succeeded");
}

/** Every item of an async iterable, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
