/**
 * A distributed lock (ZooKeeper's lock recipe, Curator's InterProcessMutex), with fencing tokens.
 *
 * Each contender creates an ephemeral sequential node under the lock path and holds the lock when
 * its node is the lowest; a waiter watches only its predecessor, so a release wakes one waiter.
 * The fencing token is the lock node's czxid: zxids grow with the log, so every later holder has
 * a larger token, and a resource that refuses tokens below the largest it has seen refuses a
 * holder whose session ended while it was paused or cut off.
 *
 * A holder is valid until its session ends. While the client is only disconnected the lock is
 * still held (the session may be alive); when the session expires or is closed, or the node
 * vanishes, `isHeld` turns false and `onLost` is called.
 *
 * @example
 * const lock = new Lock(client, '/locks/report', { onLost: () => abortWork() });
 * const { fencingToken } = await lock.acquire({ timeoutMs: 5_000 });
 * try { await storage.write(data, fencingToken); } finally { await lock.release(); }
 */
import type { ZooKeeperClient } from '../client.js';
import { SequentialMutex } from './mutex.js';
import type { LockOptions } from './mutex.js';
import { firstN } from './turn.js';

/** Name of a contender's node under the lock path (before the protection marker and sequence). */
export const LOCK_NODE_PREFIX = 'lock-';

export class Lock extends SequentialMutex {
  constructor(client: ZooKeeperClient, path: string, options: LockOptions = {}) {
    super(client, path, LOCK_NODE_PREFIX, firstN(1), options);
  }
}
