/**
 * One-line summaries of peer messages: the type and the fields that matter for reading a run.
 * Shared by simulator traces, golden transcripts and the inspector's timelines.
 */
import { formatBallot } from './ids.js';
import type { PeerMessage } from './messages.js';

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
      return `PromiseReply b=${formatBallot(m.ballot)} accepted=${m.accepted.length}${(m.floor ?? 0) > 0 ? ` floor=${m.floor}` : ''}`;
    case 'RejectReply':
      return `RejectReply b=${formatBallot(m.ballot)} promised=${formatBallot(m.promised)}`;
    case 'CommitNotice':
      return `CommitNotice b=${formatBallot(m.ballot)} commit=${m.commitSlot}`;
    case 'LearnRequest':
      return `LearnRequest from=${m.fromSlot}`;
    case 'LearnReply':
      return `LearnReply slots=${m.fromSlot}..${m.fromSlot + m.entries.length - 1}`;
    case 'SnapshotChunk':
      return `SnapshotChunk slot=${m.slot} bytes=${m.offset}..${m.offset + m.bytes.length}/${m.totalBytes}`;
    case 'SnapshotChunkRequest':
      return `SnapshotChunkRequest slot=${m.slot} offset=${m.offset}`;
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
