import { describe, expect, it } from 'vitest';
import { AddWatchMode, CreateMode, ErrorCode, EventType, WatcherType } from '../../src/protocol/zookeeper.js';
import { WatchManager, type WatchNotification } from '../../src/tree/watches.js';
import type { ApplyResult } from '../../src/tree/tree.js';
import { Harness, S1, S2 } from './harness.js';

const A = 0xan;
const B = 0xbn;
const { NodeCreated, NodeDeleted, NodeDataChanged, NodeChildrenChanged } = EventType;
const n = (sessionId: bigint, type: EventType, path: string): WatchNotification => ({ sessionId, type, path });

/**
 * A tree and a watch manager wired as a server would: every apply's triggers go to the watches.
 * `run` leaves out the ACL each notification carries (tested on its own below).
 */
function fixture(): { h: Harness; w: WatchManager; run: (f: (h: Harness) => ApplyResult) => WatchNotification[] } {
  const h = new Harness();
  const w = new WatchManager();
  return { h, w, run: (f) => w.trigger(f(h).triggers).map(({ sessionId, type, path }) => ({ sessionId, type, path })) };
}

describe('one-shot watches', () => {
  it('exists on a missing node fires NodeCreated once', () => {
    const { w, run } = fixture();
    w.addExistsWatch(A, '/a');
    expect(run((h) => h.create('/a'))).toEqual([n(A, NodeCreated, '/a')]);
    expect(run((h) => h.setData('/a', 'x'))).toEqual([]);
    expect(w.watchCount).toBe(0);
  });

  it('data watches fire NodeDataChanged once, and NodeDeleted', () => {
    const { h, w, run } = fixture();
    h.create('/a');
    w.addDataWatch(A, '/a');
    expect(run((x) => x.setData('/a', '1'))).toEqual([n(A, NodeDataChanged, '/a')]);
    expect(run((x) => x.setData('/a', '2'))).toEqual([]);
    w.addDataWatch(A, '/a');
    expect(run((x) => x.delete('/a'))).toEqual([n(A, NodeDeleted, '/a')]);
  });

  it('child watches fire NodeChildrenChanged on create and delete of a child, not on data changes', () => {
    const { h, w, run } = fixture();
    h.create('/p');
    w.addChildWatch(A, '/p');
    expect(run((x) => x.setData('/p', 'x'))).toEqual([]);
    expect(run((x) => x.create('/p/c'))).toEqual([n(A, NodeChildrenChanged, '/p')]);
    w.addChildWatch(A, '/p');
    expect(run((x) => x.setData('/p/c', 'x'))).toEqual([]);
    expect(run((x) => x.delete('/p/c'))).toEqual([n(A, NodeChildrenChanged, '/p')]);
  });

  it('deleting a node fires its data and child watches once per session, and the parent child watch', () => {
    const { h, w, run } = fixture();
    h.create('/p');
    h.create('/p/c');
    w.addDataWatch(A, '/p/c');
    w.addChildWatch(A, '/p/c');
    w.addChildWatch(B, '/p/c');
    w.addChildWatch(A, '/p');
    expect(run((x) => x.delete('/p/c'))).toEqual([n(A, NodeDeleted, '/p/c'), n(B, NodeDeleted, '/p/c'), n(A, NodeChildrenChanged, '/p')]);
    expect(w.watchCount).toBe(0);
  });

  it('a session watching the same path twice gets one notification', () => {
    const { h, w, run } = fixture();
    h.create('/a');
    w.addDataWatch(A, '/a');
    w.addExistsWatch(A, '/a');
    w.addDataWatch(B, '/a');
    expect(run((x) => x.setData('/a', 'x'))).toEqual([n(A, NodeDataChanged, '/a'), n(B, NodeDataChanged, '/a')]);
  });

  it('setACL and failed writes fire nothing', () => {
    const { h, w, run } = fixture();
    h.create('/a');
    w.addDataWatch(A, '/a');
    expect(run((x) => x.setAcl('/a', [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]))).toEqual([]);
    expect(run((x) => x.setData('/a', 'x', 9))).toEqual([]);
    expect(w.checkWatches(A, '/a', WatcherType.Data)).toBe(ErrorCode.OK);
  });

  it('session close fires the watches on its ephemerals', () => {
    const { h, w, run } = fixture();
    h.create('/e', { mode: CreateMode.EPHEMERAL, sessionId: S2 });
    w.addExistsWatch(S1, '/e');
    w.addChildWatch(S1, '/');
    expect(run((x) => x.closeSession(S2))).toEqual([n(S1, NodeDeleted, '/e'), n(S1, NodeChildrenChanged, '/')]);
  });
});

