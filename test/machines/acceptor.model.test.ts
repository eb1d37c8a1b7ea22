/**
 * Model-based tests of the acceptor: the abstract model in acceptor.model.ts drives the real
 * machine along every edge of its graph (fresh, restarted and disk-lost acceptors), and fast-check
 * random walks send both arbitrary prepares, accepts and recovery messages, stale and repeated.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SnapshotFrom } from 'xstate';
import { acceptorMachine } from '../../machines/acceptor/machine.js';
import type { AcceptorInput } from '../../machines/acceptor/machine.js';
import type { Effect } from '../../src/protocol/effects.js';
import type { Ballot } from '../../src/protocol/ids.js';
import { ZERO_BALLOT } from '../../src/protocol/ids.js';
import type { AcceptedEntry } from '../../src/protocol/messages.js';
import { Coverage, edgeCases, expectFullCoverage, expectSame, randomWalk, RealDriver, replayCase, statePaths } from './driver.js';
import type { ModelExploration } from './driver.js';
import { acceptorModel, namedEntry, RECOVERY_RETRY_MS } from './acceptor.model.js';
import type { AcceptorModelEvent, AcceptorModelInput } from './acceptor.model.js';

type ModelSnapshot = SnapshotFrom<typeof acceptorModel>;
type AcceptorDriver = RealDriver<typeof acceptorMachine>;

const VOTERS = [1, 2, 3];
/** Ballots explored stay below this epoch. */
const MAX_EXPLORED_EPOCH = 3;

const A = namedEntry('a', { epoch: 1, nodeId: 2 });
const B = namedEntry('b', { epoch: 2, nodeId: 3 });
const C = namedEntry('c', { epoch: 2, nodeId: 3 });

const FRESH: AcceptorModelInput = { id: 1, voters: VOTERS, promised: ZERO_BALLOT, accepted: [], recovering: false };
/** Restarted with a promise and one accepted entry on disk. */
const RESTARTED: AcceptorModelInput = {
  id: 1,
  voters: VOTERS,
  promised: { epoch: 1, nodeId: 2 },
  accepted: [{ slot: 2, ballot: { epoch: 1, nodeId: 2 }, entry: A }],
  recovering: false,
};
/** Lost its disk: must hear from both other voters (n - q + 1 = 2 of 2) before taking part. */
const WIPED: AcceptorModelInput = { id: 1, voters: VOTERS, promised: ZERO_BALLOT, accepted: [], recovering: true };

function realInput(model: AcceptorModelInput): AcceptorInput {
  return {
    id: model.id,
    voters: model.voters,
    promised: model.promised,
    accepted: new Map(model.accepted.map((a) => [a.slot, a])),
    recovering: model.recovering,
    recoveryRetryMs: RECOVERY_RETRY_MS,
  };
}

/** Ballots around the promise: lower, equal, a higher node in the same epoch, a higher epoch. */
function ballotsAround(p: Ballot): Ballot[] {
  const out: Ballot[] = [p, { epoch: p.epoch + 1, nodeId: 2 }];
  if (p.nodeId < 3) out.push({ epoch: p.epoch, nodeId: 3 });
  if (p.epoch > 0) out.push({ epoch: p.epoch - 1, nodeId: 3 });
  return out;
}

