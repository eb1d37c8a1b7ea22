/**
 * Virtual time for the simulator: a binary heap of pending actions keyed by (time, sequence), so
 * equal-time actions run in the order they were scheduled and a run is a pure function of its seed.
 * (RxJS's VirtualTimeScheduler re-sorts on every schedule: quadratic past a few thousand actions.)
 */

interface Pending {
  atMs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualScheduler {
  private heap: Pending[] = [];
  private seq = 0;
  private nowMs = 0;
  /** Actions run so far (deliveries, timers, faults). */
  executed = 0;

  now(): number {
    return this.nowMs;
  }

  /** Run `fn` after `delayMs` of virtual time; returns a handle for `cancel`. */
  schedule(delayMs: number, fn: () => void): Pending {
    const item: Pending = { atMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
    return item;
  }

  cancel(handle: unknown): void {
    if (handle !== undefined && handle !== null) (handle as Pending).cancelled = true;
  }

  /** XState's clock contract, on virtual time. */
  readonly clock = {
    setTimeout: (fn: (...args: any[]) => void, timeoutMs: number): unknown => this.schedule(timeoutMs, fn),
    clearTimeout: (id: unknown): void => this.cancel(id),
  };

  /** Run every action due up to `untilMs`, then set the clock to `untilMs`. Returns false if `stop()` ended it. */
  runUntil(untilMs: number, stop?: () => boolean): boolean {
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.atMs <= untilMs) {
      const item = this.pop();
      if (item.cancelled) continue;
      this.nowMs = item.atMs;
      this.executed++;
      item.fn();
      if (stop?.()) return false;
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
    return true;
  }

  get pendingCount(): number {
    return this.heap.length;
  }

  private pop(): Pending {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
        if (!before(heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}

function before(a: Pending, b: Pending): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
