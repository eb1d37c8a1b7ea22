/**
 * A double barrier (ZooKeeper's double-barrier recipe, Curator's DistributedDoubleBarrier):
 * `enter` blocks until `participants` members have entered; `leave` blocks until every member has
 * left. Members are ephemeral nodes; the member that completes the count creates a `ready` node,
 * whose creation wakes the others (they set an exists watch on it before joining).
 * Leaving follows the recipe: the lowest member waits for the highest; every other member deletes
 * its node and waits for the lowest; the last member deletes itself and `ready` in one multi, so
 * the barrier is reusable as soon as the last member is out.
 */
import { randomUUID } from 'node:crypto';
import type { ZooKeeperClient } from '../client.js';
import { op } from '../client.js';
import { MultiError } from '../client.js';
import { NodeExistsError } from '../errors.js';
import { deadlineOf, deleteQuietly, ensurePath, join, RecipeTimeoutError, retryOnConnectionLoss, signal, waitFor } from './internal.js';
import type { WaitOptions } from './internal.js';

export const READY_NODE = 'ready';

export class DoubleBarrier {
  private readonly memberName: string;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    readonly participants: number,
    options: { readonly memberId?: string } = {},
  ) {
    if (!Number.isInteger(participants) || participants < 1) throw new RangeError(`participants must be a positive integer, got ${participants}`);
    this.memberName = options.memberId ?? randomUUID();
    if (this.memberName === READY_NODE || this.memberName.includes('/')) throw new RangeError(`bad member id ${this.memberName}`);
  }

  private get memberPath(): string {
    return join(this.path, this.memberName);
  }

  /** Join, and wait until `participants` members have joined (RecipeTimeoutError: we leave again). */
  async enter(options: WaitOptions = {}): Promise<void> {
    const deadline = deadlineOf(options.timeoutMs);
    const ready = signal();
    const readyPath = join(this.path, READY_NODE);
    const wasReady = (await retryOnConnectionLoss(() => this.client.exists(readyPath, ready.fire))) !== null;
    await ensurePath(this.client, this.path);
    try {
      await retryOnConnectionLoss(() => this.client.create(this.memberPath, '', { mode: 'ephemeral' }));
    } catch (err) {
      // Ours already if an earlier create's response was lost; anyone else's is a duplicate id.
      const stat = err instanceof NodeExistsError ? await this.client.exists(this.memberPath) : null;
      if (stat === null || stat.ephemeralOwner !== this.client.sessionId) throw err;
    }
    if (wasReady) return;
    const members = (await retryOnConnectionLoss(() => this.client.getChildren(this.path))).filter((n) => n !== READY_NODE);
    if (members.length >= this.participants) {
      try {
        await retryOnConnectionLoss(() => this.client.create(readyPath));
      } catch (err) {
        if (!(err instanceof NodeExistsError)) throw err;
      }
      return;
    }
    if (!(await waitFor(this.client, ready.promise, deadline, options.signal))) {
      await deleteQuietly(this.client, this.memberPath);
      throw new RecipeTimeoutError(`enter ${this.path}`, options.timeoutMs);
    }
  }

  /** Leave, and wait until every member has left. */
  async leave(options: WaitOptions = {}): Promise<void> {
    const deadline = deadlineOf(options.timeoutMs);
    for (;;) {
      const members = (await retryOnConnectionLoss(() => this.client.getChildren(this.path))).filter((n) => n !== READY_NODE).sort();
      if (members.length === 0) return;
      const inside = members.includes(this.memberName);
      if (inside && members.length === 1) return this.leaveLast();
      let watched = members[0]!;
      if (inside && this.memberName === watched) watched = members[members.length - 1]!;
      else if (inside) await deleteQuietly(this.client, this.memberPath);
      const changed = signal();
      if ((await retryOnConnectionLoss(() => this.client.exists(join(this.path, watched), changed.fire))) === null) continue;
      if (!(await waitFor(this.client, changed.promise, deadline, options.signal))) throw new RecipeTimeoutError(`leave ${this.path}`, options.timeoutMs);
    }
  }

  private async leaveLast(): Promise<void> {
    try {
      await retryOnConnectionLoss(() => this.client.multi([op.delete(this.memberPath), op.delete(join(this.path, READY_NODE))]));
    } catch (err) {
      if (!(err instanceof MultiError)) throw err;
      await deleteQuietly(this.client, this.memberPath); // `ready` was gone already
    }
  }
}
