/**
 * A counting semaphore: at most `maxLeases` leases held at once across all clients (Curator's
 * InterProcessSemaphoreV2). A lease is an ephemeral sequential node under `<path>/leases`. To add
 * one, a client first takes the mutex `<path>/locks`, so only one waiter at a time watches the
 * lease count: leases may be released in any order, and each release wakes that one waiter, not
 * the herd. The mutex holder creates its lease node and waits on a child watch until at most
 * `maxLeases` lease nodes exist (ours is the newest, so it is among them), then frees the mutex.
 * Every participant must use the same `maxLeases`.
 */
import type { ZooKeeperClient } from '../client.js';
import {
  basename,
  createProtected,
  deadlineOf,
  deleteQuietly,
  join,
  RecipeTimeoutError,
  retryOnConnectionLoss,
  signal,
  waitFor,
  watchUntilDeleted,
} from './internal.js';
import type { WaitOptions } from './internal.js';
import { Lock } from './lock.js';

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
  private readonly mutex: Lock;
  private readonly leasesPath: string;

  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    readonly maxLeases: number,
    private readonly options: { readonly data?: Uint8Array | string } = {},
  ) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1) throw new RangeError(`maxLeases must be a positive integer, got ${maxLeases}`);
    this.mutex = new Lock(client, join(path, 'locks'));
    this.leasesPath = join(path, 'leases');
  }

  /** Wait for a lease (RecipeTimeoutError after `timeoutMs`, SessionExpiredError if the session ends). */
  async acquire(options: WaitOptions = {}): Promise<Lease> {
    const deadline = deadlineOf(options.timeoutMs);
    await this.mutex.acquire(options);
    try {
      const created = await createProtected(this.client, this.leasesPath, LEASE_NODE_PREFIX, this.options.data ?? '', 'ephemeralSequential');
      try {
        if (await this.awaitRoom(basename(created.path), deadline, options.signal)) return this.lease(created.path, created.stat.czxid);
      } catch (err) {
        await deleteQuietly(this.client, created.path).catch(() => undefined);
        throw err;
      }
      await deleteQuietly(this.client, created.path);
      throw new RecipeTimeoutError(`lease ${this.path}`, options.timeoutMs);
    } finally {
      await this.mutex.release();
    }
  }

  /** Wait until at most `maxLeases` lease nodes exist; false on timeout. */
  private async awaitRoom(ours: string, deadline: number | undefined, abort: AbortSignal | undefined): Promise<boolean> {
    for (;;) {
      const changed = signal();
      const leases = await retryOnConnectionLoss(() => this.client.getChildren(this.leasesPath, changed.fire));
      if (!leases.includes(ours)) throw new Error(`semaphore ${this.path}: our lease node ${ours} is gone`);
      if (leases.length <= this.maxLeases) return true;
      if (!(await waitFor(this.client, changed.promise, deadline, abort))) return false;
    }
  }

  private lease(path: string, token: bigint): Lease {
    const client = this.client;
    let held = true;
    void watchUntilDeleted(client, path).then(() => (held = false));
    return {
      path,
      fencingToken: token,
      get isHeld() {
        return held;
      },
      async release() {
        if (!held) return;
        held = false;
        await deleteQuietly(client, path);
      },
    };
  }
}
