/**
 * Model-based tests of the election statechart (follower, candidate, leader): the abstract model in
 * election.model.ts drives the real machine along every shortest path @xstate/graph finds, and a
 * fast-check random walk sends both of them arbitrary events, stale and duplicated ones included.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SnapshotFrom } from 'xstate';
import { electionMachine } from '../../machines/election/machine.js';
import type { ElectionInput } from '../../machines/election/types.js';
import type { LogPosition } from '../../src/protocol/messages.js';
import { Coverage, edgeCases, expectFullCoverage, expectSame, idsOfMask, randomWalk, RealDriver, replayCase, simplePathCases, statePaths } from './driver.js';
import type { ModelExploration } from './driver.js';
import { electionModel, LOCAL_LOG, MODEL_TIMINGS, STALE_LOG, UP_TO_DATE_LOG } from './election.model.js';
import type { ElectionModelEvent, ElectionModelInput } from './election.model.js';

type ModelSnapshot = SnapshotFrom<typeof electionModel>;

const SELF = 1;
const VOTERS = [1, 2, 3, 4, 5];
/** Traversal stops expanding past this epoch: every rule shows up well before it. */
const MAX_EXPLORED_EPOCH = 1;

function realInput(model: ElectionModelInput): ElectionInput {
  return { id: model.self, voters: model.voters, timings: MODEL_TIMINGS, seed: 7, epoch: model.epoch, votedFor: model.votedFor };
}

/** The model's name for a real state value. */
function modelValueOf(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const v = value as Record<string, unknown>;
  if ('follower' in v) return 'follower';
  if ('leader' in v) return 'leader';
  const candidate = v.candidate;
  return candidate === 'preCampaign' ? 'preCandidate' : candidate === 'campaign' ? 'candidate' : JSON.stringify(value);
}

/** Events the path generator tries in each model state: every type, current, stale and future epochs. */
function eventsFor(snapshot: ModelSnapshot): ElectionModelEvent[] {
  const c = snapshot.context;
  const e = c.epoch;
  const stale = e > 0 ? [e - 1] : [];
  const events: ElectionModelEvent[] = [
    ...[e + 1, e, ...stale].map((epoch) => ({ type: 'Heartbeat' as const, from: 2, epoch })),
    { type: 'HeartbeatReply', from: 2, epoch: e },
    { type: 'HeartbeatReply', from: 3, epoch: e },
    { type: 'HeartbeatReply', from: 2, epoch: e + 1 },
    ...stale.map((epoch) => ({ type: 'HeartbeatReply' as const, from: 2, epoch })),
    { type: 'VoteRequest', from: 2, epoch: e + 1, lastLog: UP_TO_DATE_LOG, localLog: LOCAL_LOG },
    { type: 'VoteRequest', from: 2, epoch: e + 1, lastLog: STALE_LOG, localLog: LOCAL_LOG },
    { type: 'VoteRequest', from: 2, epoch: e, lastLog: UP_TO_DATE_LOG, localLog: LOCAL_LOG },
    { type: 'VoteRequest', from: 2, epoch: e, lastLog: STALE_LOG, localLog: LOCAL_LOG },
    { type: 'VoteRequest', from: 3, epoch: e, lastLog: UP_TO_DATE_LOG, localLog: LOCAL_LOG },
    ...stale.map((epoch) => ({ type: 'VoteRequest' as const, from: 2, epoch, lastLog: UP_TO_DATE_LOG, localLog: LOCAL_LOG })),
    { type: 'VoteReply', from: 2, epoch: e, granted: true },
    { type: 'VoteReply', from: 3, epoch: e, granted: true },
    { type: 'VoteReply', from: 2, epoch: e, granted: false },
    { type: 'VoteReply', from: 2, epoch: e + 1, granted: false },
    { type: 'PreVoteRequest', from: 2, epoch: e + 1, lastLog: UP_TO_DATE_LOG, localLog: LOCAL_LOG },
    { type: 'PreVoteRequest', from: 2, epoch: e + 1, lastLog: STALE_LOG, localLog: LOCAL_LOG },
    { type: 'PreVoteRequest', from: 2, epoch: e, lastLog: UP_TO_DATE_LOG, localLog: LOCAL_LOG },
    { type: 'PreVoteReply', from: 2, epoch: e + 1, granted: true },
    { type: 'PreVoteReply', from: 3, epoch: e + 1, granted: true },
    { type: 'PreVoteReply', from: 2, epoch: e + 1, granted: false },
    { type: 'PreVoteReply', from: 2, epoch: e, granted: true },
    { type: 'ObservedEpoch', epoch: e + 1 },
    { type: 'ObservedEpoch', epoch: e },
  ];
  if (snapshot.value === 'leader') {
    if (c.beatDueMs < c.checkDueMs) events.push({ type: 'BEAT', afterMs: c.beatDueMs });
    if (c.checkDueMs < c.beatDueMs) events.push({ type: 'CHECK', afterMs: c.checkDueMs });
  } else {
    events.push({ type: 'ELECTION_TIMEOUT' });
  }
  return events;
}

