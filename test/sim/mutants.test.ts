import { describe, expect, it } from 'vitest';
import { ALL_INVARIANTS } from '../../src/check/invariants.js';
import type { Invariant } from '../../src/check/invariants.js';
import { MUTANTS, findMutant, mutantRunOptions } from '../../src/sim/mutants.js';
import { runScenario, runSeed } from '../../src/sim/runner.js';
import { randomScenario } from '../../src/sim/scenario.js';
import type { Mutant } from '../../src/sim/mutants.js';

/** The acceptance bound: `statekeeper check --mutant NAME --runs 200 --seed 1` must catch it. */
const MAX_RUNS = 200;

/** Index of the first run (of at most MAX_RUNS, seed 1) in which `invariants` catch the mutant, or -1. */
function firstCatch(mutant: Mutant | undefined, invariants: Readonly<Record<string, Invariant>>): { run: number; invariant: string; message: string } {
  for (let i = 0; i < MAX_RUNS; i++) {
    const scenario = randomScenario(runSeed(1, i), {
      nodes: mutant?.prefers?.nodes ?? 5,
      sabotage: mutant?.prefers?.sabotage ?? false,
      ...(mutant?.prefers?.snapshotEveryCommands === undefined ? {} : { snapshotEveryCommands: mutant.prefers.snapshotEveryCommands }),
    });
    const result = runScenario(scenario, { ...mutantRunOptions(mutant), invariants });
    if (result.violation) return { run: i, invariant: result.violation.invariant, message: result.violation.message };
  }
  return { run: -1, invariant: '', message: '' };
}

describe('every mutant is caught', () => {
  for (const mutant of MUTANTS) {
    it(`${mutant.name}: ${mutant.description}`, () => {
      const caught = firstCatch(mutant, ALL_INVARIANTS);
      expect(caught.run, `not caught within ${MAX_RUNS} runs`).toBeGreaterThanOrEqual(0);
    });
  }
});

describe('every invariant catches some mutant on its own', () => {
  // Which broken machine trips which check (each checked alone, so no other check hides it).
  const pairs: [invariant: string, mutant: string][] = [
    ['electionSafety', 'double-vote'],
    ['agreement', 'ignore-phase1-values'],
    ['agreement', 'ignore-compaction-floor'],
    ['committedPrefix', 'learner-skips-gap'],
    ['committedPrefix', 'snapshot-off-by-one'],
    ['leaderCompleteness', 'ignore-phase1-values'],
    ['integrity', 'fake-noop-command'],
    ['durability', 'minority-commit'],
    ['liveness', 'no-retransmit'],
  ];
  it('covers every invariant', () => {
    expect(new Set(pairs.map(([inv]) => inv))).toEqual(new Set(Object.keys(ALL_INVARIANTS)));
  });
  for (const [invariant, name] of pairs) {
    it(`${invariant} catches ${name}`, () => {
      const check = ALL_INVARIANTS[invariant]!;
      const caught = firstCatch(findMutant(name), { [invariant]: check });
      expect(caught).toMatchObject({ invariant });
      expect(caught.run).toBeGreaterThanOrEqual(0);
    });
  }
});

describe('the snapshot branches of the checks', () => {
  it('agreement compares an installed snapshot with what the others applied (snapshot-off-by-one)', () => {
    const caught = firstCatch(findMutant('snapshot-off-by-one'), { agreement: ALL_INVARIANTS.agreement! });
    expect(caught.run).toBeGreaterThanOrEqual(0);
    expect(caught.message).toMatch(/installed a snapshot/);
  });
});

describe('the real machines pass where the mutants fail', () => {
  for (const prefers of [{ nodes: 3, sabotage: true }, { nodes: 3, sabotage: false }, { nodes: 5, sabotage: false }]) {
    it(`no violation in 40 runs with ${prefers.nodes} nodes${prefers.sabotage ? ', sabotaged election' : ''}`, () => {
      for (let i = 0; i < 40; i++) {
        const result = runScenario(randomScenario(runSeed(1, i), prefers));
        expect(result.violation).toBeNull();
      }
    });
  }
});
