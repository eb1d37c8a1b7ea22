// A researcher's experiment in under 30 lines: your own invariant, your own fault schedule and
// your own variant of a machine, on statekeeper's deterministic simulator.
import { defaultMachines, randomScenario, runBatch, SAFETY_INVARIANTS } from 'statekeeper/sim';
import type { Invariant, Scenario } from 'statekeeper/sim';

// 1. An invariant of your own: no epoch ever exceeds 50 in these short runs.
const epochsStayLow: Invariant = (run) => {
  const high = run.leaders.find((term) => term.epoch > 50);
  return high ? { invariant: 'epochsStayLow', message: `epoch ${high.epoch} at t=${high.atMs}` } : null;
};

// 2. A fault schedule of your own: isolate node 1 for 400 ms, twice.
const isolateNodeOne = (seed: number): Scenario => ({
  ...randomScenario(seed, { nodes: 3, faults: ['drop', 'delay'] }),
  faults: [
    { atMs: 300, kind: 'partition', groups: [[1], [2, 3]] },
    { atMs: 700, kind: 'heal' },
    { atMs: 1200, kind: 'partition', groups: [[1], [2, 3]] },
    { atMs: 1600, kind: 'heal' },
  ],
});

// 3. A variant of a machine: leaders that heartbeat but never step down for lack of a quorum.
const machines = { ...defaultMachines, election: defaultMachines.election.provide({ guards: { heardFromQuorum: () => true } }) };

export const result = runBatch({ runs: 20, seed: 7, scenario: isolateNodeOne, machines, invariants: { ...SAFETY_INVARIANTS, epochsStayLow } });
console.log(`runs: ${result.runs}, violations: ${result.violations}`);