describe('persistent watches (addWatch)', () => {
  it('PERSISTENT fires data and child events on its path and stays', () => {
    const { w, run } = fixture();
    expect(w.addWatch(A, '/p', AddWatchMode.PERSISTENT)).toBe(ErrorCode.OK);
    expect(run((h) => h.create('/p'))).toEqual([n(A, NodeCreated, '/p')]);
    expect(run((h) => h.create('/p/c'))).toEqual([n(A, NodeChildrenChanged, '/p')]);
    expect(run((h) => h.setData('/p/c', 'x'))).toEqual([]);
    expect(run((h) => h.setData('/p', 'x'))).toEqual([n(A, NodeDataChanged, '/p')]);
    expect(run((h) => h.setData('/p', 'y'))).toEqual([n(A, NodeDataChanged, '/p')]);
    expect(w.watchCount).toBe(2);
  });

  it('PERSISTENT_RECURSIVE fires for the subtree but never NodeChildrenChanged', () => {
    const { w, run } = fixture();
    w.addWatch(A, '/p', AddWatchMode.PERSISTENT_RECURSIVE);
    expect(run((h) => h.create('/p'))).toEqual([n(A, NodeCreated, '/p')]);
    expect(run((h) => h.create('/p/c'))).toEqual([n(A, NodeCreated, '/p/c')]);
    expect(run((h) => h.create('/p/c/d'))).toEqual([n(A, NodeCreated, '/p/c/d')]);
    expect(run((h) => h.setData('/p/c/d', 'x'))).toEqual([n(A, NodeDataChanged, '/p/c/d')]);
    expect(run((h) => h.delete('/p/c/d'))).toEqual([n(A, NodeDeleted, '/p/c/d')]);
    expect(run((h) => h.create('/pq'))).toEqual([]);
    expect(w.watchCount).toBe(1);
  });

  it('a recursive watch on / sees everything', () => {
    const { w, run } = fixture();
    w.addWatch(A, '/', AddWatchMode.PERSISTENT_RECURSIVE);
    expect(run((h) => h.create('/x'))).toEqual([n(A, NodeCreated, '/x')]);
  });

  it('a recursive watch and a one-shot child watch of one session give one NodeDeleted', () => {
    const { h, w, run } = fixture();
    h.create('/p');
    h.create('/p/c');
    w.addWatch(A, '/p', AddWatchMode.PERSISTENT_RECURSIVE);
    w.addChildWatch(A, '/p/c');
    expect(run((x) => x.delete('/p/c'))).toEqual([n(A, NodeDeleted, '/p/c')]);
    expect(w.checkWatches(A, '/p/c', WatcherType.Children)).toBe(ErrorCode.NOWATCHER);
  });

  it('keeps a persistent watch when a one-shot watch on the same path fires (ZOOKEEPER-4466)', () => {
    const { h, w, run } = fixture();
    h.create('/a');
    w.addWatch(A, '/a', AddWatchMode.PERSISTENT);
    w.addDataWatch(A, '/a');
    expect(run((x) => x.setData('/a', '1'))).toEqual([n(A, NodeDataChanged, '/a')]);
    expect(run((x) => x.setData('/a', '2'))).toEqual([n(A, NodeDataChanged, '/a')]);
  });

  it('refuses an unknown mode', () => {
    expect(new WatchManager().addWatch(A, '/a', 9)).toBe(ErrorCode.BADARGUMENTS);
  });
});

