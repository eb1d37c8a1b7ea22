/**
 * Regression tests for service defects the simulator found, each pinned to the exact scenario (seed
 * and steps) that showed it:
 *
 * 1. command ids restarted at 0 in each life of a server, so a command of an earlier life committed
 *    after a restart answered a new command with the same id, and the leader dropped the new one as
 *    a retry: an acknowledged setData was lost (seed 13);
 * 2. a forwarded write kept being retried by the server its session had left and was applied twice,
 *    after the session's later write (seed 225: setData "c3.37" at zxids 0x2_00000087 and 0x3_0000008c);
 * 3. a session the leader expired was reported as Closed, not Expired, to its client on the leader;
 * 4. a session could move to a lagging server and read older state than it had seen (no last-seen
 *    zxid in openSession; ZooKeeper refuses such a connection).
 *
 * and
 * 5. a deposed leader's session expiries outlive its leadership: cut off from the clients' pings, the
 *    old leader proposes closeSession for their sessions before it steps down, and after the heal its
 *    forward retries get those commands committed by the new leader, expiring sessions that never
 *    stopped pinging;
 * 6. a server that got past a snapshot it was still receiving (by entries, or another snapshot) kept
 *    turning every learner retry into a request for that stale snapshot's next chunk, and dropped
 *    the chunk when it came: it never caught up (seed 2219, snapCount 15; about 1 run in 100 of a
 *    600-seed soak with small snapCounts, before and after the stepped snapshot encoding).
 */
import { describe, expect, it } from 'vitest';
import type { SessionListener } from '../../../src/node/service.js';
import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE } from '../../../src/protocol/zookeeper.js';
import { checkAnsweredWritesApplied, checkZnodeHistory } from '../../../src/sim/zk/checks.js';
import { SimZkClient } from '../../../src/sim/zk/client.js';
import { ZkSimCluster } from '../../../src/sim/zk/cluster.js';
import { calmZkScenario } from '../../../src/sim/zk/scenario.js';
import type { ZkScenario } from '../../../src/sim/zk/scenario.js';
import { runLinearizabilityWorkload } from '../../../src/sim/zk/workload.js';

const RUN_LIMIT_MS = 30_000;
/** How long the lagging server gets to refuse, stall or catch up. */
const MOVE_WAIT_MS = 2000;
const quiet: SessionListener = { onWatch: () => {}, onSessionEnd: () => {} };

