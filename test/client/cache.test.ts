/** NodeCache, TreeCache and GroupMembership against a 3-node ensemble. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { NoNodeError, NodeExistsError, NotEmptyError } from '../../src/client/index.js';
import type { EmbeddedEnsemble, ZooKeeperClient } from '../../src/client/index.js';
import { GroupMembership, NodeCache, TreeCache } from '../../src/client/recipes/index.js';
import { condition, connect, followerId, range, reachState, startEnsemble, text } from './helpers.js';

let ensemble: EmbeddedEnsemble;
let clients: ZooKeeperClient[];

beforeAll(async () => {
  ensemble = await startEnsemble();
  clients = await Promise.all(range(3).map((i) => connect(ensemble, { server: 1 + i })));
});
afterAll(async () => {
  await ensemble.stop();
});

/** The subtree under `root` as path → data, read through `client` after a sync. */
async function snapshot(client: ZooKeeperClient, root: string): Promise<Map<string, string>> {
  await client.sync(root);
  const out = new Map<string, string>();
  const walk = async (path: string): Promise<void> => {
    try {
      out.set(path, text((await client.getData(path)).data));
      for (const child of await client.getChildren(path)) await walk(`${path}/${child}`);
    } catch (err) {
      if (!(err instanceof NoNodeError)) throw err;
    }
  };
  await walk(root);
  return out;
}

const cached = (cache: TreeCache): Map<string, string> => new Map(cache.paths().map((p) => [p, text(cache.get(p)!.data)]));

/** Resolve once the cache holds exactly `expected` (re-checked on every cache event). */
const converged = (cache: TreeCache, expected: Map<string, string>): Promise<void> =>
  condition(
    () => JSON.stringify([...cached(cache)].sort()) === JSON.stringify([...expected].sort()),
    (wake) => cache.onChange(wake),
    `tree cache of ${cache.root} converges`,
  );

/** A burst of random writes under `root`: creates, data changes and deletes, at depth 1 and 2. */
async function burst(client: ZooKeeperClient, root: string, seed: number, writes: number): Promise<void> {
  const ops = fc.sample(fc.tuple(fc.constantFrom('create', 'set', 'delete'), fc.constantFrom('a', 'b', 'c'), fc.constantFrom('', '/x', '/y'), fc.nat(99)), { seed, numRuns: writes });
  for (const [kind, top, sub, value] of ops) {
    const path = `${root}/${top}${sub}`;
    try {
      if (kind === 'create') await client.create(path, String(value));
      else if (kind === 'set') await client.setData(path, String(value));
      else await client.delete(path);
    } catch (err) {
      // Random ops on a shared subtree: absent parents, existing names and non-empty nodes are expected.
      if (!(err instanceof NoNodeError || err instanceof NodeExistsError || err instanceof NotEmptyError)) throw err;
    }
  }
}

describe('NodeCache', () => {
  it('follows a node through creation, a burst of writes and deletion', async () => {
    const cache = new NodeCache(clients[1]!, '/config/app');
    const versions: number[] = [];
    cache.onChange((node) => versions.push(node === null ? -1 : node.stat.version));
    await cache.start();
    expect(cache.current).toBeNull();
    const writer = clients[0]!;
    await writer.create('/config');
    await writer.create('/config/app', 'v0');
    for (let i = 1; i <= 20; i++) await writer.setData('/config/app', `v${i}`);
    const hasData = (value: string) => () => cache.current !== null && text(cache.current.data) === value;
    await condition(hasData('v20'), (wake) => cache.onChange(wake), 'node cache sees v20');
    expect(cache.current!.stat.version).toBe(20);
    // One-shot watches coalesce changes; what is seen only moves forward.
    for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThan(versions[i - 1]!);
    await writer.delete('/config/app');
    await condition(() => cache.current === null, (wake) => cache.onChange(wake), 'node cache sees the deletion');
    await writer.create('/config/app', 'again');
    await condition(hasData('again'), (wake) => cache.onChange(wake), 'node cache sees the re-creation');
    cache.close();
  });
});

describe('TreeCache', () => {
  it('loads a subtree, then converges after a burst of writes from several clients', async () => {
    await clients[0]!.create('/tree');
    await clients[0]!.create('/tree/a', 'initial');
    await clients[0]!.create('/tree/a/x', 'nested');
    const cache = new TreeCache(clients[2]!, '/tree');
    await cache.start();
    // start() reflects what the cache's server had applied; the rest arrives as watch events.
    await converged(cache, await snapshot(clients[2]!, '/tree'));
    expect(cache.childrenOf('/tree')).toEqual(['a']);
    await Promise.all(clients.map((c, i) => burst(c, '/tree', 100 + i, 40)));
    await converged(cache, await snapshot(clients[2]!, '/tree'));
    await cache.close();
  });

  it('reads the whole subtree again after its client moves (a persistent watch does not replay)', async () => {
    const own = await startEnsemble();
    try {
      const mover = await connect(own, { server: followerId(own) });
      const writer = await connect(own, { server: own.leader()!.id });
      await writer.create('/moving-tree');
      await burst(writer, '/moving-tree', 7, 30);
      const cache = new TreeCache(mover, '/moving-tree');
      await cache.start();
      await converged(cache, await snapshot(writer, '/moving-tree'));
      const reads = vi.spyOn(mover, 'getData');
      const writes = burst(writer, '/moving-tree', 8, 30); // under way while the cache's client moves
      own.crash(mover.serverId!);
      await reachState(mover, 'connected');
      await writes;
      await converged(cache, await snapshot(writer, '/moving-tree'));
      const reread = new Set(reads.mock.calls.map(([path]) => path));
      for (const path of cache.paths()) expect(reread.has(path)).toBe(true);
      reads.mockRestore();
      await cache.close();
    } finally {
      await own.stop();
    }
  });
});

describe('GroupMembership', () => {
  it('every member sees joins and leaves, including a member whose client closes', async () => {
    const own = await Promise.all(range(3).map((i) => connect(ensemble, { server: 1 + i })));
    const members = own.map((c, i) => new GroupMembership(c, '/group', `m${i}`, { data: `data-${i}` }));
    await Promise.all(members.map((m) => m.join()));
    const sees = (m: GroupMembership, ids: string[]): Promise<void> =>
      condition(() => [...m.members().keys()].sort().join() === ids.join(), (wake) => m.onChange(wake), `${m.memberId} sees ${ids.join()}`);
    await Promise.all(members.map((m) => sees(m, ['m0', 'm1', 'm2'])));
    expect(text(members[0]!.members().get('m2')!)).toBe('data-2');
    await members[1]!.leave();
    await Promise.all([sees(members[0]!, ['m0', 'm2']), sees(members[2]!, ['m0', 'm2'])]);
    await own[2]!.close(); // its ephemeral member node goes with the session
    await sees(members[0]!, ['m0']);
    await expect(new GroupMembership(clients[0]!, '/group', 'm0').join()).rejects.toBeInstanceOf(NodeExistsError);
    await members[0]!.leave();
    await Promise.all(own.slice(0, 2).map((c) => c.close()));
  });
});
