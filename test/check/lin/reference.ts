/**
 * Test helpers: a brute-force reference checker for tiny histories, random-history arbitraries
 * and an operation builder. Deliberately naive, sharing no code with the checker's search.
 */

import fc from 'fast-check';
import type { Operation } from '../../../src/check/lin/history.js';
import type { Model } from '../../../src/check/lin/model.js';

/** Shorthand for a completed or (with `ret = Infinity`) pending operation. */
export function op<I, O>(clientId: number, call: number, ret: number, input: I, output?: O): Operation<I, O | undefined> {
  return { clientId, input, call, output, return: ret };
}

/** The sequential part of a model: all the reference needs. */
export interface SequentialSpec<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | undefined): [boolean, S];
}

/**
 * Lifts a per-key model to a whole-store specification (a map from key to the model's state),
 * so the reference checks whole histories without relying on the model's partition function.
 */
export function wholeStore<S, I, O>(model: Model<S, I, O>, keyOf: (input: I) => string): SequentialSpec<Map<string, S>, I, O> {
  return {
    init: () => new Map(),
    step(store, input, output) {
      const key = keyOf(input);
      const [ok, next] = model.step(store.has(key) ? store.get(key)! : model.init(), input, output);
      return [ok, new Map(store).set(key, next)];
    },
  };
}

/** Every permutation of `items` (n! of them: keep n tiny). */
function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield items.slice();
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i]!, ...tail];
  }
}

/**
 * The definition, executed literally: some subset of the pending operations plus every completed
 * one, in some order that respects real time (`a` before `b` whenever `a.return < b.call`), is
 * accepted by the specification step by step.
 */
export function bruteForceLinearizable<S, I, O>(
  spec: SequentialSpec<S, I, O>,
  ops: readonly Operation<I, O | undefined>[],
): boolean {
  const completed = ops.filter((o) => o.return !== Infinity);
  const pending = ops.filter((o) => o.return === Infinity);
  for (let mask = 0; mask < 1 << pending.length; mask++) {
    const chosen = [...completed, ...pending.filter((_, i) => (mask >> i) & 1)];
    for (const order of permutations(chosen)) {
      if (!respectsRealTime(order)) continue;
      let state = spec.init();
      let legal = true;
      for (const o of order) {
        const [ok, next] = spec.step(state, o.input, o.return === Infinity ? undefined : o.output);
        if (!ok) {
          legal = false;
          break;
        }
        state = next;
      }
      if (legal) return true;
    }
  }
  return false;
}

function respectsRealTime(order: readonly Operation<unknown, unknown>[]): boolean {
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) if (order[j]!.return < order[i]!.call) return false;
  }
  return true;
}

/** One operation's timing in a planned random history. */
export interface Timing {
  readonly call: number;
  readonly durationTicks: number;
  readonly pending: boolean;
  /** For a pending operation: whether it takes effect at all. */
  readonly takesEffect: boolean;
  /** Where in its interval it takes effect, as a fraction. */
  readonly effectAt: number;
}

/**
 * Timings over small integer times, so that ties between calls and returns are common; a small
 * `maxCall` with long durations makes most operations overlap.
 */
export function timingArb(limits: { readonly maxCall: number; readonly maxDurationTicks: number }): fc.Arbitrary<Timing> {
  return fc.record({
    call: fc.integer({ min: 0, max: limits.maxCall }),
    durationTicks: fc.integer({ min: 0, max: limits.maxDurationTicks }),
    // About one operation in six is pending.
    pending: fc.integer({ min: 0, max: 5 }).map((roll) => roll === 0),
    takesEffect: fc.boolean(),
    effectAt: fc.double({ min: 0, max: 1, noNaN: true }),
  });
}

/**
 * Builds a linearizable history: each operation takes effect at an instant inside its interval
 * (pending ones maybe never), outputs computed by `apply` in that order. Then, when `corrupt`
 * is given, replaces one completed operation's output, which may or may not break it.
 */
export function plannedHistory<S, I, O>(
  spec: { init(): S; apply(state: S, input: I): [O, S] },
  planned: readonly { readonly timing: Timing; readonly input: I }[],
  corrupt?: { readonly index: number; readonly output: O },
): Operation<I, O | undefined>[] {
  const effectTime = (t: Timing): number =>
    t.pending && !t.takesEffect ? Infinity : t.call + t.effectAt * t.durationTicks;
  const order = planned.map((_, i) => i).sort((a, b) => effectTime(planned[a]!.timing) - effectTime(planned[b]!.timing) || a - b);
  const ops = new Array<Operation<I, O | undefined>>(planned.length);
  let state = spec.init();
  for (const index of order) {
    const { timing, input } = planned[index]!;
    let output: O | undefined;
    if (effectTime(timing) !== Infinity) {
      const [reply, next] = spec.apply(state, input);
      state = next;
      output = reply;
    }
    ops[index] = timing.pending
      ? op(index, timing.call, Infinity, input, undefined)
      : op(index, timing.call, timing.call + timing.durationTicks, input, output);
  }
  if (corrupt !== undefined) {
    const completed = ops.map((o, i) => i).filter((i) => ops[i]!.return !== Infinity);
    if (completed.length > 0) {
      const target = completed[corrupt.index % completed.length]!;
      ops[target] = { ...ops[target]!, output: corrupt.output };
    }
  }
  return ops;
}
