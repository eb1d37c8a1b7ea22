/**
 * Model-based tests of the proposer: the abstract model in proposer.model.ts drives the real
 * machine along every edge of its graph, and fast-check random walks send both arbitrary promises,
 * acceptances, rejections and submissions (other ballots, non-voters, partial and stale ranges).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SnapshotFrom } from 'xstate';
import { proposerMachine } from '../../machines/proposer/machine.js';
import type { ProposerInput } from '../../machines/proposer/machine.js';
import type { Ballot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Entry } from '../../src/protocol/messages.js';
import { Coverage, edgeCases, expectFullCoverage, expectSame, idsOfMask, randomWalk, RealDriver, replayCase, statePaths } from './driver.js';
import type { ModelExploration } from './driver.js';
import { MODEL_PROPOSER_TIMINGS, proposerModel } from './proposer.model.js';
import type { ProposerModelEvent, ProposerModelInput } from './proposer.model.js';

type ModelSnapshot = SnapshotFrom<typeof proposerModel>;
type ProposerDriver = RealDriver<typeof proposerMachine>;

const VOTERS = [1, 2, 3];
const BALLOT: Ballot = { epoch: 2, nodeId: 1 };
/** Slot 1 is chosen and learned already: phase 1 covers slots 2 and up. */
const INPUT: ProposerModelInput = { id: 1, ballot: BALLOT, voters: VOTERS, baseSlot: 1, nowMs: 1000 };
const SUBMIT_MS = 2000;
const MAX_SUBMITTED = 2;

function accepted(slot: number, ballot: Ballot, name: string): AcceptedEntry {
  return { slot, ballot, entry: { origin: ballot, createdMs: 0, commands: [{ id: name, payload: name }] } };
}
/**
 * What each voter reports in phase 1. Voter 3 reports a slot at the base (to be ignored), a higher
 * ballot than voter 2 at slot 2, and slot 4 with a gap at slot 3 (to be filled with a no-op).
 */
const REPORTS: Readonly<Record<number, readonly AcceptedEntry[]>> = {
  1: [],
  2: [accepted(2, { epoch: 1, nodeId: 2 }, 'x')],
  3: [accepted(1, { epoch: 1, nodeId: 3 }, 'w'), accepted(2, { epoch: 1, nodeId: 3 }, 'y'), accepted(4, { epoch: 1, nodeId: 3 }, 'z')],
};

function realInput(model: ProposerModelInput): ProposerInput {
  return { id: model.id, ballot: model.ballot, voters: model.voters, baseSlot: model.baseSlot, nowMs: model.nowMs, timings: MODEL_PROPOSER_TIMINGS };
}

function eventsFor(snapshot: ModelSnapshot): ProposerModelEvent[] {
  const c = snapshot.context;
  const first = c.baseSlot + 1;
  const last = c.baseSlot + c.entries.length;
  const events: ProposerModelEvent[] = [
    { type: 'RETRANSMIT' },
    { type: 'RejectReply', from: 2, ballot: BALLOT, promised: { epoch: 3, nodeId: 2 } },
    { type: 'RejectReply', from: 2, ballot: BALLOT, promised: { epoch: 1, nodeId: 3 } },
    { type: 'RejectReply', from: 3, ballot: { epoch: 1, nodeId: 1 }, promised: { epoch: 3, nodeId: 2 } },
  ];
  for (const from of VOTERS) events.push({ type: 'PromiseReply', from, ballot: BALLOT, accepted: REPORTS[from]! });
  events.push({ type: 'PromiseReply', from: 2, ballot: { epoch: 1, nodeId: 1 }, accepted: [] });
  // A compacted acceptor: its floor lifts the base (while preparing) past what it no longer reports.
  if (snapshot.value === 'preparing' && c.floorFrom === null) events.push({ type: 'PromiseReply', from: 3, ballot: BALLOT, accepted: REPORTS[3]!, floor: c.baseSlot + 1 });
  if (c.submitted < MAX_SUBMITTED) {
    const id = `c${c.submitted + 1}`;
    events.push({ type: 'Submit', commands: [{ id, payload: id }], nowMs: SUBMIT_MS });
  }
  if (last >= first) {
    // This proposer's own acceptor counts like any other; voters 2 and 3 stand for all of them.
    for (const from of [2, 3]) events.push({ type: 'AcceptedReply', from, ballot: BALLOT, fromSlot: first, toSlot: last });
    if (c.commitSlot < last) events.push({ type: 'AcceptedReply', from: 2, ballot: BALLOT, fromSlot: c.commitSlot + 1, toSlot: c.commitSlot + 1 });
  }
  events.push({ type: 'AcceptedReply', from: 3, ballot: { epoch: 1, nodeId: 1 }, fromSlot: first, toSlot: first });
  return events;
}

/** A preempted proposer is final: the node drops it, nothing more reaches it. */
function stopExploring(snapshot: ModelSnapshot): boolean {
  return snapshot.value === 'preempted';
}

function exploration(input: ProposerModelInput): ModelExploration<ModelSnapshot, ProposerModelEvent> {
  return { model: proposerModel, input, events: eventsFor, stopWhen: stopExploring };
}

function perform(driver: ProposerDriver, event: ProposerModelEvent): void {
  if (event.type === 'RETRANSMIT') driver.fireTimer(MODEL_PROPOSER_TIMINGS.retransmitMs);
  else driver.send(event);
}

