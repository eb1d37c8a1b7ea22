/**
 * Times the linearizability checker on a simulated znode history (by default 10,000 operations
 * of 16 concurrent clients over 300 paths) and prints one line:
 *
 *   history: 10000 ops, clients: 16, check: T ms, linearizable: yes|no
 *
 * Usage: npx tsx bench/lin-checker.ts [--ops N] [--clients N] [--paths N] [--seed N] [--pending RATE]
 * Only the check is timed, not the generation of the history.
 */

import { parseArgs } from 'node:util';
import { checkLinearizable } from '../src/check/lin/checker.js';
import { simulateHistory } from '../src/check/lin/simulate.js';
import { znodeModel } from '../src/check/lin/znode-model.js';

/** A bench run must end; a history this size that needs longer is a bug worth seeing as "unknown". */
const CHECK_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '16' },
    paths: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    pending: { type: 'string', default: '0' },
  },
});

const operations = Number(values.ops);
const clients = Number(values.clients);
const history = simulateHistory({
  operations,
  clients,
  paths: Number(values.paths),
  seed: Number(values.seed),
  pendingRate: Number(values.pending),
});

const startMs = performance.now();
const result = checkLinearizable(znodeModel, history, { timeoutMs: CHECK_TIMEOUT_MS });
const checkMs = performance.now() - startMs;

const verdict = result.linearizable === 'unknown' ? 'unknown' : result.linearizable ? 'yes' : 'no';
console.log(`history: ${operations} ops, clients: ${clients}, check: ${Math.round(checkMs)} ms, linearizable: ${verdict}`);
process.exitCode = result.linearizable === true ? 0 : 1;
