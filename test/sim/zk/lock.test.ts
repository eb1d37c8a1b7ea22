/**
 * The lock recipe (ephemeral-sequential znodes, lowest holds) under faults and paused holders: never
 * two holders whose sessions are both alive, and fencing tokens (czxid) that grow with every
 * acquisition. The check is shown to fail on a broken recipe that takes the lock without waiting.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/protocol/random.js';
import { SimZkClient } from '../../../src/sim/zk/client.js';
import { ZkSimCluster } from '../../../src/sim/zk/cluster.js';
import { LOCK_ROOT, checkLockSafety, runLockWorkload } from '../../../src/sim/zk/lock.js';
import type { BrokenLockRecipe, LockHold } from '../../../src/sim/zk/lock.js';
import { calmZkScenario, describeZkScenario, zkScenarioArbitrary } from '../../../src/sim/zk/scenario.js';
import type { ZkScenario } from '../../../src/sim/zk/scenario.js';
import { ensureZnode } from '../../../src/sim/zk/workload.js';

const HEAL_AT_MS = 2000;
const SESSION_TIMEOUT_MS = 600;
const RUN_LIMIT_MS = 60_000;

async function lockRun(scenario: ZkScenario, broken?: BrokenLockRecipe, clientCount = 4): Promise<{ cluster: ZkSimCluster; holds: LockHold[]; problem: string | null }> {
  const cluster = new ZkSimCluster(scenario);
  const clients = Array.from({ length: clientCount }, (_, id) => new SimZkClient(cluster, { id, sessionTimeoutMs: SESSION_TIMEOUT_MS, server: (id % scenario.nodes) + 1 }));
  const work = (async () => {
    await Promise.all(clients.map((c) => c.connect()));
    await ensureZnode(cluster, clients[0]!, LOCK_ROOT);
    cluster.startFaults();
    return runLockWorkload(cluster, clients, {
      random: new SeededRandom(scenario.seed),
      untilMs: cluster.now() + scenario.healAtMs + 1000,
      maxHoldMs: 60,
      freezeChance: 0.25,
      freezeMs: SESSION_TIMEOUT_MS * 1.5,
      ...(broken === undefined ? {} : { broken }),
    });
  })();
  const done = await cluster.runUntilDone(work, RUN_LIMIT_MS);
  if (done.timedOut) return { cluster, holds: [], problem: `run did not finish: ${describeZkScenario(scenario)}` };
  const holds = done.value;
  const problem = checkLockSafety(cluster, holds);
  return { cluster, holds, problem: problem === null ? null : [describeZkScenario(scenario), ...cluster.faultLog, problem].join('\n') };
}

describe('lock recipe', () => {
  it('never two live holders, and fencing tokens increase, under faults and paused holders', async () => {
    let holds = 0;
    let expiredHolds = 0;
    await fc.assert(
      fc.asyncProperty(zkScenarioArbitrary({ healAtMs: HEAL_AT_MS, maxFaults: 8 }), async (scenario) => {
        const run = await lockRun(scenario);
        holds += run.holds.length;
        expiredHolds += run.holds.filter((h) => h.endedBy === 'expiry').length;
        expect(run.problem).toBeNull();
      }),
      { numRuns: 6 },
    );
    // The runs exercised the interesting case: holders that lost their session while holding.
    expect(holds).toBeGreaterThan(20);
    expect(expiredHolds).toBeGreaterThan(0);
  });

  it('the check catches a recipe that does not wait for its turn', async () => {
    const scenario = calmZkScenario(21, 3, HEAL_AT_MS);
    expect((await lockRun(scenario)).problem).toBeNull();
    expect((await lockRun(scenario, 'no-wait')).problem).toMatch(/two live holders/);
  });
});
