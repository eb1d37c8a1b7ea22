/**
 * An abstract model of the learner: chosen slots are applied strictly in order, each exactly once.
 * A commit notice of ballot b vouches for the local acceptor's entry at slot s only when that
 * entry was accepted in b and s is above the notice's base slot (the slots b's proposer owns);
 * anything else is fetched, and asked for again only when the retry timer (an explicit event)
 * fires, so a slow source is not flooded. A node that reports slots chosen elsewhere is asked for
 * them until they are applied; an installed snapshot counts as applied up to its slot.
 */
import { assign, setup } from 'xstate';
import type { Effect } from '../../src/protocol/effects.js';
import { ballotsEqual } from '../../src/protocol/ids.js';
import type { Entry } from '../../src/protocol/messages.js';
import type { LearnerEvent } from '../../machines/learner/machine.js';

export const LEARN_RETRY_MS = 60;

export type LearnerModelEvent = LearnerEvent | { type: 'LEARN_RETRY' };

export interface LearnerModelInput {
  readonly id: number;
  readonly appliedSlot: number;
}

export interface LearnerModelContext {
  readonly id: number;
  readonly appliedSlot: number;
  /** Highest slot known to be chosen. */
  readonly commitSlot: number;
  /** Who to ask for missing entries: the sender of the latest commit notice. */
  readonly source: number | null;
  /** Holds the chosen slots up to catchUpUntil: asked instead of `source` while they are missing. */
  readonly catchUpFrom: number | null;
  readonly catchUpUntil: number;
  readonly effects: readonly Effect[];
}

type Ctx = LearnerModelContext;

/** The entries the event lets this learner apply next, in order from appliedSlot + 1. */
function learnable(c: Ctx, event: LearnerEvent): Entry[] {
  const out: Entry[] = [];
  if (event.type === 'ChosenElsewhere' || event.type === 'SnapshotInstalled') return out;
  if (event.type === 'CommitNotice') {
    for (let slot = c.appliedSlot + 1; slot <= event.commitSlot; slot++) {
      const local = event.local[slot - c.appliedSlot - 1];
      if (local === undefined || slot <= event.baseSlot || !ballotsEqual(local.ballot, event.ballot)) break;
      out.push(local.entry);
    }
    return out;
  }
  // A reply carries chosen entries: take those past what is applied (callers refuse one that
  // starts after a hole, which would put entries at the wrong slots).
  for (let i = Math.max(0, c.appliedSlot + 1 - event.fromSlot); i < event.entries.length; i++) out.push(event.entries[i]!);
  return out;
}

/** Note what the event says is chosen, and apply what can be applied in order. */
function learn(c: Ctx, event: LearnerEvent): Partial<Ctx> {
  if (event.type === 'SnapshotInstalled') {
    if (event.slot <= c.appliedSlot) return { effects: [] };
    return { appliedSlot: event.slot, commitSlot: Math.max(c.commitSlot, event.slot), effects: [] };
  }
  if (event.type === 'ChosenElsewhere') {
    return {
      commitSlot: Math.max(c.commitSlot, event.commitSlot),
      catchUpFrom: event.from,
      catchUpUntil: Math.max(c.catchUpUntil, event.commitSlot),
      effects: [],
    };
  }
  const entries = learnable(c, event);
  const commitSlot =
    event.type === 'CommitNotice' ? Math.max(c.commitSlot, event.commitSlot) : Math.max(c.commitSlot, event.fromSlot + event.entries.length - 1);
  const source = event.type === 'CommitNotice' ? event.from : c.source;
  const effects: Effect[] = entries.map((entry, i) => ({ type: 'apply', slot: c.appliedSlot + 1 + i, entry }));
  return { commitSlot, source, appliedSlot: c.appliedSlot + entries.length, effects };
}

function askFor(c: Ctx): Effect {
  const to = c.catchUpFrom !== null && c.appliedSlot < c.catchUpUntil ? c.catchUpFrom : c.source;
  return { type: 'send', to: to ?? c.id, msg: { type: 'LearnRequest', fromSlot: c.appliedSlot + 1 } };
}

export const learnerModel = setup({
  types: {
    context: {} as LearnerModelContext,
    events: {} as LearnerModelEvent,
    input: {} as LearnerModelInput,
  },
  guards: {
    startsAfterHole: ({ context, event }) => event.type === 'LearnReply' && event.fromSlot > context.appliedSlot + 1,
    isBehind: ({ context }) => context.appliedSlot < context.commitSlot,
  },
  actions: {
    ignore: assign({ effects: [] }),
    learn: assign(({ context, event }) => learn(context, event as LearnerEvent)),
    /** Appended to the effects of the step that found the gap. */
    askForMissing: assign(({ context }) => ({ effects: [...context.effects, askFor(context)] })),
    askAgain: assign(({ context }) => ({ effects: [askFor(context)] })),
  },
}).createMachine({
  id: 'learnerModel',
  context: ({ input }) => ({
    id: input.id,
    appliedSlot: input.appliedSlot,
    commitSlot: input.appliedSlot,
    source: null,
    catchUpFrom: null,
    catchUpUntil: 0,
    effects: [],
  }),
  initial: 'upToDate',
  states: {
    upToDate: {
      on: {
        CommitNotice: { target: 'afterLearning', actions: 'learn' },
        LearnReply: [{ guard: 'startsAfterHole', actions: 'ignore' }, { target: 'afterLearning', actions: 'learn' }],
        ChosenElsewhere: { target: 'afterLearning', actions: 'learn' },
        SnapshotInstalled: { target: 'afterLearning', actions: 'learn' },
      },
    },
    /** Transient: a gap found while up to date is asked for at once. */
    afterLearning: {
      always: [{ guard: 'isBehind', target: 'catchingUp', actions: 'askForMissing' }, { target: 'upToDate' }],
    },
    catchingUp: {
      always: { guard: ({ context }) => context.appliedSlot >= context.commitSlot, target: 'upToDate' },
      on: {
        LEARN_RETRY: { target: 'catchingUp', reenter: true, actions: 'askAgain' },
        CommitNotice: { actions: 'learn' },
        LearnReply: [{ guard: 'startsAfterHole', actions: 'ignore' }, { actions: 'learn' }],
        ChosenElsewhere: { actions: 'learn' },
        SnapshotInstalled: { actions: 'learn' },
      },
    },
  },
});