// The scenarios that showed defects 1 and 2, as data (randomZkScenario(13, { healAtMs: 2000 }) and
// randomZkScenario(225, { healAtMs: 2000, wipe: true }) when found), so generator changes keep them.
const SCENARIO_13: ZkScenario = {
  nodes: 4,
  seed: 13,
  network: { dropRate: 0.05799021260812879, duplicateRate: 0.01102116305846721, minDelayMs: 1, maxDelayMs: 11 },
  faults: [
    { atMs: 344, kind: 'crash', node: 1 },
    { atMs: 397, kind: 'crash', node: 2 },
    { atMs: 564, kind: 'partition', groups: [[3, 4], [1, 2]] },
    { atMs: 806, kind: 'restart', node: 2 },
    { atMs: 1068, kind: 'crash', node: 3 },
    { atMs: 1264, kind: 'partition', groups: [[1], [2, 3, 4]] },
    { atMs: 1573, kind: 'restart', node: 1 },
    { atMs: 1726, kind: 'crash', node: 1 },
    { atMs: 1870, kind: 'heal' },
  ],
  healAtMs: 2000,
  tickMs: 100,
  fsyncMs: 1,
};
// randomZkScenario(2219, { healAtMs: 2000, snapshotEveryCommands: 15 }) when found.
const SCENARIO_2219: ZkScenario = {
  nodes: 5,
  seed: 2219,
  network: { dropRate: 0.07267778474837541, duplicateRate: 0.04678901639999822, minDelayMs: 1, maxDelayMs: 9 },
  faults: [
    { atMs: 395, kind: 'partition', groups: [[1, 2, 5], [3, 4]] },
    { atMs: 656, kind: 'heal' },
    { atMs: 1081, kind: 'partition', groups: [[1, 5], [2, 3, 4]] },
    { atMs: 1171, kind: 'partition', groups: [[3], [1, 2, 4, 5]] },
    { atMs: 1504, kind: 'crash', node: 5 },
    { atMs: 1647, kind: 'restart', node: 5 },
    { atMs: 1810, kind: 'heal' },
    { atMs: 1939, kind: 'crash', node: 4 },
  ],
  healAtMs: 2000,
  tickMs: 100,
  fsyncMs: 1,
  snapshotEveryCommands: 15,
};
const SCENARIO_225: ZkScenario = {
  nodes: 3,
  seed: 225,
  network: { dropRate: 0.004906264655292035, duplicateRate: 0.0424626947962679, minDelayMs: 1, maxDelayMs: 14 },
  faults: [
    { atMs: 370, kind: 'partition', groups: [[1, 3], [2]] },
    { atMs: 559, kind: 'partition', groups: [[3], [1, 2]] },
    { atMs: 863, kind: 'heal' },
    { atMs: 1091, kind: 'crash', node: 2 },
    { atMs: 1163, kind: 'restart', node: 2 },
    { atMs: 1314, kind: 'partition', groups: [[2], [1, 3]] },
    { atMs: 1547, kind: 'crash', node: 1 },
    { atMs: 1825, kind: 'restart', node: 1 },
  ],
  healAtMs: 2000,
  tickMs: 100,
  fsyncMs: 1,
};

