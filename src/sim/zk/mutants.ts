/**
 * Deliberately broken variants of the tree layer, built by wrapping a running service's DataTree
 * or snapshot (no source of the real service changes), to show that the checks over client
 * histories and replicas are not vacuous: each one must make one fail.
 *
 * - `eager-reads`: reads answer from a tree that has also applied every entry this server's acceptor
 *   accepted but has not learned as chosen — applying on accept instead of on learn. Accepted entries
 *   come out of order and with gaps, and may never be chosen, so a read can show a state the log never
 *   has (a write that failed, or that another server's later read does not see).
 * - `stale-reads`: reads answer from a copy of the tree taken up to `STALE_SNAPSHOT_MS` ago, so even a
 *   linearizable read (sync, then read) can miss the session's own last write.
 * - `live-snapshot`: a snapshot takes the tree as it is when its encoding ends, not when it starts.
 *
 * The read mutants leave writes, sessions and watches untouched: only getData and exists answers
 * change.
 */
import type { AcceptedEntry } from '../../protocol/messages.js';
import type { CoordinationService } from '../../node/service.js';
import { DataTree } from '../../tree/index.js';
import type { TreeTxn } from '../../tree/txn.js';
import type { ZkClusterOptions, ZkServer, ZkSimCluster } from './cluster.js';

/** How old a `stale-reads` snapshot may get before it is retaken. */
export const STALE_SNAPSHOT_MS = 150;

export interface ZkMutant {
  readonly name: string;
  readonly description: string;
  readonly options: ZkClusterOptions;
}

type Reads = Pick<DataTree, 'getData' | 'exists'>;

/** Route the service tree's getData and exists to `readTree()`; everything else stays on the real tree. */
function redirectReads(service: CoordinationService, readTree: () => Reads): void {
  const tree = service.tree;
  tree.getData = (path, auth) => readTree().getData(path, auth);
  tree.exists = (path) => readTree().exists(path);
}

/** A copy of `tree` (through its snapshot format). */
function copyOf(tree: DataTree): DataTree {
  return DataTree.deserialize(tree.serialize());
}

function eagerReads(service: CoordinationService, server: ZkServer): void {
  const real = service.tree;
  const realGetData = real.getData.bind(real);
  const realExists = real.exists.bind(real);
  const plain: Reads = { getData: realGetData, exists: realExists };
  redirectReads(service, () => {
    const acceptor = server.node.snapshots().acceptor as { context?: { accepted?: ReadonlyMap<number, AcceptedEntry> } } | undefined;
    const accepted = acceptor?.context?.accepted;
    const applied = server.node.appliedSlot;
    if (accepted === undefined) return plain;
    const ahead = [...accepted.values()].filter((a) => a.slot > applied).sort((a, b) => a.slot - b.slot);
    if (ahead.length === 0) return plain;
    const eager = copyOf(real);
    let zxid = real.lastZxid;
    for (const a of ahead) {
      for (const command of a.entry.commands) {
        zxid += 1n;
        eager.apply((command.payload as { t: TreeTxn }).t, { zxid, timeMs: a.entry.createdMs });
      }
    }
    return eager;
  });
}

function staleReads(service: CoordinationService, cluster: ZkSimCluster): void {
  const real = service.tree;
  let snapshot = copyOf(real);
  let takenAtMs = cluster.now();
  redirectReads(service, () => {
    if (cluster.now() - takenAtMs >= STALE_SNAPSHOT_MS) {
      snapshot = copyOf(real);
      takenAtMs = cluster.now();
    }
    return snapshot;
  });
}

/**
 * A snapshot that reads the tree when its encoding ends instead of when it starts: commands applied
 * between the steps leak into a snapshot labelled with the earlier slot, so a server that restarts
 * from it (or installs it) applies them twice.
 */
function liveSnapshot(service: CoordinationService): void {
  const real = service.snapshot.bind(service);
  service.snapshot = () => {
    let steps = 0;
    return {
      step: () => {
        if (++steps < 3) return null;
        const encoding = real();
        let chunks = encoding.step();
        while (chunks === null) chunks = encoding.step();
        return chunks;
      },
      cancel: () => undefined,
    };
  };
}

export const ZK_MUTANTS: readonly ZkMutant[] = [
  {
    name: 'eager-reads',
    description: 'reads see entries the server accepted but has not learned as committed (apply on accept, not on learn)',
    options: { mutateService: (service, server) => eagerReads(service, server) },
  },
  {
    name: 'stale-reads',
    description: `reads answer from a snapshot up to ${STALE_SNAPSHOT_MS} ms old, older than the session's own last write`,
    options: { mutateService: (service, _server, cluster) => staleReads(service, cluster) },
  },
  {
    name: 'live-snapshot',
    description: 'a snapshot takes the tree as it is when its encoding ends, not when it starts (later commands leak in)',
    options: { mutateService: (service) => liveSnapshot(service) },
  },
];

export function findZkMutant(name: string): ZkMutant | undefined {
  return ZK_MUTANTS.find((m) => m.name === name);
}
