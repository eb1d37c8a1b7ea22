/**
 * Under faults (crashes, restarts, partitions, message loss, duplication and delay) the histories of
 * concurrent clients doing create / setData / delete / linearizable getData and exists are
 * linearizable per path; every answered write is in every replica's log at its zxid; the replicas
 * converge after the heal, clients are served again, and final reads of every replica fit the history
 * (no acknowledged write lost).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAnsweredWritesApplied, checkReplicasConverged, checkZnodeHistory } from '../../../src/sim/zk/checks.js';
import { ZkSimCluster } from '../../../src/sim/zk/cluster.js';
import { describeZkScenario, randomZkScenario, zkScenarioArbitrary } from '../../../src/sim/zk/scenario.js';
import type { ZkScenario } from '../../../src/sim/zk/scenario.js';
import { runLinearizabilityWorkload } from '../../../src/sim/zk/workload.js';

const HEAL_AT_MS = 2000;

/** One run: every violation found, as lines (empty when all holds). */
async function violations(scenario: ZkScenario): Promise<{ problems: string[]; completed: number; pending: number }> {
  const cluster = new ZkSimCluster(scenario);
  const run = await runLinearizabilityWorkload(cluster, { clients: 4, paths: 3 });
  const problems: string[] = [];
  if (!run.settled) problems.push(`not settled: ${checkReplicasConverged(cluster)}`);
  const converged = checkReplicasConverged(cluster);
  if (converged !== null) problems.push(converged);
  const durable = checkAnsweredWritesApplied(cluster, run.clients.flatMap((c) => c.answeredWrites));
  if (durable !== null) problems.push(durable);
  const lin = checkZnodeHistory(run.operations);
  if (lin.violation !== null) problems.push(lin.violation);
  problems.push(...run.history.unexpected);
  if (run.answeredAfterHeal === 0) problems.push('no operation sent after the heal was answered');
  if (problems.length > 0) problems.unshift(describeZkScenario(scenario), ...cluster.faultLog);
  return { problems, ...run.history.counts() };
}

describe('coordination service under faults', () => {
  it('histories are linearizable per path and answered writes survive (fast-check fault schedules)', async () => {
    let completed = 0;
    await fc.assert(
      fc.asyncProperty(zkScenarioArbitrary({ healAtMs: HEAL_AT_MS, maxNodes: 5 }), async (scenario) => {
        const result = await violations(scenario);
        completed += result.completed;
        expect(result.problems, result.problems.join('\n')).toEqual([]);
      }),
      { numRuns: 8 },
    );
    // The property must have had something to judge.
    expect(completed).toBeGreaterThan(200);
  });

  it('histories are linearizable per path and answered writes survive (seeded random schedules)', async () => {
    for (const seed of [11, 12, 13, 14]) {
      const result = await violations(randomZkScenario(seed, { healAtMs: HEAL_AT_MS }));
      expect(result.problems, result.problems.join('\n')).toEqual([]);
      expect(result.completed).toBeGreaterThan(20);
    }
  });
});

describe('determinism', () => {
  it('a run is a pure function of its scenario: the same history, event times included', async () => {
    const scenario = randomZkScenario(5, { healAtMs: 1000 });
    const history = async () => {
      const run = await runLinearizabilityWorkload(new ZkSimCluster(scenario), { clients: 3, paths: 2 });
      return run.operations;
    };
    const first = await history();
    expect(first.length).toBeGreaterThan(20);
    expect(await history()).toEqual(first);
  });
});
