import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE } from '../../src/protocol/zookeeper.js';
import { MAX_TTL_MS } from '../../src/tree/ops.js';
import { Harness, S1, bytes, text } from './harness.js';

const E = ErrorCode;

describe('initial tree (ZooKeeper 3.8)', () => {
  const { tree } = new Harness({}, []);

  it('has /, /zookeeper, /zookeeper/quota and /zookeeper/config', () => {
    expect(tree.getChildren('/', [])).toEqual({ err: E.OK, children: ['zookeeper'] });
    expect(tree.getChildren('/zookeeper', [])).toEqual({ err: E.OK, children: ['config', 'quota'] });
    expect(tree.getAllChildrenNumber('/', [])).toEqual({ err: E.OK, count: 3 });
    expect(tree.nodeCount).toBe(4);
  });

  it('shows the root and /zookeeper cversions the way ZooKeeper does (-1 and -2)', () => {
    expect(tree.exists('/')).toMatchObject({ czxid: 0n, version: 0, cversion: -1, numChildren: 1, pzxid: 0n });
    expect(tree.exists('/zookeeper')).toMatchObject({ cversion: -2, numChildren: 2 });
  });

  it('makes /zookeeper/config world-readable only, with aversion -1', () => {
    expect(tree.getACL('/zookeeper/config', [])).toMatchObject({ err: E.OK, acl: READ_ACL_UNSAFE, stat: { aversion: -1 } });
    expect(tree.getACL('/', [])).toMatchObject({ err: E.OK, acl: OPEN_ACL_UNSAFE });
  });
});

describe('create', () => {
  it('creates a node and returns its path and Stat', () => {
    const h = new Harness();
    const r = h.create('/a', { data: 'hello' });
    expect(r).toMatchObject({ err: E.OK, path: '/a', triggers: [{ path: '/a', type: 1 }, { path: '/', type: 4 }] });
    expect(r.stat).toEqual({
      czxid: h.zxid, mzxid: h.zxid, pzxid: h.zxid, ctime: h.timeMs, mtime: h.timeMs,
      version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 5, numChildren: 0,
    });
    const read = h.tree.getData('/a', []);
    expect(read.err === E.OK ? text(read.data) : null).toBe('hello');
  });

  it.each([
    ['no slash', 'a'],
    ['NUL', '/a\u0000'],
    ['trailing slash', '/a/'],
    ['empty segment', '//a'],
    ['relative segment', '/a/..'],
  ])('refuses a bad path (%s) with BADARGUMENTS', (_, path) => {
    const h = new Harness();
    h.create('/a');
    expect(h.create(path).err).toBe(E.BADARGUMENTS);
  });

  it('looks the parent up before validating the full path, as ZooKeeper (NONODE for /missing/)', () => {
    expect(new Harness().create('/missing/').err).toBe(E.NONODE);
  });

  it('refuses data over the limit, an unknown mode and a ttl on a non-TTL mode with BADARGUMENTS', () => {
    const h = new Harness({ maxDataBytes: 4 });
    expect(h.create('/a', { data: '12345' }).err).toBe(E.BADARGUMENTS);
    expect(h.create('/a', { data: '1234' }).err).toBe(E.OK);
    expect(h.create('/b', { mode: 7 as CreateMode }).err).toBe(E.BADARGUMENTS);
    expect(h.create('/b', { ttlMs: 100 }).err).toBe(E.BADARGUMENTS);
    expect(h.create('/b', { ttlMs: -1 }).err).toBe(E.OK);
  });

  it('validates the TTL of TTL modes (0 < ttl <= 2^40 - 1)', () => {
    const h = new Harness();
    const ttl = (ttlMs?: number) => h.create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ...(ttlMs === undefined ? {} : { ttlMs }) }).err;
    expect(ttl()).toBe(E.BADARGUMENTS);
    expect(ttl(0)).toBe(E.BADARGUMENTS);
    expect(ttl(MAX_TTL_MS + 1)).toBe(E.BADARGUMENTS);
    expect(ttl(MAX_TTL_MS)).toBe(E.OK);
  });

  it('is UNIMPLEMENTED for TTL modes when TTL nodes are disabled', () => {
    const h = new Harness({ ttlNodesEnabled: false });
    expect(h.create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 10 }).err).toBe(E.UNIMPLEMENTED);
  });

  it('needs an open session (SESSIONEXPIRED)', () => {
    const h = new Harness();
    expect(h.create('/a', { sessionId: 0x999n }).err).toBe(E.SESSIONEXPIRED);
    h.closeSession(S1);
    expect(h.create('/a').err).toBe(E.SESSIONEXPIRED);
    expect(h.create('/e', { mode: CreateMode.EPHEMERAL }).err).toBe(E.SESSIONEXPIRED);
  });

  it('refuses an invalid ACL (INVALIDACL)', () => {
    const h = new Harness();
    expect(h.create('/a', { acl: [] }).err).toBe(E.INVALIDACL);
    expect(h.create('/a', { acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }] }).err).toBe(E.INVALIDACL);
  });

  it('needs the parent (NONODE) and refuses an existing path (NODEEXISTS), the root included', () => {
    const h = new Harness();
    expect(h.create('/a/b').err).toBe(E.NONODE);
    expect(h.create('/a').err).toBe(E.OK);
    expect(h.create('/a').err).toBe(E.NODEEXISTS);
    expect(h.create('/').err).toBe(E.NODEEXISTS);
    expect(h.create('/zookeeper').err).toBe(E.NODEEXISTS);
  });

  it('refuses children under an ephemeral (NOCHILDRENFOREPHEMERALS) but not under containers or TTL nodes', () => {
    const h = new Harness();
    h.create('/e', { mode: CreateMode.EPHEMERAL });
    h.create('/c', { mode: CreateMode.CONTAINER });
    h.create('/t', { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 5 });
    expect(h.create('/e/x').err).toBe(E.NOCHILDRENFOREPHEMERALS);
    expect(h.create('/c/x', { mode: CreateMode.EPHEMERAL }).err).toBe(E.OK);
    expect(h.create('/t/x').err).toBe(E.OK);
  });

  it('copies the data it is given', () => {
    const h = new Harness();
    const data = bytes('abc');
    h.apply({ type: 'create', sessionId: S1, auth: [], path: '/a', data, acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT });
    data[0] = 0x7a;
    const read = h.tree.getData('/a', []);
    expect(read.err === E.OK ? text(read.data) : null).toBe('abc');
  });
});

