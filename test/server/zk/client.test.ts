/**
 * node-zookeeper-client, unchanged, against a ZkServer on each node of a 3-node ensemble: every
 * API the library has, its error codes, ACLs and authentication, transactions and watches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitUntil } from './harness.js';
import type { Cluster } from './harness.js';
import { call, call2, connectClient, nzk, ok, sessionIdOf, watcher } from './nzk.js';
import type { NzkClient, NzkStat } from './nzk.js';

let cluster: Cluster;
/** One client per server, each connected to that server only. */
const clients: NzkClient[] = [];

beforeAll(async () => {
  cluster = await startCluster();
  for (let i = 0; i < cluster.servers.length; i++) clients.push(await connectClient(cluster.connectionString([i]), { sessionTimeout: 4000 }));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await cluster.stop();
});

function create(client: NzkClient, path: string, data: Buffer | null, mode = nzk.CreateMode.PERSISTENT, acls: unknown[] = nzk.ACL.OPEN_ACL_UNSAFE) {
  return call<string>((cb) => client.create(path, data, acls, mode, cb));
}

/** Waits until server `i`'s replica has applied a node (reads are served by the local replica). */
function replicated(i: number, path: string): Promise<void> {
  return waitUntil(() => cluster.ensemble.servers[i]!.service.tree.exists(path) !== null, 5_000, `${path} on server ${i}`);
}

