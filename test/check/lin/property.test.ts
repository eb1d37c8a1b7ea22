import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../../src/check/lin/checker.js';
import type { Operation } from '../../../src/check/lin/history.js';
import type { Model } from '../../../src/check/lin/model.js';
import {
  kvModel,
  registerModel,
  type KvInput,
  type KvOutput,
  type RegisterInput,
  type RegisterOutput,
  type RegisterValue,
} from '../../../src/check/lin/register-model.js';
import { applyZnode, znodeModel, type ZnodeInput, type ZnodeOutput, type ZnodeState } from '../../../src/check/lin/znode-model.js';
import { ErrorCode } from '../../../src/protocol/zookeeper.js';
import {
  bruteForceLinearizable,
  plannedHistory,
  timingArb,
  wholeStore,
  type SequentialSpec,
} from './reference.js';

/** Brute force is n! per history: keep histories at most this long. */
const MAX_OPS = 6;
const RUNS_PER_SCENARIO = 600;
/** fc.check stops at the first disagreement, so a caught mutant costs far fewer runs than this. */
const RUNS_PER_MUTANT = 1000;

type Verdict = boolean | 'unknown';
type Checker = <S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O | undefined>[]) => Verdict;

interface Scenario<I, O> {
  readonly name: string;
  readonly check: (checker: Checker, ops: readonly Operation<I, O | undefined>[]) => Verdict;
  readonly reference: (ops: readonly Operation<I, O | undefined>[]) => boolean;
  readonly histories: fc.Arbitrary<Operation<I, O | undefined>[]>;
}

const SPREAD = { maxCall: 12, maxDurationTicks: 6 };
/** Most operations overlap: many orders to try, which exercises backtracking and the memo. */
const DENSE = { maxCall: 3, maxDurationTicks: 8 };

function plannedArb<I>(inputArb: fc.Arbitrary<I>, limits = SPREAD) {
  return fc.array(fc.record({ timing: timingArb(limits), input: inputArb }), { minLength: 1, maxLength: MAX_OPS });
}

// Register: outputs from a real execution, then maybe one read answer replaced.
const registerSpec = {
  init: (): RegisterValue => 0,
  apply: (state: RegisterValue, input: RegisterInput): [RegisterOutput, RegisterValue] =>
    input.op === 'read' ? [{ value: state }, state] : [{}, input.value],
};
const registerInputArb: fc.Arbitrary<RegisterInput> = fc.oneof(
  fc.constant({ op: 'read' as const }),
  fc.integer({ min: 1, max: 3 }).map((value) => ({ op: 'write' as const, value })),
);
function registerScenario(name: string, limits: typeof SPREAD): Scenario<RegisterInput, RegisterOutput> {
  return {
    name,
    check: (checker, ops) => checker(registerModel, ops),
    reference: (ops) => bruteForceLinearizable(registerModel, ops),
    histories: fc
      .tuple(
        plannedArb(registerInputArb, limits),
        fc.option(fc.record({ index: fc.nat(), output: fc.integer({ min: 0, max: 3 }).map((value) => ({ value })) })),
      )
      .map(([planned, corrupt]) => plannedHistory(registerSpec, planned, corrupt ?? undefined)),
  };
}

// Key-value store with compare-and-set, over two keys; the reference sees the whole store.
const kvSpec = {
  init: () => new Map<string, string>(),
  apply(store: Map<string, string>, input: KvInput): [KvOutput, Map<string, string>] {
    const current = store.get(input.key) ?? '';
    if (input.op === 'get') return [{ value: current }, store];
    if (input.op === 'put') return [{}, new Map(store).set(input.key, input.value)];
    const swapped = current === input.expected;
    return [{ ok: swapped }, swapped ? new Map(store).set(input.key, input.value) : store];
  },
};
const kvValueArb = fc.constantFrom('', 'x', 'y');
const kvInputArb: fc.Arbitrary<KvInput> = fc.oneof(
  fc.record({ op: fc.constant('get' as const), key: fc.constantFrom('a', 'b') }),
  fc.record({ op: fc.constant('put' as const), key: fc.constantFrom('a', 'b'), value: kvValueArb }),
  fc.record({ op: fc.constant('cas' as const), key: fc.constantFrom('a', 'b'), expected: kvValueArb, value: kvValueArb }),
);
const kvScenario: Scenario<KvInput, KvOutput> = {
  name: 'kv (partitioned per key)',
  check: (checker, ops) => checker(kvModel, ops),
  reference: (ops) => bruteForceLinearizable(wholeStore(kvModel, (input) => input.key), ops),
  histories: fc
    .tuple(
      plannedArb(kvInputArb),
      fc.option(fc.record({ index: fc.nat(), output: fc.oneof(kvValueArb.map((value) => ({ value })), fc.boolean().map((ok) => ({ ok }))) })),
    )
    .map(([planned, corrupt]) => plannedHistory(kvSpec, planned, corrupt ?? undefined)),
};

