/**
 * The linearizability workload: concurrent simulated clients run create / setData / delete /
 * linearizable getData and exists on a few znodes under one parent, through the fault schedule and
 * the heal, while every operation is recorded for the checker. After the load the cluster settles
 * and one final read per path per server is appended, so the same check also proves that no
 * acknowledged write was lost.
 */
import { ANY_VERSION } from '../../check/lin/znode-model.js';
import type { ZnodeInput } from '../../check/lin/znode-model.js';
import { CreateMode, ErrorCode, OPEN_ACL_UNSAFE } from '../../protocol/zookeeper.js';
import { SeededRandom } from '../../protocol/random.js';
import { SimZkClient } from './client.js';
import type { ZkSimCluster } from './cluster.js';
import { ZnodeHistory } from './history.js';
import type { ZnodeOperation } from './history.js';
import { SIM_SESSION_TIMEOUT_MS } from './scenario.js';

/** The parent of every znode the workload touches (created before the faults start). */
export const LIN_ROOT = '/lin';
/** How long setup (first session, parent znode) may take before the run is declared stuck. */
const SETUP_LIMIT_MS = 30_000;
/** After the heal, clients get this long to finish their last operation. */
const DRAIN_LIMIT_MS = 30_000;
/** By default the load goes on this long after the heal: the service must serve clients again. */
export const POST_HEAL_LOAD_MS = 1000;
/** A load bounded by `maxOps` only must still end within this much virtual time. */
const MAX_OPEN_LOAD_MS = 3_600_000;

export interface LinWorkloadOptions {
  readonly clients: number;
  /** Number of znodes (contention grows as it shrinks). */
  readonly paths: number;
  /**
   * Clients start operations until this long after the faults start (default: until
   * `POST_HEAL_LOAD_MS` after the heal, so recovery is exercised too; Infinity: until `maxOps`).
   */
  readonly loadMs?: number;
  /** Stop after this many operations in all (default: no limit besides `loadMs`). */
  readonly maxOps?: number;
  /** Longest pause between two operations of one client. */
  readonly thinkMaxMs?: number;
  readonly sessionTimeoutMs?: number;
}

export interface LinWorkloadResult {
  readonly history: ZnodeHistory;
  /** The recorded history, final reads included. */
  readonly operations: ZnodeOperation[];
  readonly clients: readonly SimZkClient[];
  readonly paths: readonly string[];
  /** Whether every server converged to the same tree after the heal. */
  readonly settled: boolean;
  /** Operations invoked by clients (final reads excluded). */
  readonly invoked: number;
  /** Operations answered after the heal (recovery: the service serves clients again). */
  readonly answeredAfterHeal: number;
}

/** Keep retrying `fn` until it answers one of `accept` (bounded by the caller's run limit). */
async function retryUntil(client: SimZkClient, cluster: ZkSimCluster, fn: () => Promise<number | 'lost' | 'expired'>, accept: readonly number[]): Promise<void> {
  for (;;) {
    const r = await fn();
    if (typeof r === 'number' && accept.includes(r)) return;
    if (r === 'expired') await client.connect();
    await cluster.sleep(10);
  }
}

/** Create `path` (persistent, empty) with `client`, tolerating NODEEXISTS and retrying on loss. */
export async function ensureZnode(cluster: ZkSimCluster, client: SimZkClient, path: string): Promise<void> {
  await retryUntil(
    client,
    cluster,
    async () => {
      const outcome = await client.call({ op: 'create', path, data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT });
      return outcome.kind === 'ok' ? outcome.response.err : outcome.kind;
    },
    [ErrorCode.OK, ErrorCode.NODEEXISTS],
  );
}

/**
 * Run the workload on `cluster` (faults are started here, after setup) and return the history.
 * Deterministic for a given cluster scenario and options.
 */
