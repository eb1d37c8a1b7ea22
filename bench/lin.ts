/**
 * bench:lin — a linearizability check of a history recorded from a simulated run of the whole
 * service: 16 concurrent clients (by default) do 10,000 create / setData / delete / linearizable
 * getData and exists operations on a few znodes of a 3-server ensemble, through crashes, restarts,
 * partitions and message loss, then the heal. The history (virtual-time calls and returns, unknown
 * outcomes pending) is checked with checkLinearizable and the znode model; only the check is timed.
 * Before the last line it reports the run and the durability checks (every answered write in every
 * replica's log, final replica reads consistent with the history).
 *
 * Usage: npx tsx bench/lin.ts [--ops N] [--clients N] [--paths N] [--nodes N] [--seed N] [--heal-at MS]
 * Ends with: history: 10000 ops, clients: 16, check: T ms, linearizable: yes
 */
import { parseArgs } from 'node:util';
import { checkLinearizable } from '../src/check/lin/checker.js';
import { znodeModel } from '../src/check/lin/znode-model.js';
import { checkAnsweredWritesApplied, checkReplicasConverged } from '../src/sim/zk/checks.js';
import { ZkSimCluster } from '../src/sim/zk/cluster.js';
import { describeZkScenario, randomZkScenario } from '../src/sim/zk/scenario.js';
import { runLinearizabilityWorkload } from '../src/sim/zk/workload.js';

/** A bench run must end; a history this size that needs longer is worth seeing as "unknown". */
const CHECK_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '16' },
    paths: { type: 'string', default: '32' },
    nodes: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    'heal-at': { type: 'string', default: '6000' },
  },
});

const operations = Number(values.ops);
const clients = Number(values.clients);
const scenario = randomZkScenario(Number(values.seed), { nodes: Number(values.nodes), healAtMs: Number(values['heal-at']) });
const cluster = new ZkSimCluster(scenario);

const simStartMs = performance.now();
const run = await runLinearizabilityWorkload(cluster, { clients, paths: Number(values.paths), maxOps: operations, loadMs: Number.POSITIVE_INFINITY, thinkMaxMs: 5 });
const simMs = performance.now() - simStartMs;

const history = run.history.recorder.operations();
const pending = history.filter((op) => op.return === Infinity).length;
const faults = scenario.faults.length;
console.log(`scenario: ${describeZkScenario(scenario)}`);
console.log(
  `run: ${run.invoked} operations (${history.length - pending} answered, ${pending} unknown) in ${(cluster.now() / 1000).toFixed(1)} s virtual, ${faults} faults before the heal; simulated in ${(simMs / 1000).toFixed(1)} s`,
);
const durability = [
  run.settled ? null : 'replicas did not converge',
  checkReplicasConverged(cluster),
  checkAnsweredWritesApplied(cluster, run.clients.flatMap((c) => c.answeredWrites)),
  ...run.history.unexpected,
].filter((p): p is string => p !== null);
const withFinalReads = checkLinearizable(znodeModel, run.operations, { timeoutMs: CHECK_TIMEOUT_MS });
console.log(
  `durability: ${durability.length === 0 ? 'every answered write in every replica' : durability.join('; ')}; final reads of every replica fit the history: ${withFinalReads.linearizable === true ? 'yes' : String(withFinalReads.linearizable)}`,
);

const startMs = performance.now();
const result = checkLinearizable(znodeModel, history, { timeoutMs: CHECK_TIMEOUT_MS });
const checkMs = performance.now() - startMs;
const verdict = result.linearizable === 'unknown' ? 'unknown' : result.linearizable ? 'yes' : 'no';
console.log(`history: ${history.length} ops, clients: ${clients}, check: ${Math.round(checkMs)} ms, linearizable: ${verdict}`);
process.exitCode = result.linearizable === true && withFinalReads.linearizable === true && durability.length === 0 ? 0 : 1;
