/**
 * Acceptor (on every voter): promises by ballot and accepts by ballot, refusing lower ballots.
 * Promised ballot and accepted entries are persistent: the node makes them durable before the
 * reply that depends on them leaves (the persist effect comes first).
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import { ballotsEqual, compareBallots, quorumSize } from '../../src/protocol/ids.js';
import type { Ballot, NodeId, Slot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Entry, LogPosition } from '../../src/protocol/messages.js';

export interface AcceptorInput {
  readonly id: NodeId;
  /** Persistent state recovered from the node's store. */
  readonly promised: Ballot;
  readonly accepted: ReadonlyMap<Slot, AcceptedEntry>;
  /** Compaction floor recovered from the store (default 0): every slot up to here is forgotten. */
  readonly floor?: Slot;
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
  /**
   * Compaction floor: every slot up to here is chosen, covered by a durable snapshot of this node,
   * and forgotten here. Only raised by `Compact` (see the guard) or by recovery from peers.
   */
  floor: Slot;
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
  | { type: 'RecoveryReply'; from: NodeId; epoch: number; promised: Ballot; accepted: readonly AcceptedEntry[]; floor?: Slot }
  /**
   * From the node, once a snapshot covering `throughSlot` is durable: forget slots up to
   * min(`throughSlot`, `commitSlot`). `ballot`/`commitSlot` are those of the latest CommitNotice the
   * node received.
   */
  | { type: 'Compact'; throughSlot: Slot; ballot: Ballot; commitSlot: Slot };

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
    /**
     * Forget only below the commit point of the proposer this acceptor promised: that proposer
     * never sends accepts at or below its commit point, and any later proposer learns the floor in
     * phase 1. So every accept request that still reaches a forgotten slot carries its chosen value
     * (a ballot at least the promised one, which is at least the ballot that chose it: Paxos P2c).
     */
    canCompact: ({ context, event }) =>
      event.type === 'Compact' &&
      ballotsEqual(event.ballot, context.promised) &&
      Math.min(event.throughSlot, event.commitSlot) > context.floor,
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
      // A peer's floor covers chosen slots only, so this voter may forget them too.
      const floor = Math.max(context.floor, event.floor ?? 0);
      for (const a of event.accepted) {
        if (a.slot <= floor) continue;
        const known = context.accepted.get(a.slot);
        if (known === undefined || compareBallots(a.ballot, known.ballot) > 0) context.accepted.set(a.slot, a);
      }
      for (const slot of context.accepted.keys()) if (slot <= floor) context.accepted.delete(slot);
      const promised = compareBallots(event.promised, context.promised) > 0 ? event.promised : context.promised;
      return { promised, floor, recoveredEpoch: Math.max(context.recoveredEpoch, event.epoch), lastLog: positionOf(context.accepted) };
    }),
    persistRecovered: emit(({ context }) => ({
      type: 'persistCompacted' as const,
      floor: context.floor,
      promised: context.promised,
      accepted: acceptedFrom(context.accepted, context.floor + 1),
    })),
    compact: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'Compact') return;
      const floor = Math.min(event.throughSlot, event.commitSlot);
      for (const slot of context.accepted.keys()) if (slot <= floor) context.accepted.delete(slot);
      enqueue.assign({ floor });
      enqueue.emit({ type: 'persistCompacted', floor, promised: context.promised, accepted: acceptedFrom(context.accepted, floor + 1) });
    }),
    announceRecovered: emit(({ context }) => ({ type: 'recovered' as const, epoch: context.recoveredEpoch })),
    sendRecoveryReply: emit(({ context, event }) => ({
      type: 'send' as const,
      to: (event as { from: NodeId }).from,
      msg: {
        type: 'RecoveryReply' as const,
        epoch: (event as { epoch: number }).epoch,
        promised: context.promised,
        accepted: [...context.accepted.values()],
        floor: context.floor,
      },
    })),
    accept: assign(({ context, event }) => {
      if (event.type !== 'AcceptRequest') return {};
      let { epoch, slot } = context.lastLog;
      // Slots at or below the floor are chosen and this request carries their chosen value (see
      // canCompact): acknowledged, but not kept.
      for (let i = Math.max(0, context.floor + 1 - event.fromSlot); i < event.entries.length; i++) {
        const s = event.fromSlot + i;
        context.accepted.set(s, { slot: s, ballot: event.ballot, entry: event.entries[i]! });
        if (s > slot) slot = s;
      }
      if (event.fromSlot + event.entries.length - 1 > context.floor && event.ballot.epoch > epoch) epoch = event.ballot.epoch;
      return { promised: event.ballot, lastLog: { epoch, slot } };
    }),
    persistPromise: emit(({ context }) => ({ type: 'persistPromise' as const, promised: context.promised })),
    persistAccepted: emit(({ context, event }) => {
      const e = event as Extract<AcceptorEvent, { type: 'AcceptRequest' }>;
      const accepted: AcceptedEntry[] = [];
      for (let i = Math.max(0, context.floor + 1 - e.fromSlot); i < e.entries.length; i++) {
        accepted.push({ slot: e.fromSlot + i, ballot: e.ballot, entry: e.entries[i]! });
      }
      return { type: 'persistAccepted' as const, promised: context.promised, accepted };
    }),
    sendPromise: emit(({ context, event }) => ({
      type: 'send' as const,
      to: (event as { from: NodeId }).from,
      msg: {
        type: 'PromiseReply' as const,
        ballot: (event as { ballot: Ballot }).ballot,
        accepted: acceptedFrom(context.accepted, (event as { fromSlot: Slot }).fromSlot),
        floor: context.floor,
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
    floor: input.floor ?? 0,
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
        Compact: { guard: 'canCompact', actions: ['compact'] },
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
