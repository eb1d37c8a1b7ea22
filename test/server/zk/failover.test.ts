/**
 * Sessions across connection failures, with node-zookeeper-client unchanged: a client cut off past
 * its timeout finds its session expired and its ephemerals gone; a client whose server crashes moves
 * to another server and keeps its session, its ephemerals and its watches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, startProxy, waitUntil } from './harness.js';
import type { Cluster } from './harness.js';
import { call, call2, connectClient, nextState, nzk, ok, sessionIdOf, watcher } from './nzk.js';
import type { NzkClient, NzkStat } from './nzk.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ tickMs: 100 });
});

afterAll(async () => {
  await cluster.stop();
});

function create(client: NzkClient, path: string, mode: number) {
  return call<string>((cb) => client.create(path, Buffer.from('x'), nzk.ACL.OPEN_ACL_UNSAFE, mode, cb));
}

describe('session expiry', () => {
  it('a client cut off past its timeout sees its session expired, and its ephemerals vanish', async () => {
    const proxy = await startProxy(cluster.servers[1]!.port);
    const doomed = await connectClient(`127.0.0.1:${proxy.port}`, { sessionTimeout: 800 });
    const observer = await connectClient(cluster.connectionString([0]), { sessionTimeout: 4000 });
    try {
      expect(doomed.getSessionTimeout()).toBe(800);
      const sessionId = sessionIdOf(doomed);
      await ok(create(doomed, '/doomed', nzk.CreateMode.EPHEMERAL));
      await waitUntil(() => cluster.ensemble.servers[0]!.service.tree.exists('/doomed') !== null);
      const gone = watcher();
      expect(await ok(call<NzkStat | null>((cb) => observer.exists('/doomed', gone.fn, cb)))).not.toBeNull();
      const expired = new Promise<void>((resolve) => doomed.once('expired', () => resolve()));

      proxy.blackhole(); // the client's pings no longer arrive; its socket stays open
      const event = await gone.fired;
      expect(event.getType()).toBe(nzk.Event.NODE_DELETED);
      expect(event.getPath()).toBe('/doomed');
      // The server dropped the connection (silent past its timeout, or its session expired) and the session.
      await waitUntil(() => !cluster.servers[1]!.sessionIds().includes(sessionId), 5_000, 'the connection to close');
      expect(cluster.ensemble.servers[1]!.service.localSessions().some((s) => s.sessionId === sessionId)).toBe(false);

      proxy.cut(); // the client notices, reconnects, and the handshake tells it the session is gone
      await expired;
      expect(doomed.getState()).toBe(nzk.State.EXPIRED);
      expect(cluster.logger.lines.some((l) => l.message === 'invalid session, probably expired' && l.details.sessionId === `0x${sessionId.toString(16)}`)).toBe(true);
      await waitUntil(() => cluster.ensemble.servers.every((s) => s.service.tree.getSession(sessionId) === undefined), 5_000, 'every replica to forget the session');
      // Requests of an expired client fail with the library's SESSION_EXPIRED.
      expect((await call((cb) => doomed.exists('/', undefined, cb))).error?.getCode()).toBe(nzk.Exception.SESSION_EXPIRED);
    } finally {
      doomed.close();
      observer.close();
      await proxy.close();
    }
  });
});

describe('failover', () => {
  it('a client whose server crashes reconnects to another with the same session, ephemerals and watches', async () => {
    const followers = cluster.ensemble.servers.map((s, i) => (s.node.isActiveLeader ? -1 : i)).filter((i) => i >= 0);
    const leaderIndex = cluster.ensemble.servers.findIndex((s) => s.node.isActiveLeader);
    expect(followers).toHaveLength(2);
    const client = await connectClient(cluster.connectionString(followers), { sessionTimeout: 2000 });
    const writer = await connectClient(cluster.connectionString([leaderIndex]), { sessionTimeout: 4000 });
    try {
      const sessionId = sessionIdOf(client);
      await ok(create(client, '/moving', nzk.CreateMode.EPHEMERAL));
      await ok(create(client, '/watched', nzk.CreateMode.PERSISTENT));
      const changed = watcher();
      await ok(call2<Buffer | null, NzkStat>((cb) => client.getData('/watched', changed.fn, cb)));
      const host = followers.find((i) => cluster.servers[i]!.sessionIds().includes(sessionId));
      expect(host).toBeDefined();
      const other = followers.find((i) => i !== host)!;

      const disconnected = nextState(client, (s) => s === nzk.State.DISCONNECTED);
      const reconnected = nextState(client, (s) => s === nzk.State.SYNC_CONNECTED);
      cluster.ensemble.crash(cluster.ensemble.servers[host!]!.id);
      await cluster.servers[host!]!.close();
      await disconnected;
      await reconnected;

      expect(sessionIdOf(client)).toBe(sessionId);
      expect(cluster.servers[other]!.sessionIds()).toContain(sessionId);
      expect(await ok(call<NzkStat | null>((cb) => client.exists('/moving', undefined, cb)))).not.toBeNull();
      // The watch set before the crash came back with SetWatches: a change made now fires it.
      await ok(call<NzkStat>((cb) => writer.setData('/watched', Buffer.from('changed'), -1, cb)));
      const event = await changed.fired;
      expect(event.getType()).toBe(nzk.Event.NODE_DATA_CHANGED);
      const [data] = await ok(call2<Buffer | null, NzkStat>((cb) => client.getData('/watched', undefined, cb)));
      expect(data?.toString()).toBe('changed');
    } finally {
      client.close();
      writer.close();
    }
  });
});
