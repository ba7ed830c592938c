/**
 * A binary min-heap with `replaceTop`, the operation a k-way merge does once per record: the
 * smallest run yields a record, its next record replaces it and sinks, costing one sift instead of
 * a pop plus a push.
 */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  /** Removes the top; returns it. */
  pop(): T | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last !== undefined) {
      this.items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Re-sorts after the top item's key changed (it can only have grown). */
  updateTop(): void {
    if (this.items.length > 1) this.siftDown(0);
  }

  private siftUp(i: number): void {
    const items = this.items;
    const item = items[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (!this.less(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i] as T;
    for (;;) {
      const child = this.smallerChild(i, n);
      if (child < 0 || !this.less(items[child] as T, item)) break;
      items[i] = items[child] as T;
      i = child;
    }
    items[i] = item;
  }

  private smallerChild(i: number, n: number): number {
    const left = 2 * i + 1;
    if (left >= n) return -1;
    const right = left + 1;
    if (right < n && this.less(this.items[right] as T, this.items[left] as T)) return right;
    return left;
  }
}