export async function runLinearizabilityWorkload(cluster: ZkSimCluster, options: LinWorkloadOptions): Promise<LinWorkloadResult> {
  const sessionTimeoutMs = options.sessionTimeoutMs ?? SIM_SESSION_TIMEOUT_MS;
  const paths = Array.from({ length: options.paths }, (_, i) => `${LIN_ROOT}/k${i}`);
  const clients = Array.from(
    { length: options.clients },
    (_, i) => new SimZkClient(cluster, { id: i, sessionTimeoutMs, server: cluster.serverIds[i % cluster.serverIds.length]! }),
  );
  const history = new ZnodeHistory(cluster);

  const setup = await cluster.runUntilDone(
    (async () => {
      await Promise.all(clients.map((c) => c.connect()));
      await ensureZnode(cluster, clients[0]!, LIN_ROOT);
    })(),
    cluster.now() + SETUP_LIMIT_MS,
  );
  if (setup.timedOut) throw new Error(`setup did not finish within ${SETUP_LIMIT_MS} ms (scenario seed ${cluster.scenario.seed})`);

  cluster.startFaults();
  const loadEndMs = cluster.now() + (options.loadMs ?? cluster.scenario.healAtMs + POST_HEAL_LOAD_MS);
  const maxOps = options.maxOps ?? Infinity;
  const thinkMaxMs = options.thinkMaxMs ?? 20;
  let invoked = 0;
  const random = new SeededRandom(cluster.scenario.seed ^ 0x2545f491);

  const runClient = async (client: SimZkClient): Promise<void> => {
    const mine = random.fork();
    const knownVersion = new Map<string, number>();
    let n = 0;
    while (cluster.now() < loadEndMs && invoked < maxOps) {
      if (client.state === 'expired') {
        await client.connect();
        continue;
      }
      invoked++;
      const input = pickOperation(mine, client.id, n++, paths, knownVersion);
      const output = await history.run(client, input);
      // Never sent: it is not in the history, so it does not count.
      if (output === 'not-sent') invoked--;
      else if (output !== 'unknown' && output.version !== undefined) knownVersion.set(input.path, output.version);
      else if (output !== 'unknown' && output.err === ErrorCode.NONODE) knownVersion.delete(input.path);
      if (thinkMaxMs > 0) await cluster.sleep(mine.next() * thinkMaxMs);
    }
  };
  const loadLimitMs = Number.isFinite(loadEndMs) ? Math.max(loadEndMs, cluster.faultsStartedAtMs! + cluster.scenario.healAtMs) + DRAIN_LIMIT_MS : cluster.now() + MAX_OPEN_LOAD_MS;
  const load = await cluster.runUntilDone(Promise.all(clients.map(runClient)), loadLimitMs);
  if (load.timedOut) throw new Error(`clients did not finish by ${Math.round(loadLimitMs)} ms of virtual time (scenario seed ${cluster.scenario.seed})`);
  // The heal may still be ahead (a short load): let it happen before judging convergence.
  const healAtMs = cluster.faultsStartedAtMs! + cluster.scenario.healAtMs;
  if (cluster.now() <= healAtMs) await cluster.runUntil(healAtMs + 1);
  const settled = await cluster.settle();
  history.addFinalReads(paths);
  for (const c of clients) cluster.removeWatcher(c);
  const answeredAfterHeal = history.recorder.operations().filter((op) => op.return !== Infinity && op.call > healAtMs).length;
  return { history, operations: history.operations(), clients, paths, settled, invoked, answeredAfterHeal };
}

/** One random operation: mostly on a few paths, with exact versions some of the time. */
function pickOperation(random: SeededRandom, clientId: number, n: number, paths: readonly string[], known: ReadonlyMap<string, number>): ZnodeInput {
  const path = random.pick(paths);
  const data = `c${clientId}.${n}`;
  const version = (): number => {
    const v = known.get(path);
    return v !== undefined && random.chance(0.5) ? v : ANY_VERSION;
  };
  const r = random.next();
  if (r < 0.2) return { op: 'create', path, data };
  if (r < 0.5) return { op: 'setData', path, data, version: version() };
  if (r < 0.6) return { op: 'delete', path, version: version() };
  if (r < 0.9) return { op: 'getData', path };
  return { op: 'exists', path };
}