describe('node-zookeeper-client against each node of the ensemble', () => {
  it('reads and writes through every server, and every server sees the others\' writes', async () => {
    for (let i = 0; i < clients.length; i++) {
      const client = clients[i]!;
      const path = `/rw-${i}`;
      expect(await ok(create(client, path, Buffer.from(`v0-${i}`)))).toBe(path);
      const [data, stat] = await ok(call2<Buffer | null, NzkStat>((cb) => client.getData(path, undefined, cb)));
      expect(data?.toString()).toBe(`v0-${i}`);
      expect(stat.version).toBe(0);
      const setStat = await ok(call<NzkStat>((cb) => client.setData(path, Buffer.from(`v1-${i}`), 0, cb)));
      expect(setStat.version).toBe(1);
      const existsStat = await ok(call<NzkStat | null>((cb) => client.exists(path, undefined, cb)));
      expect(existsStat?.version).toBe(1);
      expect(existsStat?.dataLength).toBe(`v1-${i}`.length);
    }
    for (let i = 0; i < clients.length; i++) {
      const reader = (i + 1) % clients.length;
      await replicated(reader, `/rw-${i}`);
      const [data] = await ok(call2<Buffer | null, NzkStat>((cb) => clients[reader]!.getData(`/rw-${i}`, undefined, cb)));
      expect(data?.toString()).toBe(`v1-${i}`);
      await ok(call<void>((cb) => clients[reader]!.remove(`/rw-${i}`, 1, cb as never)));
    }
  });

  it('creates in every mode: persistent, ephemeral, and both sequential modes', async () => {
    const client = clients[0]!;
    await ok(create(client, '/modes', null));
    const seq1 = await ok(create(client, '/modes/p-', Buffer.from('a'), nzk.CreateMode.PERSISTENT_SEQUENTIAL));
    const seq2 = await ok(create(client, '/modes/e-', Buffer.from('b'), nzk.CreateMode.EPHEMERAL_SEQUENTIAL));
    expect(seq1).toBe('/modes/p-0000000000');
    expect(seq2).toBe('/modes/e-0000000001');
    await ok(create(client, '/modes/eph', Buffer.from('c'), nzk.CreateMode.EPHEMERAL));
    const stat = await ok(call<NzkStat | null>((cb) => client.exists('/modes/eph', undefined, cb)));
    expect(stat?.ephemeralOwner.readBigInt64BE(0)).toBe(sessionIdOf(client));
    const persistent = await ok(call<NzkStat | null>((cb) => client.exists('/modes/p-0000000000', undefined, cb)));
    expect(persistent?.ephemeralOwner.readBigInt64BE(0)).toBe(0n);
    const [children, parentStat] = await ok(call2<string[], NzkStat>((cb) => client.getChildren('/modes', undefined, cb)));
    expect([...children].sort()).toEqual(['e-0000000001', 'eph', 'p-0000000000']);
    expect(parentStat.numChildren).toBe(3);
    expect(parentStat.cversion).toBe(3);
  });

  it('maps server errors to the library\'s exception codes', async () => {
    const client = clients[1]!;
    const E = nzk.Exception;
    expect((await call2((cb) => client.getData('/no/such', undefined, cb))).error?.getCode()).toBe(E.NO_NODE);
    await ok(create(client, '/errors', Buffer.from('x')));
    expect((await create(client, '/errors', null)).error?.getCode()).toBe(E.NODE_EXISTS);
    expect((await call((cb) => client.setData('/errors', Buffer.from('y'), 7, cb))).error?.getCode()).toBe(E.BAD_VERSION);
    await ok(create(client, '/errors/child', null));
    expect((await call((cb) => client.remove('/errors', -1, cb as never))).error?.getCode()).toBe(E.NOT_EMPTY);
    await ok(create(client, '/errors/eph', null, nzk.CreateMode.EPHEMERAL));
    expect((await create(client, '/errors/eph/child', null)).error?.getCode()).toBe(E.NO_CHILDREN_FOR_EPHEMERALS);
    // The auth scheme with no authenticated id: ZooKeeper's fixupACL refuses it.
    expect((await create(client, '/errors/creator', null, nzk.CreateMode.PERSISTENT, nzk.ACL.CREATOR_ALL_ACL)).error?.getCode()).toBe(E.INVALID_ACL);
    expect((await call((cb) => client.remove('/no/such', -1, cb as never))).error?.getCode()).toBe(E.NO_NODE);
    expect((await create(client, '/no/parent', null)).error?.getCode()).toBe(E.NO_NODE);
    // The connection survives every error.
    expect(await ok(call<NzkStat | null>((cb) => client.exists('/errors', undefined, cb)))).not.toBeNull();
  });

  it('getChildren, listSubTreeBFS, mkdirp and removeRecursive', async () => {
    const client = clients[2]!;
    await ok(call<string>((cb) => client.mkdirp('/tree/a/b/c', Buffer.from('deep'), nzk.ACL.OPEN_ACL_UNSAFE, nzk.CreateMode.PERSISTENT, cb)));
    const [deep] = await ok(call2<Buffer | null, NzkStat>((cb) => client.getData('/tree/a/b/c', undefined, cb)));
    expect(deep?.toString()).toBe('deep');
    await ok(create(client, '/tree/a/x', null));
    const [children] = await ok(call2<string[], NzkStat>((cb) => client.getChildren('/tree/a', undefined, cb)));
    expect([...children].sort()).toEqual(['b', 'x']);
    // listSubTreeBFS (and removeRecursive, built on it) visits only the first level below the path
    // with the async library this client ships with, so the trees below are one level deep.
    const listed = await ok(call<string[]>((cb) => client.listSubTreeBFS('/tree/a', cb)));
    expect([...listed].sort()).toEqual(['/tree/a', '/tree/a/b', '/tree/a/x']);
    await ok(call<void>((cb) => client.removeRecursive('/tree/a/b', -1, cb as never)));
    await ok(call<void>((cb) => client.removeRecursive('/tree/a', -1, cb as never)));
    await ok(call<void>((cb) => client.remove('/tree', -1, cb as never)));
    expect(await ok(call<NzkStat | null>((cb) => client.exists('/tree', undefined, cb)))).toBeNull();
  });

  it('getACL/setACL, digest ACLs and addAuthInfo', async () => {
    const owner = await connectClient(cluster.connectionString([0]), { sessionTimeout: 4000 });
    const same = await connectClient(cluster.connectionString([1]), { sessionTimeout: 4000 });
    try {
      owner.addAuthInfo('digest', Buffer.from('alice:secret'));
      same.addAuthInfo('digest', Buffer.from('alice:secret'));
      await ok(create(owner, '/acl', Buffer.from('private'), nzk.CreateMode.PERSISTENT, nzk.ACL.CREATOR_ALL_ACL));
      const [acls, stat] = await ok(call2<Array<{ permission: number; id: { scheme: string; id: string } }>, NzkStat>((cb) => owner.getACL('/acl', cb)));
      expect(acls).toHaveLength(1);
      expect(acls[0]!.permission).toBe(nzk.Permission.ALL);
      expect(acls[0]!.id.scheme).toBe('digest');
      expect(acls[0]!.id.id).toMatch(/^alice:/);
      expect(stat.aversion).toBe(0);
      // Without the credentials: no read; with them, through another server: read.
      expect((await call2((cb) => clients[0]!.getData('/acl', undefined, cb))).error?.getCode()).toBe(nzk.Exception.NO_AUTH);
      await replicated(1, '/acl');
      const [data] = await ok(call2<Buffer | null, NzkStat>((cb) => same.getData('/acl', undefined, cb)));
      expect(data?.toString()).toBe('private');
      // setACL: wrong version, then open it to everyone for reading.
      const readAll = [new nzk.ACL(nzk.Permission.READ, new nzk.Id('world', 'anyone'))];
      expect((await call((cb) => owner.setACL('/acl', readAll, 5, cb))).error?.getCode()).toBe(nzk.Exception.BAD_VERSION);
      const after = await ok(call<NzkStat>((cb) => owner.setACL('/acl', readAll, 0, cb)));
      expect(after.aversion).toBe(1);
      const [readable] = await ok(call2<Buffer | null, NzkStat>((cb) => clients[0]!.getData('/acl', undefined, cb)));
      expect(readable?.toString()).toBe('private');
      expect((await call((cb) => clients[0]!.setData('/acl', Buffer.from('no'), -1, cb))).error?.getCode()).toBe(nzk.Exception.NO_AUTH);
    } finally {
      owner.close();
      same.close();
    }
  });

  it('an auth scheme the server has no provider for fails the authentication and closes the connection', async () => {
    const client = await connectClient(cluster.connectionString([2]), { sessionTimeout: 4000 });
    const failed = new Promise<void>((resolve) => client.once('authenticationFailed', () => resolve()));
    client.addAuthInfo('kerberos', Buffer.from('whoever'));
    await failed;
    expect(client.getState()).toBe(nzk.State.AUTH_FAILED);
    expect(cluster.logger.lines.some((l) => l.message === 'authentication failed' && l.details.scheme === 'kerberos')).toBe(true);
    client.close();
  });

  it('transactions: all ops applied together, or none with the failing op\'s code', async () => {
    const client = clients[0]!;
    await ok(create(client, '/txn', Buffer.from('0')));
    const results = await ok(
      new Promise<{ error: null; value: Array<{ type: number; path?: string; stat?: NzkStat }> }>((resolve, reject) =>
        client
          .transaction()
          .create('/txn/a', Buffer.from('a'))
          .create('/txn/s-', Buffer.from('s'), nzk.ACL.OPEN_ACL_UNSAFE, nzk.CreateMode.PERSISTENT_SEQUENTIAL)
          .setData('/txn', Buffer.from('1'), 0)
          .check('/txn', 1)
          .remove('/txn/a', 0)
          .commit((error, value) => (error === null ? resolve({ error, value }) : reject(error))),
      ),
    );
    expect(results.map((r) => r.type)).toEqual([1, 1, 5, 13, 2]);
    expect(results[0]!.path).toBe('/txn/a');
    expect(results[1]!.path).toBe('/txn/s-0000000001');
    expect(results[2]!.stat?.version).toBe(1);
    const failure = await new Promise<{ code: number | undefined; results: Array<{ type: number; err?: number }> }>((resolve) =>
      client
        .transaction()
        .create('/txn/b', Buffer.from('b'))
        // (the library sends version 0 as -1, "any version", so the wrong version here is 5)
        .check('/txn', 5)
        .setData('/txn', Buffer.from('2'))
        .commit((error, value) => resolve({ code: error?.getCode(), results: value })),
    );
    expect(failure.code).toBe(nzk.Exception.BAD_VERSION);
    expect(failure.results.map((r) => r.err)).toEqual([0, nzk.Exception.BAD_VERSION, nzk.Exception.RUNTIME_INCONSISTENCY]);
    expect(await ok(call<NzkStat | null>((cb) => client.exists('/txn/b', undefined, cb)))).toBeNull();
    const [data] = await ok(call2<Buffer | null, NzkStat>((cb) => client.getData('/txn', undefined, cb)));
    expect(data?.toString()).toBe('1');
  });
});

