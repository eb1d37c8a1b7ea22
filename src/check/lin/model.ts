import type { Operation } from './history.js';

/**
 * A sequential specification of an object, for the linearizability checker.
 *
 * States are values: `step` must not mutate `state`, because the checker keeps earlier states
 * on its backtracking stack and in its memo.
 */
export interface Model<S, I, O> {
  /** The state before any operation. */
  init(): S;
  /**
   * Applies `input` to `state`. Returns whether `output` is what the object could answer in that
   * state, and the state after it.
   *
   * `output` is `undefined` for a pending operation (`return = Infinity`): its answer is unknown,
   * so `step` must accept whenever `input` can be applied to `state` and return the resulting
   * state.
   */
  step(state: S, input: I, output: O | undefined): [ok: boolean, next: S];
  /**
   * Optional hint that speeds up the search: true when every step the model accepts for this
   * input and output, from any state, leaves the state unchanged (a read; a write answered with
   * an error that means it did nothing). The checker then places such an operation as soon as
   * it fits, without branching. It must hold for every state: a wrong `true` makes the checker
   * unsound (it verifies the state is unchanged each time it uses the hint, and throws if not).
   */
  isReadOnly?(input: I, output: O): boolean;
  /** State equality, for the memo. */
  equal(a: S, b: S): boolean;
  /** A string with `equal(a, b)` implying `hash(a) === hash(b)`; need not be injective. */
  hash(state: S): string;
  /**
   * Splits a history into independent sub-histories (P-compositionality: per key, per path),
   * each checked on its own from `init()`. Only valid when operations of different parts never
   * affect each other. Every operation must land in exactly one part; the checker verifies the
   * count. Without it the whole history is one part.
   */
  partition?(ops: readonly Operation<I, O | undefined>[]): Operation<I, O | undefined>[][];
  /** A short human-readable rendering of an operation, for counterexamples. */
  describe?(op: Operation<I, O | undefined>): string;
}
