import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, EventType, OPEN_ACL_UNSAFE } from '../../src/protocol/zookeeper.js';
import type { MultiOp } from '../../src/tree/txn.js';
import { Harness, bytes, createOp } from './harness.js';

const E = ErrorCode;
const del = (path: string, version = -1): MultiOp => ({ type: 'delete', path, version });
const set = (path: string, data: string, version = -1): MultiOp => ({ type: 'setData', path, data: bytes(data), version });
const check = (path: string, version: number): MultiOp => ({ type: 'check', path, version });

describe('multi', () => {
  it('applies every op, each seeing the ones before, under one zxid', () => {
    const h = new Harness();
    const r = h.multi([
      createOp('/a'),
      createOp('/a/s-', { mode: CreateMode.PERSISTENT_SEQUENTIAL }),
      set('/a', 'x', 0),
      check('/a', 1),
      del('/a/s-0000000000'),
    ]);
    expect(r.err).toBe(E.OK);
    expect(r.results?.map((x) => x.type)).toEqual(['create', 'create', 'setData', 'check', 'delete']);
    expect(r.results?.[1]).toMatchObject({ path: '/a/s-0000000000', stat: { czxid: h.zxid } });
    expect(r.results?.[2]).toMatchObject({ stat: { version: 1, mzxid: h.zxid } });
    expect(h.tree.exists('/a')).toMatchObject({ czxid: h.zxid, mzxid: h.zxid, pzxid: h.zxid, numChildren: 0, cversion: 2 });
  });

  it('returns the triggers of all ops in order on success', () => {
    const h = new Harness();
    const r = h.multi([createOp('/a'), set('/a', 'x')]);
    const open = OPEN_ACL_UNSAFE;
    expect(r.triggers).toEqual([
      { path: '/a', type: EventType.NodeCreated, acl: open },
      { path: '/', type: EventType.NodeChildrenChanged, acl: open },
      { path: '/a', type: EventType.NodeDataChanged, acl: open },
    ]);
  });

  it('on failure changes nothing and reports OK / the error / RUNTIMEINCONSISTENCY around the failing op', () => {
    const h = new Harness();
    h.create('/keep', { data: 'v0' });
    const reference = new Harness();
    reference.create('/keep', { data: 'v0' });
    const r = h.multi([createOp('/new'), set('/keep', 'v1'), check('/keep', 0), del('/missing'), createOp('/other')]);
    reference.apply({ type: 'noop' });
    expect(r.err).toBe(E.BADVERSION);
    expect(r.results).toEqual([
      { type: 'error', err: E.OK },
      { type: 'error', err: E.OK },
      { type: 'error', err: E.BADVERSION },
      { type: 'error', err: E.RUNTIMEINCONSISTENCY },
      { type: 'error', err: E.RUNTIMEINCONSISTENCY },
    ]);
    expect(r.triggers).toEqual([]);
    expect(h.tree.exists('/new')).toBeNull();
    expect(h.tree.digest()).toBe(reference.tree.digest());
    h.tree.checkInvariants();
  });

  it('rolls back deletes, sequence numbers, ephemerals and parent stats', () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/e', { mode: CreateMode.EPHEMERAL });
    const before = h.tree.serialize();
    const r = h.multi([
      del('/p/e'),
      createOp('/p/q-', { mode: CreateMode.PERSISTENT_SEQUENTIAL }),
      createOp('/p/e2', { mode: CreateMode.EPHEMERAL }),
      createOp('/p'),
    ]);
    expect(r.err).toBe(E.NODEEXISTS);
    const after = h.tree.serialize();
    // Only the lastZxid field (bytes 6..13) may differ.
    expect(after.slice(14)).toEqual(before.slice(14));
    expect(h.tree.getEphemerals(0x1001n)).toEqual(['/p/e']);
    expect(h.create('/p/q-', { mode: CreateMode.PERSISTENT_SEQUENTIAL }).path).toBe('/p/q-0000000001');
  });

  it('can delete and re-create the same path', () => {
    const h = new Harness();
    h.create('/a', { data: 'old' });
    const r = h.multi([del('/a'), createOp('/a', { data: 'new' })]);
    expect(r.err).toBe(E.OK);
    expect(h.tree.exists('/a')).toMatchObject({ czxid: h.zxid, dataLength: 3, version: 0 });
  });

  it('fails on the first failing op even when later ones would fail too', () => {
    const h = new Harness();
    const r = h.multi([del('/x'), createOp('/a/b')]);
    expect(r.err).toBe(E.NONODE);
    expect(r.results?.map((x) => x.err)).toEqual([E.NONODE, E.RUNTIMEINCONSISTENCY]);
  });

  it('succeeds with no ops and refuses a malformed op with BADARGUMENTS', () => {
    const h = new Harness();
    expect(h.multi([])).toMatchObject({ err: E.OK, results: [] });
    expect(h.multi([createOp('/a'), { type: 'setACL' } as never]).results?.map((x) => x.err)).toEqual([E.OK, E.BADARGUMENTS]);
    expect(h.tree.exists('/a')).toBeNull();
  });

  it('needs an open session for each op', () => {
    const h = new Harness();
    expect(h.multi([check('/', -1)], { sessionId: 0x999n }).err).toBe(E.SESSIONEXPIRED);
  });
});