describe('watches through the client port', () => {
  it('a data watch fires once, before the response of the write that triggered it', async () => {
    const client = clients[1]!;
    await ok(create(client, '/w-data', Buffer.from('0')));
    const order: string[] = [];
    const w = watcher();
    await ok(call2<Buffer | null, NzkStat>((cb) => client.getData('/w-data', (e) => { order.push(`event ${e.getName()}`); w.fn(e); }, cb)));
    await ok(call<NzkStat>((cb) => client.setData('/w-data', Buffer.from('1'), -1, (err, stat) => { order.push('response'); cb(err, stat); })));
    expect(order).toEqual(['event NODE_DATA_CHANGED', 'response']);
    // One-shot: a second change does not fire the consumed watch.
    await ok(call<NzkStat>((cb) => client.setData('/w-data', Buffer.from('2'), -1, cb)));
    await ok(call<NzkStat | null>((cb) => client.exists('/w-data', undefined, cb)));
    expect(w.count()).toBe(1);
  });

  it('exists watches fire on creation, child watches on a new child, data watches on deletion', async () => {
    const watcherClient = clients[2]!;
    const writer = clients[0]!;
    const created = watcher();
    expect(await ok(call<NzkStat | null>((cb) => watcherClient.exists('/w-new', created.fn, cb)))).toBeNull();
    await ok(create(writer, '/w-new', null));
    expect((await created.fired).getType()).toBe(nzk.Event.NODE_CREATED);
    expect((await created.fired).getPath()).toBe('/w-new');

    const child = watcher();
    await replicated(2, '/w-new');
    await ok(call2<string[], NzkStat>((cb) => watcherClient.getChildren('/w-new', child.fn, cb)));
    await ok(create(writer, '/w-new/kid', null));
    expect((await child.fired).getType()).toBe(nzk.Event.NODE_CHILDREN_CHANGED);

    const deleted = watcher();
    await replicated(2, '/w-new/kid');
    await ok(call2<Buffer | null, NzkStat>((cb) => watcherClient.getData('/w-new/kid', deleted.fn, cb)));
    await ok(call<void>((cb) => writer.remove('/w-new/kid', -1, cb as never)));
    const event = await deleted.fired;
    expect(event.getType()).toBe(nzk.Event.NODE_DELETED);
    expect(event.getPath()).toBe('/w-new/kid');
  });

  it('the watch is registered for the session in its server\'s watch manager', async () => {
    const client = clients[0]!;
    await ok(create(client, '/w-count', null));
    await ok(call2<Buffer | null, NzkStat>((cb) => client.getData('/w-count', () => undefined, cb)));
    const service = cluster.ensemble.servers[0]!.service;
    expect(service.watches.watchesBySession().get(sessionIdOf(client))).toContain('/w-count');
  });
});
