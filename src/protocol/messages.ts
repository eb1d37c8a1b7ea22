/**
 * Peer messages of statekeeper's consensus protocol: plain, serializable, typed data.
 * docs/protocol.md lists each with its sender, receiver, purpose and the invariant it serves.
 */
import type { Ballot, Epoch, NodeId, Slot } from './ids.js';

/** A client command as the replicated log carries it. `id` is unique per client request. */
export interface Command {
  readonly id: string;
  readonly payload: unknown;
}

/**
 * One log entry: a batch of commands created by the proposer of `origin` at `createdMs` (leader's
 * clock, so every replica sees the same time). A no-op fills a gap and has no commands.
 */
export interface Entry {
  readonly origin: Ballot;
  readonly createdMs: number;
  readonly commands: readonly Command[];
}

/** An entry as an acceptor holds it: the ballot it was last accepted in. */
export interface AcceptedEntry {
  readonly slot: Slot;
  readonly ballot: Ballot;
  readonly entry: Entry;
}

/** How far a log reaches, for "at least as up to date" vote checks. */
export interface LogPosition {
  /** Highest ballot epoch among accepted or learned entries. */
  readonly epoch: Epoch;
  /** Highest accepted or learned slot. */
  readonly slot: Slot;
}

// ---- election (follower / candidate / leader) ----

/** Pre-vote: "would you vote for me in `epoch`?" Changes no state on the receiver. */
export interface PreVoteRequest {
  readonly type: 'PreVoteRequest';
  readonly epoch: Epoch;
  readonly lastLog: LogPosition;
}
export interface PreVoteReply {
  readonly type: 'PreVoteReply';
  readonly epoch: Epoch;
  readonly granted: boolean;
}
export interface VoteRequest {
  readonly type: 'VoteRequest';
  readonly epoch: Epoch;
  readonly lastLog: LogPosition;
}
export interface VoteReply {
  readonly type: 'VoteReply';
  readonly epoch: Epoch;
  readonly granted: boolean;
}
/** Leader to every member: "I lead `epoch`". Resets election timers; answered for check-quorum. */
export interface Heartbeat {
  readonly type: 'Heartbeat';
  readonly epoch: Epoch;
}
export interface HeartbeatReply {
  readonly type: 'HeartbeatReply';
  readonly epoch: Epoch;
}

// ---- replication (proposer / acceptor / learner) ----

/** Phase 1a: promise not to accept below `ballot`, and report accepted entries from `fromSlot`. */
export interface PrepareRequest {
  readonly type: 'PrepareRequest';
  readonly ballot: Ballot;
  readonly fromSlot: Slot;
}
/** Phase 1b. */
export interface PromiseReply {
  readonly type: 'PromiseReply';
  readonly ballot: Ballot;
  readonly accepted: readonly AcceptedEntry[];
  /**
   * Every slot up to here is chosen and this acceptor has forgotten what it accepted there (its
   * node holds a snapshot covering them). A proposer never proposes at or below the highest floor
   * its quorum reports. Absent means 0.
   */
  readonly floor?: Slot;
}
/** Phase 2a: accept `entries` at consecutive slots from `fromSlot`, all in `ballot`. */
export interface AcceptRequest {
  readonly type: 'AcceptRequest';
  readonly ballot: Ballot;
  readonly fromSlot: Slot;
  readonly entries: readonly Entry[];
}
/** Phase 2b: the acceptor accepted (and made durable) slots fromSlot..toSlot in `ballot`. */
export interface AcceptedReply {
  readonly type: 'AcceptedReply';
  readonly ballot: Ballot;
  readonly fromSlot: Slot;
  readonly toSlot: Slot;
}
/** An acceptor refuses `ballot` because it promised `promised`, a higher one. */
export interface RejectReply {
  readonly type: 'RejectReply';
  readonly ballot: Ballot;
  readonly promised: Ballot;
}
/**
 * Proposer to learners: every slot up to `commitSlot` is chosen, and slots above `baseSlot` hold the
 * value this proposer sent in `ballot`.
 */
export interface CommitNotice {
  readonly type: 'CommitNotice';
  readonly ballot: Ballot;
  readonly baseSlot: Slot;
  readonly commitSlot: Slot;
}
/** Learner asks any node that knows them for chosen entries from `fromSlot`. */
export interface LearnRequest {
  readonly type: 'LearnRequest';
  readonly fromSlot: Slot;
}
/** Chosen entries at consecutive slots from `fromSlot`. */
export interface LearnReply {
  readonly type: 'LearnReply';
  readonly fromSlot: Slot;
  readonly entries: readonly Entry[];
}

