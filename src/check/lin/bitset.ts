/**
 * The set of linearized operations of one partition, as a compact bitset with an incrementally
 * maintained Zobrist hash: each operation index has a fixed pseudo-random 32-bit key and the
 * set's hash is the XOR of the keys of its members, so adding or removing a member updates the
 * hash in O(1) instead of rehashing every word on each step of the search.
 */

const BITS_PER_WORD = 32;

/** splitmix32 finalizer: a well-mixed, deterministic 32-bit key for operation `index`. */
export function zobristKey(index: number): number {
  let z = (index + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class LinearizedSet {
  readonly words: Uint32Array;
  /** Zobrist hash of the members, kept up to date by `add` and `remove`. */
  hash = 0;
  private readonly keys: Uint32Array;

  /** A set over operation indices `0 .. size - 1`, initially empty. */
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / BITS_PER_WORD));
    this.keys = new Uint32Array(size);
    for (let i = 0; i < size; i++) this.keys[i] = zobristKey(i);
  }

  has(index: number): boolean {
    return ((this.words[index >>> 5]! >>> (index & 31)) & 1) === 1;
  }

  /** Adds `index`, which must not be a member. */
  add(index: number): void {
    this.words[index >>> 5]! |= 1 << (index & 31);
    this.hash = (this.hash ^ this.keys[index]!) >>> 0;
  }

  /** Removes `index`, which must be a member. */
  remove(index: number): void {
    this.words[index >>> 5]! &= ~(1 << (index & 31));
    this.hash = (this.hash ^ this.keys[index]!) >>> 0;
  }

  /** A frozen copy of the current members, for the memo. */
  snapshot(): Uint32Array {
    return this.words.slice();
  }

  /** True when the current members are exactly those of `snapshot`. */
  equalsSnapshot(snapshot: Uint32Array): boolean {
    const words = this.words;
    for (let i = 0; i < words.length; i++) if (words[i] !== snapshot[i]) return false;
    return true;
  }
}