describe('sequential nodes', () => {
  it('append the parent cversion as ten digits and keep counting across deletes', () => {
    const h = new Harness();
    h.create('/q');
    const seq = () => h.create('/q/n-', { mode: CreateMode.PERSISTENT_SEQUENTIAL }).path;
    expect(seq()).toBe('/q/n-0000000000');
    expect(seq()).toBe('/q/n-0000000001');
    h.delete('/q/n-0000000001');
    expect(seq()).toBe('/q/n-0000000002');
    h.create('/q/plain');
    expect(seq()).toBe('/q/n-0000000004');
  });

  it('number per parent and accept a path ending in a slash', () => {
    const h = new Harness();
    h.create('/a');
    h.create('/b');
    expect(h.create('/a/', { mode: CreateMode.PERSISTENT_SEQUENTIAL }).path).toBe('/a/0000000000');
    expect(h.create('/b/x', { mode: CreateMode.EPHEMERAL_SEQUENTIAL }).path).toBe('/b/x0000000000');
    expect(h.create('/x', { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttlMs: 9 }).path).toBe('/x0000000002');
  });

  it('fail with NODEEXISTS when the generated name is taken', () => {
    const h = new Harness();
    h.create('/q');
    h.create('/q/n0000000001');
    expect(h.create('/q/n', { mode: CreateMode.PERSISTENT_SEQUENTIAL }).err).toBe(E.NODEEXISTS);
  });
});

describe('delete', () => {
  it('removes a leaf and reports NodeDeleted then NodeChildrenChanged', () => {
    const h = new Harness();
    h.create('/a');
    expect(h.delete('/a')).toMatchObject({ err: E.OK, triggers: [{ path: '/a', type: 2 }, { path: '/', type: 4 }] });
    expect(h.tree.exists('/a')).toBeNull();
  });

  it('checks session, path, parent, node, version and children in that order', () => {
    const h = new Harness();
    h.create('/a');
    h.create('/a/b');
    expect(h.delete('/a', 5, { sessionId: 0x999n }).err).toBe(E.SESSIONEXPIRED);
    expect(h.delete('nope').err).toBe(E.BADARGUMENTS);
    expect(h.delete('/x/y').err).toBe(E.NONODE);
    expect(h.delete('/a/c').err).toBe(E.NONODE);
    expect(h.delete('/a', 3).err).toBe(E.BADVERSION);
    expect(h.delete('/a', 0).err).toBe(E.NOTEMPTY);
    expect(h.delete('/a/b', 0).err).toBe(E.OK);
    expect(h.delete('/a', 0).err).toBe(E.OK);
  });

  it.each(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'])('refuses the special node %s with BADARGUMENTS', (p) => {
    expect(new Harness().delete(p).err).toBe(E.BADARGUMENTS);
  });
});

