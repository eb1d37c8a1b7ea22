/**
 * Model-based tests of the learner: the abstract model in learner.model.ts drives the real machine
 * along every edge of its graph, and fast-check random walks send both arbitrary commit notices
 * and learn replies (stale, repeated, overlapping, after a hole, of other ballots).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SnapshotFrom } from 'xstate';
import { learnerMachine } from '../../machines/learner/machine.js';
import type { LearnerInput } from '../../machines/learner/machine.js';
import type { Ballot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Entry } from '../../src/protocol/messages.js';
import { Coverage, edgeCases, expectFullCoverage, expectSame, randomWalk, RealDriver, replayCase, statePaths } from './driver.js';
import type { ModelExploration } from './driver.js';
import { LEARN_RETRY_MS, learnerModel } from './learner.model.js';
import type { LearnerModelEvent, LearnerModelInput } from './learner.model.js';

type ModelSnapshot = SnapshotFrom<typeof learnerModel>;
type LearnerDriver = RealDriver<typeof learnerMachine>;

const START: LearnerModelInput = { id: 1, appliedSlot: 0 };
/** Restarted with two slots already applied. */
const RESTARTED: LearnerModelInput = { id: 1, appliedSlot: 2 };
const MAX_EXPLORED_APPLIED = 3;

const BALLOT: Ballot = { epoch: 2, nodeId: 2 };
const OLD_BALLOT: Ballot = { epoch: 1, nodeId: 3 };

/** The chosen entry of a slot: the same at every node, so the model and the machine can share it. */
function entryAt(slot: number): Entry {
  return { origin: BALLOT, createdMs: slot, commands: [{ id: `s${slot}`, payload: slot }] };
}
function acceptedAt(slot: number, ballot: Ballot = BALLOT): AcceptedEntry {
  return { slot, ballot, entry: entryAt(slot) };
}

function realInput(model: LearnerModelInput): LearnerInput {
  return { id: model.id, appliedSlot: model.appliedSlot, learnRetryMs: LEARN_RETRY_MS };
}

function eventsFor(snapshot: ModelSnapshot): LearnerModelEvent[] {
  const a = snapshot.context.appliedSlot;
  const events: LearnerModelEvent[] = [
    { type: 'CommitNotice', from: 2, ballot: BALLOT, baseSlot: 0, commitSlot: a + 1, local: [acceptedAt(a + 1)] },
    // Knows the next slot but not the one after: learns one, asks for the rest.
    { type: 'CommitNotice', from: 3, ballot: BALLOT, baseSlot: 0, commitSlot: a + 2, local: [acceptedAt(a + 1), undefined] },
    // Its entry at the next slot was accepted in another ballot: it cannot vouch for it.
    { type: 'CommitNotice', from: 2, ballot: BALLOT, baseSlot: 0, commitSlot: a + 2, local: [acceptedAt(a + 1, OLD_BALLOT), acceptedAt(a + 2)] },
    // The slot is at or below the notice's base: chosen before this proposer, not vouched by it.
    { type: 'CommitNotice', from: 2, ballot: BALLOT, baseSlot: a + 1, commitSlot: a + 1, local: [acceptedAt(a + 1)] },
    { type: 'CommitNotice', from: 2, ballot: BALLOT, baseSlot: 0, commitSlot: a, local: [] },
    { type: 'LearnReply', from: 2, fromSlot: a + 1, entries: [entryAt(a + 1)] },
    { type: 'LearnReply', from: 2, fromSlot: a + 1, entries: [entryAt(a + 1), entryAt(a + 2)] },
    { type: 'LearnReply', from: 2, fromSlot: a + 2, entries: [entryAt(a + 2)] },
    { type: 'LearnReply', from: 2, fromSlot: a + 1, entries: [] },
  ];
  if (a >= 1) events.push({ type: 'LearnReply', from: 3, fromSlot: a, entries: [entryAt(a), entryAt(a + 1)] });
  // A compacted acceptor's node holds slots this learner lacks; a snapshot lands ahead or behind.
  events.push({ type: 'ChosenElsewhere', from: 3, commitSlot: a + 2 });
  events.push({ type: 'SnapshotInstalled', slot: a + 1 });
  if (a >= 1) events.push({ type: 'SnapshotInstalled', slot: a });
  if (snapshot.value === 'catchingUp') events.push({ type: 'LEARN_RETRY' });
  return events;
}

function stopExploring(snapshot: ModelSnapshot): boolean {
  return snapshot.context.appliedSlot >= MAX_EXPLORED_APPLIED;
}

function exploration(input: LearnerModelInput): ModelExploration<ModelSnapshot, LearnerModelEvent> {
  return { model: learnerModel, input, events: eventsFor, stopWhen: stopExploring };
}

