/**
 * An abstract model of the acceptor, from Paxos Made Simple (P1a: promise not to accept below a
 * promised ballot; P2: accept, and report what was accepted, per slot and ballot) and the design's
 * disk-loss recovery (ask a majority of the other voters before taking part again), and log
 * compaction: a floor below which chosen slots are forgotten, raised only below the commit point of
 * the promised ballot's proposer, and reported in promises and recovery replies.
 *
 * Accepted entries are a slot-sorted list; the retry timer of recovery is an explicit event.
 */
import { assign, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import { ballotsEqual, compareBallots, quorumSize } from '../../src/protocol/ids.js';
import type { Ballot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Entry, LogPosition } from '../../src/protocol/messages.js';
import type { AcceptorEvent } from '../../machines/acceptor/machine.js';

export const RECOVERY_RETRY_MS = 100;

export type AcceptorModelEvent = AcceptorEvent | { type: 'RECOVERY_RETRY' };

export interface AcceptorModelInput {
  readonly id: number;
  readonly voters: readonly number[];
  readonly promised: Ballot;
  readonly accepted: readonly AcceptedEntry[];
  readonly recovering: boolean;
  readonly floor?: number;
}

export interface AcceptorModelContext {
  readonly id: number;
  readonly voters: readonly number[];
  readonly promised: Ballot;
  /** Sorted by slot. */
  readonly accepted: readonly AcceptedEntry[];
  readonly lastLog: LogPosition;
  /** Slots up to here are forgotten (chosen, in a snapshot). */
  readonly floor: number;
  /** Recovery: the other voters heard from (sorted), and the highest election epoch they reported. */
  readonly recoveredFrom: readonly number[];
  readonly recoveredEpoch: number;
  /** Lost its disk: recover before taking part. */
  readonly mustRecover: boolean;
  readonly effects: readonly Effect[];
}

type Ctx = AcceptorModelContext;

/** A client-free entry named by a single command, for readable tests. */
export function namedEntry(name: string, origin: Ballot): Entry {
  return { origin, createdMs: 0, commands: [{ id: name, payload: name }] };
}

/**
 * Replies a recovering voter needs: enough of the n - 1 others that they meet every quorum of q
 * that included it (n - q + 1 of them), and never more than there are.
 */
export function recoveryQuorumOf(voters: number): number {
  return Math.min(voters - 1, voters - quorumSize(voters) + 1);
}

/** Highest ballot epoch and highest slot among accepted entries. */
export function positionOf(accepted: readonly AcceptedEntry[]): LogPosition {
  let epoch = 0;
  let slot = 0;
  for (const a of accepted) {
    epoch = Math.max(epoch, a.ballot.epoch);
    slot = Math.max(slot, a.slot);
  }
  return { epoch, slot };
}

/** Put `incoming` into `accepted` (per slot); `onlyIfHigher` keeps an entry of a higher ballot. */
function withEntries(accepted: readonly AcceptedEntry[], incoming: readonly AcceptedEntry[], onlyIfHigher: boolean): AcceptedEntry[] {
  const bySlot = new Map(accepted.map((a) => [a.slot, a]));
  for (const a of incoming) {
    const known = bySlot.get(a.slot);
    if (!onlyIfHigher || known === undefined || compareBallots(a.ballot, known.ballot) > 0) bySlot.set(a.slot, a);
  }
  return [...bySlot.values()].sort((x, y) => x.slot - y.slot);
}

function ballotOf(e: AcceptorModelEvent): Ballot {
  return (e as { ballot: Ballot }).ballot;
}

const send = (to: number, msg: Extract<Effect, { type: 'send' }>['msg']): Effect => ({ type: 'send', to, msg });

export const acceptorModel = setup({
  types: {
    context: {} as AcceptorModelContext,
    events: {} as AcceptorModelEvent,
    input: {} as AcceptorModelInput,
  },
  guards: {
    /** P1a: nothing below the promise. An equal ballot is the promised proposer itself. */
    isAtLeastPromised: ({ context, event }) => 'ballot' in event && compareBallots(event.ballot, context.promised) >= 0,
    isNewOtherVoter: ({ context, event }) =>
      event.type === 'RecoveryReply' && event.from !== context.id && context.voters.includes(event.from) && !context.recoveredFrom.includes(event.from),
    mustRecover: ({ context }) => context.mustRecover,
    heardFromEnoughOthers: ({ context }) => context.recoveredFrom.length >= recoveryQuorumOf(context.voters.length),
    mayCompact: ({ context, event }) =>
      event.type === 'Compact' && ballotsEqual(event.ballot, context.promised) && Math.min(event.throughSlot, event.commitSlot) > context.floor,
  },
  actions: {
    ignore: assign({ effects: [] }),
    /** Promise, make the promise durable, then report everything accepted from the asked slot on. */
    promise: assign(({ context, event }) => {
      const e = event as Extract<AcceptorEvent, { type: 'PrepareRequest' }>;
      return {
        promised: e.ballot,
        effects: [
          { type: 'persistPromise', promised: e.ballot },
          send(e.from, { type: 'PromiseReply', ballot: e.ballot, accepted: context.accepted.filter((a) => a.slot >= e.fromSlot), floor: context.floor }),
        ],
      };
    }),
    /** Accept (which also promises the ballot), make it durable, then acknowledge the slots. */
    accept: assign(({ context, event }) => {
      const e = event as Extract<AcceptorEvent, { type: 'AcceptRequest' }>;
      // Forgotten slots are acknowledged but not kept.
      const added = e.entries.map((entry, i) => ({ slot: e.fromSlot + i, ballot: e.ballot, entry })).filter((a) => a.slot > context.floor);
      const accepted = withEntries(context.accepted, added, false);
      const added_ = positionOf(added);
      return {
        promised: e.ballot,
        accepted,
        // The highest position ever accepted: compaction forgets entries, not how far the log went.
        lastLog: { epoch: Math.max(context.lastLog.epoch, added_.epoch), slot: Math.max(context.lastLog.slot, added_.slot) },
        effects: [
          { type: 'persistAccepted', promised: e.ballot, accepted: added },
          send(e.from, { type: 'AcceptedReply', ballot: e.ballot, fromSlot: e.fromSlot, toSlot: e.fromSlot + e.entries.length - 1 }),
        ],
      };
    }),
    reject: assign(({ context, event }) => ({
      effects: [send((event as { from: number }).from, { type: 'RejectReply', ballot: ballotOf(event), promised: context.promised })],
    })),
    answerRecovery: assign(({ context, event }) => {
      const e = event as Extract<AcceptorEvent, { type: 'RecoveryRequest' }>;
      return {
        effects: [send(e.from, { type: 'RecoveryReply', epoch: e.epoch, promised: context.promised, accepted: context.accepted, floor: context.floor })],
      };
    }),
    askPeers: assign({ effects: [{ type: 'send', to: 'peers', msg: { type: 'RecoveryRequest' } }] }),
    /** Keep the highest promise and, per slot, the entry of the highest ballot. */
    mergeRecoveryReply: assign(({ context, event }) => {
      const e = event as Extract<AcceptorEvent, { type: 'RecoveryReply' }>;
      const floor = Math.max(context.floor, e.floor ?? 0);
      const accepted = withEntries(context.accepted, e.accepted, true).filter((a) => a.slot > floor);
      return {
        recoveredFrom: [...context.recoveredFrom, e.from].sort((a, b) => a - b),
        accepted,
        floor,
        lastLog: positionOf(accepted),
        promised: compareBallots(e.promised, context.promised) > 0 ? e.promised : context.promised,
        recoveredEpoch: Math.max(context.recoveredEpoch, e.epoch),
        effects: [],
      };
    }),
    /** Forget chosen slots up to the floor, durably. */
    compact: assign(({ context, event }) => {
      const e = event as Extract<AcceptorEvent, { type: 'Compact' }>;
      const floor = Math.min(e.throughSlot, e.commitSlot);
      const accepted = context.accepted.filter((a) => a.slot > floor);
      return { floor, accepted, effects: [{ type: 'persistCompacted', floor, promised: context.promised, accepted }] };
    }),
    /** Make the rebuilt state durable, then tell the node (it may vote again above that epoch). */
    finishRecovery: assign(({ context }) => ({
      effects: [
        ...context.effects,
        { type: 'persistCompacted', floor: context.floor, promised: context.promised, accepted: context.accepted },
        { type: 'recovered', epoch: context.recoveredEpoch },
      ],
    })),
  },
}).createMachine({
  id: 'acceptorModel',
  context: ({ input }) => ({
    id: input.id,
    voters: input.voters,
    promised: input.promised,
    accepted: [...input.accepted].sort((x, y) => x.slot - y.slot),
    lastLog: positionOf(input.accepted),
    floor: input.floor ?? 0,
    recoveredFrom: [],
    recoveredEpoch: 0,
    mustRecover: input.recovering,
    effects: input.recovering ? [{ type: 'send', to: 'peers', msg: { type: 'RecoveryRequest' } }] : [],
  }),
  initial: 'starting',
  on: {
    PrepareRequest: { actions: 'ignore' },
    AcceptRequest: { actions: 'ignore' },
    RecoveryRequest: { actions: 'ignore' },
    RecoveryReply: { actions: 'ignore' },
    Compact: { actions: 'ignore' },
  },
  states: {
    starting: {
      always: [{ guard: 'mustRecover', target: 'recovering' }, { target: 'accepting' }],
    },
    /** Takes part in nothing until enough of the others told it what it may have forgotten. */
    recovering: {
      always: { guard: 'heardFromEnoughOthers', target: 'accepting', actions: 'finishRecovery' },
      on: {
        RECOVERY_RETRY: { target: 'recovering', reenter: true, actions: 'askPeers' },
        RecoveryReply: [{ guard: 'isNewOtherVoter', actions: 'mergeRecoveryReply' }, { actions: 'ignore' }],
      },
    },
    accepting: {
      on: {
        RecoveryRequest: { actions: 'answerRecovery' },
        Compact: [{ guard: 'mayCompact', actions: 'compact' }, { actions: 'ignore' }],
        PrepareRequest: [{ guard: 'isAtLeastPromised', actions: 'promise' }, { actions: 'reject' }],
        AcceptRequest: [{ guard: 'isAtLeastPromised', actions: 'accept' }, { actions: 'reject' }],
      },
    },
  },
});
