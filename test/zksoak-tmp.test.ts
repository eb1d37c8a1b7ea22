import { it } from 'vitest';
import { checkAnsweredWritesApplied, checkReplicasConverged, checkZnodeHistory } from '/work/main/src/sim/zk/checks.js';
import { ZkSimCluster } from '/work/main/src/sim/zk/cluster.js';
import { randomZkScenario, describeZkScenario } from '/work/main/src/sim/zk/scenario.js';
import { runLinearizabilityWorkload } from '/work/main/src/sim/zk/workload.js';
it('soak', async () => {
  const bad: string[] = [];
  for (let seed = 2000; seed < 2600; seed++) {
    const sc = randomZkScenario(seed, { healAtMs: 2000, snapshotEveryCommands: 4 + (seed % 12), wipe: seed % 3 === 0 });
    const cluster = new ZkSimCluster(sc);
    const run = await runLinearizabilityWorkload(cluster, { clients: 3 + (seed % 4), paths: 1 + (seed % 3) });
    const v = (!run.settled ? 'not settled ' + (checkReplicasConverged(cluster) ?? '') : null) ?? checkReplicasConverged(cluster) ?? checkAnsweredWritesApplied(cluster, run.clients.flatMap((c) => c.answeredWrites)) ?? checkZnodeHistory(run.operations).violation ?? run.history.unexpected[0] ?? (run.answeredAfterHeal === 0 ? 'nothing answered after heal' : null);
    if (v !== null) bad.push(`${seed}: ${v.slice(0, 200)} | ${describeZkScenario(sc)}`);
  }
  console.log('BAD', bad.length, '\n' + bad.join('\n'));
}, 1800000);
