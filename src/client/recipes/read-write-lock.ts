/**
 * A read-write lock (ZooKeeper's shared-lock recipe, Curator's InterProcessReadWriteLock): any
 * number of readers, or one writer. Both halves contend under one path, in one sequence:
 * - a writer holds when its node is the lowest, and watches its predecessor;
 * - a reader holds when no writer's node is below its own, and watches the nearest such writer.
 * Waiting is fair (first come, first served), so a stream of readers cannot starve a writer.
 * The holder of the write lock may also take the read lock (a downgrade); a reader that asks for
 * the write lock waits for itself forever, as in Curator: release the read lock first.
 */
import type { ZooKeeperClient } from '../client.js';
import { SequentialMutex } from './mutex.js';
import type { LockOptions } from './mutex.js';
import { firstN } from './turn.js';
import type { Decide } from './turn.js';
import { SEQUENCE_DIGITS } from './internal.js';

export const READ_NODE_PREFIX = 'read-';
export const WRITE_NODE_PREFIX = 'write-';

const isWriter = (name: string): boolean => name.slice(0, -SEQUENCE_DIGITS).endsWith(WRITE_NODE_PREFIX);

export class ReadWriteLock {
  /** Shared: held with other readers, never with a writer. */
  readonly readLock: SequentialMutex;
  /** Exclusive. */
  readonly writeLock: SequentialMutex;

  constructor(client: ZooKeeperClient, path: string, options: LockOptions = {}) {
    this.writeLock = new SequentialMutex(client, path, WRITE_NODE_PREFIX, firstN(1), options);
    const readDecide: Decide = (sorted, ours) => {
      if (this.writeLock.isHeld) return { holds: true };
      const writersBefore = sorted.slice(0, sorted.indexOf(ours)).filter(isWriter);
      const nearest = writersBefore[writersBefore.length - 1];
      return nearest === undefined ? { holds: true } : { holds: false, watch: nearest };
    };
    this.readLock = new SequentialMutex(client, path, READ_NODE_PREFIX, readDecide, options);
  }
}
