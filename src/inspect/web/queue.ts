/**
 * A bounded FIFO that drops its oldest item when full, counting what it dropped: what a viewer
 * that reads slower than the cluster writes gets instead of unbounded memory.
 */
export class DropOldestQueue<T> {
  private items: (T | undefined)[];
  private head = 0;
  private size = 0;
  /** Items dropped since the queue was made, oldest first. */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`queue capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.capacity) {
      // Overwrite the oldest: a ring buffer, so a full queue costs O(1) per push.
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
      return;
    }
    this.items[(this.head + this.size) % this.capacity] = item;
    this.size++;
  }

  /** Removes and returns up to `max` items, oldest first. */
  take(max: number = this.size): T[] {
    const n = Math.min(max, this.size);
    const out: T[] = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.items[this.head] as T;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.size -= n;
    return out;
  }

  /** The item `index` places after the oldest (0: the oldest), without removing it. */
  at(index: number): T | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) return undefined;
    return this.items[(this.head + index) % this.capacity];
  }

  /** The items, oldest first, without removing them. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.head + i) % this.capacity] as T);
    return out;
  }

  clear(): void {
    this.items = new Array<T | undefined>(this.capacity);
    this.head = 0;
    this.size = 0;
  }
}
