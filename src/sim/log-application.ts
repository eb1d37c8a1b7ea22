/**
 * The application the consensus simulator replicates: the sequence of chosen entries itself (by
 * entry key). Its snapshot is that sequence, so a node that starts from a snapshot, or installs
 * one from a peer, ends with exactly the log it would have learned, and the checks compare these
 * logs across nodes whatever was compacted.
 */
import type { Application, SnapshotEncoding } from '../node/node.js';
import type { Slot } from '../protocol/ids.js';
import type { Entry } from '../protocol/messages.js';
import { entryKey } from '../protocol/messages.js';

/** Builds a node's application; `onRestore` is told of every snapshot it restores. */
export type EntryLogFactory = (onRestore?: (slot: Slot, keys: readonly string[]) => void) => EntryLogApplication;

export class EntryLogApplication implements Application {
  /** keys[i] is the key of the entry chosen at slot i + 1. */
  keys: string[] = [];

  constructor(private readonly onRestore?: (slot: Slot, keys: readonly string[]) => void) {}

  apply(): unknown {
    return undefined;
  }

  appliedEntry(slot: Slot, entry: Entry): void {
    // Slots arrive in order; a broken learner that skips shows up as a hole the checks see.
    this.keys[slot - 1] = entryKey(entry);
  }

  /**
   * The sequence as it is now, encoded at the second step: with the node's steps scheduled apart,
   * entries applied in between must not leak into it.
   */
  snapshot(): SnapshotEncoding {
    const keys = this.keys.slice();
    let steps = 0;
    return {
      step: () => (++steps < 2 ? null : [new TextEncoder().encode(JSON.stringify(keys))]),
      cancel: () => undefined,
    };
  }

  restore(state: Uint8Array, slot: Slot): void {
    const keys: unknown = JSON.parse(new TextDecoder().decode(state));
    if (!Array.isArray(keys) || keys.length !== slot || !keys.every((k) => typeof k === 'string')) {
      throw new RangeError(`not an entry log of ${slot} slots`);
    }
    this.keys = keys as string[];
    this.onRestore?.(slot, this.keys);
  }
}
