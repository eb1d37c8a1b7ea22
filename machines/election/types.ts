import type { Epoch, NodeId } from '../../src/protocol/ids.js';
import type { LogPosition } from '../../src/protocol/messages.js';

export interface ElectionTimings {
  /** Election timeouts are drawn uniformly from [min, max) by the injected seeded source. */
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatIntervalMs: number;
}

export interface ElectionInput {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly timings: ElectionTimings;
  /** Seed of this node's election-jitter source. */
  readonly seed: number;
  /** Persistent state recovered from the node's store (zero on first boot). */
  readonly epoch: Epoch;
  readonly votedFor: NodeId | null;
}

export interface ElectionContext {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly quorum: number;
  readonly timings: ElectionTimings;
  // persistent (the node saves it before any reply that depends on it)
  epoch: Epoch;
  votedFor: NodeId | null;
  // volatile
  leader: NodeId | null;
  /** Bitmask of voters that granted the current (pre-)vote, this node included. */
  grants: number;
  /** Bitmask of voters heard from since the leader's last check-quorum. */
  heardFrom: number;
  /** A follower heard from a leader since its election timer last started: it refuses pre-votes. */
  leaderContact: boolean;
  electionTimeoutMs: number;
  randomState: number;
}

interface FromPeer {
  readonly from: NodeId;
}
/** Events carry the receiving node's own log position, filled in by the node, for vote checks. */
interface WithLocalLog {
  readonly localLog: LogPosition;
}

export type ElectionEvent =
  | ({ type: 'PreVoteRequest'; epoch: Epoch; lastLog: LogPosition } & FromPeer & WithLocalLog)
  | ({ type: 'PreVoteReply'; epoch: Epoch; granted: boolean } & FromPeer)
  | ({ type: 'VoteRequest'; epoch: Epoch; lastLog: LogPosition } & FromPeer & WithLocalLog)
  | ({ type: 'VoteReply'; epoch: Epoch; granted: boolean } & FromPeer)
  | ({ type: 'Heartbeat'; epoch: Epoch } & FromPeer)
  | ({ type: 'HeartbeatReply'; epoch: Epoch } & FromPeer)
  /** The shared prelude saw a higher epoch elsewhere (a ballot, a rejection): step down to it. */
  | { type: 'ObservedEpoch'; epoch: Epoch };
