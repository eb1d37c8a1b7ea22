/**
 * An abstract model of the election statechart, written from the rules (Raft §5.2 and §5.4.1,
 * pre-vote and check-quorum from the Raft thesis §9.6 and §6.2) rather than from the code.
 *
 * It is flat (follower, preCandidate, candidate, leader), every timeout is an explicit event, and
 * each transition lists the exact effects the real machine must emit, in order: a persist always
 * precedes the reply that depends on it. Leader timers are tracked as "ms until due" so that a
 * heartbeat and a quorum check are distinct, exactly timed events on the real SimulatedClock.
 */
import { assign, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import type { LogPosition } from '../../src/protocol/messages.js';
import type { ElectionEvent, ElectionTimings } from '../../machines/election/types.js';

/** Heartbeat 100 ms and quorum check 250 ms never fall due together in the explored range. */
export const MODEL_TIMINGS: ElectionTimings = Object.freeze({ electionTimeoutMinMs: 150, electionTimeoutMaxMs: 250, heartbeatIntervalMs: 100 });
const HEARTBEAT_MS = MODEL_TIMINGS.heartbeatIntervalMs;
/** Check-quorum runs once per longest election timeout. */
const CHECK_QUORUM_MS = MODEL_TIMINGS.electionTimeoutMaxMs;

/** The log position every event reports as the receiver's own (the node fills it in for real). */
export const LOCAL_LOG: LogPosition = Object.freeze({ epoch: 1, slot: 2 });
export const UP_TO_DATE_LOG: LogPosition = Object.freeze({ epoch: 1, slot: 2 });
export const STALE_LOG: LogPosition = Object.freeze({ epoch: 1, slot: 1 });

export type ElectionModelEvent =
  | ElectionEvent
  | { type: 'ELECTION_TIMEOUT' }
  | { type: 'BEAT'; afterMs: number }
  | { type: 'CHECK'; afterMs: number };

export interface ElectionModelInput {
  readonly self: number;
  readonly voters: readonly number[];
  readonly epoch: number;
  readonly votedFor: number | null;
}

export interface ElectionModelContext {
  readonly self: number;
  readonly voters: readonly number[];
  readonly quorum: number;
  readonly epoch: number;
  readonly votedFor: number | null;
  readonly leader: number | null;
  /** Heard from a leader since the election timer last started: refuse pre-votes. */
  readonly contact: boolean;
  /** Voters (sorted) that granted the current (pre-)vote; only meaningful while a candidate. */
  readonly grants: readonly number[];
  /** Voters (sorted) heard from since the last quorum check; only meaningful while leader. */
  readonly heard: readonly number[];
  readonly beatDueMs: number;
  readonly checkDueMs: number;
  /** What the last event must have made the real machine emit, in order. */
  readonly effects: readonly Effect[];
}

type Ctx = ElectionModelContext;
type Part = (c: Ctx, e: ElectionModelEvent) => Partial<Ctx>;

function isUpToDate(candidate: LogPosition, local: LogPosition): boolean {
  if (candidate.epoch > local.epoch) return true;
  return candidate.epoch === local.epoch && candidate.slot >= local.slot;
}
function withId(ids: readonly number[], id: number): number[] {
  return ids.includes(id) ? [...ids] : [...ids, id].sort((a, b) => a - b);
}
function fromOf(e: ElectionModelEvent): number {
  return (e as { from: number }).from;
}
function epochOf(e: ElectionModelEvent): number {
  return (e as { epoch: number }).epoch;
}

// ---- effect builders ----
const persist = (epoch: number, votedFor: number | null): Effect => ({ type: 'persistElection', epoch, votedFor });
const announce = (role: 'follower' | 'candidate' | 'leader', c: Ctx): Effect => ({ type: 'roleChanged', role, epoch: c.epoch, leader: c.leader });

// ---- the rules, as parts that thread the context and append effects ----
/** Any message from a higher epoch: move to it, forget vote and leader, make it durable. */
const adopt: Part = (_c, e) => ({ epoch: epochOf(e), votedFor: null, leader: null, contact: false, effects: [persist(epochOf(e), null)] });
/** Note the leader of this epoch and answer it (the answer feeds its check-quorum). */
const followLeader: Part = (c, e) => ({
  leader: fromOf(e),
  contact: true,
  effects: [{ type: 'send', to: fromOf(e), msg: { type: 'HeartbeatReply', epoch: c.epoch } }],
});
/** Raft §5.2: one vote per epoch, made durable before the reply that reveals it. */
const grantVote: Part = (c, e) => ({
  votedFor: fromOf(e),
  effects: [persist(c.epoch, fromOf(e)), { type: 'send', to: fromOf(e), msg: { type: 'VoteReply', epoch: c.epoch, granted: true } }],
});
const answerStaleLeader: Part = (c, e) => ({ effects: [{ type: 'send', to: fromOf(e), msg: { type: 'HeartbeatReply', epoch: c.epoch } }] });
const denyVote: Part = (c, e) => ({ effects: [{ type: 'send', to: fromOf(e), msg: { type: 'VoteReply', epoch: c.epoch, granted: false } }] });
const grantPreVote: Part = (_c, e) => ({ effects: [{ type: 'send', to: fromOf(e), msg: { type: 'PreVoteReply', epoch: epochOf(e), granted: true } }] });
/** A refusal carries the voter's own epoch, so a candidate that fell behind learns the current one. */
const denyPreVote: Part = (c, e) => ({ effects: [{ type: 'send', to: fromOf(e), msg: { type: 'PreVoteReply', epoch: c.epoch, granted: false } }] });
const loseLeader: Part = () => ({ leader: null, contact: false });
const enterCandidate: Part = (c) => ({ effects: [announce('candidate', c)] });
/** Pre-vote: ask for epoch + 1 without moving to it. */
const startPreCampaign: Part = (c) => ({
  leader: null,
  grants: [c.self],
  effects: [{ type: 'requestVotes', epoch: c.epoch + 1, preVote: true }],
});
const startCampaign: Part = (c) => ({
  epoch: c.epoch + 1,
  votedFor: c.self,
  leader: null,
  grants: [c.self],
  effects: [persist(c.epoch + 1, c.self), { type: 'requestVotes', epoch: c.epoch + 1, preVote: false }],
});
/** Grants count only from voters, once each. */
const recordGrant: Part = (c, e) => ({ grants: c.voters.includes(fromOf(e)) ? withId(c.grants, fromOf(e)) : c.grants });
const takeLeadership: Part = (c) => ({
  leader: c.self,
  grants: [],
  heard: [c.self],
  beatDueMs: HEARTBEAT_MS,
  checkDueMs: CHECK_QUORUM_MS,
  effects: [announce('leader', { ...c, leader: c.self }), { type: 'send', to: 'peers', msg: { type: 'Heartbeat', epoch: c.epoch } }],
});
const sendHeartbeats: Part = (c, e) => ({
  beatDueMs: HEARTBEAT_MS,
  checkDueMs: c.checkDueMs - (e as { afterMs: number }).afterMs,
  effects: [{ type: 'send', to: 'peers', msg: { type: 'Heartbeat', epoch: c.epoch } }],
});
const recordHeard: Part = (c, e) => ({ heard: c.voters.includes(fromOf(e)) ? withId(c.heard, fromOf(e)) : c.heard });
const passQuorumCheck: Part = (c, e) => ({
  heard: [c.self],
  checkDueMs: CHECK_QUORUM_MS,
  beatDueMs: c.beatDueMs - (e as { afterMs: number }).afterMs,
});
/** Check-quorum failed: the leader steps down and no longer knows a leader. */
const stepDownUnheard: Part = () => ({ leader: null, contact: false });

/** Several parts as one, in order. */
function chain(...parts: Part[]): Part {
  return (start, e) => {
    let c = start;
    const effects: Effect[] = [];
    for (const part of parts) {
      const out = part(c, e);
      c = { ...c, ...out };
      if (out.effects !== undefined) effects.push(...out.effects);
    }
    const { effects: _ignored, ...rest } = c;
    return { ...rest, effects };
  };
}

/**
 * The follower's own rules for a heartbeat and a vote request in its epoch. A follower that takes
 * one re-enters itself (restarting its election timer), so it announces its role again, after
 * the reply and with the leader it now knows. A higher-epoch message runs the same rule once the
 * node has moved to that epoch.
 */
const followerHeartbeat: Part = (c, e) => (epochOf(e) === c.epoch ? chain(followLeader, enterFollowerPart())(c, e) : {});
const followerVoteRequest: Part = (c, e) => {
  const ev = e as Extract<ElectionEvent, { type: 'VoteRequest' }>;
  const free = c.votedFor === null || c.votedFor === ev.from;
  return ev.epoch === c.epoch && free && isUpToDate(ev.lastLog, ev.localLog) ? chain(grantVote, enterFollowerPart())(c, e) : denyVote(c, e);
};
function enterFollowerPart(): Part {
  return (c) => ({ grants: [], heard: [], beatDueMs: 0, checkDueMs: 0, effects: [announce('follower', c)] });
}

/** Run parts in order; `fresh` starts a new effect list (an event), otherwise append (an `always`). */
function rule(fresh: boolean, ...parts: Part[]) {
  return assign<Ctx, ElectionModelEvent, undefined, ElectionModelEvent, never>(({ context, event }) => {
    let c: Ctx = fresh ? { ...context, effects: [] } : context;
    for (const part of parts) {
      const out = part(c, event);
      c = { ...c, ...out, effects: out.effects === undefined ? c.effects : [...c.effects, ...out.effects] };
    }
    return c;
  });
}
const on = (...parts: Part[]) => rule(true, ...parts);
const then = (...parts: Part[]) => rule(false, ...parts);
const enterFollower = enterFollowerPart();

export const electionModel = setup({
  types: {
    context: {} as ElectionModelContext,
    events: {} as ElectionModelEvent,
    input: {} as ElectionModelInput,
  },
  guards: {
    isHigherEpoch: ({ context, event }) => 'epoch' in event && event.epoch > context.epoch,
    isCurrentEpoch: ({ context, event }) => 'epoch' in event && event.epoch === context.epoch,
    isLowerEpoch: ({ context, event }) => 'epoch' in event && event.epoch < context.epoch,
    canGrantPreVote: ({ context, event }) =>
      event.type === 'PreVoteRequest' && event.epoch > context.epoch && !context.contact && isUpToDate(event.lastLog, event.localLog),
    isPreVoteGrant: ({ context, event }) => event.type === 'PreVoteReply' && event.granted && event.epoch === context.epoch + 1,
    isRefusalFromLaterEpoch: ({ context, event }) => event.type === 'PreVoteReply' && !event.granted && event.epoch > context.epoch,
    isVoteGrant: ({ context, event }) => event.type === 'VoteReply' && event.granted && event.epoch === context.epoch,
    hasQuorumOfGrants: ({ context }) => context.grants.length >= context.quorum,
    heardFromQuorum: ({ context }) => context.heard.length >= context.quorum,
    isBeatDue: ({ context, event }) => event.type === 'BEAT' && event.afterMs === context.beatDueMs && context.beatDueMs < context.checkDueMs,
    isCheckDue: ({ context, event }) => event.type === 'CHECK' && event.afterMs === context.checkDueMs && context.checkDueMs < context.beatDueMs,
  },
  actions: {
    ignore: on(),
    /** Any message from a higher epoch (but a pre-vote): move to it and follow. */
    stepDownToHigherEpoch: on(adopt, enterFollower),
    answerStaleLeader: on(answerStaleLeader),
    followHigherLeader: on(adopt, enterFollower, followerHeartbeat),
    followLeader: on(followerHeartbeat),
    yieldToLeader: on(enterFollower, followerHeartbeat),
    voteInHigherEpoch: on(adopt, enterFollower, followerVoteRequest),
    considerVote: on(followerVoteRequest),
    denyVote: on(denyVote),
    grantPreVote: on(grantPreVote),
    denyPreVote: on(denyPreVote),
    campaignOnTimeout: on(loseLeader, enterCandidate, startPreCampaign),
    restartPreCampaign: on(startPreCampaign),
    recordGrant: on(recordGrant),
    startCampaign: then(startCampaign),
    takeLeadership: then(takeLeadership),
    sendHeartbeats: on(sendHeartbeats),
    passQuorumCheck: on(passQuorumCheck),
    stepDownUnheard: on(stepDownUnheard, enterFollower),
    recordHeard: on(recordHeard),
  },
}).createMachine({
  id: 'electionModel',
  context: ({ input }) => ({
    self: input.self,
    voters: input.voters,
    quorum: Math.floor(input.voters.length / 2) + 1,
    epoch: input.epoch,
    votedFor: input.votedFor,
    leader: null,
    contact: false,
    grants: [],
    heard: [],
    beatDueMs: 0,
    checkDueMs: 0,
    effects: [{ type: 'roleChanged', role: 'follower', epoch: input.epoch, leader: null }],
  }),
  initial: 'follower',
  // Fallbacks: an event no state rule takes changes nothing and emits nothing.
  on: {
    ObservedEpoch: [{ guard: 'isHigherEpoch', target: '.follower', actions: 'stepDownToHigherEpoch' }, { actions: 'ignore' }],
    /** A leader of an older epoch is told ours (as etcd raft does), so it steps down and rejoins. */
    Heartbeat: [{ guard: 'isLowerEpoch', actions: 'answerStaleLeader' }, { actions: 'ignore' }],
    HeartbeatReply: { actions: 'ignore' },
    VoteRequest: { actions: 'ignore' },
    VoteReply: { actions: 'ignore' },
    PreVoteRequest: { actions: 'ignore' },
    PreVoteReply: { actions: 'ignore' },
  },
  states: {
    follower: {
      on: {
        ELECTION_TIMEOUT: { target: 'preCandidate', actions: 'campaignOnTimeout' },
        Heartbeat: [
          { guard: 'isHigherEpoch', target: 'follower', actions: 'followHigherLeader' },
          { guard: 'isCurrentEpoch', target: 'follower', actions: 'followLeader' },
        ],
        VoteRequest: [
          { guard: 'isHigherEpoch', target: 'follower', actions: 'voteInHigherEpoch' },
          { actions: 'considerVote' },
        ],
        PreVoteRequest: [{ guard: 'canGrantPreVote', actions: 'grantPreVote' }, { actions: 'denyPreVote' }],
      },
    },
    preCandidate: {
      always: { guard: 'hasQuorumOfGrants', target: 'candidate', actions: 'startCampaign' },
      on: {
        ELECTION_TIMEOUT: { target: 'preCandidate', actions: 'restartPreCampaign' },
        PreVoteReply: [
          { guard: 'isRefusalFromLaterEpoch', target: 'follower', actions: 'stepDownToHigherEpoch' },
          { guard: 'isPreVoteGrant', actions: 'recordGrant' },
        ],
        Heartbeat: [
          { guard: 'isHigherEpoch', target: 'follower', actions: 'followHigherLeader' },
          { guard: 'isCurrentEpoch', target: 'follower', actions: 'yieldToLeader' },
        ],
        // A candidate has voted for itself, or is about to: it refuses every vote in its epoch.
        VoteRequest: [{ guard: 'isHigherEpoch', target: 'follower', actions: 'voteInHigherEpoch' }, { actions: 'denyVote' }],
        PreVoteRequest: [{ guard: 'canGrantPreVote', actions: 'grantPreVote' }, { actions: 'denyPreVote' }],
      },
    },
    candidate: {
      always: { guard: 'hasQuorumOfGrants', target: 'leader', actions: 'takeLeadership' },
      on: {
        ELECTION_TIMEOUT: { target: 'preCandidate', actions: 'restartPreCampaign' },
        VoteReply: [
          { guard: 'isHigherEpoch', target: 'follower', actions: 'stepDownToHigherEpoch' },
          { guard: 'isVoteGrant', actions: 'recordGrant' },
        ],
        Heartbeat: [
          { guard: 'isHigherEpoch', target: 'follower', actions: 'followHigherLeader' },
          { guard: 'isCurrentEpoch', target: 'follower', actions: 'yieldToLeader' },
        ],
        VoteRequest: [{ guard: 'isHigherEpoch', target: 'follower', actions: 'voteInHigherEpoch' }, { actions: 'denyVote' }],
        PreVoteRequest: [{ guard: 'canGrantPreVote', actions: 'grantPreVote' }, { actions: 'denyPreVote' }],
      },
    },
    leader: {
      on: {
        BEAT: { guard: 'isBeatDue', actions: 'sendHeartbeats' },
        CHECK: [
          { guard: 'heardFromQuorum', actions: 'passQuorumCheck' },
          { target: 'follower', actions: 'stepDownUnheard' },
        ],
        HeartbeatReply: [
          { guard: 'isHigherEpoch', target: 'follower', actions: 'stepDownToHigherEpoch' },
          { guard: 'isCurrentEpoch', actions: 'recordHeard' },
        ],
        Heartbeat: [{ guard: 'isHigherEpoch', target: 'follower', actions: 'followHigherLeader' }],
        VoteRequest: [{ guard: 'isHigherEpoch', target: 'follower', actions: 'voteInHigherEpoch' }, { actions: 'denyVote' }],
        PreVoteRequest: { actions: 'denyPreVote' },
      },
    },
  },
});
