/**
 * The embedded client's plain API against a 3-node ensemble: every method, typed errors, session
 * states through a server crash and an outage, one-shot and persistent watches, sequential names,
 * ephemerals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BadArgumentsError,
  BadVersionError,
  CREATOR_ALL_ACL,
  ConnectionLossError,
  KeeperError,
  MultiError,
  NoAuthError,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  OPEN_ACL_UNSAFE,
  Perms,
  SessionExpiredError,
  ErrorCode,
  digestId,
  EmbeddedEnsemble,
  op,
} from '../../src/client/index.js';
import type { SessionState, WatchedEvent, ZooKeeperClient } from '../../src/client/index.js';
import { condition, connect, followerId, reachState, startEnsemble, text } from './helpers.js';

let ensemble: EmbeddedEnsemble;
let a: ZooKeeperClient;
let b: ZooKeeperClient;

beforeAll(async () => {
  ensemble = await startEnsemble();
  const leader = ensemble.leader()!.id;
  // One client on the leader, one on a follower: reads and writes cross servers.
  a = await connect(ensemble, { server: leader });
  b = await connect(ensemble, { server: followerId(ensemble) });
});
afterAll(async () => {
  await ensemble.stop();
});

/** A watcher that records its events and can be awaited for the next one. */
function recorder() {
  const events: WatchedEvent[] = [];
  const waiting: (() => void)[] = [];
  const watcher = (event: WatchedEvent): void => {
    events.push(event);
    for (const w of waiting.splice(0)) w();
  };
  const count = (n: number): Promise<void> => condition(() => events.length >= n, (wake) => (waiting.push(wake), () => undefined), `${n} watch events`);
  return { events, watcher, count };
}

