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

  /**
   * A canonical compact encoding of the members, for the memo: the number of words up to the
   * last non-empty one, then (word index, word) pairs for every word in that range that is not
   * full. With operations numbered in call order, a search's linearized set is mostly a full
   * prefix plus a window of recent calls, so this stays small where a plain copy of the words
   * would grow with the history and make the memo quadratic in memory.
   */
  encode(): Uint32Array {
    const words = this.words;
    let end = words.length;
    while (end > 0 && words[end - 1] === 0) end--;
    let notFull = 0;
    for (let i = 0; i < end; i++) if (words[i] !== FULL_WORD) notFull++;
    const encoded = new Uint32Array(1 + 2 * notFull);
    encoded[0] = end;
    let at = 1;
    for (let i = 0; i < end; i++) {
      const word = words[i]!;
      if (word !== FULL_WORD) {
        encoded[at++] = i;
        encoded[at++] = word;
      }
    }
    return encoded;
  }
}

const FULL_WORD = 0xffffffff;

/** Equality of two {@link LinearizedSet.encode} results (canonical, so equal sets encode alike). */
export function encodedSetsEqual(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
