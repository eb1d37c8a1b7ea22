/**
 * How the inspector names messages: a one-line summary for the timeline, and which role machine
 * sends and receives each type (for Stately tools, which draw actor-to-actor arrows).
 *
 * The routing mirrors `ConsensusNode.receive` in src/node/node.ts; a type missing there falls back
 * to the node itself, so a new message type shows up (as node-to-node) rather than disappearing.
 */
import { formatBallot } from '../../protocol/ids.js';
import type { NodeId } from '../../protocol/ids.js';
import type { PeerMessage } from '../../protocol/messages.js';
import type { MachineName } from './types.js';

/** One line: the type and the fields that matter for reading a run. */
export function summarizeMessage(msg: { readonly type: string }): string {
  const m = msg as PeerMessage;
  switch (m.type) {
    case 'AcceptRequest':
      return `AcceptRequest b=${formatBallot(m.ballot)} slots=${m.fromSlot}..${m.fromSlot + m.entries.length - 1}`;
    case 'AcceptedReply':
      return `AcceptedReply b=${formatBallot(m.ballot)} slots=${m.fromSlot}..${m.toSlot}`;
    case 'PrepareRequest':
      return `PrepareRequest b=${formatBallot(m.ballot)} from=${m.fromSlot}`;
    case 'PromiseReply':
      return `PromiseReply b=${formatBallot(m.ballot)} accepted=${m.accepted.length}`;
    case 'RejectReply':
      return `RejectReply b=${formatBallot(m.ballot)} promised=${formatBallot(m.promised)}`;
    case 'CommitNotice':
      return `CommitNotice b=${formatBallot(m.ballot)} commit=${m.commitSlot}`;
    case 'LearnRequest':
      return `LearnRequest from=${m.fromSlot}`;
    case 'LearnReply':
      return `LearnReply slots=${m.fromSlot}..${m.fromSlot + m.entries.length - 1}`;
    case 'PreVoteRequest':
    case 'VoteRequest':
      return `${m.type} e=${m.epoch} log=${m.lastLog.epoch}/${m.lastLog.slot}`;
    case 'PreVoteReply':
    case 'VoteReply':
      return `${m.type} e=${m.epoch} granted=${m.granted}`;
    case 'Heartbeat':
    case 'HeartbeatReply':
      return `${m.type} e=${m.epoch}`;
    case 'ClientRequest':
      return `ClientRequest ${m.command.id}`;
    case 'ClientReply':
      return `ClientReply ${m.commandId} ${m.ok ? `ok slot=${m.slot ?? '?'}` : `not leader (hint ${m.leaderHint ?? 'none'})`}`;
    default:
      return msg.type;
  }
}

/** `node` when the node itself (not one of its machines) handles or sends the message. */
export type Endpoint = MachineName | 'node';

/** The machine a delivered message goes to, as ConsensusNode.receive routes it. */
export function receiverMachine(type: string): Endpoint {
  switch (type) {
    case 'PreVoteRequest':
    case 'VoteRequest':
    case 'PreVoteReply':
    case 'VoteReply':
    case 'Heartbeat':
    case 'HeartbeatReply':
      return 'election';
    case 'PrepareRequest':
    case 'AcceptRequest':
    case 'RecoveryRequest':
    case 'RecoveryReply':
      return 'acceptor';
    case 'PromiseReply':
    case 'AcceptedReply':
    case 'RejectReply':
    case 'ClientRequest':
      return 'proposer';
    case 'CommitNotice':
    case 'LearnReply':
      return 'learner';
    default:
      return 'node';
  }
}

/** The machine that emits a message type (the node answers LearnRequests and client requests itself). */
export function senderMachine(type: string): Endpoint {
  switch (type) {
    case 'PreVoteRequest':
    case 'VoteRequest':
    case 'PreVoteReply':
    case 'VoteReply':
    case 'Heartbeat':
    case 'HeartbeatReply':
      return 'election';
    case 'PromiseReply':
    case 'AcceptedReply':
    case 'RejectReply':
    case 'RecoveryRequest':
    case 'RecoveryReply':
      return 'acceptor';
    case 'PrepareRequest':
    case 'AcceptRequest':
    case 'CommitNotice':
      return 'proposer';
    case 'LearnRequest':
      return 'learner';
    default:
      return 'node';
  }
}
