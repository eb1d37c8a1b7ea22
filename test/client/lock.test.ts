/** Lock and ReadWriteLock against a 3-node ensemble. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EmbeddedEnsemble, ZooKeeperClient } from '../../src/client/index.js';
import { Lock, ReadWriteLock, RecipeTimeoutError } from '../../src/client/recipes/index.js';
import type { LockLossReason } from '../../src/client/recipes/index.js';
import { children, connect, expireByPartition, followerId, range, sessionEnded, startEnsemble, within } from './helpers.js';

let ensemble: EmbeddedEnsemble;
let clients: ZooKeeperClient[];

beforeAll(async () => {
  ensemble = await startEnsemble();
  // Spread over the three servers, so contenders see the tree through different replicas.
  clients = await Promise.all(range(6).map((i) => connect(ensemble, { server: 1 + (i % 3) })));
});
afterAll(async () => {
  await ensemble.stop();
});

/** Resolve once `path` has at least `n` children. */
const childrenCount = (client: ZooKeeperClient, path: string, n: number): Promise<void> => children(client, path, (names) => names.length >= n);

describe('Lock', () => {
  it('never has two holders; fencing tokens strictly increase in acquisition order', async () => {
    let clock = 0;
    const intervals: { enter: number; exit: number }[] = [];
    const tokens: bigint[] = [];
    await within(
      Promise.all(
        clients.map(async (client) => {
          const lock = new Lock(client, '/mutex');
          for (let round = 0; round < 3; round++) {
            const { fencingToken } = await lock.acquire({ timeoutMs: 10_000 });
            const enter = ++clock;
            tokens.push(fencingToken);
            expect(lock.fencingToken).toBe(fencingToken);
            // Round trips while holding give a wrongly admitted contender time to enter too.
            await client.getData('/mutex');
            await client.exists(lock.nodePath!);
            intervals.push({ enter, exit: ++clock });
            await lock.release();
          }
        }),
      ),
      'contenders',
    );
    expect(intervals).toHaveLength(18);
    const sorted = [...intervals].sort((x, y) => x.enter - y.enter);
    // Disjoint: each holder exits before the next one enters.
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.enter).toBe(sorted[i - 1]!.exit + 1);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
    expect(await clients[0]!.getChildren('/mutex')).toEqual([]);
  });

  it('wakes only the next waiter on release (no herd)', async () => {
    const holder = new Lock(clients[0]!, '/herd');
    await holder.acquire();
    const waiters = clients.slice(1);
    const reads = waiters.map((c) => vi.spyOn(c, 'getChildren'));
    const order: number[] = [];
    const done = waiters.map(async (client, i) => {
      const lock = new Lock(client, '/herd');
      await lock.acquire({ timeoutMs: 10_000 });
      order.push(i);
      await lock.release();
    });
    await childrenCount(clients[0]!, '/herd', 1 + waiters.length);
    await holder.release();
    await within(Promise.all(done), 'waiters');
    // Each waiter read the children when it queued and once when its predecessor left: a
    // release that woke every waiter would have made each of them read again, and again.
    for (const spy of reads) {
      expect(spy.mock.calls.filter(([path]) => path === '/herd').length).toBeLessThanOrEqual(2);
      spy.mockRestore();
    }
    expect(order).toHaveLength(waiters.length);
  });

  it('is reentrant for the same instance: one token, released once per acquire', async () => {
    const lock = new Lock(clients[0]!, '/reentrant');
    const first = await lock.acquire();
    const [second, third] = await Promise.all([lock.acquire(), lock.acquire()]);
    expect(second.fencingToken).toBe(first.fencingToken);
    expect(third.fencingToken).toBe(first.fencingToken);
    const other = new Lock(clients[1]!, '/reentrant');
    let otherHolds = false;
    const otherDone = other.acquire().then(() => (otherHolds = true));
    await childrenCount(clients[1]!, '/reentrant', 2);
    const node = lock.nodePath!;
    await lock.release();
    await lock.release();
    // Still held: the node is there, so the other contender cannot be through.
    expect(lock.isHeld).toBe(true);
    expect(await clients[0]!.exists(node)).not.toBeNull();
    expect(otherHolds).toBe(false);
    await lock.release();
    expect(lock.isHeld).toBe(false);
    await within(otherDone, 'other contender');
    expect(other.fencingToken! > first.fencingToken).toBe(true);
    await other.release();
    await expect(lock.release()).rejects.toThrow(/not held/);
  });

  it('times out: RecipeTimeoutError, and the waiter leaves the queue', async () => {
    const holder = new Lock(clients[0]!, '/timeout');
    await holder.acquire();
    const waiter = new Lock(clients[1]!, '/timeout');
    await expect(waiter.acquire({ timeoutMs: 150 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    expect(waiter.isHeld).toBe(false);
    expect(await clients[1]!.getChildren('/timeout')).toHaveLength(1);
    const aborted = new AbortController();
    const pending = waiter.acquire({ signal: aborted.signal });
    aborted.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
    await holder.release();
  });

  it('a holder whose client closes loses the lock; the next contender gets a larger token', async () => {
    const own = await connect(ensemble);
    const losses: LockLossReason[] = [];
    let onLost = (): void => undefined;
    const lost = new Promise<void>((resolve) => (onLost = resolve));
    const lock = new Lock(own, '/closing', { onLost: (reason) => (losses.push(reason), onLost()) });
    const { fencingToken } = await lock.acquire();
    const next = new Lock(clients[2]!, '/closing');
    const nextGrant = next.acquire({ timeoutMs: 10_000 });
    await childrenCount(clients[2]!, '/closing', 2);
    await own.close();
    expect(lock.isHeld).toBe(false);
    await within(lost, 'loss');
    expect(losses).toEqual(['closed']);
    expect(lock.fencingToken).toBeUndefined();
    await lock.release(); // already lost: quietly done
    expect((await within(nextGrant, 'next holder')).fencingToken > fencingToken).toBe(true);
    await next.release();
  });

  // On a follower, and on the leader (which decides the expiry).
  it.each(['follower', 'leader'] as const)('a holder on a %s whose session expires loses the lock; the next contender gets a larger token', async (where) => {
    const server = where === 'leader' ? ensemble.leader()!.id : followerId(ensemble);
    const holder = await connect(ensemble, { sessionTimeoutMs: 400, server });
    let onLost = (_reason: LockLossReason): void => undefined;
    const lost = new Promise<LockLossReason>((resolve) => (onLost = resolve));
    const lock = new Lock(holder, `/expiring-${where}`, { onLost: (reason) => onLost(reason) });
    const { fencingToken } = await lock.acquire();
    const next = new Lock(clients[1]!, `/expiring-${where}`);
    const nextGrant = next.acquire({ timeoutMs: 10_000 });
    await childrenCount(clients[1]!, `/expiring-${where}`, 2);
    await expireByPartition(ensemble, holder);
    expect(await within(lost, 'loss')).toBe('expired');
    expect(lock.isHeld).toBe(false);
    const grant = await within(nextGrant, 'next holder');
    expect(grant.fencingToken > fencingToken).toBe(true);
    expect(sessionEnded(ensemble, holder.sessionId, grant.fencingToken)).toBe(true);
    await next.release();
  });
});

describe('ReadWriteLock', () => {
  it('readers share, a writer excludes, and a writer queued before a reader goes first', async () => {
    const [r1, r2, w, r3] = [0, 1, 2, 3].map((i) => new ReadWriteLock(clients[i]!, '/rw'));
    await r1!.readLock.acquire();
    await r2!.readLock.acquire(); // shared with r1
    let writerHolds = false;
    const writer = w!.writeLock.acquire({ timeoutMs: 10_000 }).then(() => (writerHolds = true));
    await childrenCount(clients[0]!, '/rw', 3);
    let lateReaderHolds = false;
    const lateReader = r3!.readLock.acquire({ timeoutMs: 10_000 }).then(() => (lateReaderHolds = true));
    await childrenCount(clients[0]!, '/rw', 4);
    await r1!.readLock.release();
    await clients[2]!.sync('/rw');
    expect(writerHolds).toBe(false); // r2 still reads
    await r2!.readLock.release();
    await within(writer, 'writer');
    await clients[3]!.sync('/rw');
    expect(lateReaderHolds).toBe(false); // queued behind the writer
    await w!.writeLock.release();
    await within(lateReader, 'late reader');
    await r3!.readLock.release();
  });

  it('the write holder may also take the read lock (downgrade)', async () => {
    const rw = new ReadWriteLock(clients[0]!, '/downgrade');
    await rw.writeLock.acquire();
    await rw.readLock.acquire({ timeoutMs: 5_000 });
    await rw.writeLock.release();
    expect(rw.readLock.isHeld).toBe(true);
    const writer = new ReadWriteLock(clients[1]!, '/downgrade').writeLock;
    await expect(writer.acquire({ timeoutMs: 100 })).rejects.toBeInstanceOf(RecipeTimeoutError);
    await rw.readLock.release();
    await writer.acquire({ timeoutMs: 5_000 });
    await writer.release();
  });
});

describe('Lock against a crashing server', () => {
  it('keeps mutual exclusion while contenders move off a crashed server', async () => {
    const own = await startEnsemble();
    try {
      const crashed = followerId(own);
      const contenders = await Promise.all(range(4).map((i) => connect(own, { server: i < 2 ? crashed : own.leader()!.id })));
      let active = 0;
      let maxActive = 0;
      let grants = 0;
      const tokens: bigint[] = [];
      await within(
        Promise.all(
          contenders.map(async (client) => {
            const lock = new Lock(client, '/crash-mutex');
            for (let round = 0; round < 4; round++) {
              const { fencingToken } = await lock.acquire({ timeoutMs: 10_000 });
              maxActive = Math.max(maxActive, ++active);
              tokens.push(fencingToken);
              if (++grants === 3) own.crash(crashed); // while held, with others queued
              await client.getData('/crash-mutex');
              active--;
              await lock.release();
            }
          }),
        ),
        'contenders',
      );
      expect(maxActive).toBe(1);
      expect(tokens).toHaveLength(16);
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
      expect(contenders.every((c) => c.state === 'connected' && c.serverId !== crashed)).toBe(true);
      // Another client's last release may not have reached this reader's server yet: ZooKeeper
      // reads are only as fresh as a sync makes them.
      await contenders[0]!.sync('/crash-mutex');
      expect(await contenders[0]!.getChildren('/crash-mutex')).toEqual([]);
    } finally {
      await own.stop();
    }
  });
});