// Znode store over two paths with versions small enough to collide.
const znodeSpec = {
  init: () => new Map<string, ZnodeState>(),
  apply(store: Map<string, ZnodeState>, input: ZnodeInput): [ZnodeOutput, Map<string, ZnodeState>] {
    const [output, next] = applyZnode(store.get(input.path) ?? null, input);
    return [output, new Map(store).set(input.path, next)];
  },
};
const pathArb = fc.constantFrom('/a', '/b');
const versionArb = fc.integer({ min: -1, max: 2 });
const dataArb = fc.constantFrom('x', 'y');
const znodeInputArb: fc.Arbitrary<ZnodeInput> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), path: pathArb, data: dataArb }),
  fc.record({ op: fc.constant('delete' as const), path: pathArb, version: versionArb }),
  fc.record({ op: fc.constant('setData' as const), path: pathArb, data: dataArb, version: versionArb }),
  fc.record({ op: fc.constant('getData' as const), path: pathArb }),
  fc.record({ op: fc.constant('exists' as const), path: pathArb }),
);
const znodeOutputArb: fc.Arbitrary<ZnodeOutput> = fc.oneof(
  fc.constantFrom(ErrorCode.OK, ErrorCode.NONODE, ErrorCode.NODEEXISTS, ErrorCode.BADVERSION).map((err) => ({ err })),
  fc.record({ err: fc.constant(ErrorCode.OK), data: dataArb, version: fc.integer({ min: 0, max: 2 }) }),
);
const znodeScenario: Scenario<ZnodeInput, ZnodeOutput> = {
  name: 'znode store (partitioned per path)',
  check: (checker, ops) => checker(znodeModel, ops),
  reference: (ops) =>
    bruteForceLinearizable(wholeStore(znodeModel, (input) => input.path) as SequentialSpec<unknown, ZnodeInput, ZnodeOutput>, ops),
  histories: fc
    .tuple(plannedArb(znodeInputArb), fc.option(fc.record({ index: fc.nat(), output: znodeOutputArb })))
    .map(([planned, corrupt]) => plannedHistory(znodeSpec, planned, corrupt ?? undefined)),
};

const scenarios = [
  registerScenario('register', SPREAD),
  registerScenario('register, mostly overlapping', DENSE),
  kvScenario,
  znodeScenario,
] as Scenario<unknown, unknown>[];

const fastChecker: Checker = (model, ops) => checkLinearizable(model, ops).linearizable;

/** The checker without the model's read-only hint: a plain branching search with the memo. */
const withoutReadOnlyHint: Checker = (model, ops) => {
  const { isReadOnly: _unused, ...plain } = model;
  return checkLinearizable(plain, ops).linearizable;
};

/** Mutant: real-time order ignored (every completed operation made concurrent with every other). */
const ignoresRealTime: Checker = (model, ops) =>
  checkLinearizable(
    model,
    ops.map((o) => ({ ...o, call: 0, return: o.return === Infinity ? Infinity : 0 })),
  ).linearizable;

/**
 * Mutant: memo keyed on the linearized set alone, as if every state were equal. Applied to
 * histories without pending operations only, since the checker also compares states to skip
 * pending operations that change nothing: a catch is then due to the memo alone.
 */
const memoIgnoresState: Checker = (model, ops) =>
  checkLinearizable(ops.some((o) => o.return === Infinity) ? model : { ...model, equal: () => true, hash: () => '' }, ops)
    .linearizable;

/** Mutant: pending operations assumed never to take effect. */
const pendingNeverTakesEffect: Checker = (model, ops) =>
  checkLinearizable(
    model,
    ops.filter((o) => o.return !== Infinity),
  ).linearizable;

/**
 * Mutant: a return and a call at the same instant read as ordered (open intervals) rather than
 * concurrent. Times are doubled and calls moved half a step later.
 */
const tiesAsOrdered: Checker = (model, ops) =>
  checkLinearizable(
    model,
    ops.map((o) => ({ ...o, call: 2 * o.call + 1, return: Math.max(2 * o.return, 2 * o.call + 1) })),
  ).linearizable;

function agreesWithReference(scenario: Scenario<unknown, unknown>, checker: Checker) {
  return fc.property(scenario.histories, (ops) => scenario.check(checker, ops) === scenario.reference(ops));
}

describe('checker against the brute-force reference on random small histories', () => {
  for (const scenario of scenarios) {
    it(`agrees on ${scenario.name}`, () => {
      fc.assert(agreesWithReference(scenario, fastChecker), { numRuns: RUNS_PER_SCENARIO });
    });

    it(`agrees on ${scenario.name} without the read-only hint`, () => {
      fc.assert(agreesWithReference(scenario, withoutReadOnlyHint), { numRuns: RUNS_PER_SCENARIO });
    });

    it(`generates both verdicts for ${scenario.name}`, () => {
      // Guards the generator: a property over histories that are all linearizable (or all not)
      // would let a checker that always answers the same pass.
      const verdicts = fc.sample(scenario.histories, { numRuns: 200, seed: 7 }).map(scenario.reference);
      expect(verdicts.filter((v) => v).length).toBeGreaterThan(20);
      expect(verdicts.filter((v) => !v).length).toBeGreaterThan(20);
    });
  }
});

describe('mutant checkers are caught by the same property', () => {
  const mutants: [string, Checker][] = [
    ['ignores real-time order', ignoresRealTime],
    ['memo ignores the model state', memoIgnoresState],
    ['pending operations never take effect', pendingNeverTakesEffect],
    ['equal times read as ordered', tiesAsOrdered],
  ];
  for (const [name, mutant] of mutants) {
    it(`catches: ${name}`, () => {
      const caught = scenarios.some(
        (scenario) => fc.check(agreesWithReference(scenario, mutant), { numRuns: RUNS_PER_MUTANT }).failed,
      );
      expect(caught).toBe(true);
    });
  }
});
