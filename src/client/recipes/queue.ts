/**
 * A FIFO queue (ZooKeeper's queue recipe, Curator's DistributedQueue): each item is a persistent
 * sequential node, so the sequence numbers the leader assigns give one order for all producers.
 * A consumer reads the lowest item and deletes it; only one delete of a node can succeed, so an
 * item is taken by exactly one consumer. `take` blocks on a child watch while the queue is empty.
 *
 * Delivery is at most once: if a consumer's connection is lost after its delete was applied but
 * before the answer arrived, the item is gone and that consumer cannot know it had it.
 */
import type { ZooKeeperClient } from '../client.js';
import { NoNodeError } from '../errors.js';
import { createProtected, deadlineOf, join, RecipeTimeoutError, retryOnConnectionLoss, signal, sortBySequence, waitFor } from './internal.js';
import type { WaitOptions } from './internal.js';

export const ITEM_NODE_PREFIX = 'item-';

export class Queue {
  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Append an item; resolves with its node's path. Not duplicated if a connection is lost meanwhile. */
  async put(data: Uint8Array | string): Promise<string> {
    return (await createProtected(this.client, this.path, ITEM_NODE_PREFIX, data, 'persistentSequential')).path;
  }

  /** Take the head item now, or null if the queue is empty. */
  async poll(): Promise<Uint8Array | null> {
    return this.takeFrom(await this.items());
  }

  /** Take the head item, waiting while the queue is empty (RecipeTimeoutError after `timeoutMs`). */
  async take(options: WaitOptions = {}): Promise<Uint8Array> {
    const deadline = deadlineOf(options.timeoutMs);
    for (;;) {
      const changed = signal();
      const item = await this.takeFrom(await this.items(changed.fire));
      if (item !== null) return item;
      if (!(await waitFor(this.client, changed.promise, deadline, options.signal))) throw new RecipeTimeoutError(`take ${this.path}`, options.timeoutMs);
    }
  }

  /** Items waiting. */
  async size(): Promise<number> {
    return (await this.items()).length;
  }

  private async items(watcher?: () => void): Promise<string[]> {
    try {
      return sortBySequence(await retryOnConnectionLoss(() => this.client.getChildren(this.path, watcher)));
    } catch (err) {
      if (!(err instanceof NoNodeError)) throw err;
      // No queue node yet: watch for its creation, which a first put does.
      if (watcher !== undefined && (await retryOnConnectionLoss(() => this.client.exists(this.path, watcher))) !== null) watcher();
      return [];
    }
  }

  private async takeFrom(items: readonly string[]): Promise<Uint8Array | null> {
    for (const name of items) {
      const path = join(this.path, name);
      try {
        const { data } = await retryOnConnectionLoss(() => this.client.getData(path));
        await this.client.delete(path);
        return data;
      } catch (err) {
        if (!(err instanceof NoNodeError)) throw err; // another consumer took it: try the next
      }
    }
    return null;
  }
}
