/**
 * A counting semaphore: at most `maxLeases` leases held at once across all clients (Curator's
 * LockInternals with maxLeases, which its InterProcessSemaphore builds on). A lease is an
 * ephemeral sequential node; the first `maxLeases` nodes hold, and a waiter watches the node
 * `maxLeases` places ahead of its own, so each release wakes at most one waiter. Nodes are only
 * ever added behind a waiter, so once among the first `maxLeases` a lease stays there.
 * Every participant must use the same `maxLeases`.
 */
import type { ZooKeeperClient } from '../client.js';
import { deleteQuietly } from './internal.js';
import type { WaitOptions } from './internal.js';
import { firstN, takeTurn } from './turn.js';

export const LEASE_NODE_PREFIX = 'lease-';

export interface Lease {
  /** The lease's node. */
  readonly path: string;
  /** The node's czxid (grows with every later lease). */
  readonly fencingToken: bigint;
  /** False once released, or once the node is gone (session ended). */
  readonly isHeld: boolean;
  release(): Promise<void>;
}

export class Semaphore {
  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    readonly maxLeases: number,
    private readonly options: { readonly data?: Uint8Array | string } = {},
  ) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1) throw new RangeError(`maxLeases must be a positive integer, got ${maxLeases}`);
  }

  /** Wait for a lease (RecipeTimeoutError after `timeoutMs`, SessionExpiredError if the session ends). */
  async acquire(options: WaitOptions = {}): Promise<Lease> {
    const turn = await takeTurn(this.client, this.path, LEASE_NODE_PREFIX, firstN(this.maxLeases), this.options.data ?? '', options, `lease ${this.path}`);
    const client = this.client;
    let held = true;
    void turn.gone.then(() => (held = false));
    return {
      path: turn.path,
      fencingToken: turn.token,
      get isHeld() {
        return held;
      },
      async release() {
        if (!held) return;
        held = false;
        await deleteQuietly(client, turn.path);
      },
    };
  }
}