describe('removeWatches / checkWatches', () => {
  it('remove by type on exactly the path and answer NOWATCHER when there is none', () => {
    const w = new WatchManager();
    w.addDataWatch(A, '/a');
    w.addChildWatch(A, '/a');
    expect(w.checkWatches(A, '/a', WatcherType.Data)).toBe(ErrorCode.OK);
    expect(w.checkWatches(B, '/a', WatcherType.Data)).toBe(ErrorCode.NOWATCHER);
    expect(w.checkWatches(A, '/a/b', WatcherType.Any)).toBe(ErrorCode.NOWATCHER);
    expect(w.removeWatches(A, '/a', WatcherType.Data)).toBe(ErrorCode.OK);
    expect(w.removeWatches(A, '/a', WatcherType.Data)).toBe(ErrorCode.NOWATCHER);
    expect(w.checkWatches(A, '/a', WatcherType.Children)).toBe(ErrorCode.OK);
    expect(w.removeWatches(A, '/a', WatcherType.Any)).toBe(ErrorCode.OK);
    expect(w.watchCount).toBe(0);
    expect(w.trigger([{ path: '/a', type: NodeDeleted }])).toEqual([]);
  });

  it('Any removes persistent and recursive watches too', () => {
    const w = new WatchManager();
    w.addWatch(A, '/a', AddWatchMode.PERSISTENT);
    w.addWatch(A, '/b', AddWatchMode.PERSISTENT_RECURSIVE);
    expect(w.removeWatches(A, '/a', WatcherType.Any)).toBe(ErrorCode.OK);
    expect(w.removeWatches(A, '/b', WatcherType.Any)).toBe(ErrorCode.OK);
    expect(w.trigger([{ path: '/b/c', type: NodeCreated }, { path: '/a', type: NodeDataChanged }])).toEqual([]);
  });

  it('refuses an unknown watcher type', () => {
    expect(new WatchManager().removeWatches(A, '/a', 7)).toBe(ErrorCode.BADARGUMENTS);
    expect(new WatchManager().checkWatches(A, '/a', 0)).toBe(ErrorCode.BADARGUMENTS);
  });
});

describe('sessions and reports', () => {
  it('removeSession drops all of a session watches only', () => {
    const w = new WatchManager();
    w.addDataWatch(A, '/a');
    w.addWatch(A, '/', AddWatchMode.PERSISTENT_RECURSIVE);
    w.addChildWatch(B, '/a');
    w.removeSession(A);
    expect(w.trigger([{ path: '/a', type: NodeDeleted }])).toEqual([n(B, NodeDeleted, '/a')]);
  });

  it('reports watches by session and by path', () => {
    const w = new WatchManager();
    w.addDataWatch(B, '/b');
    w.addChildWatch(A, '/b');
    w.addDataWatch(A, '/a');
    expect(w.watchesBySession()).toEqual(new Map([[A, ['/a', '/b']], [B, ['/b']]]));
    expect(w.watchesByPath()).toEqual(new Map([['/a', [A]], ['/b', [A, B]]]));
    // ZooKeeper's wchs/wchc/wchp show the data table only.
    expect(w.watchesBySession('data')).toEqual(new Map([[A, ['/a']], [B, ['/b']]]));
    expect(w.watchesByPath('data')).toEqual(new Map([['/a', [A]], ['/b', [B]]]));
    expect([w.dataWatchCount, w.watchCount]).toEqual([2, 3]);
  });

  it('counts a recursive watch in both tables for mntr, as ZooKeeper 3.8.0 stores it (once per session and path)', () => {
    const w = new WatchManager();
    w.addWatch(A, '/r', AddWatchMode.PERSISTENT_RECURSIVE);
    w.addWatch(B, '/r', AddWatchMode.PERSISTENT_RECURSIVE);
    w.addChildWatch(B, '/r');
    expect([w.watchCount, w.zooKeeper38WatchCount]).toEqual([3, 4]);
  });
});

