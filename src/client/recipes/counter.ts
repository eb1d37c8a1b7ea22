/**
 * A shared counter (Curator's DistributedAtomicLong / SharedCount): a decimal value in one node,
 * changed only by compare-and-set on the node's version, so concurrent increments never lose an
 * update: a setData against a stale version fails with BadVersion and the increment reads again.
 *
 * If the connection is lost while a write is in flight, the write may or may not have happened;
 * the call rejects with ConnectionLossError rather than guess (a retry could count twice).
 */
import type { ZooKeeperClient } from '../client.js';
import { BadVersionError, NodeExistsError, NoNodeError } from '../errors.js';
import { ensurePath, retryOnConnectionLoss } from './internal.js';

/** Compare-and-set rounds one increment may lose to other writers before it gives up. */
export const MAX_CAS_ATTEMPTS = 1_000;

const decoder = new TextDecoder();

export class Counter {
  constructor(
    readonly client: ZooKeeperClient,
    readonly path: string,
    /** The value before the node exists. */
    readonly initial = 0n,
  ) {}

  /** The current value (served by the attached server, as every ZooKeeper read). */
  async get(): Promise<bigint> {
    return (await this.read()).value;
  }

  /** Add `delta` (may be negative); resolves with the new value. */
  async increment(delta = 1n): Promise<bigint> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.read();
      if (await this.write(current.version, current.value + delta)) return current.value + delta;
    }
    throw new Error(`counter ${this.path}: ${MAX_CAS_ATTEMPTS} compare-and-set attempts lost to other writers`);
  }

  /** Set to `next` only if the value is `expected` now; false if it was not. */
  async compareAndSet(expected: bigint, next: bigint): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.read();
      if (current.value !== expected) return false;
      if (await this.write(current.version, next)) return true;
    }
    throw new Error(`counter ${this.path}: ${MAX_CAS_ATTEMPTS} compare-and-set attempts lost to other writers`);
  }

  /** The value and the node's version (-1 when the node does not exist yet). */
  private async read(): Promise<{ value: bigint; version: number }> {
    try {
      const { data, stat } = await retryOnConnectionLoss(() => this.client.getData(this.path));
      return { value: BigInt(decoder.decode(data) || '0'), version: stat.version };
    } catch (err) {
      if (err instanceof NoNodeError) return { value: this.initial, version: -1 };
      throw err;
    }
  }

  /** Write `value` if the node is still at `version`; false if another writer got there first. */
  private async write(version: number, value: bigint): Promise<boolean> {
    try {
      if (version === -1) {
        await ensurePath(this.client, this.path.slice(0, this.path.lastIndexOf('/')) || '/');
        await this.client.create(this.path, value.toString());
      } else {
        await this.client.setData(this.path, value.toString(), version);
      }
      return true;
    } catch (err) {
      if (err instanceof BadVersionError || err instanceof NodeExistsError || err instanceof NoNodeError) return false;
      throw err;
    }
  }
}
