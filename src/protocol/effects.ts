/**
 * Effects: what a machine asks its node to do, as plain data. Machines never do IO themselves.
 *
 * Ordering rule (the node enforces it): effects are performed in the order they were emitted, and a
 * `send` emitted after a `persist*` leaves only once that persist is durable (fsync before ack).
 */
import type { Ballot, Epoch, NodeId, Slot } from './ids.js';
import type { AcceptedEntry, Entry, PeerMessage } from './messages.js';

/** `peers`: every other voter; `voters`: every voter including this node; `members`: voters and observers. */
export type Destination = NodeId | 'peers' | 'voters' | 'members';

export interface SendEffect {
  readonly type: 'send';
  readonly to: Destination;
  readonly msg: PeerMessage;
}
export interface PersistElectionEffect {
  readonly type: 'persistElection';
  readonly epoch: Epoch;
  readonly votedFor: NodeId | null;
}
export interface PersistPromiseEffect {
  readonly type: 'persistPromise';
  readonly promised: Ballot;
}
export interface PersistAcceptedEffect {
  readonly type: 'persistAccepted';
  readonly promised: Ballot;
  readonly accepted: readonly AcceptedEntry[];
}
/**
 * The acceptor forgot every slot up to `floor` (all chosen, and covered by a durable snapshot of its
 * node): its durable state becomes `promised` plus exactly `accepted` (every slot above the floor).
 */
export interface PersistCompactedEffect {
  readonly type: 'persistCompacted';
  readonly floor: Slot;
  readonly promised: Ballot;
  readonly accepted: readonly AcceptedEntry[];
}
/** The learner hands the chosen entry at `slot` to the application; slots arrive in order. */
export interface ApplyEffect {
  readonly type: 'apply';
  readonly slot: Slot;
  readonly entry: Entry;
}
/** Ask every other voter for a (pre-)vote in `epoch`; the node adds its own log position. */
export interface RequestVotesEffect {
  readonly type: 'requestVotes';
  readonly epoch: Epoch;
  readonly preVote: boolean;
}
export type Role = 'follower' | 'candidate' | 'leader';
export interface RoleChangedEffect {
  readonly type: 'roleChanged';
  readonly role: Role;
  readonly epoch: Epoch;
  readonly leader: NodeId | null;
}
/** Phase 1 finished: the proposer of `ballot` now owns every slot above `baseSlot`. */
export interface ProposerActiveEffect {
  readonly type: 'proposerActive';
  readonly ballot: Ballot;
  readonly baseSlot: Slot;
  /** Entries adopted from phase 1 (or no-ops filling gaps), at baseSlot+1.. */
  readonly adopted: readonly Entry[];
  /**
   * Set when an acceptor's compaction floor lifted `baseSlot` above what this node's learner knew:
   * that acceptor's node holds the chosen slots up to `baseSlot`, so learn them from it.
   */
  readonly catchUpFrom?: NodeId;
}
/** An acceptor promised a higher ballot: this proposer can make no progress. */
export interface PreemptedEffect {
  readonly type: 'preempted';
  readonly ballot: Ballot;
  readonly promised: Ballot;
}
/** The proposer saw `slot` chosen (accepted by a quorum in `ballot`). */
export interface ChosenEffect {
  readonly type: 'chosen';
  readonly ballot: Ballot;
  readonly fromSlot: Slot;
  readonly toSlot: Slot;
}

/** A voter that lost its disk has rebuilt its acceptor state from a majority of the others. */
export interface RecoveredEffect {
  readonly type: 'recovered';
  /** The highest election epoch those peers reported: the node must not vote in it or below. */
  readonly epoch: Epoch;
}

export type Effect =
  | RecoveredEffect
  | SendEffect
  | RequestVotesEffect
  | PersistElectionEffect
  | PersistPromiseEffect
  | PersistAcceptedEffect
  | PersistCompactedEffect
  | ApplyEffect
  | RoleChangedEffect
  | ProposerActiveEffect
  | PreemptedEffect
  | ChosenEffect;
