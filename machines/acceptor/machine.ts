/**
 * Acceptor (on every voter): promises by ballot and accepts by ballot, refusing lower ballots.
 * Promised ballot and accepted entries are persistent: the node makes them durable before the
 * reply that depends on them leaves (the persist effect comes first).
 */
import { assign, emit, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import { compareBallots, ZERO_BALLOT } from '../../src/protocol/ids.js';
import type { Ballot, NodeId, Slot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Entry, LogPosition } from '../../src/protocol/messages.js';

export interface AcceptorInput {
  readonly id: NodeId;
  /** Persistent state recovered from the node's store. */
  readonly promised: Ballot;
  readonly accepted: ReadonlyMap<Slot, AcceptedEntry>;
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
}

export type AcceptorEvent =
  | { type: 'PrepareRequest'; from: NodeId; ballot: Ballot; fromSlot: Slot }
  | { type: 'AcceptRequest'; from: NodeId; ballot: Ballot; fromSlot: Slot; entries: readonly Entry[] };

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
  guards: {
    /** Paxos P1a/P2a: never take part in a ballot lower than one already promised. */
    isBallotAtLeastPromised: ({ context, event }) => compareBallots(event.ballot, context.promised) >= 0,
  },
  actions: {
    promise: assign(({ event }) => ({ promised: event.ballot })),
    accept: assign(({ context, event }) => {
      if (event.type !== 'AcceptRequest') return {};
      let { epoch, slot } = context.lastLog;
      for (let i = 0; i < event.entries.length; i++) {
        const s = event.fromSlot + i;
        context.accepted.set(s, { slot: s, ballot: event.ballot, entry: event.entries[i]! });
        if (s > slot) slot = s;
      }
      if (event.ballot.epoch > epoch) epoch = event.ballot.epoch;
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
      to: event.from,
      msg: {
        type: 'PromiseReply' as const,
        ballot: event.ballot,
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
      to: event.from,
      msg: { type: 'RejectReply' as const, ballot: event.ballot, promised: context.promised },
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
  }),
  initial: 'accepting',
  states: {
    accepting: {
      on: {
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
export const INITIAL_PROMISE = ZERO_BALLOT;