function eventsFor(snapshot: ModelSnapshot): AcceptorModelEvent[] {
  const c = snapshot.context;
  const events: AcceptorModelEvent[] = [];
  for (const ballot of ballotsAround(c.promised)) {
    events.push({ type: 'PrepareRequest', from: 2, ballot, fromSlot: 1 });
    events.push({ type: 'AcceptRequest', from: 2, ballot, fromSlot: 1, entries: [A] });
  }
  events.push({ type: 'PrepareRequest', from: 3, ballot: c.promised, fromSlot: 2 });
  events.push({ type: 'AcceptRequest', from: 3, ballot: { epoch: c.promised.epoch + 1, nodeId: 3 }, fromSlot: 2, entries: [B, C] });
  events.push({ type: 'RecoveryRequest', from: 2, epoch: 4 });
  events.push({ type: 'RecoveryReply', from: 2, epoch: 3, promised: { epoch: 2, nodeId: 2 }, accepted: [{ slot: 1, ballot: { epoch: 1, nodeId: 2 }, entry: A }] });
  events.push({
    type: 'RecoveryReply',
    from: 3,
    epoch: 5,
    promised: { epoch: 3, nodeId: 3 },
    accepted: [
      { slot: 1, ballot: { epoch: 2, nodeId: 3 }, entry: B },
      { slot: 2, ballot: { epoch: 2, nodeId: 3 }, entry: C },
    ],
  });
  // Compaction: below the promised proposer's commit point only, never another ballot's.
  events.push({ type: 'Compact', throughSlot: 1, ballot: c.promised, commitSlot: 2 });
  events.push({ type: 'Compact', throughSlot: 3, ballot: c.promised, commitSlot: 2 });
  events.push({ type: 'Compact', throughSlot: 2, ballot: { epoch: c.promised.epoch + 1, nodeId: 2 }, commitSlot: 2 });
  events.push({ type: 'RecoveryReply', from: 3, epoch: 2, promised: c.promised, accepted: [{ slot: 3, ballot: c.promised, entry: C }], floor: 2 });
  if (snapshot.value === 'recovering') events.push({ type: 'RECOVERY_RETRY' });
  return events;
}

function stopExploring(snapshot: ModelSnapshot): boolean {
  return snapshot.context.promised.epoch >= MAX_EXPLORED_EPOCH;
}

function exploration(input: AcceptorModelInput): ModelExploration<ModelSnapshot, AcceptorModelEvent> {
  return { model: acceptorModel, input, events: eventsFor, stopWhen: stopExploring };
}

function perform(driver: AcceptorDriver, event: AcceptorModelEvent): void {
  if (event.type === 'RECOVERY_RETRY') driver.fireTimer(RECOVERY_RETRY_MS);
  else driver.send(event);
}

/** Accepted lists in effects are compared by slot: their order carries no meaning. */
function normalized(effects: readonly Effect[]): Effect[] {
  const bySlot = (list: readonly AcceptedEntry[]) => [...list].sort((x, y) => x.slot - y.slot);
  return effects.map((e) => {
    if (e.type === 'persistAccepted' || e.type === 'persistCompacted') return { ...e, accepted: bySlot(e.accepted) };
    if (e.type === 'send' && e.msg.type === 'RecoveryReply') return { ...e, msg: { ...e.msg, accepted: bySlot(e.msg.accepted) } };
    return e;
  });
}

function expectAgreement(driver: AcceptorDriver, model: ModelSnapshot): void {
  const real = driver.snapshot();
  const c = real.context;
  const m = model.context;
  const recovering = model.value === 'recovering';
  expectSame(
    {
      state: real.value,
      promised: c.promised,
      accepted: [...(c.accepted as Map<number, AcceptedEntry>).values()].sort((x, y) => x.slot - y.slot),
      lastLog: c.lastLog,
      floor: c.floor,
      recoveredFrom: recovering ? [...(c.recoveredFrom as Set<number>)].sort((a, b) => a - b) : [],
      recoveredEpoch: recovering ? c.recoveredEpoch : 0,
      effects: normalized(driver.takeEffects()),
    },
    {
      state: model.value,
      promised: m.promised,
      accepted: m.accepted,
      lastLog: m.lastLog,
      floor: m.floor,
      recoveredFrom: recovering ? m.recoveredFrom : [],
      recoveredEpoch: recovering ? m.recoveredEpoch : 0,
      effects: m.effects,
    },
    'real acceptor vs model',
  );
}

function replayEveryEdge(input: AcceptorModelInput, coverage: Coverage): number {
  const { cases, edges } = edgeCases(exploration(input));
  for (const steps of cases) {
    const driver = new RealDriver(acceptorMachine, realInput(input), coverage);
    replayCase(steps, driver, perform, expectAgreement);
    driver.stop();
  }
  return edges;
}

type RandomStep =
  | { readonly kind: 'timer' }
  | { readonly kind: 'prepare' | 'accept'; readonly from: number; readonly epochDelta: number; readonly node: number; readonly fromSlot: number; readonly count: number }
  | { readonly kind: 'recoveryRequest'; readonly from: number; readonly epoch: number }
  | { readonly kind: 'compact'; readonly throughSlot: number; readonly commitSlot: number; readonly otherBallot: boolean }
  | { readonly kind: 'recoveryReply'; readonly from: number; readonly epoch: number; readonly promised: Ballot; readonly slots: readonly number[]; readonly floor: number };

