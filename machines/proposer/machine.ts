/**
 * Proposer (on the elected leader), ballot = (epoch, node id).
 *
 * Phase 1 (ZAB discovery ≈ Paxos prepare/promise) covers every slot above `baseSlot` at once and
 * adopts, per slot, the entry accepted in the highest ballot; gaps become no-ops. Phase 2 (ZAB
 * broadcast ≈ accept/accepted) re-proposes the adopted entries, then client commands, pipelined
 * (up to `maxInflightEntries` unchosen entries) and batched (up to `maxBatchCommands` per entry).
 *
 * Safety does not rest on the election: two proposers at once are kept apart by ballots.
 */
import { emit, enqueueActions, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import { ballotsEqual, compareBallots, quorumSize } from '../../src/protocol/ids.js';
import type { Ballot, NodeId, Slot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Command, Entry } from '../../src/protocol/messages.js';
import { bitOf, countBits } from '../election/rules.js';

export interface ProposerTimings {
  /** Resend unanswered prepares and unchosen accepts after this long; also refreshes commit notices. */
  readonly retransmitMs: number;
  readonly maxInflightEntries: number;
  readonly maxBatchCommands: number;
}

export interface ProposerInput {
  readonly id: NodeId;
  readonly ballot: Ballot;
  readonly voters: readonly NodeId[];
  /** Every slot up to here is already chosen and known to this node's learner. */
  readonly baseSlot: Slot;
  readonly nowMs: number;
  readonly timings: ProposerTimings;
  /** Votes needed to choose; defaults to a majority of voters. Only deliberately broken variants change it. */
  readonly quorum?: number;
}

export interface ProposerContext {
  readonly id: NodeId;
  readonly ballot: Ballot;
  readonly voters: readonly NodeId[];
  readonly quorum: number;
  /**
   * Every slot up to here is chosen: this proposer never proposes there. Starts at what the node's
   * learner knows and is raised in phase 1 to the highest compaction floor a promise reports.
   */
  baseSlot: Slot;
  /** Who reported the floor that raised `baseSlot` (it holds those chosen slots), if one did. */
  floorFrom: NodeId | null;
  readonly timings: ProposerTimings;
  /** Bitmask of voters that promised this ballot. */
  promisedBy: number;
  /** Phase 1: highest-ballot accepted entry reported for each slot above baseSlot. */
  readonly reported: Map<Slot, AcceptedEntry>;
  /**
   * Phase 2 window: entries[i] is at slot firstSlot + i, acks[i] the bitmask of acceptors that
   * accepted it in this ballot. Chosen entries are trimmed from the front. Mutated in place.
   */
  firstSlot: Slot;
  readonly entries: Entry[];
  readonly acks: number[];
  /** Every slot up to here is chosen. */
  commitSlot: Slot;
  /** Client commands waiting for room in the pipeline. */
  readonly pending: Command[];
  nowMs: number;
}

export type ProposerEvent =
  | { type: 'PromiseReply'; from: NodeId; ballot: Ballot; accepted: readonly AcceptedEntry[]; floor?: Slot }
  | { type: 'AcceptedReply'; from: NodeId; ballot: Ballot; fromSlot: Slot; toSlot: Slot }
  | { type: 'RejectReply'; from: NodeId; ballot: Ballot; promised: Ballot }
  | { type: 'Submit'; commands: readonly Command[]; nowMs: number };

/** Trim chosen entries off the window once this many have gathered (amortizes the shift). */
const TRIM_CHOSEN_AT = 256;

function nextSlot(context: ProposerContext): Slot {
  return context.firstSlot + context.entries.length;
}

export const proposerSetup = setup({
  types: {
    context: {} as ProposerContext,
    events: {} as ProposerEvent,
    input: {} as ProposerInput,
    emitted: {} as Effect,
  },
  delays: {
    retransmit: ({ context }) => context.timings.retransmitMs,
  },
  guards: {
    isForMyBallot: ({ context, event }) => 'ballot' in event && ballotsEqual(event.ballot, context.ballot),
    isPreemption: ({ context, event }) =>
      event.type === 'RejectReply' &&
      ballotsEqual(event.ballot, context.ballot) &&
      compareBallots(event.promised, context.ballot) > 0,
    hasQuorumOfPromises: ({ context }) => countBits(context.promisedBy) >= context.quorum,
  },
  actions: {
    sendPrepare: emit(({ context }) => ({
      type: 'send' as const,
      to: 'voters' as const,
      msg: { type: 'PrepareRequest' as const, ballot: context.ballot, fromSlot: context.baseSlot + 1 },
    })),
    recordPromise: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'PromiseReply') return;
      // A compacted acceptor no longer reports slots up to its floor; they are chosen, and
      // proposing there could contradict the value it forgot.
      const floor = event.floor ?? 0;
      if (floor > context.baseSlot) {
        for (const slot of context.reported.keys()) if (slot <= floor) context.reported.delete(slot);
        enqueue.assign({ baseSlot: floor, floorFrom: event.from, firstSlot: floor + 1, commitSlot: floor });
      }
      const base = Math.max(context.baseSlot, floor);
      for (const a of event.accepted) {
        if (a.slot <= base) continue;
        const known = context.reported.get(a.slot);
        if (known === undefined || compareBallots(a.ballot, known.ballot) > 0) context.reported.set(a.slot, a);
      }
      enqueue.assign({ promisedBy: context.promisedBy | bitOf(context.voters, event.from) });
    }),
    /** Paxos P2c: propose, for each open slot, the value accepted in the highest ballot; else a no-op. */
    adoptReported: enqueueActions(({ context, enqueue }) => {
      let maxSlot = context.baseSlot;
      for (const slot of context.reported.keys()) if (slot > maxSlot) maxSlot = slot;
      for (let slot = context.baseSlot + 1; slot <= maxSlot; slot++) {
        const adopted = context.reported.get(slot);
        context.entries.push(adopted?.entry ?? { origin: context.ballot, createdMs: context.nowMs, commands: [] });
        context.acks.push(0);
      }
      context.reported.clear();
      enqueue.emit({
        type: 'proposerActive',
        ballot: context.ballot,
        baseSlot: context.baseSlot,
        adopted: context.entries.slice(),
        ...(context.floorFrom === null ? {} : { catchUpFrom: context.floorFrom }),
      });
      if (context.entries.length > 0) {
        enqueue.emit({
          type: 'send',
          to: 'voters',
          msg: { type: 'AcceptRequest', ballot: context.ballot, fromSlot: context.firstSlot, entries: context.entries.slice() },
        });
      }
    }),
    queueCommands: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'Submit') return;
      for (const c of event.commands) context.pending.push(c);
      enqueue.assign({ nowMs: event.nowMs });
    }),
    /** Fill the pipeline: one new entry per batch of pending commands, all in one accept request. */
    proposeBatches: enqueueActions(({ context, enqueue }) => {
      const room = context.timings.maxInflightEntries - (nextSlot(context) - 1 - context.commitSlot);
      if (room <= 0 || context.pending.length === 0) return;
      const fromSlot = nextSlot(context);
      const batch: Entry[] = [];
      for (let i = 0; i < room && context.pending.length > 0; i++) {
        const commands = context.pending.splice(0, context.timings.maxBatchCommands);
        const entry: Entry = { origin: context.ballot, createdMs: context.nowMs, commands };
        context.entries.push(entry);
        context.acks.push(0);
        batch.push(entry);
      }
      enqueue.emit({ type: 'send', to: 'voters', msg: { type: 'AcceptRequest', ballot: context.ballot, fromSlot, entries: batch } });
    }),
    /** Count an acceptance; a slot accepted by a quorum in this ballot is chosen. */
    recordAccepted: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'AcceptedReply') return;
      const bit = bitOf(context.voters, event.from);
      const last = nextSlot(context) - 1;
      for (let slot = Math.max(event.fromSlot, context.firstSlot); slot <= Math.min(event.toSlot, last); slot++) {
        context.acks[slot - context.firstSlot]! |= bit;
      }
      let commit = context.commitSlot;
      while (commit < last && countBits(context.acks[commit + 1 - context.firstSlot]!) >= context.quorum) commit++;
      if (commit === context.commitSlot) return;
      enqueue.emit({ type: 'chosen', ballot: context.ballot, fromSlot: context.commitSlot + 1, toSlot: commit });
      enqueue.emit({
        type: 'send',
        to: 'members',
        msg: { type: 'CommitNotice', ballot: context.ballot, baseSlot: context.baseSlot, commitSlot: commit },
      });
      const chosenInWindow = commit + 1 - context.firstSlot;
      if (chosenInWindow >= TRIM_CHOSEN_AT) {
        context.entries.splice(0, chosenInWindow);
        context.acks.splice(0, chosenInWindow);
        enqueue.assign({ commitSlot: commit, firstSlot: commit + 1 });
      } else {
        enqueue.assign({ commitSlot: commit });
      }
    }),
    /** Lost messages: resend unchosen entries to the acceptors that have not accepted them. */
    resendUnchosen: enqueueActions(({ context, enqueue }) => {
      const from = context.commitSlot + 1;
      const count = nextSlot(context) - from;
      if (count <= 0) return;
      const entries = context.entries.slice(from - context.firstSlot);
      const acked = context.acks[from - context.firstSlot]!;
      for (const voter of context.voters) {
        if ((acked & bitOf(context.voters, voter)) !== 0) continue;
        enqueue.emit({ type: 'send', to: voter, msg: { type: 'AcceptRequest', ballot: context.ballot, fromSlot: from, entries } });
      }
    }),
    refreshCommitNotice: emit(({ context }) => ({
      type: 'send' as const,
      to: 'members' as const,
      msg: { type: 'CommitNotice' as const, ballot: context.ballot, baseSlot: context.baseSlot, commitSlot: context.commitSlot },
    })),
    announcePreempted: emit(({ context, event }) => ({
      type: 'preempted' as const,
      ballot: context.ballot,
      promised: (event as Extract<ProposerEvent, { type: 'RejectReply' }>).promised,
    })),
  },
});

