/**
 * A seeded pseudo-random source (mulberry32) whose whole state is one 32-bit number, so a
 * machine can keep it in its context and stay pure and replayable.
 */

/** Returns [value in [0, 1), next state]. */
export function nextRandom(state: number): [number, number] {
  const next = (state + 0x6d2b79f5) | 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, next];
}

/** A mutable generator for code outside machines (the simulator, fault schedules). */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed | 0;
  }
  /** In [0, 1). */
  next(): number {
    const [v, s] = nextRandom(this.state);
    this.state = s;
    return v;
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  /** A derived independent stream, for giving each component its own source. */
  fork(): SeededRandom {
    return new SeededRandom(Math.floor(this.next() * 0x7fffffff) ^ 0x5bd1e995);
  }
}