const ballot = fc.record({ epoch: fc.integer({ min: 0, max: 4 }), nodeId: fc.integer({ min: 1, max: 3 }) });
/** Senders include this acceptor (1) and a non-voter (9). */
const from = fc.constantFrom(1, 2, 3, 9);
const randomStep: fc.Arbitrary<RandomStep> = fc.oneof(
  fc.constant({ kind: 'timer' as const }),
  fc.record({
    kind: fc.constantFrom('prepare' as const, 'accept' as const),
    from,
    epochDelta: fc.integer({ min: -1, max: 1 }),
    node: fc.integer({ min: 1, max: 3 }),
    fromSlot: fc.integer({ min: 1, max: 4 }),
    // Proposers never send an empty accept; see the report for what one would do.
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ kind: fc.constant('recoveryRequest' as const), from, epoch: fc.integer({ min: 0, max: 5 }) }),
  fc.record({
    kind: fc.constant('compact' as const),
    throughSlot: fc.integer({ min: 0, max: 4 }),
    commitSlot: fc.integer({ min: 0, max: 4 }),
    otherBallot: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('recoveryReply' as const),
    // Only other voters answer a recovery request; the real acceptor would also count a reply
    // from itself or a non-voter (see the report), which no node sends.
    from: fc.constantFrom(2, 3),
    epoch: fc.integer({ min: 0, max: 5 }),
    promised: ballot,
    slots: fc.uniqueArray(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }),
    floor: fc.integer({ min: 0, max: 2 }),
  }),
);

function concrete(s: RandomStep, snap: ModelSnapshot): AcceptorModelEvent | null {
  const c = snap.context;
  switch (s.kind) {
    case 'timer':
      return snap.value === 'recovering' ? { type: 'RECOVERY_RETRY' } : null;
    case 'prepare':
    case 'accept': {
      const b: Ballot = { epoch: Math.max(0, c.promised.epoch + s.epochDelta), nodeId: s.node };
      if (s.kind === 'prepare') return { type: 'PrepareRequest', from: s.from, ballot: b, fromSlot: s.fromSlot };
      const entries = Array.from({ length: s.count }, (_, i) => namedEntry(`e${s.fromSlot + i}@${b.epoch}.${b.nodeId}`, b));
      return { type: 'AcceptRequest', from: s.from, ballot: b, fromSlot: s.fromSlot, entries };
    }
    case 'recoveryRequest':
      return { type: 'RecoveryRequest', from: s.from, epoch: s.epoch };
    case 'compact':
      return {
        type: 'Compact',
        throughSlot: s.throughSlot,
        commitSlot: s.commitSlot,
        ballot: s.otherBallot ? { epoch: c.promised.epoch + 1, nodeId: 3 } : c.promised,
      };
    case 'recoveryReply':
      return {
        type: 'RecoveryReply',
        from: s.from,
        epoch: s.epoch,
        promised: s.promised,
        accepted: s.slots.map((slot) => ({ slot, ballot: s.promised, entry: namedEntry(`r${slot}@${s.promised.epoch}.${s.promised.nodeId}`, s.promised) })),
        floor: s.floor,
      };
  }
}

describe('acceptor statechart against its model', () => {
  it('takes every model edge like the model does, covering every real state and transition', () => {
    const coverage = new Coverage(acceptorMachine);
    const counts = [FRESH, RESTARTED, WIPED].map((input) => replayEveryEdge(input, coverage));
    for (const n of counts) expect(n).toBeGreaterThan(20);
    expectFullCoverage(coverage);
  });

  for (const [name, input] of [
    ['a fresh acceptor', FRESH],
    ['a voter recovering from disk loss', WIPED],
  ] as const) {
    it(`agrees with the model under random messages from every reachable state of ${name}`, () => {
      const starts = statePaths(exploration(input));
      fc.assert(
        fc.property(fc.nat({ max: starts.length - 1 }), fc.array(randomStep, { maxLength: 20 }), (start, steps) => {
          const driver = new RealDriver(acceptorMachine, realInput(input));
          randomWalk({ model: acceptorModel, modelInput: input, driver, prefix: starts[start]!, steps, concrete, perform, check: expectAgreement });
          driver.stop();
        }),
        { numRuns: 100 },
      );
    });
  }
});
