/**
 * Opt-in soak of the coordination service on the ZooKeeper-level simulator: many seeded runs with
 * faults, disk loss and small snapCounts (so snapshots, compaction and snapshot transfers happen
 * all the time), each checked for convergence after the heal, durability of answered writes,
 * linearizability per path and unexpected replies. Too long for `npm test`; run it after changing
 * the node, the service or the snapshot code.
 *
 *   npm run soak:zk -- [--seeds 600] [--from 2000]
 *
 * Prints each failing seed with its scenario and exits 1 if any failed. A failing seed belongs in
 * test/sim/zk/regressions.test.ts, its scenario pinned as data.
 */
import { parseArgs } from 'node:util';
import { checkAnsweredWritesApplied, checkReplicasConverged, checkZnodeHistory } from '../src/sim/zk/checks.js';
import { ZkSimCluster } from '../src/sim/zk/cluster.js';
import { describeZkScenario, randomZkScenario } from '../src/sim/zk/scenario.js';
import type { ZkScenario } from '../src/sim/zk/scenario.js';
import { runLinearizabilityWorkload } from '../src/sim/zk/workload.js';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '600' },
    from: { type: 'string', default: '2000' },
  },
});
const seeds = Number(args.seeds);
const from = Number(args.from);
if (!Number.isSafeInteger(seeds) || seeds < 1 || !Number.isSafeInteger(from)) throw new Error('--seeds and --from take integers');

/** The run of `seed`: varied cluster size, snapCount 4–15, a disk loss in every third run. */
function soakScenario(seed: number): { scenario: ZkScenario; clients: number; paths: number } {
  const scenario = randomZkScenario(seed, { healAtMs: 2000, snapshotEveryCommands: 4 + (seed % 12), wipe: seed % 3 === 0 });
  return { scenario, clients: 3 + (seed % 4), paths: 1 + (seed % 3) };
}

async function main(): Promise<void> {
  const started = Date.now();
  let failed = 0;
  for (let seed = from; seed < from + seeds; seed++) {
    const { scenario, clients, paths } = soakScenario(seed);
    const cluster = new ZkSimCluster(scenario);
    const run = await runLinearizabilityWorkload(cluster, { clients, paths });
    const problem =
      (run.settled ? null : `not settled: ${checkReplicasConverged(cluster) ?? 'servers still catching up'}`) ??
      checkReplicasConverged(cluster) ??
      checkAnsweredWritesApplied(cluster, run.clients.flatMap((c) => c.answeredWrites)) ??
      checkZnodeHistory(run.operations).violation ??
      run.history.unexpected[0] ??
      (run.answeredAfterHeal === 0 ? 'no operation sent after the heal was answered' : null);
    if (problem !== null) {
      failed++;
      console.log(`seed ${seed} (clients ${clients}, paths ${paths}): ${problem}\n  ${describeZkScenario(scenario)}`);
    }
  }
  console.log(`soak:zk: ${seeds} runs from seed ${from}, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
