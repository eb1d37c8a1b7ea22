/**
 * The same zkCli sessions, run by Apache ZooKeeper's own shell (Debian's zookeeper 3.8 package),
 * against a real standalone ZooKeeper 3.8 and against a 3-node statekeeper ensemble (through a
 * follower, so writes are forwarded to the leader). The outputs must be equal after normalizing
 * zxids, times, session ids and child order (src/server/compat/zkcli-output.ts); specific
 * expected lines are asserted too, so two equally broken outputs cannot pass.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStatekeeperZk } from '../../src/server/compat/statekeeper.js';
import type { StatekeeperZk } from '../../src/server/compat/statekeeper.js';
import { normalizeZkCliOutput } from '../../src/server/compat/zkcli-output.js';
import type { NormalizedZkCliOutput } from '../../src/server/compat/zkcli-output.js';
import { runZkCli, startZooKeeper } from '../../src/server/compat/zookeeper.js';
import type { ZooKeeperServer } from '../../src/server/compat/zookeeper.js';
import { referenceInstalled } from './reference.js';

const BOB_DIGEST = createHash('sha1').update('bob:pw').digest('base64');
const ALICE_DIGEST = createHash('sha1').update('alice:secret').digest('base64');

/** First session: every kind of create, reads, writes, errors, ACLs, auth and persistent watches. */
const SESSION_ONE = [
  'create /c',
  'create /c/p data1',
  'create -e /c/e eph',
  'create -s /c/s- seq',
  'create -s -e /c/es- eseq',
  'create -c /c/cont',
  'create -t 600000 /c/ttl ttldata',
  'create /c/p again',
  'create /c/x/y orphan',
  'get /c/p',
  'get -s /c/p',
  'set /c/p data2',
  'set -s /c/p data3',
  'set -v 1 /c/p data4',
  'stat /c/p',
  'stat /c/ttl',
  'stat /c/e',
  'stat /c/nope',
  'get /c/nope',
  'ls /c',
  'ls -s /c',
  'ls -R /c',
  'sync /c',
  'getAllChildrenNumber /c',
  'getEphemerals /c',
  'getAcl /c/p',
  'addauth digest alice:secret',
  'whoami',
  'create /c/secret s1 auth:alice:secret:cdrwa',
  'getAcl /c/secret',
  `setAcl /c/p digest:bob:${BOB_DIGEST}:r`,
  'getAcl /c/p',
  'get /c/p',
  'set /c/p nope',
  'setAcl -v 5 /c/s-0000000002 world:anyone:r',
  'setAcl /c/s-0000000002 world:anyone:r',
  'getAcl -s /c/s-0000000002',
  'set /c/s-0000000002 denied',
  'get -w /c/secret',
  'set /c/secret s2',
  'addWatch /c',
  'addWatch -m PERSISTENT_RECURSIVE /c/cont',
  'create /c/cont/w x',
  'set /c/cont/w y',
  'delete /c/cont/w',
  'delete /c/nonexistent',
  'delete /c',
  'delete -v 7 /c/s-0000000002',
  'delete /c/s-0000000002',
  'ls -w /c',
  'create /c/z',
  'stat -w /c/z',
  'set /c/z zz',
  'deleteall /c/cont',
  'ls -R /c',
];

/** Second session (after the first closed): its ephemerals are gone, and it lacks the first one's auth. */
const SESSION_TWO = [
  'ls /c',
  'get /c/secret',
  'getAcl /c/secret',
  'addauth digest alice:secret',
  'get /c/secret',
  'getAcl /c/p',
  'addauth digest bob:pw',
  'whoami',
  'get /c/p',
  'getAcl /c/p',
  'deleteall /c',
  'ls /',
  'stat /c',
];

/**
 * Quotas: setquota creates the limits and stats nodes, and the server keeps the stats (count and
 * bytes of the subtree, innermost quota first) through creates, setData, deletes and an ephemeral
 * that goes with its session, without changing the stats node's version.
 */