describe('setWatches after reconnect', () => {
  it('answers missed events at once and registers the rest', () => {
    const { h, w, run } = fixture();
    h.create('/same');
    h.create('/changed');
    h.create('/kids');
    const seen = h.zxid;
    h.setData('/changed', 'x');
    h.create('/kids/c');
    h.create('/born');
    const lookup = (p: string) => h.tree.exists(p);
    const immediate = w.setWatches(A, seen, {
      data: ['/same', '/changed', '/gone'],
      exist: ['/born', '/unborn'],
      child: ['/same', '/kids', '/gone'],
      persistent: ['/p'],
      persistentRecursive: ['/r'],
    }, lookup);
    expect(immediate).toEqual([
      n(A, NodeDataChanged, '/changed'),
      n(A, NodeDeleted, '/gone'),
      n(A, NodeCreated, '/born'),
      n(A, NodeChildrenChanged, '/kids'),
      n(A, NodeDeleted, '/gone'),
    ]);
    expect(run((x) => x.setData('/same', 'y'))).toEqual([n(A, NodeDataChanged, '/same')]);
    expect(run((x) => x.create('/unborn'))).toEqual([n(A, NodeCreated, '/unborn')]);
    expect(run((x) => x.create('/r'))).toEqual([n(A, NodeCreated, '/r')]);
    expect(run((x) => x.create('/p'))).toEqual([n(A, NodeCreated, '/p')]);
  });
});

describe('determinism of delivery order', () => {
  it('follows trigger order, so a multi delivers in op order', () => {
    const { h, w, run } = fixture();
    h.create('/a');
    w.addDataWatch(A, '/a');
    w.addExistsWatch(A, '/b');
    const out = run((x) => x.multi([
      { type: 'create', path: '/b', data: new Uint8Array(), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], mode: 0 },
      { type: 'setData', path: '/a', data: new Uint8Array([1]), version: -1 },
    ]));
    expect(out).toEqual([n(A, NodeCreated, '/b'), n(A, NodeDataChanged, '/a')]);
  });
});

describe('the ACL a notification carries (checked for READ on delivery, CVE-2024-23944)', () => {
  const world = (perms: number) => [{ perms, id: { scheme: 'world', id: 'anyone' } }];
  const READ_ONLY = world(1);
  const NO_READ = world(30);
  const READ_CREATE_DELETE = world(13);

  it('is the node’s own ACL at the change, the parent’s for NodeChildrenChanged, the deleted node’s for NodeDeleted', () => {
    const h = new Harness();
    const w = new WatchManager();
    h.create('/p', { acl: READ_CREATE_DELETE });
    h.create('/p/c', { acl: NO_READ });
    w.addDataWatch(A, '/p/c');
    w.addChildWatch(A, '/p');
    const set = w.trigger(h.setData('/p/c', 'x').triggers);
    expect(set).toEqual([{ sessionId: A, type: NodeDataChanged, path: '/p/c', acl: NO_READ }]);
    h.setAcl('/p/c', READ_ONLY);
    w.addDataWatch(A, '/p/c');
    const deleted = w.trigger(h.delete('/p/c').triggers);
    expect(deleted).toEqual([
      { sessionId: A, type: NodeDeleted, path: '/p/c', acl: READ_ONLY },
      { sessionId: A, type: NodeChildrenChanged, path: '/p', acl: READ_CREATE_DELETE },
    ]);
    w.addExistsWatch(B, '/p/n');
    expect(w.trigger(h.create('/p/n', { acl: NO_READ }).triggers)).toEqual([{ sessionId: B, type: NodeCreated, path: '/p/n', acl: NO_READ }]);
  });

  it('is absent for events without one (delivered unchecked, as ZooKeeper’s null ACL)', () => {
    const w = new WatchManager();
    w.addDataWatch(A, '/a');
    expect(w.trigger([{ path: '/a', type: NodeDataChanged }])).toEqual([n(A, NodeDataChanged, '/a')]);
  });
});