/** Leader timers that fall due together have no defined order on the clock: do not explore past them. */
function stopExploring(snapshot: ModelSnapshot): boolean {
  const c = snapshot.context;
  return c.epoch > MAX_EXPLORED_EPOCH || (snapshot.value === 'leader' && c.beatDueMs === c.checkDueMs);
}

/** Perform one model event on the real machine. */
function perform(driver: ElectionDriver, event: ElectionModelEvent): void {
  switch (event.type) {
    case 'ELECTION_TIMEOUT':
      driver.fireTimer(driver.snapshot().context.electionTimeoutMs);
      break;
    case 'BEAT':
    case 'CHECK':
      driver.fireTimer(event.afterMs);
      break;
    default:
      driver.send(event);
  }
}

/** The real machine must be where the model is, know what it knows, and have emitted what it predicts. */
function expectAgreement(driver: ElectionDriver, model: ModelSnapshot): void {
  const real = driver.snapshot();
  const c = real.context;
  const m = model.context;
  const candidate = model.value === 'preCandidate' || model.value === 'candidate';
  expectSame(
    {
      state: modelValueOf(real.value),
      epoch: c.epoch,
      votedFor: c.votedFor,
      leader: c.leader,
      leaderContact: c.leaderContact,
      grants: candidate ? idsOfMask(m.voters, c.grants) : [],
      heard: model.value === 'leader' ? idsOfMask(m.voters, c.heardFrom) : [],
      timeoutInRange: c.electionTimeoutMs >= MODEL_TIMINGS.electionTimeoutMinMs && c.electionTimeoutMs < MODEL_TIMINGS.electionTimeoutMaxMs,
      effects: driver.takeEffects(),
    },
    {
      state: model.value,
      epoch: m.epoch,
      votedFor: m.votedFor,
      leader: m.leader,
      leaderContact: m.contact,
      grants: candidate ? m.grants : [],
      heard: model.value === 'leader' ? m.heard : [],
      timeoutInRange: true,
      effects: m.effects,
    },
    'real election machine vs model',
  );
}

type ElectionDriver = RealDriver<typeof electionMachine>;

function exploration(input: ElectionModelInput): ModelExploration<ModelSnapshot, ElectionModelEvent> {
  return { model: electionModel, input, events: eventsFor, stopWhen: stopExploring };
}

/** Every edge of the model, replayed on fresh real machines. Returns how many edges. */
function replayEveryEdge(input: ElectionModelInput, coverage: Coverage): number {
  const { cases, edges } = edgeCases(exploration(input));
  for (const steps of cases) {
    const driver = new RealDriver(electionMachine, realInput(input), coverage);
    replayCase(steps, driver, perform, expectAgreement);
    driver.stop();
  }
  return edges;
}

