/**
 * Quota stats (src/tree/quota.ts): what ZooKeeper's DataTree keeps in `/zookeeper/quota<path>/
 * zookeeper_stats` once setquota created the limits and stats nodes. The zkCli differential test
 * (test/compat/zkcli.test.ts) compares the same with a real ZooKeeper; these check the corners.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/zookeeper.js';
import { DataTree } from '../../src/tree/tree.js';
import { Harness, S2, text } from './harness.js';

/** What setquota creates for `path` (the client creates these nodes itself). */
function setQuota(h: Harness, path: string, limits = 'count=10,bytes=-1'): void {
  let at = '/zookeeper/quota';
  for (const part of path.split('/').filter((p) => p !== '')) {
    at += `/${part}`;
    h.create(at);
  }
  h.create(`${at}/zookeeper_limits`, { data: limits });
  h.create(`${at}/zookeeper_stats`, { data: 'count=0,bytes=0' });
}

function stats(tree: DataTree, path: string): string {
  const r = tree.getData(`/zookeeper/quota${path}/zookeeper_stats`, []);
  return r.err === ErrorCode.OK ? text(r.data) : `err ${r.err}`;
}

describe('quota stats', () => {
  it('count the subtree when the stats node is created, then follow creates, setData and deletes, innermost quota first', () => {
    const h = new Harness();
    h.create('/app', { data: 'ab' });
    h.create('/app/x', { data: 'xyz' });
    setQuota(h, '/app');
    expect(stats(h.tree, '/app')).toBe('count=2,bytes=5');
    h.create('/app/y', { data: '1234' });
    h.setData('/app/x', 'x');
    expect(stats(h.tree, '/app')).toBe('count=3,bytes=7');
    h.create('/app/inner');
    setQuota(h, '/app/inner');
    h.create('/app/inner/z', { data: '12' });
    // Only the innermost quota counts a node.
    expect(stats(h.tree, '/app')).toBe('count=4,bytes=7');
    expect(stats(h.tree, '/app/inner')).toBe('count=2,bytes=2');
    h.delete('/app/y');
    expect(stats(h.tree, '/app')).toBe('count=3,bytes=3');
    // Without its limits node a quota is gone: changes count for the next quota up.
    h.delete('/zookeeper/quota/app/inner/zookeeper_limits');
    h.create('/app/inner/w', { data: 'w' });
    expect(stats(h.tree, '/app')).toBe('count=4,bytes=4');
    expect(stats(h.tree, '/app/inner')).toBe('count=2,bytes=2');
  });

  it('change only the stats data: version, mzxid and watches stay, and a failed multi leaves them', () => {
    const h = new Harness();
    h.create('/app');
    setQuota(h, '/app');
    const before = h.tree.exists('/zookeeper/quota/app/zookeeper_stats');
    const created = h.create('/app/a', { data: 'abc' });
    expect(created.triggers.map((t) => t.path)).toEqual(['/app/a', '/app']);
    const after = h.tree.exists('/zookeeper/quota/app/zookeeper_stats');
    expect(after?.version).toBe(before?.version);
    expect(after?.mzxid).toBe(before?.mzxid);
    expect(stats(h.tree, '/app')).toBe('count=2,bytes=3');
    const failed = h.multi([
      { type: 'create', path: '/app/b', data: new Uint8Array(5), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], mode: 0 },
      { type: 'check', path: '/app/a', version: 7 },
    ]);
    expect(failed.err).toBe(ErrorCode.BADVERSION);
    expect(stats(h.tree, '/app')).toBe('count=2,bytes=3');
    h.tree.checkInvariants();
  });

  it('count an ephemeral out when its session closes, and survive a snapshot', () => {
    const h = new Harness();
    h.create('/app');
    setQuota(h, '/app');
    h.create('/app/e', { data: 'eph', mode: 1, sessionId: S2 });
    expect(stats(h.tree, '/app')).toBe('count=2,bytes=3');
    const copy = DataTree.deserialize(h.tree.serialize());
    h.closeSession(S2);
    expect(stats(h.tree, '/app')).toBe('count=1,bytes=0');
    // The restored tree knows the quota (rebuilt from the limits node), as ZooKeeper's setupQuota.
    copy.apply({ type: 'closeSession', sessionId: S2 }, { zxid: h.zxid, timeMs: h.timeMs });
    expect(stats(copy, '/app')).toBe('count=1,bytes=0');
  });

  it('with enforcement: hard limits refuse, soft ones do not, and a multi is checked against the stats before it', () => {
    const h = new Harness({ enforceQuota: true });
    h.create('/m');
    setQuota(h, '/m', 'count=1,bytes=-1=;byteHardLimit=-1;countHardLimit=3');
    expect(stats(h.tree, '/m')).toBe('count=1,bytes=0');
    // Three creates that each fit pass together, as ZooKeeper 3.8 does (checked by hand with its Java
    // client and -Dzookeeper.enforceQuota=true: multi OK, count=4, the next create QUOTAEXCEEDED).
    const open = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
    const multi = h.multi(['/m/a', '/m/b', '/m/c'].map((path) => ({ type: 'create' as const, path, data: new Uint8Array(0), acl: open, mode: 0 })));
    expect(multi.err).toBe(ErrorCode.OK);
    expect(stats(h.tree, '/m')).toBe('count=4,bytes=0');
    expect(h.create('/m/d').err).toBe(ErrorCode.QUOTAEXCEEDED);
    // The soft count (1) refuses nothing; a byte hard limit refuses a setData past it, before the version check.
    h.setData('/zookeeper/quota/m/zookeeper_limits', 'count=1,bytes=-1=;byteHardLimit=4;countHardLimit=-1');
    expect(h.create('/m/e', { data: '1234' }).err).toBe(ErrorCode.OK);
    expect(h.setData('/m/e', '12345', 99).err).toBe(ErrorCode.QUOTAEXCEEDED);
    expect(h.setData('/m/e', '123', 99).err).toBe(ErrorCode.BADVERSION);
    // Without enforcement the same writes pass.
    const free = new Harness();
    free.create('/m');
    setQuota(free, '/m', 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1');
    expect(free.create('/m/a').err).toBe(ErrorCode.OK);
    expect(free.create('/m/b').err).toBe(ErrorCode.OK);
  });
});
