/**
 * One interaction test per rule of the papers (Raft's figure 2 and its extensions, Paxos Made
 * Simple), each a script in scripts/ with a golden transcript in golden/. Each rule test states a
 * fact that is false when the rule is broken, and is run on a machine that breaks it: the mutant
 * of src/sim/mutants.ts where there is one, else one of ./mutants.ts.
 */
import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/sim/script/runner.js';
import { MUTANTS, SABOTAGED_MACHINES } from '../../src/sim/mutants.js';
import type { MachineSet } from '../../src/node/machines.js';
import { expectGolden, readScript } from './golden.js';
import { LOCAL_MUTANTS } from './mutants.js';

function mutant(name: string): MachineSet {
  const found = MUTANTS.find((m) => m.name === name);
  if (found === undefined) throw new Error(`no mutant ${name} in src/sim/mutants.ts`);
  return found.machines;
}

interface Breaker {
  /** Where the broken machine comes from, as the test names it. */
  readonly name: string;
  readonly machines: MachineSet;
}

interface RuleTest {
  readonly script: string;
  readonly rule: string;
  /** Machines the script runs on (default: the real ones). */
  readonly machines?: MachineSet;
  /** The expectation that states the rule's fact; it must fail on every breaker. */
  readonly fact: string;
  readonly breakers: readonly Breaker[];
}

const voteIgnoresLog = LOCAL_MUTANTS['vote-ignores-log'].machines;

const RULES: readonly RuleTest[] = [
  {
    script: 'raft-election-safety',
    rule: 'Raft: election safety, one vote per voter and epoch',
    fact: 'expect vote-once',
    breakers: [{ name: 'mutants.ts double-vote', machines: mutant('double-vote') }],
  },
  {
    script: 'raft-up-to-date-log',
    rule: 'Raft §5.4.1: a vote goes only to a log at least as up to date',
    fact: 'expect never leader 3',
    breakers: [{ name: 'local vote-ignores-log', machines: voteIgnoresLog }],
  },
  {
    script: 'raft-step-down',
    rule: 'Raft: a leader steps down on a message from a higher epoch',
    fact: 'expect role 1 follower epoch 2',
    breakers: [{ name: 'local leader-ignores-higher-epoch', machines: LOCAL_MUTANTS['leader-ignores-higher-epoch'].machines }],
  },
  {
    script: 'raft-pre-vote',
    rule: 'Raft thesis §9.6: pre-vote does not disrupt a healthy leader',
    fact: 'expect leader 1 epoch 1',
    breakers: [{ name: 'local pre-vote-ignores-leader', machines: LOCAL_MUTANTS['pre-vote-ignores-leader'].machines }],
  },
  {
    script: 'raft-check-quorum',
    rule: 'Raft thesis §6.2: check-quorum steps a partitioned leader down',
    fact: 'expect role 1 follower epoch 1',
    breakers: [{ name: 'mutants.ts SABOTAGED_MACHINES', machines: SABOTAGED_MACHINES }],
  },
  {
    script: 'raft-leader-append-only',
    rule: 'Raft: leader append-only (one value per slot and ballot)',
    fact: 'expect one-value-per-ballot',
    breakers: [{ name: 'local resend-other-values', machines: LOCAL_MUTANTS['resend-other-values'].machines }],
  },
  {
    script: 'raft-log-matching',
    rule: 'Raft: log matching (learned logs are prefixes of one another)',
    fact: 'expect logs agree',
    breakers: [{ name: 'mutants.ts learner-skips-gap', machines: mutant('learner-skips-gap') }],
  },
  {
    script: 'raft-leader-completeness',
    rule: 'Raft: leader completeness (phase 1 carries chosen values to the next leader)',
    fact: 'expect log 2 = c1',
    breakers: [{ name: 'mutants.ts ignore-phase1-values', machines: mutant('ignore-phase1-values') }],
  },
  {
    script: 'raft-state-machine-safety',
    rule: 'Raft: state machine safety (no two nodes apply different entries at a slot)',
    fact: 'expect logs agree',
    breakers: [{ name: 'mutants.ts minority-commit', machines: mutant('minority-commit') }],
  },
  {
    script: 'paxos-p1-first-proposal',
    rule: 'Paxos P1: an acceptor accepts the first proposal it receives',
    fact: 'expect accepted 3 slot 1 = c1 @1.1',
    breakers: [{ name: 'local accept-needs-promise', machines: LOCAL_MUTANTS['accept-needs-promise'].machines }],
  },
  {
    script: 'paxos-p1a-promise',
    rule: 'Paxos P1a: no accept below a (durable) promise',
    fact: 'expect accepted 2 slot 1 none',
    breakers: [
      { name: 'mutants.ts accept-lower-ballot', machines: mutant('accept-lower-ballot') },
      { name: 'mutants.ts forget-promise', machines: mutant('forget-promise') },
    ],
  },
  {
    script: 'paxos-p2c-highest-ballot',
    rule: 'Paxos P2c: a proposer adopts the value of the highest ballot reported',
    fact: 'expect chosen slot 1 = cB',
    breakers: [
      { name: 'mutants.ts ignore-phase1-values', machines: mutant('ignore-phase1-values') },
      { name: 'local adopt-lowest-ballot', machines: LOCAL_MUTANTS['adopt-lowest-ballot'].machines },
    ],
  },
  {
    script: 'paxos-p2-chosen-survives',
    rule: 'Paxos P2: a chosen value survives a new ballot, even one led by a node that lacks it',
    machines: voteIgnoresLog,
    fact: 'expect log 2 = c1',
    breakers: [
      { name: 'mutants.ts ignore-phase1-values (same election)', machines: { ...voteIgnoresLog, proposer: mutant('ignore-phase1-values').proposer } },
      { name: 'mutants.ts minority-commit (same election)', machines: { ...voteIgnoresLog, proposerQuorum: 1 } },
    ],
  },
  {
    script: 'paxos-stable-storage',
    rule: 'Paxos: an acceptor records its response in stable storage before sending it',
    fact: 'expect log 2 = c1',
    breakers: [{ name: 'mutants.ts unpersisted-accepts', machines: mutant('unpersisted-accepts') }],
  },
  {
    script: 'paxos-noop-gap',
    rule: 'Paxos: gaps found in phase 1 are filled with no-ops',
    fact: 'expect log 2 = c1 noop c3',
    breakers: [
      { name: 'mutants.ts fake-noop-command', machines: mutant('fake-noop-command') },
      { name: 'mutants.ts ignore-phase1-values', machines: mutant('ignore-phase1-values') },
      { name: 'local no-gap-fill', machines: LOCAL_MUTANTS['no-gap-fill'].machines },
    ],
  },
];

describe('rules of the papers, as interaction scripts', () => {
  for (const t of RULES) {
    describe(t.rule, () => {
      const script = readScript(t.script);

      it(`holds (${t.script}.txt, transcript in golden/)`, () => {
        const result = runScript(script, t.machines ? { machines: t.machines } : {});
        expectGolden(t.script, result.transcript);
        expect(result.failures).toEqual([]);
        expect(script.split('\n').some((line) => line.replace(/#.*$/, '').trim() === t.fact)).toBe(true);
      });

      for (const b of t.breakers) {
        it(`fails on ${b.name}`, () => {
          const result = runScript(script, { machines: b.machines });
          expect(result.failures.map((f) => f.command)).toContain(t.fact);
        });
      }
    });
  }
});