describe('election statechart against its model', () => {
  it('takes every model edge like the model does, covering every real state and transition', () => {
    const coverage = new Coverage(electionMachine);
    const fiveVoterEdges = replayEveryEdge({ self: SELF, voters: VOTERS, epoch: 0, votedFor: null }, coverage);
    // A lone voter is its own quorum: follower to leader in one timeout.
    const loneVoterEdges = replayEveryEdge({ self: SELF, voters: [SELF], epoch: 0, votedFor: null }, coverage);
    expect(fiveVoterEdges).toBeGreaterThan(1000);
    expect(loneVoterEdges).toBeGreaterThan(20);
    expectFullCoverage(coverage);
  });

  it('follows the model along every simple path of a lone voter (getSimplePaths)', () => {
    // A lone voter is its own quorum: its life is timers and news of higher epochs, in any order.
    const input: ElectionModelInput = { self: SELF, voters: [SELF], epoch: 0, votedFor: null };
    const lifeEvents = (snapshot: ModelSnapshot): ElectionModelEvent[] =>
      eventsFor(snapshot).filter((e) => ['ELECTION_TIMEOUT', 'BEAT', 'CHECK', 'ObservedEpoch'].includes(e.type) || (e.type === 'Heartbeat' && e.epoch > snapshot.context.epoch));
    const cases = simplePathCases({ model: electionModel, input, events: lifeEvents, stopWhen: stopExploring });
    for (const steps of cases) {
      const driver = new RealDriver(electionMachine, realInput(input));
      replayCase(steps, driver, perform, expectAgreement);
      driver.stop();
    }
    expect(cases.length).toBeGreaterThan(20);
    expect(Math.max(...cases.map((c) => c.length))).toBeGreaterThan(6);
  });

  const fiveVoters: ElectionModelInput = { self: SELF, voters: VOTERS, epoch: 0, votedFor: null };

  it('agrees with the model under random events from every reachable state', () => {
    const starts = statePaths(exploration(fiveVoters));
    fc.assert(
      fc.property(fc.nat({ max: starts.length - 1 }), fc.array(randomStep, { maxLength: 25 }), (start, steps) => {
        const driver = new RealDriver(electionMachine, realInput(fiveVoters));
        randomWalk({ model: electionModel, modelInput: fiveVoters, driver, prefix: starts[start]!, steps, concrete, perform, check: expectAgreement });
        driver.stop();
      }),
      { numRuns: 150 },
    );
  });

  it('agrees with the model under random events after a restart with any persisted epoch and vote', () => {
    const recovered = fc.record({ epoch: fc.integer({ min: 0, max: 3 }), votedFor: fc.constantFrom(null, 1, 2, 3) });
    fc.assert(
      fc.property(recovered, fc.array(randomStep, { maxLength: 25 }), ({ epoch, votedFor }, steps) => {
        const input: ElectionModelInput = { self: SELF, voters: VOTERS, epoch, votedFor };
        const driver = new RealDriver(electionMachine, realInput(input));
        randomWalk({ model: electionModel, modelInput: input, driver, prefix: [], steps, concrete, perform, check: expectAgreement });
        driver.stop();
      }),
      { numRuns: 100 },
    );
  });
});

/** An abstract random step: made concrete against the model's state (epochs are relative). */
type RandomStep =
  | { readonly kind: 'timer' }
  | { readonly kind: 'msg'; readonly type: string; readonly from: number; readonly delta: number; readonly granted: boolean; readonly log: LogPosition };

/** Senders include this node itself and a non-voter (9); epochs reach two either side. */
const randomStep: fc.Arbitrary<RandomStep> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'timer' as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('msg' as const),
      type: fc.constantFrom('Heartbeat', 'HeartbeatReply', 'VoteRequest', 'VoteReply', 'PreVoteRequest', 'PreVoteReply', 'ObservedEpoch'),
      from: fc.constantFrom(1, 2, 3, 4, 5, 9),
      delta: fc.integer({ min: -2, max: 2 }),
      granted: fc.boolean(),
      log: fc.constantFrom<LogPosition>(UP_TO_DATE_LOG, STALE_LOG, { epoch: 2, slot: 0 }, { epoch: 0, slot: 9 }),
    }),
  },
);

/** The timer that is due, or the message with its epoch made absolute. */
function concrete(s: RandomStep, snap: ModelSnapshot): ElectionModelEvent | null {
  const c = snap.context;
  if (s.kind === 'timer') {
    if (snap.value !== 'leader') return { type: 'ELECTION_TIMEOUT' };
    if (c.beatDueMs < c.checkDueMs) return { type: 'BEAT', afterMs: c.beatDueMs };
    if (c.checkDueMs < c.beatDueMs) return { type: 'CHECK', afterMs: c.checkDueMs };
    return null;
  }
  const epoch = Math.max(0, c.epoch + s.delta);
  switch (s.type) {
    case 'Heartbeat':
    case 'HeartbeatReply':
      return { type: s.type, from: s.from, epoch };
    case 'VoteRequest':
    case 'PreVoteRequest':
      return { type: s.type, from: s.from, epoch, lastLog: s.log, localLog: LOCAL_LOG };
    case 'VoteReply':
    case 'PreVoteReply':
      return { type: s.type, from: s.from, epoch, granted: s.granted };
    default:
      return { type: 'ObservedEpoch', epoch };
  }
}