function perform(driver: LearnerDriver, event: LearnerModelEvent): void {
  if (event.type === 'LEARN_RETRY') driver.fireTimer(LEARN_RETRY_MS);
  else driver.send(event);
}

function expectAgreement(driver: LearnerDriver, model: ModelSnapshot): void {
  const real = driver.snapshot();
  const c = real.context;
  const m = model.context;
  expectSame(
    { state: real.value, appliedSlot: c.appliedSlot, commitSlot: c.commitSlot, source: c.source, catchUpFrom: c.catchUpFrom, catchUpUntil: c.catchUpUntil, effects: driver.takeEffects() },
    { state: model.value, appliedSlot: m.appliedSlot, commitSlot: m.commitSlot, source: m.source, catchUpFrom: m.catchUpFrom, catchUpUntil: m.catchUpUntil, effects: m.effects },
    'real learner vs model',
  );
}

function replayEveryEdge(input: LearnerModelInput, coverage: Coverage): number {
  const { cases, edges } = edgeCases(exploration(input));
  for (const steps of cases) {
    const driver = new RealDriver(learnerMachine, realInput(input), coverage);
    replayCase(steps, driver, perform, expectAgreement);
    driver.stop();
  }
  return edges;
}

type RandomStep =
  | { readonly kind: 'timer' }
  | {
      readonly kind: 'notice';
      readonly from: number;
      readonly ahead: number;
      readonly base: number;
      /** Per slot after the applied one: known in the notice's ballot, in another, or missing. */
      readonly local: readonly ('same' | 'other' | 'missing')[];
    }
  | { readonly kind: 'reply'; readonly from: number; readonly offset: number; readonly count: number }
  | { readonly kind: 'elsewhere'; readonly from: number; readonly ahead: number }
  | { readonly kind: 'snapshot'; readonly ahead: number };

const randomStep: fc.Arbitrary<RandomStep> = fc.oneof(
  fc.constant({ kind: 'timer' as const }),
  fc.record({
    kind: fc.constant('notice' as const),
    from: fc.constantFrom(1, 2, 3),
    ahead: fc.integer({ min: -1, max: 3 }),
    base: fc.integer({ min: 0, max: 4 }),
    local: fc.array(fc.constantFrom('same' as const, 'other' as const, 'missing' as const), { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('reply' as const), from: fc.constantFrom(2, 3), offset: fc.integer({ min: -2, max: 2 }), count: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('elsewhere' as const), from: fc.constantFrom(2, 3), ahead: fc.integer({ min: -1, max: 3 }) }),
  fc.record({ kind: fc.constant('snapshot' as const), ahead: fc.integer({ min: -2, max: 3 }) }),
);

function concrete(s: RandomStep, snap: ModelSnapshot): LearnerModelEvent | null {
  const a = snap.context.appliedSlot;
  switch (s.kind) {
    case 'timer':
      return snap.value === 'catchingUp' ? { type: 'LEARN_RETRY' } : null;
    case 'notice': {
      const commitSlot = Math.max(0, a + s.ahead);
      const local = s.local.map((k, i) => (k === 'missing' ? undefined : acceptedAt(a + 1 + i, k === 'same' ? BALLOT : OLD_BALLOT)));
      return { type: 'CommitNotice', from: s.from, ballot: BALLOT, baseSlot: s.base, commitSlot, local };
    }
    case 'reply': {
      const fromSlot = Math.max(1, a + 1 + s.offset);
      return { type: 'LearnReply', from: s.from, fromSlot, entries: Array.from({ length: s.count }, (_, i) => entryAt(fromSlot + i)) };
    }
    case 'elsewhere':
      return { type: 'ChosenElsewhere', from: s.from, commitSlot: Math.max(0, a + s.ahead) };
    case 'snapshot':
      return { type: 'SnapshotInstalled', slot: Math.max(0, a + s.ahead) };
  }
}

describe('learner statechart against its model', () => {
  it('takes every model edge like the model does, covering every real state and transition', () => {
    const coverage = new Coverage(learnerMachine);
    const counts = [START, RESTARTED].map((input) => replayEveryEdge(input, coverage));
    for (const n of counts) expect(n).toBeGreaterThan(40);
    expectFullCoverage(coverage);
  });

  it('agrees with the model under random notices and replies from every reachable state', () => {
    const starts = statePaths(exploration(START));
    fc.assert(
      fc.property(fc.nat({ max: starts.length - 1 }), fc.array(randomStep, { maxLength: 25 }), (start, steps) => {
        const driver = new RealDriver(learnerMachine, realInput(START));
        randomWalk({ model: learnerModel, modelInput: START, driver, prefix: starts[start]!, steps, concrete, perform, check: expectAgreement });
        driver.stop();
      }),
      { numRuns: 150 },
    );
  });
});
