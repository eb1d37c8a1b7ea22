/**
 * Learner (on every node, observers too): learns chosen slots strictly in order and hands each to
 * the application exactly once. A commit notice names a ballot; the local acceptor's entry for a
 * slot is the chosen one only when it was accepted in that same ballot (one value per slot per
 * ballot). Anything else is fetched from a node that knows it.
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import { ballotsEqual } from '../../src/protocol/ids.js';
import type { Ballot, NodeId, Slot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Entry } from '../../src/protocol/messages.js';

export interface LearnerInput {
  readonly id: NodeId;
  /** Last slot applied before this start (recovered from the store). */
  readonly appliedSlot: Slot;
  readonly learnRetryMs: number;
}

export interface LearnerContext {
  readonly id: NodeId;
  readonly learnRetryMs: number;
  appliedSlot: Slot;
  /** Highest slot known to be chosen. */
  commitSlot: Slot;
  /** Who to ask for missing entries: the sender of the latest commit notice. */
  source: NodeId | null;
  /**
   * A node known to hold the chosen slots up to `catchUpUntil` when the usual source may not (a
   * leader whose phase 1 was lifted past its own learner by a compacted acceptor asks that acceptor).
   */
  catchUpFrom: NodeId | null;
  catchUpUntil: Slot;
}

export type LearnerEvent =
  | {
      type: 'CommitNotice';
      from: NodeId;
      ballot: Ballot;
      baseSlot: Slot;
      commitSlot: Slot;
      /** The local acceptor's entries for appliedSlot+1.., as the node found them (holes undefined). */
      local: readonly (AcceptedEntry | undefined)[];
    }
  | { type: 'LearnReply'; from: NodeId; fromSlot: Slot; entries: readonly Entry[] }
  /** Slots up to `commitSlot` are chosen and `from` holds them (entries or a snapshot). */
  | { type: 'ChosenElsewhere'; from: NodeId; commitSlot: Slot }
  /** The node installed a snapshot: every slot up to `slot` is applied. */
  | { type: 'SnapshotInstalled'; slot: Slot };

/** How entries are picked. Only mutants change it: skipping an unknown slot breaks the order. */
export interface LearnRule {
  readonly skipUnknownSlots: boolean;
}
export const STRICT_ORDER: LearnRule = Object.freeze({ skipUnknownSlots: false });

/** The run of entries, from appliedSlot+1, whose chosen value this learner now knows. */
export function learnableEntries(context: LearnerContext, event: LearnerEvent, rule: LearnRule = STRICT_ORDER): Entry[] {
  const out: Entry[] = [];
  if (event.type === 'CommitNotice') {
    for (let slot = context.appliedSlot + 1; slot <= event.commitSlot; slot++) {
      const local = event.local[slot - context.appliedSlot - 1];
      if (local === undefined || slot <= event.baseSlot || !ballotsEqual(local.ballot, event.ballot)) {
        if (rule.skipUnknownSlots) continue;
        break;
      }
      out.push(local.entry);
    }
  } else if (event.type === 'LearnReply') {
    // A reply that starts after a hole is refused by the `startsAfterHole` guard before we get here.
    const skip = Math.max(0, context.appliedSlot + 1 - event.fromSlot);
    for (let i = skip; i < event.entries.length; i++) out.push(event.entries[i]!);
  }
  return out;
}

export const learnerSetup = setup({
  types: {
    context: {} as LearnerContext,
    events: {} as LearnerEvent,
    input: {} as LearnerInput,
    emitted: {} as Effect,
  },
  delays: {
    learnRetry: ({ context }) => context.learnRetryMs,
  },
  guards: {
    /** Applying a reply that starts past the next slot would apply entries at the wrong positions. */
    startsAfterHole: ({ context, event }) => event.type === 'LearnReply' && event.fromSlot > context.appliedSlot + 1,
    isBehind: ({ context }) => context.appliedSlot < context.commitSlot,
    isCaughtUp: ({ context }) => context.appliedSlot >= context.commitSlot,
  },
  actions: {
    noteCommit: assign(({ context, event }) => {
      switch (event.type) {
        case 'CommitNotice':
          return { commitSlot: Math.max(context.commitSlot, event.commitSlot), source: event.from };
        case 'LearnReply':
          return { commitSlot: Math.max(context.commitSlot, event.fromSlot + event.entries.length - 1) };
        case 'ChosenElsewhere':
          return {
            commitSlot: Math.max(context.commitSlot, event.commitSlot),
            catchUpFrom: event.from,
            catchUpUntil: Math.max(context.catchUpUntil, event.commitSlot),
          };
        case 'SnapshotInstalled':
          return {};
      }
    }),
    installSnapshot: assign(({ context, event }) =>
      event.type === 'SnapshotInstalled' && event.slot > context.appliedSlot
        ? { appliedSlot: event.slot, commitSlot: Math.max(context.commitSlot, event.slot) }
        : {},
    ),
    applyLearnable: enqueueActions(({ context, event, enqueue }) => {
      const entries = learnableEntries(context, event);
      if (entries.length === 0) return;
      const first = context.appliedSlot + 1;
      for (let i = 0; i < entries.length; i++) enqueue.emit({ type: 'apply', slot: first + i, entry: entries[i]! });
      enqueue.assign({ appliedSlot: first + entries.length - 1 });
    }),
    requestMissing: emit(({ context }) => ({
      type: 'send' as const,
      to: (context.catchUpFrom !== null && context.appliedSlot < context.catchUpUntil ? context.catchUpFrom : context.source) ?? context.id,
      msg: { type: 'LearnRequest' as const, fromSlot: context.appliedSlot + 1 },
    })),
  },
});

export const learnerMachine = learnerSetup.createMachine({
  id: 'learner',
  context: ({ input }) => ({
    id: input.id,
    learnRetryMs: input.learnRetryMs,
    appliedSlot: input.appliedSlot,
    commitSlot: input.appliedSlot,
    source: null,
    catchUpFrom: null,
    catchUpUntil: 0,
  }),
  initial: 'upToDate',
  states: {
    upToDate: {
      on: {
        CommitNotice: { target: 'checking', actions: ['noteCommit', 'applyLearnable'] },
        LearnReply: [{ guard: 'startsAfterHole' }, { target: 'checking', actions: ['noteCommit', 'applyLearnable'] }],
        ChosenElsewhere: { target: 'checking', actions: ['noteCommit'] },
        SnapshotInstalled: { target: 'checking', actions: ['installSnapshot'] },
      },
    },
    /** Transient: decides whether the last event left a gap to fetch. */
    checking: {
      always: [{ guard: 'isBehind', target: 'catchingUp', actions: ['requestMissing'] }, { target: 'upToDate' }],
    },
    /** Waiting for missing entries; asks again only after learnRetry, so a slow source is not flooded. */
    catchingUp: {
      after: { learnRetry: { target: 'checking' } },
      on: {
        CommitNotice: { actions: ['noteCommit', 'applyLearnable'] },
        LearnReply: [{ guard: 'startsAfterHole' }, { actions: ['noteCommit', 'applyLearnable'] }],
        ChosenElsewhere: { actions: ['noteCommit'] },
        SnapshotInstalled: { actions: ['installSnapshot'] },
      },
      always: { guard: 'isCaughtUp', target: 'upToDate' },
    },
  },
});

export type LearnerMachine = typeof learnerMachine;