const QUOTA_SESSION = [
  'create /q',
  'create /q/a x',
  'create /q/inner',
  'setquota -n 10 /q',
  'listquota /q',
  'create /q/b yy',
  'set /q/a xyz',
  'create -e /q/eph abcd',
  'listquota /q',
  'setquota -b 100 /q/inner',
  'create /q/inner/c 12345',
  'listquota /q',
  'listquota /q/inner',
  'get -s /zookeeper/quota/q/zookeeper_stats',
  'delete /q/b',
  'delete /q/inner/c',
  'listquota /q',
  'listquota /q/inner',
  'delquota -n /q',
  'listquota /q',
  'delquota /q/inner',
  'listquota /q/inner',
  'create /q/inner/d 1',
  'listquota /q',
];

/**
 * With zookeeper.enforceQuota on both servers: hard limits (-N, -B) refuse creates and setData of
 * the innermost quota with QUOTAEXCEEDED; soft limits (-n, -b) refuse nothing.
 */
const ENFORCED_QUOTA_SESSION = [
  'create /q',
  'create /q/a x',
  'setquota -N 3 /q',
  'get /zookeeper/quota/q/zookeeper_limits',
  'create /q/b',
  'create /q/c',
  'set /q/a yyyyy',
  'setquota -B 10 /q',
  'listquota /q',
  'set /q/a 0123456789',
  'set /q/a 01234567890',
  'set -v 99 /q/a 0123456789012',
  'set /q/a 012345',
  'create /q/e 1',
  'setquota -n 1 /q',
  'delquota -N /q',
  'create /q/f',
  'listquota /q',
  'create /s',
  'create /s/t',
  'setquota -N 2 /s/t',
  'create /s/t/u',
  'create /s/t/v',
  'create /s/x',
  'create -s /s/t/seq',
];

/** After the quota session closed: its ephemeral left the count. */
const QUOTA_AFTER = ['listquota /q', 'ls -R /zookeeper/quota'];

let reference: ZooKeeperServer;
let statekeeper: StatekeeperZk;
/** zkCli talks to a follower: writes go through the forwarding path. */
let statekeeperConnect: string;

async function both(commands: readonly string[]): Promise<{ zk: NormalizedZkCliOutput; sk: NormalizedZkCliOutput; rawZk: string; rawSk: string }> {
  const [zk, sk] = await Promise.all([runZkCli(reference.connectString, commands), runZkCli(statekeeperConnect, commands)]);
  expect(zk.timedOut, 'zkCli against ZooKeeper timed out').toBe(false);
  expect(sk.timedOut, 'zkCli against statekeeper timed out').toBe(false);
  return { zk: normalizeZkCliOutput(zk.output), sk: normalizeZkCliOutput(sk.output), rawZk: zk.output, rawSk: sk.output };
}