/**
 * A voter that lost its disk asks the others what it may have promised and accepted before it
 * takes part again (see docs/design.md, "Disk loss").
 */
export interface RecoveryRequest {
  readonly type: 'RecoveryRequest';
}
export interface RecoveryReply {
  readonly type: 'RecoveryReply';
  /** The replier's election epoch: the lost vote can be no later than the highest a majority reports. */
  readonly epoch: Epoch;
  readonly promised: Ballot;
  readonly accepted: readonly AcceptedEntry[];
  /** The replier's compaction floor (see {@link PromiseReply.floor}); absent means 0. */
  readonly floor?: Slot;
}

/**
 * One piece of a snapshot, sent to a learner that needs slots the sender has compacted away. The
 * learner asks for each next piece itself ({@link SnapshotChunkRequest}), so a transfer never has
 * more than one chunk in flight per learner.
 */
export interface SnapshotChunk {
  readonly type: 'SnapshotChunk';
  /** The snapshot covers every slot up to here. */
  readonly slot: Slot;
  /** Total size of the snapshot in bytes. */
  readonly totalBytes: number;
  /** Where `bytes` starts in the snapshot. */
  readonly offset: number;
  readonly bytes: Uint8Array;
}
/** The learner's pull for the piece of the snapshot at `slot` that starts at `offset`. */
export interface SnapshotChunkRequest {
  readonly type: 'SnapshotChunkRequest';
  readonly slot: Slot;
  readonly offset: number;
}

// ---- clients (simulated clients and the embedded client talk to nodes over the bus) ----

export interface ClientRequest {
  readonly type: 'ClientRequest';
  readonly command: Command;
}
export interface ClientReply {
  readonly type: 'ClientReply';
  readonly commandId: string;
  readonly ok: boolean;
  /** Slot the command was chosen at, when ok. */
  readonly slot?: Slot;
  /** Who the replying node believes leads, when not ok. */
  readonly leaderHint?: NodeId | null;
  /** The application's result of applying the command, when ok. */
  readonly result?: unknown;
}

// ---- the coordination service (sessions live on the servers clients attach to) ----

/** A server tells the leader which of its sessions showed activity, so the leader keeps them alive. */
export interface SessionTouch {
  readonly type: 'SessionTouch';
  /** Session ids as hex strings. */
  readonly sessions: readonly string[];
}

export type ElectionMessage = PreVoteRequest | PreVoteReply | VoteRequest | VoteReply | Heartbeat | HeartbeatReply;
export type ReplicationMessage =
  | PrepareRequest
  | PromiseReply
  | AcceptRequest
  | AcceptedReply
  | RejectReply
  | CommitNotice
  | LearnRequest
  | LearnReply
  | RecoveryRequest
  | RecoveryReply
  | SnapshotChunk
  | SnapshotChunkRequest;
export type ClientMessage = ClientRequest | ClientReply;
export type ServiceMessage = SessionTouch;
export type PeerMessage = ElectionMessage | ReplicationMessage | ClientMessage | ServiceMessage;

/** The epoch a message speaks for, used by the shared prelude that steps down on a higher one. */
export function messageEpoch(msg: PeerMessage): Epoch | undefined {
  switch (msg.type) {
    case 'PreVoteRequest':
    case 'PreVoteReply':
      return undefined; // a pre-vote must not disturb anyone's epoch
    case 'VoteRequest':
    case 'VoteReply':
    case 'Heartbeat':
    case 'HeartbeatReply':
      return msg.epoch;
    case 'PrepareRequest':
    case 'PromiseReply':
    case 'AcceptRequest':
    case 'AcceptedReply':
    case 'CommitNotice':
      return msg.ballot.epoch;
    case 'RejectReply':
      return msg.promised.epoch;
    default:
      return undefined;
  }
}

/** A stable identity of an entry, for checks that compare chosen values. */
export function entryKey(e: Entry): string {
  let key = `${e.origin.epoch}.${e.origin.nodeId}@${e.createdMs}:`;
  for (const c of e.commands) key += `${c.id},`;
  return key;
}
