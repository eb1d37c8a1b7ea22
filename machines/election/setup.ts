/**
 * The election statechart's vocabulary: every guard, action and delay by name, so the role files
 * (follower.ts, candidate.ts, leader.ts) read like the spec and mutants can `provide` variants.
 */
import { assign, emit, raise, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import type { ElectionMessage } from '../../src/protocol/messages.js';
import { nextRandom } from '../../src/protocol/random.js';
import { quorumSize } from '../../src/protocol/ids.js';
import { bitOf, countBits, isLogUpToDate } from './rules.js';
import type { ElectionContext, ElectionEvent, ElectionInput } from './types.js';

function drawTimeout(context: ElectionContext): Pick<ElectionContext, 'electionTimeoutMs' | 'randomState'> {
  const [r, randomState] = nextRandom(context.randomState);
  const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = context.timings;
  return { electionTimeoutMs: Math.floor(min + r * (max - min)), randomState };
}

export const electionSetup = setup({
  types: {
    context: {} as ElectionContext,
    events: {} as ElectionEvent,
    input: {} as ElectionInput,
    emitted: {} as Effect,
  },
  delays: {
    electionTimeout: ({ context }) => context.electionTimeoutMs,
    heartbeatInterval: ({ context }) => context.timings.heartbeatIntervalMs,
    /** A leader must hear from a quorum within every maximal election timeout, or step down. */
    checkQuorumInterval: ({ context }) => context.timings.electionTimeoutMaxMs,
  },
  guards: {
    /** The shared prelude: any message from a higher epoch moves this node to that epoch first. */
    isHigherEpoch: ({ context, event }) => 'epoch' in event && event.epoch > context.epoch,
    canGrantVote: ({ context, event }) =>
      event.type === 'VoteRequest' &&
      event.epoch === context.epoch &&
      (context.votedFor === null || context.votedFor === event.from) &&
      isLogUpToDate(event.lastLog, event.localLog),
    /** Pre-vote (Raft thesis §9.6): only a node that lost its leader helps a campaign start. */
    canGrantPreVote: ({ context, event }) =>
      event.type === 'PreVoteRequest' &&
      event.epoch > context.epoch &&
      !context.leaderContact &&
      isLogUpToDate(event.lastLog, event.localLog),
    /**
     * A pre-vote refused by a voter already in a later epoch: adopt that epoch (etcd does the same),
     * or a candidate whose epoch fell behind could never win a voter's pre-vote again.
     */
    isRefusalFromLaterEpoch: ({ context, event }) =>
      event.type === 'PreVoteReply' && !event.granted && event.epoch > context.epoch,
    isPreVoteGrant: ({ context, event }) =>
      event.type === 'PreVoteReply' && event.granted && event.epoch === context.epoch + 1,
    isVoteGrant: ({ context, event }) => event.type === 'VoteReply' && event.granted && event.epoch === context.epoch,
    isCurrentLeader: ({ context, event }) => event.type === 'Heartbeat' && event.epoch === context.epoch,
    /**
     * A leader of an older epoch: tell it ours (etcd raft does the same). Without this, a node that
     * raised its epoch in a partition could neither win (pre-votes fail) nor rejoin the old leader.
     */
    isStaleLeader: ({ context, event }) => event.type === 'Heartbeat' && event.epoch < context.epoch,
    isCurrentEpochReply: ({ context, event }) => event.type === 'HeartbeatReply' && event.epoch === context.epoch,
    hasQuorumOfGrants: ({ context }) => countBits(context.grants) >= context.quorum,
    heardFromQuorum: ({ context }) => countBits(context.heardFrom) >= context.quorum,
  },
  actions: {
    adoptEpoch: assign(({ event }) => ({
      epoch: (event as { epoch: number }).epoch,
      votedFor: null,
      leader: null,
      leaderContact: false,
    })),
    /** Re-deliver the message once the prelude has moved to its epoch, so the role handles it. */
    redeliver: raise(({ event }) => event),
    persistElection: emit(({ context }) => ({
      type: 'persistElection' as const,
      epoch: context.epoch,
      votedFor: context.votedFor,
    })),
    drawElectionTimeout: assign(({ context }) => drawTimeout(context)),
    forgetLeaderContact: assign({ leaderContact: false, leader: null }),
    noteLeader: assign(({ event }) => ({ leader: (event as { from: number }).from, leaderContact: true })),
    recordVote: assign(({ event }) => ({ votedFor: (event as { from: number }).from })),
    startPreCampaign: assign(({ context }) => ({ grants: bitOf(context.voters, context.id), leader: null })),
    startCampaign: assign(({ context }) => ({
      epoch: context.epoch + 1,
      votedFor: context.id,
      grants: bitOf(context.voters, context.id),
      leader: null,
    })),
    recordGrant: assign(({ context, event }) => ({
      grants: context.grants | bitOf(context.voters, (event as { from: number }).from),
    })),
    takeLeadership: assign(({ context }) => ({
      leader: context.id,
      heardFrom: bitOf(context.voters, context.id),
    })),
    recordHeard: assign(({ context, event }) => ({
      heardFrom: context.heardFrom | bitOf(context.voters, (event as { from: number }).from),
    })),
    resetHeard: assign(({ context }) => ({ heardFrom: bitOf(context.voters, context.id) })),
    /** The node fills in its log position: the log lives with the acceptor and learner, not here. */
    sendPreVoteRequests: emit(({ context }) => ({ type: 'requestVotes' as const, epoch: context.epoch + 1, preVote: true })),
    sendVoteRequests: emit(({ context }) => ({ type: 'requestVotes' as const, epoch: context.epoch, preVote: false })),
    grantVote: emit(({ context, event }) => reply(event, { type: 'VoteReply', epoch: context.epoch, granted: true })),
    denyVote: emit(({ context, event }) => reply(event, { type: 'VoteReply', epoch: context.epoch, granted: false })),
    grantPreVote: emit(({ event }) =>
      reply(event, { type: 'PreVoteReply', epoch: (event as { epoch: number }).epoch, granted: true }),
    ),
    /** A refusal carries the voter's own epoch, so a candidate that fell behind learns the current one. */
    denyPreVote: emit(({ context, event }) => reply(event, { type: 'PreVoteReply', epoch: context.epoch, granted: false })),
    sendHeartbeats: emit(({ context }) => ({
      type: 'send' as const,
      to: 'peers' as const,
      msg: { type: 'Heartbeat' as const, epoch: context.epoch },
    })),
    answerHeartbeat: emit(({ context, event }) => reply(event, { type: 'HeartbeatReply', epoch: context.epoch })),
    announceFollower: emit(({ context }) => role('follower', context)),
    announceCandidate: emit(({ context }) => role('candidate', context)),
    announceLeader: emit(({ context }) => role('leader', context)),
  },
});

function reply(event: ElectionEvent, msg: ElectionMessage): Effect {
  return { type: 'send', to: (event as { from: number }).from, msg };
}

function role(r: 'follower' | 'candidate' | 'leader', context: ElectionContext): Effect {
  return { type: 'roleChanged', role: r, epoch: context.epoch, leader: context.leader };
}

export function initialElectionContext(input: ElectionInput): ElectionContext {
  return {
    id: input.id,
    voters: input.voters,
    quorum: quorumSize(input.voters.length),
    timings: input.timings,
    epoch: input.epoch,
    votedFor: input.votedFor,
    leader: null,
    grants: 0,
    heardFrom: 0,
    leaderContact: false,
    electionTimeoutMs: input.timings.electionTimeoutMaxMs,
    randomState: input.seed | 0,
  };
}
