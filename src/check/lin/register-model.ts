/**
 * Two small textbook models for the linearizability checker: a single read/write register and
 * a key-value store partitioned per key. Useful for tests and for histories of anything simpler
 * than the znode store.
 */

import type { Operation } from './history.js';
import type { Model } from './model.js';

/** Values a register or a key holds. */
export type RegisterValue = number | string;

export type RegisterInput = { readonly op: 'read' } | { readonly op: 'write'; readonly value: RegisterValue };

/** A read's `value` is what it returned; a write's output carries nothing. */
export interface RegisterOutput {
  readonly value?: RegisterValue;
}

/** A single read/write register holding `initial` before any write. */
export function createRegisterModel(initial: RegisterValue = 0): Model<RegisterValue, RegisterInput, RegisterOutput> {
  return {
    init: () => initial,
    step(state, input, output) {
      if (input.op === 'write') return [true, input.value];
      return [output === undefined || output.value === state, state];
    },
    // Not writes, even of the current value: elsewhere in the order they would change it.
    isReadOnly: (input) => input.op === 'read',
    equal: (a, b) => a === b,
    hash: (state) => `${typeof state}:${state}`,
    describe: (op) =>
      op.input.op === 'write'
        ? `write ${JSON.stringify(op.input.value)}`
        : `read -> ${op.output === undefined ? '?' : JSON.stringify(op.output.value)}`,
  };
}

/** A register starting at 0. */
export const registerModel = createRegisterModel(0);

export type KvInput =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  /** Compare-and-set: replaces `expected` by `value`. */
  | { readonly op: 'cas'; readonly key: string; readonly expected: string; readonly value: string };

/** `value` is what a get returned; `ok` whether a cas succeeded. */
export interface KvOutput {
  readonly value?: string;
  readonly ok?: boolean;
}

/**
 * A key-value store where every key starts as the empty string, partitioned per key: each key
 * is a register with compare-and-set. The state is one key's value.
 */
export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',
  step(state, input, output) {
    switch (input.op) {
      case 'get':
        return [output === undefined || output.value === state, state];
      case 'put':
        return [true, input.value];
      case 'cas': {
        const swapped = state === input.expected;
        return [output === undefined || output.ok === swapped, swapped ? input.value : state];
      }
    }
  },
  // A failed compare-and-set fits only states it leaves alone.
  isReadOnly: (input, output) => input.op === 'get' || (input.op === 'cas' && output.ok === false),
  equal: (a, b) => a === b,
  hash: (state) => state,
  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput | undefined>[]>();
    for (const op of ops) {
      let part = byKey.get(op.input.key);
      if (part === undefined) byKey.set(op.input.key, (part = []));
      part.push(op);
    }
    return [...byKey.values()];
  },
  describe(op) {
    const input = op.input;
    const output = op.output;
    switch (input.op) {
      case 'get':
        return `get ${input.key} -> ${output === undefined ? '?' : JSON.stringify(output.value)}`;
      case 'put':
        return `put ${input.key} ${JSON.stringify(input.value)}`;
      case 'cas':
        return `cas ${input.key} ${JSON.stringify(input.expected)} => ${JSON.stringify(input.value)} -> ${output === undefined ? '?' : String(output.ok)}`;
    }
  },
};