describe('setData', () => {
  it('bumps version, mzxid and mtime and reports NodeDataChanged', () => {
    const h = new Harness();
    const created = h.create('/a', { data: 'x' });
    const r = h.setData('/a', 'yy', 0);
    expect(r).toMatchObject({ err: E.OK, triggers: [{ path: '/a', type: 3 }] });
    expect(r.stat).toMatchObject({ version: 1, mzxid: h.zxid, mtime: h.timeMs, dataLength: 2, czxid: created.stat?.czxid, ctime: created.stat?.ctime });
  });

  it('returns SESSIONEXPIRED, BADARGUMENTS, NONODE and BADVERSION', () => {
    const h = new Harness({ maxDataBytes: 3 });
    h.create('/a');
    expect(h.setData('/a', 'x', -1, { sessionId: 0x999n }).err).toBe(E.SESSIONEXPIRED);
    expect(h.setData('/a/', 'x').err).toBe(E.BADARGUMENTS);
    expect(h.setData('/a', 'xxxx').err).toBe(E.BADARGUMENTS);
    expect(h.setData('/b', 'x').err).toBe(E.NONODE);
    expect(h.setData('/a', 'x', 1).err).toBe(E.BADVERSION);
    expect(h.setData('/a', 'x', 0).err).toBe(E.OK);
    expect(h.setData('/a', 'x', 1).err).toBe(E.OK);
  });
});

describe('setACL', () => {
  it('replaces the ACL, bumps aversion only, and fires no watch', () => {
    const h = new Harness();
    const created = h.create('/a');
    const r = h.setAcl('/a', READ_ACL_UNSAFE, 0);
    expect(r).toMatchObject({ err: E.OK, triggers: [], stat: { aversion: 1, version: 0, mzxid: created.stat?.mzxid } });
    expect(h.tree.getACL('/a', [])).toMatchObject({ acl: READ_ACL_UNSAFE });
  });

  it('returns SESSIONEXPIRED, BADARGUMENTS, INVALIDACL, NONODE and BADVERSION', () => {
    const h = new Harness();
    h.create('/a');
    expect(h.setAcl('/a', READ_ACL_UNSAFE, -1, { sessionId: 0x999n }).err).toBe(E.SESSIONEXPIRED);
    expect(h.setAcl('a', READ_ACL_UNSAFE).err).toBe(E.BADARGUMENTS);
    expect(h.setAcl('/b', []).err).toBe(E.INVALIDACL);
    expect(h.setAcl('/b', READ_ACL_UNSAFE).err).toBe(E.NONODE);
    expect(h.setAcl('/a', READ_ACL_UNSAFE, 4).err).toBe(E.BADVERSION);
  });
});

describe('check', () => {
  it('passes on the current version or -1 and fails otherwise', () => {
    const h = new Harness();
    h.create('/a');
    h.setData('/a', 'x');
    expect(h.check('/a', 1)).toMatchObject({ err: E.OK, triggers: [] });
    expect(h.check('/a', -1).err).toBe(E.OK);
    expect(h.check('/a', 0).err).toBe(E.BADVERSION);
    expect(h.check('/b', 0).err).toBe(E.NONODE);
    expect(h.check('/a/', 0).err).toBe(E.BADARGUMENTS);
    expect(h.check('/a', 1, { sessionId: 0x999n }).err).toBe(E.SESSIONEXPIRED);
  });
});

describe('reads', () => {
  it('return NONODE for missing nodes and null from exists', () => {
    const { tree } = new Harness();
    expect(tree.getData('/x', []).err).toBe(E.NONODE);
    expect(tree.getChildren('/x', []).err).toBe(E.NONODE);
    expect(tree.getChildren2('/x', []).err).toBe(E.NONODE);
    expect(tree.getACL('/x', []).err).toBe(E.NONODE);
    expect(tree.getAllChildrenNumber('/x', []).err).toBe(E.NONODE);
    expect(tree.exists('/x')).toBeNull();
  });

  it('list children sorted with getChildren2 giving the Stat too', () => {
    const h = new Harness();
    h.create('/p');
    for (const name of ['c', 'a', 'b']) h.create(`/p/${name}`);
    expect(h.tree.getChildren('/p', [])).toEqual({ err: E.OK, children: ['a', 'b', 'c'] });
    expect(h.tree.getChildren2('/p', [])).toMatchObject({ err: E.OK, children: ['a', 'b', 'c'], stat: { numChildren: 3 } });
  });

  it('count descendants at every depth', () => {
    const h = new Harness();
    for (const p of ['/a', '/a/b', '/a/b/c', '/a/d', '/ab']) h.create(p);
    expect(h.tree.getAllChildrenNumber('/a', [])).toEqual({ err: E.OK, count: 3 });
    expect(h.tree.getAllChildrenNumber('/', [])).toEqual({ err: E.OK, count: 8 });
    expect(h.tree.getAllChildrenNumber('/a/b/c', [])).toEqual({ err: E.OK, count: 0 });
  });

  it('return copies that cannot change the tree', () => {
    const h = new Harness();
    h.create('/a', { data: 'abc' });
    const digest = h.tree.digest();
    const read = h.tree.getData('/a', []);
    if (read.err === E.OK) read.data.fill(0);
    expect(h.tree.digest()).toBe(digest);
  });
});

