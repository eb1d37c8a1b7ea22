/**
 * A barrier (ZooKeeper's barrier recipe, Curator's DistributedBarrier): while the barrier node
 * exists, `wait` blocks; removing it releases every waiter at once (each holds an exists watch).
 */
import type { ZooKeeperClient } from '../client.js';
import { NodeExistsError } from '../errors.js';
import { deadlineOf, deleteQuietly, ensurePath, RecipeTimeoutError, retryOnConnectionLoss, signal, waitFor } from './internal.js';
import type { WaitOptions } from './internal.js';

export class Barrier {
  constructor(
    readonly client: ZooKeeperClient,
    /** The barrier node: present = closed. */
    readonly path: string,
  ) {}

  /** Close the barrier (create its node; already closed is fine). */
  async set(): Promise<void> {
    await ensurePath(this.client, this.path.slice(0, this.path.lastIndexOf('/')) || '/');
    try {
      await retryOnConnectionLoss(() => this.client.create(this.path));
    } catch (err) {
      if (!(err instanceof NodeExistsError)) throw err;
    }
  }

  /** Open the barrier: every waiter is released. */
  async remove(): Promise<void> {
    await deleteQuietly(this.client, this.path);
  }

  /** Resolve once the barrier is open (RecipeTimeoutError after `timeoutMs`). */
  async wait(options: WaitOptions = {}): Promise<void> {
    const deadline = deadlineOf(options.timeoutMs);
    for (;;) {
      const changed = signal();
      if ((await retryOnConnectionLoss(() => this.client.exists(this.path, changed.fire))) === null) return;
      if (!(await waitFor(this.client, changed.promise, deadline, options.signal))) throw new RecipeTimeoutError(`barrier ${this.path}`, options.timeoutMs);
    }
  }
}
