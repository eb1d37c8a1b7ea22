import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode } from '../../src/protocol/zookeeper.js';
import { Harness, S1 } from './harness.js';

describe('Stat bookkeeping', () => {
  it('moves the parent pzxid and cversion on child create, not its mzxid or version', () => {
    const h = new Harness();
    const parent = h.create('/p', { data: 'd' }).stat;
    h.create('/p/a');
    const createZxid = h.zxid;
    expect(h.tree.exists('/p')).toEqual({ ...parent, pzxid: createZxid, cversion: 1, numChildren: 1 });
  });

  it('counts a delete in the visible cversion (2 x creations - children) and moves pzxid', () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/a');
    h.create('/p/b');
    h.delete('/p/a');
    expect(h.tree.exists('/p')).toMatchObject({ cversion: 3, numChildren: 1, pzxid: h.zxid });
    h.delete('/p/b');
    expect(h.tree.exists('/p')).toMatchObject({ cversion: 4, numChildren: 0, pzxid: h.zxid });
    h.create('/p/c');
    expect(h.tree.exists('/p')).toMatchObject({ cversion: 5, numChildren: 1, pzxid: h.zxid });
  });

  it('leaves the parent untouched by data and ACL changes of a child', () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/a');
    const before = h.tree.exists('/p');
    h.setData('/p/a', 'new');
    h.setAcl('/p/a', [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);
    expect(h.tree.exists('/p')).toEqual(before);
  });

  it('tracks version, aversion, dataLength, ctime and mtime on the node itself', () => {
    const h = new Harness();
    const created = h.create('/n', { data: 'abc' }).stat;
    h.setData('/n', 'abcdef', 0);
    const setTime = h.timeMs;
    const setZxid = h.zxid;
    h.setAcl('/n', [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }], 0);
    expect(h.tree.exists('/n')).toEqual({
      ...created, version: 1, aversion: 1, dataLength: 6, mtime: setTime, mzxid: setZxid,
    });
  });

  it('shows the owner of an ephemeral and 0 for containers and TTL nodes', () => {
    const h = new Harness();
    expect(h.create('/e', { mode: CreateMode.EPHEMERAL }).stat?.ephemeralOwner).toBe(S1);
    expect(h.create('/c', { mode: CreateMode.CONTAINER }).stat?.ephemeralOwner).toBe(0n);
    expect(h.create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 100 }).stat?.ephemeralOwner).toBe(0n);
    expect(h.create('/p').stat?.ephemeralOwner).toBe(0n);
  });

  it('does not change any Stat when an op fails', () => {
    const h = new Harness();
    h.create('/p');
    const before = h.tree.digest();
    expect(h.create('/p').err).toBe(ErrorCode.NODEEXISTS);
    const other = new Harness();
    other.create('/p');
    other.apply({ type: 'noop' });
    expect(h.tree.digest()).toBe(other.tree.digest());
    expect(before).not.toBe(h.tree.digest()); // the digest covers lastZxid, which did move
  });
});