describe('apply', () => {
  it('requires increasing zxids and consumes the zxid of a failed transaction', () => {
    const h = new Harness();
    expect(() => h.tree.apply({ type: 'noop' }, { zxid: h.zxid, timeMs: 0 })).toThrow(RangeError);
    expect(h.delete('/missing').err).toBe(E.NONODE);
    expect(h.tree.lastZxid).toBe(h.zxid);
  });

  it('answers UNIMPLEMENTED for an unknown transaction type', () => {
    const h = new Harness();
    expect(h.apply({ type: 'reconfig' } as never).err).toBe(E.UNIMPLEMENTED);
  });
});

describe('null data (a jute buffer of length -1, which ZooKeeper keeps)', () => {
  it('is stored and read back as null by create, setData and multi; dataLength 0; getData shows it as empty', () => {
    const h = new Harness();
    const created = h.apply({ type: 'create', sessionId: S1, auth: [], path: '/n', data: null, acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT });
    expect(created).toMatchObject({ err: E.OK, stat: { dataLength: 0 } });
    expect(h.tree.readData('/n', [])).toMatchObject({ err: E.OK, data: null });
    expect(h.tree.getData('/n', [])).toMatchObject({ err: E.OK, data: new Uint8Array(0) });
    h.setData('/n', 'x');
    expect(h.tree.readData('/n', [])).toMatchObject({ data: new Uint8Array([0x78]) });
    h.apply({ type: 'setData', sessionId: S1, auth: [], path: '/n', data: null, version: -1 });
    expect(h.tree.readData('/n', [])).toMatchObject({ err: E.OK, data: null, stat: { version: 2, dataLength: 0 } });
    h.multi([{ type: 'create', path: '/m', data: null, acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT }]);
    expect(h.tree.readData('/m', [])).toMatchObject({ data: null });
    // null and empty are different states (the digest tells them apart).
    const empty = new Harness();
    empty.apply({ type: 'create', sessionId: S1, auth: [], path: '/n', data: new Uint8Array(0), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT });
    const nul = new Harness();
    nul.apply({ type: 'create', sessionId: S1, auth: [], path: '/n', data: null, acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT });
    expect(nul.tree.digest()).not.toBe(empty.tree.digest());
    nul.tree.checkInvariants();
  });
});

describe('deleteContainer (opcode 20, PrepRequestProcessor’s checks)', () => {
  const dc = (h: Harness, path: string) => h.apply({ type: 'deleteContainer', path });

  it('refuses a path without "/", with a NUL, or special (BADARGUMENTS); then NONODE, NOTEMPTY, BADVERSION for an ephemeral', () => {
    const h = new Harness();
    h.create('/c', { mode: CreateMode.CONTAINER });
    h.create('/c/x');
    h.create('/e', { mode: CreateMode.EPHEMERAL });
    expect(dc(h, 'c').err).toBe(E.BADARGUMENTS);
    expect(dc(h, '\u0000\u0000\u0000\u0001\u0000\u0000\u0000\u0014/c').err).toBe(E.BADARGUMENTS);
    for (const special of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) expect(dc(h, special).err).toBe(E.BADARGUMENTS);
    expect(dc(h, '/missing').err).toBe(E.NONODE);
    expect(dc(h, '/c').err).toBe(E.NOTEMPTY);
    expect(dc(h, '/e').err).toBe(E.BADVERSION);
    expect(h.tree.exists('/c')).not.toBeNull();
  });

  it('deletes an empty non-ephemeral node without an ACL check, firing the delete triggers', () => {
    const h = new Harness();
    h.create('/p', { acl: [{ perms: Perms.READ | Perms.CREATE, id: { scheme: 'world', id: 'anyone' } }] });
    h.create('/p/c');
    expect(h.delete('/p/c').err).toBe(E.NOAUTH);
    const r = dc(h, '/p/c');
    expect(r.err).toBe(E.OK);
    expect(r.triggers.map((t) => [t.path, t.type])).toEqual([['/p/c', 2], ['/p', 4]]);
    expect(h.tree.exists('/p/c')).toBeNull();
    h.tree.checkInvariants();
  });
});