export const proposerMachine = proposerSetup.createMachine({
  id: 'proposer',
  context: ({ input }) => ({
    id: input.id,
    ballot: input.ballot,
    voters: input.voters,
    quorum: input.quorum ?? quorumSize(input.voters.length),
    baseSlot: input.baseSlot,
    floorFrom: null,
    timings: input.timings,
    promisedBy: 0,
    reported: new Map(),
    firstSlot: input.baseSlot + 1,
    entries: [],
    acks: [],
    commitSlot: input.baseSlot,
    pending: [],
    nowMs: input.nowMs,
  }),
  initial: 'preparing',
  states: {
    preparing: {
      entry: ['sendPrepare'],
      always: { guard: 'hasQuorumOfPromises', target: 'active', actions: ['adoptReported', 'proposeBatches'] },
      after: { retransmit: { target: 'preparing', reenter: true } },
      on: {
        PromiseReply: { guard: 'isForMyBallot', actions: ['recordPromise'] },
        Submit: { actions: ['queueCommands'] },
        RejectReply: { guard: 'isPreemption', target: 'preempted' },
      },
    },
    active: {
      after: { retransmit: { target: 'active', reenter: true, actions: ['resendUnchosen', 'refreshCommitNotice'] } },
      on: {
        Submit: { actions: ['queueCommands', 'proposeBatches'] },
        AcceptedReply: { guard: 'isForMyBallot', actions: ['recordAccepted', 'proposeBatches'] },
        RejectReply: { guard: 'isPreemption', target: 'preempted' },
      },
    },
    preempted: {
      type: 'final',
      entry: ['announcePreempted'],
    },
  },
});

export type ProposerMachine = typeof proposerMachine;