describe('reads and writes', () => {
  it('create, getData, setData with versions, exists, delete', async () => {
    expect(await a.create('/rw', 'one')).toBe('/rw');
    await b.sync('/rw');
    const read = await b.getData('/rw');
    expect(text(read.data)).toBe('one');
    expect(read.stat.version).toBe(0);
    const stat = await b.setData('/rw', 'two', 0);
    expect(stat.version).toBe(1);
    expect(stat.mzxid).toBeGreaterThan(read.stat.mzxid);
    await expect(a.setData('/rw', 'three', 0)).rejects.toBeInstanceOf(BadVersionError);
    expect((await a.exists('/rw'))?.version).toBe(1);
    await expect(a.delete('/rw', 0)).rejects.toBeInstanceOf(BadVersionError);
    await a.delete('/rw', 1);
    expect(await a.exists('/rw')).toBeNull();
    expect(await a.getDataLinearizable('/').then((r) => r.stat.numChildren)).toBeGreaterThanOrEqual(0);
  });

  it('create2 returns the Stat: czxid is the zxid of the create and grows with every later one', async () => {
    const first = await a.create2('/c2-first');
    const second = await b.create2('/c2-second', 'x');
    expect(first.path).toBe('/c2-first');
    expect(first.stat.czxid).toBe(first.stat.mzxid);
    expect(second.stat.czxid).toBeGreaterThan(first.stat.czxid);
    expect(second.stat.dataLength).toBe(1);
  });

  it('throws typed errors carrying code and path', async () => {
    await a.create('/typed');
    await a.create('/typed/child');
    const missing = await a.getData('/typed/missing').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NoNodeError);
    expect(missing).toMatchObject({ code: ErrorCode.NONODE, codeName: 'NONODE', path: '/typed/missing' });
    await expect(a.create('/typed')).rejects.toBeInstanceOf(NodeExistsError);
    await expect(a.create('/no/parent')).rejects.toBeInstanceOf(NoNodeError);
    await expect(a.delete('/typed')).rejects.toBeInstanceOf(NotEmptyError);
    await expect(a.create('bad-path')).rejects.toBeInstanceOf(BadArgumentsError);
    await a.create('/typed/eph', '', { mode: 'ephemeral' });
    await expect(a.create('/typed/eph/child')).rejects.toBeInstanceOf(NoChildrenForEphemeralsError);
    for (const e of [missing]) expect(e).toBeInstanceOf(KeeperError);
  });

  it('names sequential nodes with a 10-digit counter from the parent (shared by all its children)', async () => {
    await a.create('/seq');
    const first = await a.create('/seq/n-', '', { mode: 'persistentSequential' });
    await b.create('/seq/plain');
    const third = await b.create('/seq/n-', '', { mode: 'ephemeralSequential' });
    expect(first).toBe('/seq/n-0000000000');
    expect(third).toBe('/seq/n-0000000002');
    const { children, stat } = await b.getChildren2('/seq');
    expect(children.sort()).toEqual(['n-0000000000', 'n-0000000002', 'plain']);
    expect(stat.numChildren).toBe(3);
    expect(stat.cversion).toBe(3);
    expect(await b.getChildren('/seq')).toHaveLength(3);
    expect(await b.getAllChildrenNumber('/seq')).toBe(3);
  });

  it('multi is all or nothing, with per-op results', async () => {
    const results = await a.multi([op.create('/multi'), op.create('/multi/x', 'x'), op.setData('/multi/x', 'y', 0), op.check('/multi', 0)]);
    expect(results.map((r) => r.type)).toEqual(['create', 'create', 'setData', 'check']);
    const failed = await a.multi([op.create('/multi/y'), op.delete('/multi/x', 7)]).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(MultiError);
    expect((failed as MultiError).code).toBe(ErrorCode.BADVERSION);
    expect((failed as MultiError).results).toHaveLength(2);
    expect(await a.exists('/multi/y')).toBeNull();
    expect(text((await a.getData('/multi/x')).data)).toBe('y');
  });

  it('sync brings a follower up to date with a write made through another server', async () => {
    for (let i = 0; i < 5; i++) {
      await a.create(`/sync-${i}`, String(i));
      await b.sync(`/sync-${i}`);
      expect(text((await b.getData(`/sync-${i}`)).data)).toBe(String(i));
    }
  });

  it('ACLs: setACL/getACL, addAuth, NoAuth for others', async () => {
    await a.addAuth('digest', 'alice:secret');
    await a.create('/acl', 'private', { acl: CREATOR_ALL_ACL });
    const { acl } = await a.getACL('/acl');
    expect(acl).toEqual([{ perms: Perms.ALL, id: { scheme: 'digest', id: digestId('alice', 'secret') } }]);
    await b.sync('/acl');
    await expect(b.getData('/acl')).rejects.toBeInstanceOf(NoAuthError);
    await a.setACL('/acl', OPEN_ACL_UNSAFE, 0);
    await b.sync('/acl');
    expect(text((await b.getData('/acl')).data)).toBe('private');
  });
});

describe('watches', () => {
  it('a data watch fires once (one-shot), then must be set again', async () => {
    await a.create('/w1', '0');
    await b.sync('/w1'); // b reads through a follower: catch it up with a's write first
    const r = recorder();
    await b.getData('/w1', r.watcher);
    await a.setData('/w1', '1');
    await a.setData('/w1', '2');
    await r.count(1);
    await b.sync('/w1'); // both changes have reached b's server: a second event would be here by now
    expect(r.events).toEqual([{ type: 3, name: 'NodeDataChanged', path: '/w1' }]);
    await b.getData('/w1', r.watcher);
    await a.delete('/w1');
    await r.count(2);
    expect(r.events[1]).toMatchObject({ name: 'NodeDeleted', path: '/w1' });
  });

  it('an exists watch on a missing node fires NodeCreated; a child watch fires NodeChildrenChanged once', async () => {
    const created = recorder();
    expect(await b.exists('/w2', created.watcher)).toBeNull();
    const children = recorder();
    await a.create('/w2');
    await created.count(1);
    expect(created.events[0]).toMatchObject({ name: 'NodeCreated', path: '/w2' });
    await b.sync('/w2');
    await b.getChildren('/w2', children.watcher);
    await a.create('/w2/x');
    await a.create('/w2/y');
    await children.count(1);
    await b.sync('/w2');
    expect(children.events).toEqual([{ type: 4, name: 'NodeChildrenChanged', path: '/w2' }]);
  });

  it('a persistent watch keeps firing; a recursive one covers the subtree; removing it stops both', async () => {
    await a.create('/pw');
    await b.sync('/pw');
    const flat = recorder();
    const deep = recorder();
    const removeFlat = await b.addWatch('/pw', flat.watcher);
    const removeDeep = await b.addWatch('/pw', deep.watcher, { recursive: true });
    await a.setData('/pw', '1');
    await a.setData('/pw', '2');
    await a.create('/pw/child');
    await a.setData('/pw/child', 'x');
    await flat.count(3);
    await deep.count(4);
    expect(flat.events.map((e) => e.name)).toEqual(['NodeDataChanged', 'NodeDataChanged', 'NodeChildrenChanged']);
    expect(deep.events.map((e) => `${e.name} ${e.path}`)).toEqual([
      'NodeDataChanged /pw',
      'NodeDataChanged /pw',
      'NodeCreated /pw/child',
      'NodeDataChanged /pw/child',
    ]);
    await removeFlat();
    await removeDeep();
    await a.setData('/pw', '3');
    await b.sync('/pw');
    expect(flat.events).toHaveLength(3);
    expect(deep.events).toHaveLength(4);
  });
});

