/**
 * What taking a snapshot of a large tree costs the clients of a running ensemble.
 *
 *   npx tsx bench/snapshot.ts [--znodes 200000] [--snap-count 25000] [--seconds 15]
 *                             [--clients 8] [--inflight 32] [--in-process-only]
 *                             [--modes steps,one,none] [--keep]
 *
 * 1. In process: a tree of `--znodes` znodes (100-byte values), encoded in one piece (what a node
 *    did before snapshots were encoded in steps) and by the step encoder, with one setData applied
 *    between steps: the longest step is the longest the event loop is held.
 * 2. Three 3-node ensembles (`statekeeper ensemble`, separate processes, fsync on; `--modes` picks),
 *    one after the other: `steps`, the default `statekeeper.snapshotStepNodes` (2048); `one`, an
 *    unbounded one (every snapshot encoded in a single turn of the event loop, as before); `none`,
 *    the baseline, with no snapshot during the load. Each is loaded with `--znodes`
 *    znodes, then takes a closed-loop setData load (node-zookeeper-client, `--clients` connections
 *    with `--inflight` requests each, random znodes) for `--seconds` with snapCount `--snap-count`,
 *    so every server snapshots the whole tree several times under load. Printed per ensemble:
 *    writes/s, latency p50/p99/p99.9/max, the snapshots the servers logged (count, longest step)
 *    and the servers' largest event-loop delay (prom-client's nodejs_eventloop_lag_max_seconds over
 *    the load). `--keep` keeps each ensemble's data and server logs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { ensembleCommand } from '../src/server/ensemble/cli.js';
import type { RunningEnsemble } from '../src/server/ensemble/cli.js';
import { createServer } from 'node:net';
import { ENSEMBLE_PORT_STRIDE } from '../src/server/ensemble/cli.js';
import { fourLetterWord } from '../src/server/compat/zookeeper.js';
import { CreateMode, OPEN_ACL_UNSAFE } from '../src/protocol/zookeeper.js';
import { DataTree, SNAPSHOT_STEP_NODES } from '../src/tree/index.js';

/** The parts of node-zookeeper-client (CommonJS, untyped) used here. */
interface NzkClient {
  connect(): void;
  close(): void;
  once(event: 'connected', listener: () => void): void;
  create(path: string, data: Buffer, callback: (error: Error | null) => void): void;
  setData(path: string, data: Buffer, version: number, callback: (error: Error | null) => void): void;
}
const zookeeper = createRequire(import.meta.url)('node-zookeeper-client') as {
  createClient(connectString: string, options: { sessionTimeout: number; retries: number }): NzkClient;
};

const { values: args } = parseArgs({
  options: {
    znodes: { type: 'string', default: '200000' },
    'snap-count': { type: 'string', default: '25000' },
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '8' },
    inflight: { type: 'string', default: '32' },
    'in-process-only': { type: 'boolean', default: false },
    modes: { type: 'string', default: 'steps,one,none' },
    keep: { type: 'boolean', default: false },
  },
});
const ZNODES = Number(args.znodes);
const SNAP_COUNT = Number(args['snap-count']);
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const INFLIGHT = Number(args.inflight);
const VALUE = Buffer.alloc(100, 7);
/** Bounds on setup steps, so a broken ensemble ends the run instead of hanging it. */
const READY_TIMEOUT_MS = 60_000;
const PRELOAD_TIMEOUT_MS = 600_000;
const PRELOAD_INFLIGHT = 512;

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function inProcess(): void {
  const tree = new DataTree();
  let zxid = 1n;
  tree.apply({ type: 'createSession', sessionId: 1n, timeoutMs: 30_000 }, { zxid: zxid++, timeMs: 0 });
  const data = new Uint8Array(VALUE);
  tree.apply({ type: 'create', sessionId: 1n, auth: [], path: '/bench', data, acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT }, { zxid: zxid++, timeMs: 0 });
  for (let i = 0; i < ZNODES; i++) {
    tree.apply({ type: 'create', sessionId: 1n, auth: [], path: `/bench/k${i}`, data, acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT }, { zxid: zxid++, timeMs: 0 });
  }
  let t0 = process.hrtime.bigint();
  const whole = tree.serialize();
  const wholeMs = ms(t0);
  let steps = 0;
  let longest = 0;
  const started = process.hrtime.bigint();
  const encoder = tree.beginSnapshot();
  let chunks: readonly Uint8Array[] | null = null;
  while (chunks === null) {
    t0 = process.hrtime.bigint();
    chunks = encoder.step();
    longest = Math.max(longest, ms(t0));
    steps++;
    const path = `/bench/k${steps % ZNODES}`;
    tree.apply({ type: 'setData', sessionId: 1n, auth: [], path, data, version: -1 }, { zxid: zxid++, timeMs: 0 });
  }
  console.log(`in process, ${ZNODES} znodes (${whole.length} bytes):`);
  console.log(`  one piece: ${wholeMs.toFixed(1)} ms`);
  console.log(`  in steps of ${SNAPSHOT_STEP_NODES} nodes: ${steps} steps, longest ${longest.toFixed(1)} ms, ${ms(started).toFixed(0)} ms in all (with a setData between steps)`);
}