function expectAgreement(driver: ProposerDriver, model: ModelSnapshot): void {
  const real = driver.snapshot();
  const c = real.context;
  const m = model.context;
  const reported = [...(c.reported as Map<number, AcceptedEntry>).values()].sort((x, y) => x.slot - y.slot);
  expectSame(
    {
      state: real.value,
      promisedBy: idsOfMask(VOTERS, c.promisedBy),
      reported,
      firstSlot: c.firstSlot,
      entries: c.entries as Entry[],
      acks: (c.acks as number[]).map((mask) => idsOfMask(VOTERS, mask)),
      commitSlot: c.commitSlot,
      pending: c.pending,
      nowMs: c.nowMs,
      effects: driver.takeEffects(),
    },
    {
      state: model.value,
      promisedBy: m.promisedBy,
      reported: m.reported,
      firstSlot: m.baseSlot + 1,
      entries: m.entries,
      acks: m.acks,
      commitSlot: m.commitSlot,
      pending: m.pending,
      nowMs: m.nowMs,
      effects: m.effects,
    },
    'real proposer vs model',
  );
}

type RandomStep =
  | { readonly kind: 'timer' }
  | { readonly kind: 'promise'; readonly from: number; readonly mine: boolean; readonly reports: readonly { slot: number; epoch: number; node: number }[]; readonly floor: number }
  | { readonly kind: 'accepted'; readonly from: number; readonly mine: boolean; readonly fromOffset: number; readonly length: number }
  | { readonly kind: 'reject'; readonly from: number; readonly mine: boolean; readonly promised: Ballot }
  | { readonly kind: 'submit'; readonly count: number };

/** Senders include a non-voter (9); ballots other than this proposer's. */
const from = fc.constantFrom(1, 2, 3, 9);
const randomStep: fc.Arbitrary<RandomStep> = fc.oneof(
  fc.constant({ kind: 'timer' as const }),
  fc.record({
    kind: fc.constant('promise' as const),
    from,
    mine: fc.boolean(),
    reports: fc.array(fc.record({ slot: fc.integer({ min: 0, max: 5 }), epoch: fc.integer({ min: 0, max: 1 }), node: fc.integer({ min: 1, max: 3 }) }), { maxLength: 3 }),
    // Mostly none; otherwise a compaction floor that may lift the base.
    floor: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 4 })),
  }),
  fc.record({ kind: fc.constant('accepted' as const), from, mine: fc.boolean(), fromOffset: fc.integer({ min: -1, max: 4 }), length: fc.integer({ min: 0, max: 4 }) }),
  fc.record({
    kind: fc.constant('reject' as const),
    from,
    mine: fc.boolean(),
    promised: fc.record({ epoch: fc.integer({ min: 1, max: 3 }), nodeId: fc.integer({ min: 1, max: 3 }) }),
  }),
  fc.record({ kind: fc.constant('submit' as const), count: fc.integer({ min: 1, max: 3 }) }),
);

const OTHER_BALLOT: Ballot = { epoch: 1, nodeId: 3 };

function concrete(s: RandomStep, snap: ModelSnapshot): ProposerModelEvent | null {
  const c = snap.context;
  if (snap.value === 'preempted') return null;
  switch (s.kind) {
    case 'timer':
      return { type: 'RETRANSMIT' };
    case 'promise':
      return {
        type: 'PromiseReply',
        from: s.from,
        ballot: s.mine ? BALLOT : OTHER_BALLOT,
        accepted: s.reports.map((r) => accepted(r.slot, { epoch: r.epoch, nodeId: r.node }, `r${r.slot}.${r.epoch}.${r.node}`)),
        ...(s.floor > 0 ? { floor: s.floor } : {}),
      };
    case 'accepted': {
      const fromSlot = c.commitSlot + 1 + s.fromOffset;
      return { type: 'AcceptedReply', from: s.from, ballot: s.mine ? BALLOT : OTHER_BALLOT, fromSlot, toSlot: fromSlot + s.length - 1 };
    }
    case 'reject':
      return { type: 'RejectReply', from: s.from, ballot: s.mine ? BALLOT : OTHER_BALLOT, promised: s.promised };
    case 'submit':
      // Ids and times follow from the model's state, so a shrunk counterexample replays exactly.
      return {
        type: 'Submit',
        commands: Array.from({ length: s.count }, (_, i) => {
          const id = `r${c.submitted + i + 1}`;
          return { id, payload: id };
        }),
        nowMs: SUBMIT_MS + c.submitted,
      };
  }
}

describe('proposer statechart against its model', () => {
  it('takes every model edge like the model does, covering every real state and transition', () => {
    const coverage = new Coverage(proposerMachine);
    const { cases, edges } = edgeCases(exploration(INPUT));

    for (const steps of cases) {
      const driver = new RealDriver(proposerMachine, realInput(INPUT), coverage);
      replayCase(steps, driver, perform, expectAgreement);
      driver.stop();
    }
    expect(edges).toBeGreaterThan(1000);
    expectFullCoverage(coverage);
  });

  it('agrees with the model under random messages from every reachable state', () => {
    const starts = statePaths(exploration(INPUT));
    fc.assert(
      fc.property(fc.nat({ max: starts.length - 1 }), fc.array(randomStep, { maxLength: 20 }), (start, steps) => {
        const driver = new RealDriver(proposerMachine, realInput(INPUT));
        randomWalk({ model: proposerModel, modelInput: INPUT, driver, prefix: starts[start]!, steps, concrete, perform, check: expectAgreement });
        driver.stop();
      }),
      { numRuns: 150 },
    );
  });
});
