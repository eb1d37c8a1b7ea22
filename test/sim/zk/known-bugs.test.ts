/**
 * Defects of the service found by the simulator, each reproduced exactly (seed and steps). These
 * tests assert that the defect is STILL THERE: when one fails, the defect was fixed — delete the test
 * (and, for the first, the simulator's workAroundCommandIdReuse).
 */
import { describe, expect, it } from 'vitest';
import type { SessionListener } from '../../../src/node/service.js';
import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE } from '../../../src/protocol/zookeeper.js';
import { checkAnsweredWritesApplied, checkZnodeHistory } from '../../../src/sim/zk/checks.js';
import { SimZkClient } from '../../../src/sim/zk/client.js';
import { ZkSimCluster } from '../../../src/sim/zk/cluster.js';
import { calmZkScenario, randomZkScenario } from '../../../src/sim/zk/scenario.js';
import { runLinearizabilityWorkload } from '../../../src/sim/zk/workload.js';

const RUN_LIMIT_MS = 30_000;
const quiet: SessionListener = { onWatch: () => {}, onSessionEnd: () => {} };

describe('known service defects (reproductions)', () => {
  it('command ids restart at 0 after a crash: a command from the previous life answers a new one, and an acknowledged setData is lost (seed 13)', async () => {
    // n3 crashes with client 0's linearizable-read no-op "3.1" still queued at the leader; after its
    // restart n3 names client 0's next write (a setData) "3.1" too. The leader drops the new "3.1"
    // as a retry of the queued one; when the old no-op commits, n3 answers the setData with its
    // result (OK, no Stat). The setData is never applied anywhere.
    const cluster = new ZkSimCluster(randomZkScenario(13, { healAtMs: 2000 }), { workAroundCommandIdReuse: false });
    const run = await runLinearizabilityWorkload(cluster, { clients: 4, paths: 3 });
    expect(checkAnsweredWritesApplied(cluster, run.clients.flatMap((c) => c.answeredWrites))).toMatch(
      /applied noop of session .* not client 0's setData \/lin\/k0/,
    );
    expect(run.history.unexpected.join('\n')).toMatch(/setData \/lin\/k0 answered OK without a Stat/);
    // With command ids kept unique across restarts, the same scenario is clean.
    const fixed = new ZkSimCluster(randomZkScenario(13, { healAtMs: 2000 }));
    const fixedRun = await runLinearizabilityWorkload(fixed, { clients: 4, paths: 3 });
    expect(checkAnsweredWritesApplied(fixed, fixedRun.clients.flatMap((c) => c.answeredWrites))).toBeNull();
  });

  it('a write forwarded before its session moved is retried by the old server and applied twice, after the session\'s later write (seed 225)', async () => {
    // Client 3 sends setData "c3.37" through n3 while n3 has no quorum (n2 partitioned away, n1
    // crashed). With no answer for 2/3 of its session timeout the client moves to n1 and writes
    // "c3.38" through a new attachment. After the heal a copy of "c3.37" (command 3.39) is chosen at
    // zxid 0x2_00000087, "c3.38" at 0x3_00000089, and then n3's forward retry of command 3.39 again
    // at 0x3_0000008c: the per-session de-duplication only remembers the session's latest attachment
    // (n1's), so the copy is applied a second time, after the session's later write. The final value,
    // "c3.37" at version 8, is explained by no order of the client's operations.
    const scenario = randomZkScenario(225, { healAtMs: 2000, wipe: true });
    const cluster = new ZkSimCluster(scenario);
    const run = await runLinearizabilityWorkload(cluster, { clients: 4, paths: 3 });
    expect(checkZnodeHistory(run.operations).violation).toMatch(/getData \/lin\/k1 -> OK "c3\.37" v8/);
    const decoder = new TextDecoder();
    for (const server of cluster.upServers()) {
      const applies = server.applied.filter((a) => a.txn.type === 'setData' && decoder.decode(a.txn.data) === 'c3.37');
      expect(applies.map((a) => a.sessionHex)).toEqual(['300000000000000', '300000000000000']);
    }
  });

  it('a session the leader expires is reported as Closed, not Expired, to its client when that client is attached to the leader', async () => {
    // endSession decides "closed by its own client" by pending.has(commandId), which is also true on
    // the leader for the closeSession it wrote itself to expire the session.
    const cluster = new ZkSimCluster(calmZkScenario(5, 3));
    const work = (async () => {
      await cluster.sleep(1000);
      const leader = cluster.leader()!.id;
      const onLeader = new SimZkClient(cluster, { id: 0, sessionTimeoutMs: 600, server: leader });
      const onFollower = new SimZkClient(cluster, { id: 1, sessionTimeoutMs: 600, server: cluster.serverIds.find((id) => id !== leader)! });
      await onLeader.connect();
      await onFollower.connect();
      onLeader.freeze();
      onFollower.freeze();
      await cluster.sleep(1500);
      onLeader.thaw();
      onFollower.thaw();
      await cluster.sleep(100);
      return { leader, onLeader, onFollower };
    })();
    const done = await cluster.runUntilDone(work, RUN_LIMIT_MS);
    if (done.timedOut) throw new Error('run did not finish');
    const { leader, onLeader, onFollower } = done.value;
    expect(onLeader.serverId ?? leader).toBe(leader);
    expect(onLeader.anomalies.join('\n')).toMatch(/ended as Closed .* never closed it \(on n\d\)/);
    expect(onFollower.anomalies).toEqual([]);
  });

  it('openSession takes no last-seen zxid, so a session that moves to a lagging server reads state older than it has seen', async () => {
    // ZooKeeper refuses such a connection ("client has seen zxid 0x.. our last zxid is 0x..") so
    // that a client never goes back in time; here the move succeeds and the read misses a znode the
    // session itself created.
    const cluster = new ZkSimCluster(calmZkScenario(5, 3));
    const work = (async () => {
      await cluster.sleep(1000);
      const leader = cluster.leader()!;
      const lagging = cluster.server(cluster.serverIds.find((id) => id !== leader.id)!)!;
      const grant = await leader.service.openSession({ sessionId: 0n, timeoutMs: 2000 }, quiet);
      if ('err' in grant) throw new Error('no session');
      await cluster.settle();
      cluster.partition([[lagging.id], cluster.serverIds.filter((id) => id !== lagging.id)]);
      const created = await leader.service.submit(grant.sessionId, { op: 'create', path: '/seen', data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT });
      leader.service.detach(grant.sessionId);
      const moved = await lagging.service.openSession({ sessionId: grant.sessionId, passwordHex: grant.passwordHex, timeoutMs: grant.timeoutMs }, quiet);
      const read = await lagging.service.submit(grant.sessionId, { op: 'exists', path: '/seen', watch: false });
      return { created, moved, read };
    })();
    const done = await cluster.runUntilDone(work, RUN_LIMIT_MS);
    if (done.timedOut) throw new Error('run did not finish');
    const { created, moved, read } = done.value;
    expect(created.err).toBe(ErrorCode.OK);
    expect('err' in moved).toBe(false);
    expect(read.err).toBe(ErrorCode.NONODE);
    expect(read.zxid).toBeLessThan(created.zxid);
  });
});