describe.skipIf(!referenceInstalled)('zkCli sessions: statekeeper prints what ZooKeeper 3.8 prints', () => {
  beforeAll(async () => {
    [reference, statekeeper] = await Promise.all([startZooKeeper(), startStatekeeperZk({ nodes: 3 })]);
    const follower = statekeeper.ensemble.servers.findIndex((s) => !s.node.isActiveLeader);
    statekeeperConnect = statekeeper.connectString([follower]);
  });

  afterAll(async () => {
    await Promise.all([reference?.stop(), statekeeper?.stop()]);
  });

  it('runs the same two sessions with the same output and the same watch notifications', async () => {
    const one = await both(SESSION_ONE);
    expect(one.sk.lines, `statekeeper output:\n${one.rawSk}`).toEqual(one.zk.lines);
    expect(one.sk.events).toEqual(one.zk.events);

    // Lines the reference prints; asserting them keeps two empty or broken outputs from agreeing.
    const lines = one.zk.lines;
    for (const expected of [
      'Created /c/p',
      'Created /c/s-0000000002',
      'Created /c/es-0000000003',
      'Created /c/ttl',
      'Node already exists: /c/p',
      'Node does not exist: /c/x/y',
      'version No is not valid : /c/p',
      'Node does not exist: /c/nope',
      'dataVersion = 2',
      'ephemeralOwner = <session>',
      '[cont, e, es-0000000003, p, s-0000000002, ttl]',
      "'digest,'alice:" + ALICE_DIGEST,
      'Insufficient permission : /c/p',
      'Node not empty: /c',
      'Sync is OK',
    ]) {
      expect(lines, `reference output lacks ${JSON.stringify(expected)}:\n${one.rawZk}`).toContain(expected);
    }
    for (const expected of [
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/c/secret',
      'WatchedEvent state:SyncConnected type:NodeCreated path:/c/cont/w',
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/c/cont/w',
      'WatchedEvent state:SyncConnected type:NodeDeleted path:/c/cont/w',
      'WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/c',
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/c/z',
    ]) {
      expect(one.zk.events).toContain(expected);
    }

    const two = await both(SESSION_TWO);
    expect(two.sk.lines, `statekeeper output:\n${two.rawSk}`).toEqual(two.zk.lines);
    expect(two.sk.events).toEqual(two.zk.events);
    // whoami lists the ids in ZooKeeper's hash-set order, digest users by name.
    expect(two.zk.lines.join('\n')).toContain('Auth scheme: User\ndigest: alice\ndigest: bob\nip: 127.0.0.1');
    for (const expected of ['[p, secret, ttl, z]', 'Insufficient permission : /c/secret', 'Insufficient permission : /c/p', 's2', 'data3', "'digest,'bob:x", '[zookeeper]', 'Node does not exist: /c']) {
      expect(two.zk.lines, `reference output lacks ${JSON.stringify(expected)}:\n${two.rawZk}`).toContain(expected);
    }
  });

  it('enforces hard quota limits as ZooKeeper does with zookeeper.enforceQuota', async () => {
    const [zk, sk] = await Promise.all([
      startZooKeeper({ systemProperties: { 'zookeeper.enforceQuota': 'true' } }),
      startStatekeeperZk({ nodes: 3, tree: { enforceQuota: true } }),
    ]);
    try {
      const [rawZk, rawSk] = await Promise.all([runZkCli(zk.connectString, ENFORCED_QUOTA_SESSION), runZkCli(sk.connectString([1]), ENFORCED_QUOTA_SESSION)]);
      const zkLines = normalizeZkCliOutput(rawZk.output).lines;
      expect(normalizeZkCliOutput(rawSk.output).lines, `statekeeper output:\n${rawSk.output}`).toEqual(zkLines);
      for (const expected of ['Quota has exceeded : /q/c', 'Quota has exceeded : /q/a', 'Quota has exceeded : /q/e', 'Created /q/f', 'Quota has exceeded : /s/t/v', 'Created /s/x']) {
        expect(zkLines, `reference output lacks ${JSON.stringify(expected)}:\n${rawZk.output}`).toContain(expected);
      }
    } finally {
      await Promise.all([zk.stop(), sk.stop()]);
    }
  });

  it('keeps quota stats as ZooKeeper does (setquota, listquota, delquota)', async () => {
    const quota = await both(QUOTA_SESSION);
    expect(quota.sk.lines, `statekeeper output:\n${quota.rawSk}`).toEqual(quota.zk.lines);
    const after = await both(QUOTA_AFTER);
    expect(after.sk.lines, `statekeeper output:\n${after.rawSk}`).toEqual(after.zk.lines);
    // The counts the reference keeps, so that two outputs without stats cannot agree.
    for (const expected of ['Output stat for /q count=3,bytes=1', 'Output stat for /q count=5,bytes=9', 'count=6,bytes=14']) {
      expect(quota.zk.lines, `reference output lacks ${JSON.stringify(expected)}:\n${quota.rawZk}`).toContain(expected);
    }
  });
});
