/**
 * Invariants of the coordination service, judged on a finished simulated run. Each returns null when
 * it holds, or a message that says what broke (with times and zxids, to find it in a replay).
 */
import { checkLinearizable, formatCounterexample } from '../../check/lin/checker.js';
import type { CheckResult } from '../../check/lin/checker.js';
import { znodeModel } from '../../check/lin/znode-model.js';
import type { ZnodeInput, ZnodeOutput } from '../../check/lin/znode-model.js';
import type { ZkRequest } from '../../node/service.js';
import type { TreeTxn } from '../../tree/txn.js';
import type { AnsweredWrite } from './client.js';
import type { AppliedTxn, ZkSimCluster } from './cluster.js';
import type { ZnodeOperation } from './history.js';

/** A check must end: a history the checker cannot decide in this long fails as undecided. */
export const LIN_CHECK_TIMEOUT_MS = 60_000;

/** The linearizability verdict on a znode history, per path, with a printable counterexample. */
export function checkZnodeHistory(
  operations: readonly ZnodeOperation[],
  timeoutMs = LIN_CHECK_TIMEOUT_MS,
): { result: CheckResult<ZnodeInput, ZnodeOutput>; violation: string | null } {
  const result = checkLinearizable(znodeModel, operations, { timeoutMs });
  if (result.linearizable === true) return { result, violation: null };
  if (result.linearizable === 'unknown') return { result, violation: `the checker gave up after ${timeoutMs} ms (${result.explored} configurations)` };
  return { result, violation: formatCounterexample(znodeModel, result) };
}

/** Whether transaction `txn` is what `request` asked for (same type and path). */
function sameTransaction(request: ZkRequest, txn: TreeTxn): boolean {
  if (request.op !== txn.type) return false;
  if ('path' in request && 'path' in txn) return request.path === txn.path;
  return true;
}

/**
 * Durability of answered writes: every write the ensemble answered (any error code: a failed
 * transaction is logged too) was applied by every server, at the zxid of its answer, as the same
 * transaction of the same session. Call after `settle()`, with every server up.
 */
export function checkAnsweredWritesApplied(cluster: ZkSimCluster, writes: readonly AnsweredWrite[]): string | null {
  const servers = cluster.upServers();
  if (servers.length !== cluster.serverIds.length) return `only ${servers.length} of ${cluster.serverIds.length} servers are up`;
  for (const server of servers) {
    const byZxid = new Map<bigint, AppliedTxn>();
    for (const a of server.applied) byZxid.set(a.zxid, a);
    for (const w of writes) {
      const applied = byZxid.get(w.response.zxid);
      const what = `client ${w.clientId}'s ${w.request.op}${'path' in w.request ? ` ${w.request.path}` : ''} answered at ${w.atMs.toFixed(1)} ms with zxid 0x${w.response.zxid.toString(16)}`;
      if (applied === undefined) return `server ${server.id} never applied ${what}`;
      if (!sameTransaction(w.request, applied.txn) || applied.sessionHex !== w.sessionId.toString(16)) {
        return `server ${server.id} applied ${applied.txn.type} of session ${applied.sessionHex ?? '-'} at zxid 0x${w.response.zxid.toString(16)}, not ${what}`;
      }
    }
  }
  return null;
}

/** After the heal: every server up, the same applied log and tree digest, and a structurally sound tree. */
export function checkReplicasConverged(cluster: ZkSimCluster): string | null {
  if (!cluster.replicasAgree()) {
    const states = cluster.serverIds.map((id) => {
      const s = cluster.server(id);
      return s === undefined ? `n${id} down` : `n${id} slot ${s.node.appliedSlot} digest ${s.service.tree.digest().slice(0, 8)}`;
    });
    return `replicas differ after the heal: ${states.join(', ')}`;
  }
  for (const s of cluster.upServers()) {
    try {
      s.service.tree.checkInvariants();
    } catch (e) {
      return `server ${s.id}: ${(e as Error).message}`;
    }
  }
  return null;
}

/**
 * Session expiry: the session is gone from every server's sessions table, and so is every ephemeral
 * node it owned (`ephemerals`: the paths it had when it stopped pinging).
 */
export function checkSessionGone(cluster: ZkSimCluster, sessionId: bigint, ephemerals: readonly string[]): string | null {
  for (const s of cluster.upServers()) {
    const tree = s.service.tree;
    if (tree.getSession(sessionId) !== undefined) return `server ${s.id} still has session 0x${sessionId.toString(16)} at ${cluster.now().toFixed(0)} ms`;
    const left = tree.getEphemerals(sessionId);
    if (left.length > 0) return `server ${s.id} still has ephemerals ${left.join(', ')} of expired session 0x${sessionId.toString(16)}`;
    for (const path of ephemerals) {
      const stat = tree.exists(path);
      if (stat !== null && stat.ephemeralOwner === sessionId) return `server ${s.id} still has ${path} of expired session 0x${sessionId.toString(16)}`;
    }
  }
  return null;
}

/** A live session keeps its ephemerals: on every server the session exists and owns each of `ephemerals`. */
export function checkSessionAlive(cluster: ZkSimCluster, sessionId: bigint, ephemerals: readonly string[]): string | null {
  for (const s of cluster.upServers()) {
    const tree = s.service.tree;
    if (tree.getSession(sessionId) === undefined) return `server ${s.id} lost live session 0x${sessionId.toString(16)}`;
    for (const path of ephemerals) {
      if (tree.exists(path)?.ephemeralOwner !== sessionId) return `server ${s.id} lost ${path} of live session 0x${sessionId.toString(16)}`;
    }
  }
  return null;
}

/** When each session ended (first apply anywhere of its closeSession), from the cluster's apply records. */
export function sessionEndTimes(cluster: ZkSimCluster): Map<bigint, number> {
  const ends = new Map<bigint, number>();
  for (const { atMs, txn } of cluster.firstApplied.values()) {
    if (txn.type !== 'closeSession') continue;
    const before = ends.get(txn.sessionId);
    if (before === undefined || atMs < before) ends.set(txn.sessionId, atMs);
  }
  return ends;
}
