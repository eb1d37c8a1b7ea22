import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkLinearizable, formatCounterexample } from '../../../src/check/lin/checker.js';
import type { Model } from '../../../src/check/lin/model.js';
import {
  registerModel,
  type RegisterInput,
  type RegisterOutput,
  type RegisterValue,
} from '../../../src/check/lin/register-model.js';
import { simulateHistory } from '../../../src/check/lin/simulate.js';
import { znodeModel } from '../../../src/check/lin/znode-model.js';
import { op } from './reference.js';

const write = (client: number, call: number, ret: number, value: RegisterValue) =>
  op<RegisterInput, RegisterOutput>(client, call, ret, { op: 'write', value }, {});
const read = (client: number, call: number, ret: number, value: RegisterValue) =>
  op<RegisterInput, RegisterOutput>(client, call, ret, { op: 'read' }, { value });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('checkLinearizable', () => {
  it('explores one configuration per operation on a sequential history', () => {
    const ops = [write(0, 0, 1, 1), read(0, 2, 3, 1), write(0, 4, 5, 2), read(0, 6, 7, 2)];
    expect(checkLinearizable(registerModel, ops)).toEqual({ linearizable: true, partitions: 1, explored: 4 });
  });

  it('reports the longest linearizable prefix and the operations stuck after it', () => {
    const ops = [write(0, 0, 1, 1), write(1, 2, 3, 2), read(2, 4, 5, 1), read(3, 4, 5, 2)];
    const result = checkLinearizable(registerModel, ops);
    expect(result.linearizable).toBe(false);
    expect(result.counterexample).toEqual({
      partition: 0,
      longestLinearizablePrefix: [ops[0], ops[1], ops[3]],
      firstStuck: [ops[2]],
    });
    const text = formatCounterexample(registerModel, result);
    expect(text).toContain('longest linearizable prefix (3 ops)');
    expect(text).toMatch(/none of these can come next:\n {2}client 2 \[4, 5\] read -> 1$/);
  });

  it('keeps the memo exact: the same set of operations in another state is a new configuration', () => {
    // Trying w1 then w2 first leaves 2, which the read refuses; w2 then w1 gives the same set
    // {w1, w2} with state 1, which must not be pruned as already explored.
    const ops = [write(0, 0, 10, 1), write(1, 0, 10, 2), read(2, 11, 12, 1)];
    expect(checkLinearizable(registerModel, ops).linearizable).toBe(true);
    const stateBlind: Model<RegisterValue, RegisterInput, RegisterOutput> = { ...registerModel, equal: () => true, hash: () => '' };
    expect(checkLinearizable(stateBlind, ops).linearizable).toBe(false);
  });

  it('stays polynomial where plain Wing & Gong is factorial, thanks to the memo', () => {
    // 10 concurrent writes and a read of a value none wrote: 10! orders, but only
    // (set of writes done, last one) configurations, 10 * 2^9 of them.
    const writers = 10;
    const ops = [...Array.from({ length: writers }, (_, i) => write(i, 0, 100, i + 1)), read(99, 101, 102, 0)];
    const result = checkLinearizable(registerModel, ops);
    expect(result.linearizable).toBe(false);
    expect(result.explored).toBeLessThanOrEqual(writers * 2 ** (writers - 1));
  });

  it('gives the same verdict whatever the order of the operations in the input', () => {
    const history = simulateHistory({ operations: 300, clients: 8, paths: 4, seed: 3, pendingRate: 0.02 });
    const broken = history.map((o, i) => (i === 150 && o.output !== undefined ? { ...o, output: { ...o.output, err: 0, data: 'zz' } } : o));
    const expected = [checkLinearizable(znodeModel, history).linearizable, checkLinearizable(znodeModel, broken).linearizable];
    expect(expected).toEqual([true, false]);
    fc.assert(
      fc.property(fc.shuffledSubarray(history, { minLength: history.length }), fc.shuffledSubarray(broken, { minLength: broken.length }), (a, b) => {
        return checkLinearizable(znodeModel, a).linearizable === true && checkLinearizable(znodeModel, b).linearizable === false;
      }),
      { numRuns: 20 },
    );
  });

  it('refuses malformed operations', () => {
    expect(() => checkLinearizable(registerModel, [write(0, 5, 4, 1)])).toThrow(RangeError);
    expect(() => checkLinearizable(registerModel, [write(0, Number.NaN, 4, 1)])).toThrow(RangeError);
    expect(() => checkLinearizable(registerModel, [write(0, 0, Number.NaN, 1)])).toThrow(RangeError);
    expect(() => checkLinearizable(registerModel, [write(0, -Infinity, 4, 1)])).toThrow(RangeError);
  });

  it('catches a model whose isReadOnly hint is wrong instead of trusting it', () => {
    const lying: typeof registerModel = { ...registerModel, isReadOnly: () => true };
    expect(() => checkLinearizable(lying, [write(0, 0, 1, 1), read(1, 2, 3, 1)])).toThrow(/isReadOnly is wrong/);
  });

  it('refuses a partition function that loses operations', () => {
    const lossy = { ...registerModel, partition: (ops: readonly unknown[]) => [ops.slice(1)] } as typeof registerModel;
    expect(() => checkLinearizable(lossy, [write(0, 0, 1, 1), read(1, 2, 3, 1)])).toThrow(/partition returned 1 operations/);
  });
});

describe('timeouts answer unknown, never a guess', () => {
  it('answers unknown when no time is left at all', () => {
    const result = checkLinearizable(registerModel, [write(0, 0, 1, 1)], { timeoutMs: 0 });
    expect(result.linearizable).toBe('unknown');
    expect(result.counterexample).toBeUndefined();
  });

  it('gives up mid-search once the deadline passes', () => {
    // Virtual time: each model step costs 1 ms, so the deadline passes deep inside a search
    // that would otherwise end in a (false) verdict after tens of thousands of steps.
    let nowMs = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => nowMs);
    const slow: typeof registerModel = {
      ...registerModel,
      step: (state, input, output) => {
        nowMs += 1;
        return registerModel.step(state, input, output);
      },
    };
    const writers = 10;
    const ops = [...Array.from({ length: writers }, (_, i) => write(i, 0, 100, i + 1)), read(99, 101, 102, 0)];
    const result = checkLinearizable(slow, ops, { timeoutMs: 5_000 });
    expect(result.linearizable).toBe('unknown');
    expect(result.explored).toBeGreaterThan(0);
    nowMs = 0;
    expect(checkLinearizable(slow, ops).linearizable).toBe(false);
  });
});
