/**
 * How the inspector names messages: a one-line summary for the timeline, and which role machine
 * sends and receives each type (for Stately tools, which draw actor-to-actor arrows).
 *
 * The routing mirrors `ConsensusNode.receive` in src/node/node.ts; a type missing there falls back
 * to the node itself, so a new message type shows up (as node-to-node) rather than disappearing.
 */
import type { NodeId } from '../../protocol/ids.js';
import type { MachineName } from './types.js';

/** One line: the type and the fields that matter for reading a run (shared with simulator traces). */
export { summarizeMessage } from '../../protocol/summary.js';

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
