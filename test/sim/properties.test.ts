import fc from 'fast-check';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarioArbitrary } from '../../src/sim/arbitrary.js';
import { runScenario, writeTraceFile } from '../../src/sim/runner.js';
import type { Scenario } from '../../src/sim/scenario.js';

/** Fails with the invariant, the message and the command that replays the run step by step. */
function assertNoViolation(scenario: Scenario): void {
  const result = runScenario(scenario);
  if (result.violation === null) return;
  const path = join(tmpdir(), `statekeeper-property-${scenario.seed}-${process.pid}.json`);
  writeTraceFile(path, scenario, null);
  throw new Error(`${result.violation.invariant}: ${result.violation.message}\n  replay: npx statekeeper replay ${path}`);
}

describe('consensus properties under random faults', () => {
  it('every invariant holds for 1 to 7 voters, any fault schedule and client load', () => {
    fc.assert(fc.property(scenarioArbitrary(), assertNoViolation));
  });

  it('agreement and the other safety invariants hold when the election is sabotaged (two leaders at once)', () => {
    fc.assert(fc.property(scenarioArbitrary({ minNodes: 2, sabotage: true }), assertNoViolation));
  });

  it('a run is a pure function of its scenario', () => {
    fc.assert(
      fc.property(scenarioArbitrary({ maxFaults: 6 }), (scenario) => {
        const a = runScenario({ ...scenario, commands: Math.min(scenario.commands, 40) }, { trace: true });
        const b = runScenario({ ...scenario, commands: Math.min(scenario.commands, 40) }, { trace: true });
        expect(b.trace).toEqual(a.trace);
      }),
      { numRuns: 10 },
    );
  });
});
