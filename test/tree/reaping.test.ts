import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, EventType } from '../../src/protocol/zookeeper.js';
import { Harness } from './harness.js';

describe('container nodes', () => {
  it('become candidates only once they have had a child and have none left', () => {
    const h = new Harness();
    h.create('/c', { mode: CreateMode.CONTAINER });
    expect(h.tree.containerCandidates()).toEqual([]);
    h.create('/c/x');
    expect(h.tree.containerCandidates()).toEqual([]);
    h.delete('/c/x');
    expect(h.tree.containerCandidates()).toEqual(['/c']);
  });

  it('are removed by reapExpired with the usual triggers', () => {
    const h = new Harness();
    h.create('/c', { mode: CreateMode.CONTAINER });
    h.create('/c/x');
    h.delete('/c/x');
    const r = h.apply({ type: 'reapExpired', paths: ['/c'] });
    expect(r).toMatchObject({
      err: ErrorCode.OK,
      deleted: ['/c'],
      triggers: [{ path: '/c', type: EventType.NodeDeleted }, { path: '/', type: EventType.NodeChildrenChanged }],
    });
    expect(h.tree.exists('/c')).toBeNull();
    expect(h.tree.containerCandidates()).toEqual([]);
  });

  it('survive reapExpired when a child came back since the leader looked', () => {
    const h = new Harness();
    h.create('/c', { mode: CreateMode.CONTAINER });
    h.create('/c/x');
    h.delete('/c/x');
    const candidates = h.tree.containerCandidates();
    h.create('/c/y');
    expect(h.apply({ type: 'reapExpired', paths: candidates })).toMatchObject({ deleted: [], triggers: [] });
    expect(h.tree.exists('/c')).not.toBeNull();
  });

  it('are never reaped when fresh, and reapExpired ignores plain, missing and repeated paths', () => {
    const h = new Harness();
    h.create('/fresh', { mode: CreateMode.CONTAINER });
    h.create('/plain');
    h.create('/c', { mode: CreateMode.CONTAINER });
    h.create('/c/x');
    h.delete('/c/x');
    const r = h.apply({ type: 'reapExpired', paths: ['/fresh', '/plain', '/missing', '/c', '/c'] });
    expect(r.deleted).toEqual(['/c']);
    expect(h.tree.exists('/fresh')).not.toBeNull();
    expect(h.tree.exists('/plain')).not.toBeNull();
  });
});

describe('TTL nodes', () => {
  it('expire when unmodified for longer than their TTL and childless', () => {
    const h = new Harness();
    h.create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 100 });
    const mtime = h.timeMs;
    expect(h.tree.expiredTtlNodes(mtime + 100)).toEqual([]);
    expect(h.tree.expiredTtlNodes(mtime + 101)).toEqual(['/t']);
    h.create('/t/child');
    expect(h.tree.expiredTtlNodes(mtime + 1000)).toEqual([]);
  });

  it('are kept alive by setData', () => {
    const h = new Harness();
    const path = h.create('/t', { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttlMs: 100 }).path ?? '';
    h.setData(path, 'x');
    expect(h.tree.expiredTtlNodes(h.timeMs + 50)).toEqual([]);
    expect(h.tree.expiredTtlNodes(h.timeMs + 101)).toEqual([path]);
  });

  it('are reaped only if still expired at the time of the reapExpired entry', () => {
    const h = new Harness();
    h.create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 100 });
    const expired = h.tree.expiredTtlNodes(h.timeMs + 500);
    h.setData('/t', 'touch');
    expect(h.apply({ type: 'reapExpired', paths: expired }, 10).deleted).toEqual([]);
    expect(h.apply({ type: 'reapExpired', paths: expired }, 200).deleted).toEqual(['/t']);
    expect(h.tree.expiredTtlNodes(h.timeMs + 10_000)).toEqual([]);
  });
});
