/** Barrier, DoubleBarrier, Queue, Counter and Semaphore against a 3-node ensemble. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnsemble, ZooKeeperClient } from '../../src/client/index.js';
import { Barrier, Counter, DoubleBarrier, Queue, RecipeTimeoutError, Semaphore } from '../../src/client/recipes/index.js';
import type { Lease } from '../../src/client/recipes/index.js';
import { children, connect, range, startEnsemble, text, within } from './helpers.js';

let ensemble: EmbeddedEnsemble;
let clients: ZooKeeperClient[];

beforeAll(async () => {
  ensemble = await startEnsemble();
  clients = await Promise.all(range(5).map((i) => connect(ensemble, { server: 1 + (i % 3) })));
});
afterAll(async () => {
  await ensemble.stop();
});

/** A round trip on each client: a watch set by an earlier request of theirs is in place by then. */
const roundTrips = (cs: readonly ZooKeeperClient[], path: string): Promise<unknown> => Promise.all(cs.map((c) => c.sync(path)));

describe('Barrier', () => {
  it('holds every waiter until removed, then releases them all', async () => {
    const barrier = new Barrier(clients[0]!, '/barriers/b1');
    await barrier.set();
    await barrier.set(); // idempotent
    await roundTrips(clients, '/barriers'); // every waiter's server has seen the barrier
    const passed: number[] = [];
    const waiters = clients.slice(1).map((c, i) => new Barrier(c, '/barriers/b1').wait({ timeoutMs: 10_000 }).then(() => passed.push(i)));
    await roundTrips(clients.slice(1), '/barriers'); // their exists watches are set by now
    expect(passed).toEqual([]);
    await barrier.remove();
    await within(Promise.all(waiters), 'waiters released');
    expect(passed.sort()).toEqual([0, 1, 2, 3]);
    await new Barrier(clients[1]!, '/barriers/b1').wait(); // open: passes at once
    await barrier.set();
    await clients[2]!.sync('/barriers');
    await expect(new Barrier(clients[2]!, '/barriers/b1').wait({ timeoutMs: 100 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    await barrier.remove();
  });
});

describe('DoubleBarrier', () => {
  it('lets nobody in before all have entered, and nobody out before all have left; reusable', async () => {
    for (const round of [1, 2]) {
      const members = clients.slice(0, 3).map((c, i) => new DoubleBarrier(c, '/barriers/double', 3, { memberId: `m${i}` }));
      const inside: number[] = [];
      const entering = members.slice(0, 2).map((m, i) => m.enter({ timeoutMs: 10_000 }).then(() => inside.push(i)));
      await children(clients[0]!, '/barriers/double', (names) => names.length === 2);
      expect(inside).toEqual([]); // no `ready` yet
      await members[2]!.enter({ timeoutMs: 10_000 });
      await within(Promise.all(entering), `round ${round}: all inside`);
      const out: number[] = [];
      const leaving = members.slice(0, 2).map((m, i) => m.leave({ timeoutMs: 10_000 }).then(() => out.push(i)));
      await children(clients[0]!, '/barriers/double', (names) => !names.includes('m1')); // m1 has left, m0 waits on m2
      expect(out).toEqual([]); // m2 is still inside
      await members[2]!.leave({ timeoutMs: 10_000 });
      await within(Promise.all(leaving), `round ${round}: all out`);
      expect(await clients[0]!.getChildren('/barriers/double')).toEqual([]); // `ready` went with the last
    }
  });

  it('a member that times out entering leaves the count', async () => {
    const lonely = new DoubleBarrier(clients[0]!, '/barriers/lonely', 2);
    await expect(lonely.enter({ timeoutMs: 100 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    expect(await clients[0]!.getChildren('/barriers/lonely')).toEqual([]);
  });
});

describe('Queue', () => {
  it('is FIFO across producers on different servers', async () => {
    const queue = new Queue(clients[0]!, '/queues/fifo');
    for (let i = 0; i < 10; i++) await new Queue(clients[i % 3]!, '/queues/fifo').put(`item-${i}`);
    expect(await queue.size()).toBe(10);
    const taken: string[] = [];
    for (let i = 0; i < 10; i++) taken.push(text(await queue.take({ timeoutMs: 5_000 })));
    expect(taken).toEqual(range(10).map((i) => `item-${i}`));
    expect(await queue.poll()).toBeNull();
  });

  it('gives each item to exactly one of several concurrent consumers, each in queue order', async () => {
    const total = 25;
    const producer = new Queue(clients[0]!, '/queues/shared');
    for (let i = 0; i < total; i++) await producer.put(String(i).padStart(3, '0'));
    const perConsumer: string[][] = clients.map(() => []);
    await within(
      Promise.all(
        clients.map(async (client, k) => {
          const queue = new Queue(client, '/queues/shared');
          for (let item = await queue.poll(); item !== null; item = await queue.poll()) perConsumer[k]!.push(text(item));
        }),
      ),
      'consumers drain the queue',
    );
    const all = perConsumer.flat().sort();
    expect(all).toEqual(range(total).map((i) => String(i).padStart(3, '0'))); // none lost, none twice
    for (const items of perConsumer) expect(items).toEqual([...items].sort());
  });

  it('take blocks on an empty queue (even before it exists) until an item is put', async () => {
    const consumer = new Queue(clients[1]!, '/queues/later');
    const taken = consumer.take({ timeoutMs: 10_000 });
    await clients[1]!.sync('/queues');
    await new Queue(clients[2]!, '/queues/later').put('first');
    expect(text(await within(taken, 'take'))).toBe('first');
    await expect(consumer.take({ timeoutMs: 100 })).rejects.toBeInstanceOf(RecipeTimeoutError);
  });
});

describe('Counter', () => {
  it('sums concurrent increments exactly; each increment returns a distinct value', async () => {
    const perClient = 15;
    const returned = await within(
      Promise.all(
        clients.map(async (client) => {
          const counter = new Counter(client, '/counters/hits');
          const values: bigint[] = [];
          for (let i = 0; i < perClient; i++) values.push(await counter.increment());
          return values;
        }),
      ),
      'increments',
    );
    const total = BigInt(clients.length * perClient);
    await clients[3]!.sync('/counters/hits');
    expect(await new Counter(clients[3]!, '/counters/hits').get()).toBe(total);
    expect(new Set(returned.flat()).size).toBe(clients.length * perClient);
    expect(returned.flat().every((v) => v >= 1n && v <= total)).toBe(true);
  });

  it('compareAndSet succeeds only from the expected value; increments take a delta', async () => {
    const counter = new Counter(clients[0]!, '/counters/cas', 10n);
    expect(await counter.get()).toBe(10n);
    expect(await counter.compareAndSet(11n, 20n)).toBe(false);
    expect(await counter.compareAndSet(10n, 20n)).toBe(true);
    expect(await counter.increment(-5n)).toBe(15n);
    expect(await counter.get()).toBe(15n);
  });
});

describe('Semaphore', () => {
  it('never lets more than N holders in at once', async () => {
    const maxLeases = 2;
    let active = 0;
    let maxActive = 0;
    await within(
      Promise.all(
        clients.map(async (client) => {
          const semaphore = new Semaphore(client, '/semaphores/two', maxLeases);
          for (let round = 0; round < 3; round++) {
            const lease = await semaphore.acquire({ timeoutMs: 10_000 });
            maxActive = Math.max(maxActive, ++active);
            await client.getData(lease.path); // round trips while holding
            await client.exists('/semaphores/two');
            active--;
            await lease.release();
          }
        }),
      ),
      'lease holders',
    );
    expect(maxActive).toBeLessThanOrEqual(maxLeases);
    expect(await clients[0]!.getChildren('/semaphores/two/leases')).toEqual([]);
  });

  it('hands out exactly N leases; the next waits until one is released', async () => {
    const held: Lease[] = [];
    for (const c of clients.slice(0, 3)) held.push(await new Semaphore(c, '/semaphores/three', 3).acquire({ timeoutMs: 5_000 }));
    expect(held.every((l) => l.isHeld)).toBe(true);
    const fourth = new Semaphore(clients[3]!, '/semaphores/three', 3);
    await expect(fourth.acquire({ timeoutMs: 100 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    let granted = false;
    const waiting = fourth.acquire({ timeoutMs: 10_000 }).then((lease) => ((granted = true), lease));
    await clients[3]!.sync('/semaphores/three');
    expect(granted).toBe(false);
    await held[1]!.release();
    expect(held[1]!.isHeld).toBe(false);
    const lease = await within(waiting, 'fourth lease');
    expect(lease.fencingToken > held[2]!.fencingToken).toBe(true);
    for (const l of [held[0]!, held[2]!, lease]) await l.release();
  });
});
