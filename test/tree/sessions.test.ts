import { describe, expect, it } from 'vitest';
import { CreateMode, ErrorCode, EventType } from '../../src/protocol/zookeeper.js';
import { Harness, S1, S2 } from './harness.js';

const E = ErrorCode;

describe('sessions table', () => {
  it('records timeout and password, and lists sessions in order', () => {
    const h = new Harness({}, []);
    h.apply({ type: 'createSession', sessionId: 7n, timeoutMs: 4000, passwordHex: 'abcd' });
    h.apply({ type: 'createSession', sessionId: 3n, timeoutMs: 9000 });
    expect(h.tree.sessionIds()).toEqual([3n, 7n]);
    expect(h.tree.getSession(7n)).toEqual({ sessionId: 7n, timeoutMs: 4000, passwordHex: 'abcd', ephemerals: [] });
    expect(h.tree.getSession(5n)).toBeUndefined();
  });

  it('refuses a negative or non-finite timeout', () => {
    const h = new Harness({}, []);
    expect(h.apply({ type: 'createSession', sessionId: 1n, timeoutMs: -1 }).err).toBe(E.BADARGUMENTS);
    expect(h.apply({ type: 'createSession', sessionId: 1n, timeoutMs: Number.NaN }).err).toBe(E.BADARGUMENTS);
    expect(h.tree.sessionIds()).toEqual([]);
  });

  it('closes an unknown session without error or effect', () => {
    const h = new Harness();
    expect(h.closeSession(0x77n)).toMatchObject({ err: E.OK, triggers: [], deleted: [] });
    expect(h.tree.sessionIds()).toEqual([S1, S2]);
  });
});

describe('ephemeral nodes', () => {
  it('belong to their session and are listed by getEphemerals with a prefix', () => {
    const h = new Harness();
    h.create('/app');
    h.create('/app/e1', { mode: CreateMode.EPHEMERAL });
    h.create('/app/e2', { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
    h.create('/other', { mode: CreateMode.EPHEMERAL });
    h.create('/s2', { mode: CreateMode.EPHEMERAL, sessionId: S2 });
    expect(h.tree.getEphemerals(S1)).toEqual(['/app/e1', '/app/e20000000001', '/other']);
    expect(h.tree.getEphemerals(S1, '/app')).toEqual(['/app/e1', '/app/e20000000001']);
    expect(h.tree.getEphemerals(S1, '/')).toHaveLength(3);
    expect(h.tree.getEphemerals(S1, '/app/e2')).toEqual(['/app/e20000000001']);
    expect(h.tree.getEphemerals(S2)).toEqual(['/s2']);
    expect(h.tree.getSession(S1)?.ephemerals).toEqual(h.tree.getEphemerals(S1));
  });

  it('are deleted with their triggers when the session closes, other sessions untouched', () => {
    const h = new Harness();
    h.create('/app');
    h.create('/app/b', { mode: CreateMode.EPHEMERAL });
    h.create('/a', { mode: CreateMode.EPHEMERAL });
    h.create('/keep', { mode: CreateMode.EPHEMERAL, sessionId: S2 });
    const r = h.closeSession(S1);
    expect(r.deleted).toEqual(['/a', '/app/b']);
    expect(r.triggers.map(({ path, type }) => ({ path, type }))).toEqual([
      { path: '/a', type: EventType.NodeDeleted },
      { path: '/', type: EventType.NodeChildrenChanged },
      { path: '/app/b', type: EventType.NodeDeleted },
      { path: '/app', type: EventType.NodeChildrenChanged },
    ]);
    expect(h.tree.exists('/a')).toBeNull();
    expect(h.tree.exists('/app')?.pzxid).toBe(h.zxid);
    expect(h.tree.exists('/keep')).not.toBeNull();
    expect(h.tree.getEphemerals(S1)).toEqual([]);
    expect(h.tree.getSession(S1)).toBeUndefined();
    h.tree.checkInvariants();
  });

  it('leave the index when deleted explicitly', () => {
    const h = new Harness();
    h.create('/e', { mode: CreateMode.EPHEMERAL });
    h.delete('/e');
    expect(h.tree.getEphemerals(S1)).toEqual([]);
    expect(h.closeSession(S1).deleted).toEqual([]);
  });

  it('cannot be created for a closed session (SESSIONEXPIRED)', () => {
    const h = new Harness();
    h.closeSession(S2);
    expect(h.create('/e', { mode: CreateMode.EPHEMERAL, sessionId: S2 }).err).toBe(E.SESSIONEXPIRED);
  });

  it('may be deleted by another session, which then owns nothing', () => {
    const h = new Harness();
    h.create('/e', { mode: CreateMode.EPHEMERAL });
    expect(h.delete('/e', -1, { sessionId: S2 }).err).toBe(E.OK);
    h.tree.checkInvariants();
  });
});
