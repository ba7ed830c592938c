import { MinHeap } from "./heap.js";
import type { RecordReader } from "./run-file.js";

interface Cursor<T> {
  readonly reader: RecordReader<T>;
  /** Position of the run in input order; breaks ties so the merge is stable. */
  readonly order: number;
}

/** K-way merge of sorted runs, handed out in batches to amortize the async step. */
export class RunMerger<T> {
  private constructor(
    private readonly heap: MinHeap<Cursor<T>>,
    private readonly readers: RecordReader<T>[],
  ) {}

  /** Opens the runs, given in input order (earlier records first). */
  static async open<T>(paths: readonly string[], openReader: (path: string) => Promise<RecordReader<T>>, compare: (a: T, b: T) => number): Promise<RunMerger<T>> {
    const heap = new MinHeap<Cursor<T>>((a, b) => {
      const c = compare(a.reader.current as T, b.reader.current as T);
      return c < 0 || (c === 0 && a.order < b.order);
    });
    const readers: RecordReader<T>[] = [];
    const merger = new RunMerger(heap, readers);
    try {
      for (const [order, path] of paths.entries()) {
        const reader = await openReader(path);
        readers.push(reader);
        if (await reader.advance()) heap.push({ reader, order });
      }
    } catch (e) {
      await merger.close();
      throw e;
    }
    return merger;
  }

  /** Up to `max` records in order; an empty array once every run is exhausted. */
  async nextBatch(max: number): Promise<T[]> {
    const out: T[] = [];
    const heap = this.heap;
    while (out.length < max) {
      const top = heap.peek();
      if (top === undefined) break;
      out.push(top.reader.current as T);
      if (top.reader.next() || (await top.reader.advance())) heap.updateTop();
      else heap.pop();
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.close()));
  }
}
