/**
 * A stats provider for a ZkServer in front of a consensus node: the server's mode as ZooKeeper's
 * quorum peers report it, and whether it can serve (it knows a leader, or is one).
 */
import type { ConsensusNode } from '../../node/node.js';
import type { StatEntry } from './fourletter.js';
import type { ZkStatsProvider } from './server.js';

export interface ConsensusStatsOptions {
  /** False once the node is stopped (a crashed server serves nothing). Default: always up. */
  readonly isUp?: () => boolean;
  /** Extra conf lines (tickTime, dataDir, …). */
  readonly conf?: readonly StatEntry[];
}

/**
 * Mode "leader" on the active leader, "follower" elsewhere; serving while the node leads or follows
 * a known leader, as a ZooKeeper quorum peer serves only in LEADING or FOLLOWING state.
 */
export function consensusStatsProvider(node: ConsensusNode, options: ConsensusStatsOptions = {}): ZkStatsProvider {
  const isUp = options.isUp ?? (() => true);
  const leads = (): boolean => node.isActiveLeader;
  const follows = (): boolean => !node.isActiveLeader && node.leader !== null && node.leader !== node.id;
  return {
    serverState: () => (leads() ? 'leader' : follows() ? 'follower' : 'looking'),
    isServing: () => isUp() && (leads() || follows()),
    peerState: () => (leads() ? 'leading - broadcast' : follows() ? 'following - broadcast' : 'looking'),
    conf: () => [['serverId', node.id], ['peerType', 0], ...(options.conf ?? [])],
  };
}
