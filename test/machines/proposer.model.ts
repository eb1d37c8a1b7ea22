/**
 * An abstract model of the proposer (Paxos Made Simple, with the multi-slot phase 1 of ZAB
 * discovery): phase 1 collects promises for every slot above the base at once and, per slot,
 * adopts the value accepted in the highest ballot (P2c), filling gaps with no-ops; phase 2 proposes
 * the adopted values, then client commands, pipelined and batched; a slot accepted by a quorum in
 * this ballot is chosen, in order. A rejection naming a higher promise ends the proposer.
 *
 * The retransmit timer is an explicit event.
 */
import { assign, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import { ballotsEqual, compareBallots } from '../../src/protocol/ids.js';
import type { Ballot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Command, Entry } from '../../src/protocol/messages.js';
import type { ProposerEvent, ProposerTimings } from '../../machines/proposer/machine.js';

export const MODEL_PROPOSER_TIMINGS: ProposerTimings = Object.freeze({ retransmitMs: 60, maxInflightEntries: 2, maxBatchCommands: 2 });

export type ProposerModelEvent = ProposerEvent | { type: 'RETRANSMIT' };

export interface ProposerModelInput {
  readonly id: number;
  readonly ballot: Ballot;
  readonly voters: readonly number[];
  readonly baseSlot: number;
  readonly nowMs: number;
}

export interface ProposerModelContext {
  readonly ballot: Ballot;
  readonly voters: readonly number[];
  readonly quorum: number;
  /** Raised in phase 1 to the highest compaction floor a promise reports: never proposed at or below. */
  readonly baseSlot: number;
  /** Who reported the floor that raised the base (it holds those chosen slots). */
  readonly floorFrom: number | null;
  readonly timings: ProposerTimings;
  /** Voters (sorted) that promised this ballot. */
  readonly promisedBy: readonly number[];
  /** Phase 1: per slot above the base, the entry accepted in the highest ballot reported (by slot). */
  readonly reported: readonly AcceptedEntry[];
  /** Phase 2: entries[i] sits at baseSlot + 1 + i; acks[i] the voters (sorted) that accepted it. */
  readonly entries: readonly Entry[];
  readonly acks: readonly (readonly number[])[];
  readonly commitSlot: number;
  readonly pending: readonly Command[];
  readonly nowMs: number;
  /** Client commands submitted so far (bounds the model). */
  readonly submitted: number;
  readonly effects: readonly Effect[];
}

type Ctx = ProposerModelContext;

function firstSlot(c: Ctx): number {
  return c.baseSlot + 1;
}
function lastSlot(c: Ctx): number {
  return c.baseSlot + c.entries.length;
}
function withId(ids: readonly number[], id: number): number[] {
  return ids.includes(id) ? [...ids] : [...ids, id].sort((a, b) => a - b);
}

const toVoters = (msg: Extract<Effect, { type: 'send' }>['msg']): Effect => ({ type: 'send', to: 'voters', msg });

/** Fill the pipeline: one entry per batch of pending commands, all of them in one accept request. */
function proposeBatches(c: Ctx): Partial<Ctx> {
  const room = c.timings.maxInflightEntries - (lastSlot(c) - c.commitSlot);
  if (room <= 0 || c.pending.length === 0) return {};
  const pending = [...c.pending];
  const batch: Entry[] = [];
  while (batch.length < room && pending.length > 0) {
    batch.push({ origin: c.ballot, createdMs: c.nowMs, commands: pending.splice(0, c.timings.maxBatchCommands) });
  }
  return {
    pending,
    entries: [...c.entries, ...batch],
    acks: [...c.acks, ...batch.map(() => [])],
    effects: [...c.effects, toVoters({ type: 'AcceptRequest', ballot: c.ballot, fromSlot: lastSlot(c) + 1, entries: batch })],
  };
}

function step(c: Ctx, out: Partial<Ctx>): Ctx {
  return { ...c, ...out };
}

export const proposerModel = setup({
  types: {
    context: {} as ProposerModelContext,
    events: {} as ProposerModelEvent,
    input: {} as ProposerModelInput,
  },
  guards: {
    isForMyBallot: ({ context, event }) => 'ballot' in event && ballotsEqual(event.ballot, context.ballot),
    /** Only a rejection of this very ballot, naming a higher promise, ends this proposer. */
    isPreemption: ({ context, event }) =>
      event.type === 'RejectReply' && ballotsEqual(event.ballot, context.ballot) && compareBallots(event.promised, context.ballot) > 0,
    hasQuorumOfPromises: ({ context }) => context.promisedBy.length >= context.quorum,
  },
  actions: {
    ignore: assign({ effects: [] }),
    sendPrepare: assign(({ context }) => ({
      effects: [toVoters({ type: 'PrepareRequest', ballot: context.ballot, fromSlot: context.baseSlot + 1 })],
    })),
    recordPromise: assign(({ context, event }) => {
      const e = event as Extract<ProposerEvent, { type: 'PromiseReply' }>;
      const floor = e.floor ?? 0;
      const lifted = floor > context.baseSlot;
      const baseSlot = Math.max(context.baseSlot, floor);
      const bySlot = new Map(context.reported.filter((a) => a.slot > baseSlot).map((a) => [a.slot, a]));
      for (const a of e.accepted) {
        if (a.slot <= baseSlot) continue;
        const known = bySlot.get(a.slot);
        if (known === undefined || compareBallots(a.ballot, known.ballot) > 0) bySlot.set(a.slot, a);
      }
      return {
        ...(lifted ? { baseSlot, commitSlot: baseSlot, floorFrom: e.from } : {}),
        reported: [...bySlot.values()].sort((x, y) => x.slot - y.slot),
        promisedBy: context.voters.includes(e.from) ? withId(context.promisedBy, e.from) : context.promisedBy,
        effects: [],
      };
    }),
    /** P2c: the value of the highest ballot for every open slot, a no-op where none was reported. */
    adoptReportedAndPropose: assign(({ context }) => {
      const maxSlot = Math.max(context.baseSlot, ...context.reported.map((a) => a.slot));
      const entries: Entry[] = [];
      for (let slot = context.baseSlot + 1; slot <= maxSlot; slot++) {
        entries.push(context.reported.find((a) => a.slot === slot)?.entry ?? { origin: context.ballot, createdMs: context.nowMs, commands: [] });
      }
      const effects: Effect[] = [
        ...context.effects,
        {
          type: 'proposerActive',
          ballot: context.ballot,
          baseSlot: context.baseSlot,
          adopted: entries,
          ...(context.floorFrom === null ? {} : { catchUpFrom: context.floorFrom }),
        },
      ];
      if (entries.length > 0) effects.push(toVoters({ type: 'AcceptRequest', ballot: context.ballot, fromSlot: context.baseSlot + 1, entries }));
      const adopted = step(context, { reported: [], entries, acks: entries.map(() => []), effects });
      return step(adopted, proposeBatches(adopted));
    }),
    queue: assign(({ context, event }) => {
      const e = event as Extract<ProposerEvent, { type: 'Submit' }>;
      return { pending: [...context.pending, ...e.commands], nowMs: e.nowMs, submitted: context.submitted + e.commands.length, effects: [] };
    }),
    queueAndPropose: assign(({ context, event }) => {
      const e = event as Extract<ProposerEvent, { type: 'Submit' }>;
      const queued = step(context, { pending: [...context.pending, ...e.commands], nowMs: e.nowMs, submitted: context.submitted + e.commands.length, effects: [] });
      return step(queued, proposeBatches(queued));
    }),
    /** Count the acceptance; slots accepted by a quorum in this ballot are chosen, in order. */
    recordAcceptedAndPropose: assign(({ context, event }) => {
      const e = event as Extract<ProposerEvent, { type: 'AcceptedReply' }>;
      const acks = context.acks.map((ids, i) => {
        const slot = firstSlot(context) + i;
        return slot >= e.fromSlot && slot <= e.toSlot && context.voters.includes(e.from) ? withId(ids, e.from) : ids;
      });
      let commitSlot = context.commitSlot;
      while (commitSlot < lastSlot(context) && acks[commitSlot + 1 - firstSlot(context)]!.length >= context.quorum) commitSlot++;
      const effects: Effect[] = [];
      if (commitSlot > context.commitSlot) {
        effects.push({ type: 'chosen', ballot: context.ballot, fromSlot: context.commitSlot + 1, toSlot: commitSlot });
        effects.push({ type: 'send', to: 'members', msg: { type: 'CommitNotice', ballot: context.ballot, baseSlot: context.baseSlot, commitSlot } });
      }
      const counted = step(context, { acks, commitSlot, effects });
      return step(counted, proposeBatches(counted));
    }),
    /** Resend the unchosen tail to each voter that has not accepted its first slot; refresh the commit notice. */
    retransmit: assign(({ context }) => {
      const from = context.commitSlot + 1;
      const effects: Effect[] = [];
      if (from <= lastSlot(context)) {
        const tail = context.entries.slice(from - firstSlot(context));
        const acked = context.acks[from - firstSlot(context)]!;
        for (const voter of context.voters) {
          if (!acked.includes(voter)) effects.push({ type: 'send', to: voter, msg: { type: 'AcceptRequest', ballot: context.ballot, fromSlot: from, entries: tail } });
        }
      }
      effects.push({ type: 'send', to: 'members', msg: { type: 'CommitNotice', ballot: context.ballot, baseSlot: context.baseSlot, commitSlot: context.commitSlot } });
      return { effects };
    }),
    announcePreempted: assign(({ context, event }) => ({
      effects: [{ type: 'preempted', ballot: context.ballot, promised: (event as Extract<ProposerEvent, { type: 'RejectReply' }>).promised }],
    })),
  },
}).createMachine({
  id: 'proposerModel',
  context: ({ input }) => ({
    ballot: input.ballot,
    voters: input.voters,
    quorum: Math.floor(input.voters.length / 2) + 1,
    baseSlot: input.baseSlot,
    floorFrom: null,
    timings: MODEL_PROPOSER_TIMINGS,
    promisedBy: [],
    reported: [],
    entries: [],
    acks: [],
    commitSlot: input.baseSlot,
    pending: [],
    nowMs: input.nowMs,
    submitted: 0,
    effects: [toVoters({ type: 'PrepareRequest', ballot: input.ballot, fromSlot: input.baseSlot + 1 })],
  }),
  initial: 'preparing',
  on: {
    PromiseReply: { actions: 'ignore' },
    AcceptedReply: { actions: 'ignore' },
    RejectReply: { actions: 'ignore' },
  },
  states: {
    preparing: {
      always: { guard: 'hasQuorumOfPromises', target: 'active', actions: 'adoptReportedAndPropose' },
      on: {
        RETRANSMIT: { target: 'preparing', reenter: true, actions: 'sendPrepare' },
        PromiseReply: { guard: 'isForMyBallot', actions: 'recordPromise' },
        Submit: { actions: 'queue' },
        RejectReply: { guard: 'isPreemption', target: 'preempted', actions: 'announcePreempted' },
      },
    },
    active: {
      on: {
        RETRANSMIT: { target: 'active', reenter: true, actions: 'retransmit' },
        Submit: { actions: 'queueAndPropose' },
        AcceptedReply: { guard: 'isForMyBallot', actions: 'recordAcceptedAndPropose' },
        RejectReply: { guard: 'isPreemption', target: 'preempted', actions: 'announcePreempted' },
      },
    },
    preempted: { type: 'final' },
  },
});
