/**
 * Acceptor (on every voter): promises by ballot and accepts by ballot, refusing lower ballots.
 * Promised ballot and accepted entries are persistent: the node makes them durable before the
 * reply that depends on them leaves (the persist effect comes first).
 */
import { assign, emit, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import { compareBallots, quorumSize } from '../../src/protocol/ids.js';
import type { Ballot, NodeId, Slot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Entry, LogPosition } from '../../src/protocol/messages.js';

export interface AcceptorInput {
  readonly id: NodeId;
  /** Persistent state recovered from the node's store. */
  readonly promised: Ballot;
  readonly accepted: ReadonlyMap<Slot, AcceptedEntry>;
  /** This voter lost its disk: rebuild from a majority of the others before taking part. */
  readonly recovering?: boolean;
  /** Every voter, this one included (recovery needs a majority of the others). */
  readonly voters?: readonly NodeId[];
  readonly recoveryRetryMs?: number;
}

export interface AcceptorContext {
  readonly id: NodeId;
  promised: Ballot;
  /**
   * Accepted entries by slot. Mutated in place by `accept` (a copy per accept would make the hot
   * path quadratic); the node persists what each accept adds, never this map itself.
   */
  readonly accepted: Map<Slot, AcceptedEntry>;
  /** Highest accepted ballot epoch and slot, for vote checks. */
  lastLog: LogPosition;
  readonly voters: readonly NodeId[];
  /** Recovery: the peers heard from, and the highest election epoch they reported. */
  readonly recoveredFrom: Set<NodeId>;
  recoveredEpoch: number;
  readonly mustRecover: boolean;
  readonly recoveryRetryMs: number;
}

/**
 * How many other voters a recovering voter must hear from: more than n - q of the n - 1 others,
 * so it meets every quorum of q that included it. A lone voter has no one to ask.
 */
export function recoveryQuorum(voters: number): number {
  return Math.min(voters - 1, voters - quorumSize(voters) + 1);
}

export type AcceptorEvent =
  | { type: 'PrepareRequest'; from: NodeId; ballot: Ballot; fromSlot: Slot }
  | { type: 'AcceptRequest'; from: NodeId; ballot: Ballot; fromSlot: Slot; entries: readonly Entry[] }
  /** `epoch` is the receiving node's election epoch, filled in by the node. */
  | { type: 'RecoveryRequest'; from: NodeId; epoch: number }
  | { type: 'RecoveryReply'; from: NodeId; epoch: number; promised: Ballot; accepted: readonly AcceptedEntry[] };

/** Accepted entries at or above `fromSlot`, in slot order. */
export function acceptedFrom(accepted: ReadonlyMap<Slot, AcceptedEntry>, fromSlot: Slot): AcceptedEntry[] {
  const out: AcceptedEntry[] = [];
  for (const a of accepted.values()) if (a.slot >= fromSlot) out.push(a);
  return out.sort((x, y) => x.slot - y.slot);
}

function positionOf(accepted: ReadonlyMap<Slot, AcceptedEntry>): LogPosition {
  let epoch = 0;
  let slot = 0;
  for (const a of accepted.values()) {
    if (a.ballot.epoch > epoch) epoch = a.ballot.epoch;
    if (a.slot > slot) slot = a.slot;
  }
  return { epoch, slot };
}

export const acceptorSetup = setup({
  types: {
    context: {} as AcceptorContext,
    events: {} as AcceptorEvent,
    input: {} as AcceptorInput,
    emitted: {} as Effect,
  },
  delays: {
    recoveryRetry: ({ context }) => context.recoveryRetryMs,
  },
  guards: {
    /** Paxos P1a/P2a: never take part in a ballot lower than one already promised. */
    isBallotAtLeastPromised: ({ context, event }) =>
      'ballot' in event && compareBallots(event.ballot, context.promised) >= 0,
    /**
     * Any quorum that chose a value or promised a ballot with this voter in it shares a member with
     * any majority of the other voters, so such a majority knows everything this voter forgot.
     */
    heardFromMajorityOfOthers: ({ context }) => context.recoveredFrom.size >= recoveryQuorum(context.voters.length),
    mustRecover: ({ context }) => context.mustRecover,
  },
  actions: {
    promise: assign(({ event }) => ({ promised: (event as { ballot: Ballot }).ballot })),
    askPeersForState: emit({ type: 'send' as const, to: 'peers' as const, msg: { type: 'RecoveryRequest' as const } }),
    /** Adopt the highest promise and, per slot, the entry accepted in the highest ballot. */
    mergeRecoveryReply: assign(({ context, event }) => {
      // Only another voter's word counts toward the majority that vouches for what this one forgot.
      if (event.type !== 'RecoveryReply' || event.from === context.id || !context.voters.includes(event.from)) return {};
      if (context.recoveredFrom.has(event.from)) return {};
      context.recoveredFrom.add(event.from);
      for (const a of event.accepted) {
        const known = context.accepted.get(a.slot);
        if (known === undefined || compareBallots(a.ballot, known.ballot) > 0) context.accepted.set(a.slot, a);
      }
      const promised = compareBallots(event.promised, context.promised) > 0 ? event.promised : context.promised;
      return { promised, recoveredEpoch: Math.max(context.recoveredEpoch, event.epoch), lastLog: positionOf(context.accepted) };
    }),
    persistRecovered: emit(({ context }) => ({
      type: 'persistAccepted' as const,
      promised: context.promised,
      accepted: [...context.accepted.values()],
    })),
    announceRecovered: emit(({ context }) => ({ type: 'recovered' as const, epoch: context.recoveredEpoch })),
    sendRecoveryReply: emit(({ context, event }) => ({
      type: 'send' as const,
      to: (event as { from: NodeId }).from,
      msg: {
        type: 'RecoveryReply' as const,
        epoch: (event as { epoch: number }).epoch,
        promised: context.promised,
        accepted: [...context.accepted.values()],
      },
    })),
    accept: assign(({ context, event }) => {
      if (event.type !== 'AcceptRequest') return {};
      let { epoch, slot } = context.lastLog;
      for (let i = 0; i < event.entries.length; i++) {
        const s = event.fromSlot + i;
        context.accepted.set(s, { slot: s, ballot: event.ballot, entry: event.entries[i]! });
        if (s > slot) slot = s;
      }
      if (event.entries.length > 0 && event.ballot.epoch > epoch) epoch = event.ballot.epoch;
      return { promised: event.ballot, lastLog: { epoch, slot } };
    }),
    persistPromise: emit(({ context }) => ({ type: 'persistPromise' as const, promised: context.promised })),
    persistAccepted: emit(({ context, event }) => {
      const e = event as Extract<AcceptorEvent, { type: 'AcceptRequest' }>;
      const accepted: AcceptedEntry[] = e.entries.map((entry, i) => ({ slot: e.fromSlot + i, ballot: e.ballot, entry }));
      return { type: 'persistAccepted' as const, promised: context.promised, accepted };
    }),
    sendPromise: emit(({ context, event }) => ({
      type: 'send' as const,
      to: (event as { from: NodeId }).from,
      msg: {
        type: 'PromiseReply' as const,
        ballot: (event as { ballot: Ballot }).ballot,
        accepted: acceptedFrom(context.accepted, (event as { fromSlot: Slot }).fromSlot),
      },
    })),
    sendAccepted: emit(({ event }) => {
      const e = event as Extract<AcceptorEvent, { type: 'AcceptRequest' }>;
      return {
        type: 'send' as const,
        to: e.from,
        msg: { type: 'AcceptedReply' as const, ballot: e.ballot, fromSlot: e.fromSlot, toSlot: e.fromSlot + e.entries.length - 1 },
      };
    }),
    sendReject: emit(({ context, event }) => ({
      type: 'send' as const,
      to: (event as { from: NodeId }).from,
      msg: { type: 'RejectReply' as const, ballot: (event as { ballot: Ballot }).ballot, promised: context.promised },
    })),
  },
});

export const acceptorMachine = acceptorSetup.createMachine({
  id: 'acceptor',
  context: ({ input }) => ({
    id: input.id,
    promised: input.promised,
    accepted: new Map(input.accepted),
    lastLog: positionOf(input.accepted),
    voters: input.voters ?? [input.id],
    recoveredFrom: new Set<NodeId>(),
    recoveredEpoch: 0,
    mustRecover: input.recovering === true,
    recoveryRetryMs: input.recoveryRetryMs ?? 100,
  }),
  initial: 'starting',
  states: {
    /** Transient: a voter that lost its disk recovers first. */
    starting: {
      always: [{ guard: 'mustRecover', target: 'recovering' }, { target: 'accepting' }],
    },
    /** Takes part in nothing until a majority of the others has told it what it may have forgotten. */
    recovering: {
      entry: ['askPeersForState'],
      always: { guard: 'heardFromMajorityOfOthers', target: 'accepting', actions: ['persistRecovered', 'announceRecovered'] },
      after: { recoveryRetry: { target: 'recovering', reenter: true } },
      on: {
        RecoveryReply: { actions: ['mergeRecoveryReply'] },
      },
    },
    accepting: {
      on: {
        RecoveryRequest: { actions: ['sendRecoveryReply'] },
        PrepareRequest: [
          { guard: 'isBallotAtLeastPromised', actions: ['promise', 'persistPromise', 'sendPromise'] },
          { actions: ['sendReject'] },
        ],
        AcceptRequest: [
          { guard: 'isBallotAtLeastPromised', actions: ['accept', 'persistAccepted', 'sendAccepted'] },
          { actions: ['sendReject'] },
        ],
      },
    },
  },
});

export type AcceptorMachine = typeof acceptorMachine;