function connect(connectString: string): Promise<NzkClient> {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(connectString, { sessionTimeout: 30_000, retries: 3 });
    const timer = setTimeout(() => reject(new Error(`no session with ${connectString} within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

/** Issue `count` operations with at most `inflight` outstanding; rejects on the first error. */
function pipelined(count: number, inflight: number, op: (i: number, done: (e: Error | null) => void) => void, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let finished = 0;
    let failed = false;
    const timer = setTimeout(() => reject(new Error(`${count - finished} operations unfinished after ${timeoutMs} ms`)), timeoutMs);
    const issue = (): void => {
      if (failed || next >= count) return;
      const i = next++;
      op(i, (e) => {
        if (e !== null) {
          failed = true;
          clearTimeout(timer);
          reject(e);
          return;
        }
        finished++;
        if (finished === count) {
          clearTimeout(timer);
          resolve();
        } else issue();
      });
    };
    for (let k = 0; k < Math.min(inflight, count); k++) issue();
  });
}

async function maxEventLoopLagSeconds(adminPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_eventloop_lag_max_seconds'));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

/** A base port whose client, quorum, election and admin ports for 3 nodes are all free. */
async function freeBasePort(): Promise<number> {
  for (let candidate = 31_000; candidate < 60_000; candidate += 500) {
    const ports = [0, 1, 2].flatMap((i) => [0, 1, 2, 3].map((k) => candidate + k * ENSEMBLE_PORT_STRIDE + i));
    let free = true;
    for (const port of ports) {
      free = await new Promise<boolean>((res) => {
        const s = createServer();
        s.once('error', () => res(false));
        s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
      });
      if (!free) break;
    }
    if (free) return candidate;
  }
  throw new Error('no free port range for an ensemble');
}

interface EnsembleResult {
  label: string;
  writesPerS: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  snapshots: number;
  longestStepMs: number;
  lagMaxMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function runEnsemble(label: string, stepNodes: number, snapCount = SNAP_COUNT): Promise<EnsembleResult> {
  const work = mkdtempSync(join(tmpdir(), 'bench-snapshot-'));
  const basePort = await freeBasePort();
  const ensemble: RunningEnsemble = await ensembleCommand({
    nodes: 3,
    dir: work,
    basePort,
    handleSignals: false,
    detached: true,
    out: () => undefined,
    config: { snapCount, 'statekeeper.snapshotStepNodes': stepNodes },
  });
  const clients: NzkClient[] = [];
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const node of ensemble.nodes) {
      while ((await fourLetterWord('127.0.0.1', node.clientPort, 'ruok').catch(() => '')) !== 'imok' || (await fourLetterWord('127.0.0.1', node.clientPort, 'srvr').catch(() => '')).includes('not currently serving')) {
        if (Date.now() > deadline) throw new Error(`${label}: n${node.id} not serving within ${READY_TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const endpoints = ensemble.connectString.split(',');
    for (let c = 0; c < CLIENTS; c++) clients.push(await connect(endpoints[c % endpoints.length]!));
    const loader = clients[0]!;
    await new Promise<void>((resolve, reject) => loader.create('/bench', VALUE, (e) => (e ? reject(e) : resolve())));
    const t0 = Date.now();
    await pipelined(ZNODES, PRELOAD_INFLIGHT, (i, done) => loader.create(`/bench/k${i}`, VALUE, (e) => done(e ?? null)), PRELOAD_TIMEOUT_MS);
    console.log(`  ${label}: ${ZNODES} znodes loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const logsBefore = ensemble.nodes.map((n) => readFileSync(join(work, `n${n.id}`, 'server.log'), 'utf8').length);
    for (const n of ensemble.nodes) await maxEventLoopLagSeconds(n.adminPort); // resets the lag histogram
    const latencies: number[] = [];
    let errors = 0;
    const endAt = Date.now() + SECONDS * 1000;
    const loops: Promise<void>[] = [];
    for (const client of clients) {
      for (let k = 0; k < INFLIGHT; k++) {
        loops.push(
          (async () => {
            while (Date.now() < endAt) {
              const path = `/bench/k${Math.floor(Math.random() * ZNODES)}`;
              const start = process.hrtime.bigint();
              const error = await new Promise<Error | null>((resolve) => client.setData(path, VALUE, -1, (e) => resolve(e ?? null)));
              if (error === null) latencies.push(ms(start));
              else errors++;
            }
          })(),
        );
      }
    }
    await Promise.all(loops);
    const lags = await Promise.all(ensemble.nodes.map((n) => maxEventLoopLagSeconds(n.adminPort)));
    let snapshots = 0;
    let longestStepMs = 0;
    ensemble.nodes.forEach((n, i) => {
      const log = readFileSync(join(work, `n${n.id}`, 'server.log'), 'utf8').slice(logsBefore[i]);
      for (const line of log.split('\n')) {
        if (!line.includes('"snapshot-encoded"')) continue;
        const entry = JSON.parse(line) as { longestStepMs: number };
        snapshots++;
        longestStepMs = Math.max(longestStepMs, entry.longestStepMs);
      }
    });
    latencies.sort((a, b) => a - b);
    return {
      label,
      writesPerS: latencies.length / SECONDS,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      p999: percentile(latencies, 0.999),
      max: latencies[latencies.length - 1] ?? Number.NaN,
      errors,
      snapshots,
      longestStepMs,
      lagMaxMs: Math.max(...lags) * 1000,
    };
  } finally {
    for (const c of clients) c.close();
    await ensemble.stop();
    if (args.keep) console.log(`  ${label}: data and server logs kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  inProcess();
  if (args['in-process-only']) return;
  console.log(`3-node ensembles on 127.0.0.1, fsync on, snapCount ${SNAP_COUNT}, ${ZNODES} znodes of ${VALUE.length} bytes, setData ${CLIENTS}x${INFLIGHT} for ${SECONDS} s:`);
  const modes = args.modes.split(',');
  const results: EnsembleResult[] = [];
  if (modes.includes('steps')) results.push(await runEnsemble(`steps of ${SNAPSHOT_STEP_NODES}`, SNAPSHOT_STEP_NODES));
  if (modes.includes('one')) results.push(await runEnsemble('one step', 2 ** 31 - 1));
  // The baseline: the same load with no snapshot at all.
  if (modes.includes('none')) results.push(await runEnsemble('no snapshots', SNAPSHOT_STEP_NODES, 2 ** 31 - 1));
  console.log('snapshot encoding         writes/s   p50 ms   p99 ms  p99.9 ms   max ms  errors  snapshots  longest step ms  event-loop lag max ms');
  for (const r of results) {
    console.log(
      `${r.label.padEnd(24)} ${r.writesPerS.toFixed(0).padStart(9)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${r.p999.toFixed(1).padStart(9)} ${r.max.toFixed(0).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.snapshots).padStart(10)} ${r.longestStepMs.toFixed(1).padStart(16)} ${r.lagMaxMs.toFixed(0).padStart(22)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