describe('regressions found by the simulator', () => {
  it('1. a command from a server\'s previous life does not answer a new command (seed 13)', async () => {
    const cluster = new ZkSimCluster(SCENARIO_13);
    const run = await runLinearizabilityWorkload(cluster, { clients: 4, paths: 3, loadMs: 2000 });
    expect(checkAnsweredWritesApplied(cluster, run.clients.flatMap((c) => c.answeredWrites))).toBeNull();
    expect(run.history.unexpected).toEqual([]);
    expect(checkZnodeHistory(run.operations).violation).toBeNull();
  });

  it('2. a write is applied at most once when its session moves while it is in flight (seed 225)', async () => {
    const cluster = new ZkSimCluster(SCENARIO_225);
    const run = await runLinearizabilityWorkload(cluster, { clients: 4, paths: 3, loadMs: 2000 });
    expect(checkZnodeHistory(run.operations).violation).toBeNull();
    // Every setData of the workload carries unique data: none may be applied twice.
    const decoder = new TextDecoder();
    for (const server of cluster.upServers()) {
      const seen = new Set<string>();
      for (const a of server.applied) {
        if (a.txn.type !== 'setData') continue;
        const data = decoder.decode(a.txn.data);
        expect(seen.has(data), `n${server.id} applied setData "${data}" twice`).toBe(false);
        seen.add(data);
      }
    }
  });

  it('3. a session the leader expires ends as Expired for its client on the leader too', async () => {
    const cluster = new ZkSimCluster(calmZkScenario(5, 3));
    const work = (async () => {
      await cluster.sleep(1000);
      const leader = cluster.leader()!.id;
      const onLeader = new SimZkClient(cluster, { id: 0, sessionTimeoutMs: 600, server: leader });
      const onFollower = new SimZkClient(cluster, { id: 1, sessionTimeoutMs: 600, server: cluster.serverIds.find((id) => id !== leader)! });
      await onLeader.connect();
      await onFollower.connect();
      const attachedToLeader = onLeader.serverId === leader;
      onLeader.freeze();
      onFollower.freeze();
      await cluster.sleep(1500);
      onLeader.thaw();
      onFollower.thaw();
      await cluster.sleep(100);
      return { attachedToLeader, onLeader, onFollower };
    })();
    const done = await cluster.runUntilDone(work, RUN_LIMIT_MS);
    if (done.timedOut) throw new Error('run did not finish');
    const { attachedToLeader, onLeader, onFollower } = done.value;
    expect(attachedToLeader).toBe(true);
    for (const client of [onLeader, onFollower]) {
      expect(client.state).toBe('expired');
      expect(client.anomalies).toEqual([]);
    }
  });

  it('4. a session that moves to a lagging server never reads older state than it has seen', async () => {
    const cluster = new ZkSimCluster(calmZkScenario(5, 3));
    const work = (async () => {
      await cluster.sleep(1000);
      const leader = cluster.leader()!;
      const lagging = cluster.server(cluster.serverIds.find((id) => id !== leader.id)!)!;
      const grant = await leader.service.openSession({ sessionId: 0n, timeoutMs: 4000 }, quiet);
      if ('err' in grant) throw new Error('no session');
      await cluster.settle();
      cluster.partition([[lagging.id], cluster.serverIds.filter((id) => id !== lagging.id)]);
      const created = await leader.service.submit(grant.sessionId, { op: 'create', path: '/seen', data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT });
      leader.service.detach(grant.sessionId);
      // As ZooKeeper's ConnectRequest does, the move says the last zxid the session saw.
      const request = { sessionId: grant.sessionId, passwordHex: grant.passwordHex, timeoutMs: grant.timeoutMs, lastZxidSeen: created.zxid };
      const moved = await Promise.race([lagging.service.openSession(request, quiet), cluster.sleep(MOVE_WAIT_MS).then(() => 'stalled' as const)]);
      if (moved === 'stalled' || 'err' in moved) return { created, read: undefined };
      const read = await Promise.race([lagging.service.submit(grant.sessionId, { op: 'exists', path: '/seen', watch: false }), cluster.sleep(MOVE_WAIT_MS).then(() => undefined)]);
      return { created, read };
    })();
    const done = await cluster.runUntilDone(work, RUN_LIMIT_MS);
    if (done.timedOut) throw new Error('run did not finish');
    const { created, read } = done.value;
    expect(created.err).toBe(ErrorCode.OK);
    // Refusing or stalling the move is fine; answering from before the session's own create is not.
    if (read !== undefined) expect(read.err).toBe(ErrorCode.OK);
  });

  it('5. a session that keeps pinging is never expired by a deposed leader (seed 519805496)', async () => {
    // n2 leads; the client pings through n1. n2 is cut off alone right after the connect: it keeps
    // leading (no quorum) until ~800 ms, and at 700 ms, hearing no pings, proposes closeSession for
    // the session. n1 and n3 elect n1 and keep the session alive. After the heal, n2's forward retry
    // of that closeSession reaches n1, which commits it: the live session expires at ~2204 ms.
    const cluster = new ZkSimCluster(calmZkScenario(519805496, 3));
    const client = new SimZkClient(cluster, { id: 0, sessionTimeoutMs: 400, server: 1 });
    const work = (async () => {
      await client.connect();
      const leader = cluster.leader()!.id;
      cluster.partition([[leader], cluster.serverIds.filter((id) => id !== leader)]);
      await cluster.sleep(1500);
      cluster.bus.heal();
      await cluster.sleep(1500);
      return client.state;
    })();
    const done = await cluster.runUntilDone(work, RUN_LIMIT_MS);
    expect(done).toEqual({ timedOut: false, value: 'connected' });
  });

  it('6. a server past a snapshot it was receiving drops that transfer and catches up (seed 2219)', async () => {
    const cluster = new ZkSimCluster(SCENARIO_2219);
    const run = await runLinearizabilityWorkload(cluster, { clients: 6, paths: 3 });
    expect(run.settled, `replicas: ${cluster.upServers().map((s) => `n${s.id}@${s.node.appliedSlot}`).join(' ')}`).toBe(true);
    expect(checkAnsweredWritesApplied(cluster, run.clients.flatMap((c) => c.answeredWrites))).toBeNull();
    expect(checkZnodeHistory(run.operations).violation).toBeNull();
  });
});