describe('sessions', () => {
  it('ephemerals are listed by getEphemerals and vanish when their client closes', async () => {
    const c = await connect(ensemble);
    await c.create('/eph-a', '', { mode: 'ephemeral' });
    const sequential = await c.create('/eph-b', '', { mode: 'ephemeralSequential' });
    expect(sequential).toMatch(/^\/eph-b\d{10}$/);
    expect(await c.getEphemerals('/eph')).toEqual(['/eph-a', sequential]);
    expect((await a.exists('/eph-a'))?.ephemeralOwner).toBe(c.sessionId);
    const gone = recorder();
    await a.exists('/eph-a', gone.watcher);
    const states: SessionState[] = [];
    c.onStateChange((s) => states.push(s));
    await c.close();
    expect(c.state).toBe('closed');
    expect(states).toEqual(['closed']);
    await gone.count(1);
    expect(await a.exists('/eph-a')).toBeNull();
    const after = await c.getData('/').catch((e: unknown) => e);
    expect(after).toBeInstanceOf(KeeperError);
    expect((after as KeeperError).code).toBe(ErrorCode.SESSIONEXPIRED);
  });

  it('connected → disconnected → connected when its server crashes: same session, ephemerals and watches kept', async () => {
    const own = await startEnsemble();
    try {
      const c = await connect(own, { server: followerId(own) });
      const observer = await connect(own, { server: own.leader()!.id });
      const states: SessionState[] = [];
      c.onStateChange((s) => states.push(s));
      await c.create('/moving', 'v0', { mode: 'ephemeral' });
      const fired = recorder();
      await c.getData('/moving', fired.watcher);
      const session = c.sessionId;
      const crashed = c.serverId!;
      own.crash(crashed);
      expect(c.state).toBe('disconnected');
      await reachState(c, 'connected');
      expect(states).toEqual(['disconnected', 'connected']);
      expect(c.serverId).not.toBe(crashed);
      expect(c.sessionId).toBe(session);
      expect((await c.exists('/moving'))?.ephemeralOwner).toBe(session);
      await observer.setData('/moving', 'v1'); // the watch set before the move fires after it
      await fired.count(1);
      expect(fired.events[0]).toMatchObject({ name: 'NodeDataChanged', path: '/moving' });
    } finally {
      await own.stop();
    }
  });

  it('a request in flight when the server crashes fails with ConnectionLoss, later ones wait for the move', async () => {
    const own = await startEnsemble();
    try {
      const c = await connect(own, { server: followerId(own) });
      const inFlight = c.create('/in-flight').catch((e: unknown) => e);
      own.crash(c.serverId!);
      const outcome = await inFlight;
      // Either the create beat the crash or its answer was lost with the server.
      if (outcome !== '/in-flight') expect(outcome).toBeInstanceOf(ConnectionLossError);
      expect(await c.create('/after-move')).toBe('/after-move');
    } finally {
      await own.stop();
    }
  });

  it('moves on when the server it moves to dies in the middle of the handshake', async () => {
    const own = await EmbeddedEnsemble.start({ nodes: 5 });
    try {
      const c = await connect(own, { server: followerId(own) });
      await c.create('/kept', '', { mode: 'ephemeral' });
      const home = c.serverId!;
      const session = c.sessionId;
      // Whichever server the client tries first dies while its openSession is under way.
      let diedMidHandshake: number | undefined;
      for (const s of own.servers) {
        if (s.id === home) continue;
        const real = s.service.openSession.bind(s.service);
        s.service.openSession = (req, listener) => {
          const pending = real(req, listener);
          if (diedMidHandshake === undefined) {
            diedMidHandshake = s.id;
            queueMicrotask(() => own.crash(s.id));
          }
          return pending;
        };
      }
      own.crash(home);
      await reachState(c, 'connected');
      expect(diedMidHandshake).toBeDefined();
      expect([home, diedMidHandshake]).not.toContain(c.serverId);
      expect(c.sessionId).toBe(session);
      expect((await c.exists('/kept'))?.ephemeralOwner).toBe(session);
    } finally {
      await own.stop();
    }
  });

  it('moves on when the server it moves to dies after reopening the session, while the watches are re-sent', async () => {
    const own = await EmbeddedEnsemble.start({ nodes: 5 });
    try {
      const c = await connect(own, { server: followerId(own) });
      const fired = recorder();
      await c.create('/watched');
      await c.getData('/watched', fired.watcher);
      const home = c.serverId!;
      let diedResendingWatches: number | undefined;
      for (const s of own.servers) {
        if (s.id === home) continue;
        const real = s.service.submit.bind(s.service);
        s.service.submit = (sessionId, request) => {
          const pending = real(sessionId, request);
          if (request.op === 'setWatches' && diedResendingWatches === undefined) {
            diedResendingWatches = s.id;
            queueMicrotask(() => own.crash(s.id));
          }
          return pending;
        };
      }
      own.crash(home);
      await reachState(c, 'connected');
      expect(diedResendingWatches).toBeDefined();
      expect(own.server(c.serverId!).up).toBe(true);
      // The watch was re-sent to the server the client ended on: it still fires.
      const other = await connect(own, { server: c.serverId! });
      await other.setData('/watched', 'changed');
      await fired.count(1);
    } finally {
      await own.stop();
    }
  });

  it('moves on when the server it moves to never answers the handshake (connect timeout)', async () => {
    const own = await startEnsemble();
    try {
      const c = await connect(own, { server: followerId(own) });
      const home = c.serverId!;
      let unanswered = 0;
      for (const s of own.servers) {
        if (s.id === home) continue;
        const real = s.service.openSession.bind(s.service);
        let first = true;
        s.service.openSession = (req, listener) => {
          if (!first) return real(req, listener);
          first = false;
          unanswered++;
          return new Promise(() => undefined);
        };
      }
      own.crash(home);
      await reachState(c, 'connected');
      expect(unanswered).toBeGreaterThanOrEqual(1);
      expect(c.serverId).not.toBe(home);
      expect(await c.create('/after-timeout')).toBe('/after-timeout');
    } finally {
      await own.stop();
    }
  });

  it('expired when the ensemble stays unreachable past the session timeout; calls then throw SessionExpiredError', async () => {
    const own = await startEnsemble();
    const c = await connect(own, { sessionTimeoutMs: 400 });
    const states: SessionState[] = [];
    c.onStateChange((s) => states.push(s));
    // Its own server first: the others then die while it is moving to one of them.
    own.crash(c.serverId!);
    for (const s of own.servers) if (s.up) own.crash(s.id);
    await reachState(c, 'expired');
    expect(states).toEqual(['disconnected', 'expired']);
    await expect(c.getData('/')).rejects.toBeInstanceOf(SessionExpiredError);
    await own.stop();
  });

  it('an idle session outlives its timeout: the client pings', async () => {
    const own = await startEnsemble();
    try {
      const c = await connect(own, { sessionTimeoutMs: 400, server: followerId(own) });
      await c.create('/idle', '', { mode: 'ephemeral' });
      // Silence for three timeouts: without pings the session would expire after one.
      const outcome = await reachState(c, 'expired', 1_200).then(
        () => 'expired',
        () => 'alive',
      );
      expect(outcome).toBe('alive');
      expect((await c.exists('/idle'))?.ephemeralOwner).toBe(c.sessionId);
    } finally {
      await own.stop();
    }
  });
});
