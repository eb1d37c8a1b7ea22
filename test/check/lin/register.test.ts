import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../../src/check/lin/checker.js';
import {
  createRegisterModel,
  kvModel,
  registerModel,
  type KvInput,
  type KvOutput,
  type RegisterInput,
  type RegisterOutput,
  type RegisterValue,
} from '../../../src/check/lin/register-model.js';
import { bruteForceLinearizable, op } from './reference.js';

const write = (client: number, call: number, ret: number, value: RegisterValue) =>
  op<RegisterInput, RegisterOutput>(client, call, ret, { op: 'write', value }, {});
const read = (client: number, call: number, ret: number, value: RegisterValue) =>
  op<RegisterInput, RegisterOutput>(client, call, ret, { op: 'read' }, { value });
const pendingWrite = (client: number, call: number, value: RegisterValue) =>
  op<RegisterInput, RegisterOutput>(client, call, Infinity, { op: 'write', value });

/** Checks the verdict and, since these histories are tiny, that the reference agrees. */
function expectVerdict(ops: ReturnType<typeof write>[], linearizable: boolean): void {
  expect(bruteForceLinearizable(registerModel, ops)).toBe(linearizable);
  expect(checkLinearizable(registerModel, ops).linearizable).toBe(linearizable);
}

describe('register histories from the literature', () => {
  it('accepts the empty history', () => {
    expect(checkLinearizable(registerModel, [])).toEqual({ linearizable: true, partitions: 1, explored: 0 });
  });

  it('accepts a sequential write then read of the written value', () => {
    expectVerdict([write(0, 0, 1, 1), read(1, 2, 3, 1)], true);
  });

  it('rejects a stale read after a completed write', () => {
    expectVerdict([write(0, 0, 1, 1), read(1, 2, 3, 0)], false);
  });

  it('rejects a read of a value never written', () => {
    expectVerdict([write(0, 0, 5, 1), read(1, 1, 2, 7)], false);
  });

  it('accepts reads concurrent with a write seeing either value', () => {
    expectVerdict([write(0, 0, 10, 1), read(1, 1, 2, 0), read(2, 3, 4, 1)], true);
    expectVerdict([write(0, 0, 10, 1), read(1, 1, 2, 1), read(2, 1, 2, 0)], true);
  });

  it('rejects a new-old inversion: a read sees the old value after another saw the new one', () => {
    expectVerdict([write(0, 0, 10, 1), read(1, 1, 2, 1), read(2, 3, 4, 0)], false);
  });

  it('rejects two clients seeing two concurrent writes in opposite orders', () => {
    expectVerdict(
      [
        write(0, 0, 10, 1),
        write(1, 0, 10, 2),
        read(2, 1, 2, 1),
        read(2, 3, 4, 2),
        read(3, 1, 2, 2),
        read(3, 3, 4, 1),
      ],
      false,
    );
  });

  it('accepts two concurrent writes seen in the same order by everyone', () => {
    expectVerdict(
      [write(0, 0, 10, 1), write(1, 0, 10, 2), read(2, 1, 2, 1), read(2, 3, 4, 2), read(3, 1, 2, 1), read(3, 3, 4, 2)],
      true,
    );
  });

  it('orders concurrent operations whichever way the outputs need', () => {
    // The last write to complete is not the one that wins: w2 must linearize before w1.
    expectVerdict([write(0, 0, 5, 1), write(1, 1, 3, 2), read(2, 6, 7, 1)], true);
    // But it cannot when w1 returned before w2 was called.
    expectVerdict([write(0, 0, 1, 1), write(1, 2, 3, 2), read(2, 6, 7, 1)], false);
  });

  it('reads the initial value of a custom register', () => {
    const model = createRegisterModel('init');
    expect(checkLinearizable(model, [read(0, 0, 1, 'init')]).linearizable).toBe(true);
    expect(checkLinearizable(model, [read(0, 0, 1, 0)]).linearizable).toBe(false);
  });

  it('treats a return and a call at the same instant as concurrent', () => {
    // Closed intervals: write [0, 2] and read [2, 3] overlap, so the read may come first.
    expectVerdict([write(0, 0, 2, 1), read(1, 2, 3, 0)], true);
    expectVerdict([write(0, 0, 2, 1), read(1, 3, 4, 0)], false);
  });
});

describe('pending operations (no reply: return = Infinity)', () => {
  it('accepts a pending write that took effect before a later read', () => {
    expectVerdict([pendingWrite(0, 0, 1), read(1, 5, 6, 0), read(2, 7, 8, 1)], true);
  });

  it('accepts a pending write that never took effect', () => {
    expectVerdict([pendingWrite(0, 0, 1), read(1, 5, 6, 0), read(2, 7, 8, 0)], true);
  });

  it('rejects a pending write seen and then unseen', () => {
    expectVerdict([pendingWrite(0, 0, 1), read(1, 5, 6, 1), read(2, 7, 8, 0)], false);
  });

  it('rejects a pending write seen before it was called', () => {
    expectVerdict([read(1, 0, 1, 1), pendingWrite(0, 2, 1)], false);
  });

  it('accepts a pending write taking effect long after its client moved on', () => {
    // Client 0 timed out, then wrote 2; the lost write of 1 lands after that.
    expectVerdict([pendingWrite(0, 0, 1), write(0, 3, 4, 2), read(1, 5, 6, 2), read(1, 7, 8, 1)], true);
  });

  it('accepts a history made only of pending operations', () => {
    expectVerdict([pendingWrite(0, 0, 1), pendingWrite(1, 0, 2)], true);
  });

  it('regression (FC_SEED=9999): a write of the value already held is not read-only', () => {
    // After the pending write of 1 and the read of 1, writing 1 again changes nothing *here*,
    // but it must stay free to go after the write of 2 so that the last read sees 1.
    expectVerdict(
      [read(4, 0, 0, 1), pendingWrite(2, 0, 1), write(1, 9, 9, 2), write(3, 9, 9, 1), read(0, 10, 10, 1)],
      true,
    );
  });

  it('ignores whatever output a pending operation carries', () => {
    const ops = [op<RegisterInput, RegisterOutput>(0, 0, Infinity, { op: 'read' }, { value: 9 })];
    expect(checkLinearizable(registerModel, ops).linearizable).toBe(true);
  });
});

describe('key-value model partitioned per key', () => {
  const put = (client: number, call: number, ret: number, key: string, value: string) =>
    op<KvInput, KvOutput>(client, call, ret, { op: 'put', key, value }, {});
  const get = (client: number, call: number, ret: number, key: string, value: string) =>
    op<KvInput, KvOutput>(client, call, ret, { op: 'get', key }, { value });
  const cas = (client: number, call: number, ret: number, key: string, expected: string, value: string, ok: boolean) =>
    op<KvInput, KvOutput>(client, call, ret, { op: 'cas', key, expected, value }, { ok });

  it('checks each key on its own', () => {
    const result = checkLinearizable(kvModel, [put(0, 0, 1, 'a', 'x'), put(1, 0, 1, 'b', 'y'), get(2, 2, 3, 'a', 'x'), get(2, 4, 5, 'b', 'y')]);
    expect(result).toMatchObject({ linearizable: true, partitions: 2 });
  });

  it('reports the partition of the key at fault', () => {
    const result = checkLinearizable(kvModel, [put(0, 0, 1, 'a', 'x'), put(1, 0, 1, 'b', 'y'), get(2, 2, 3, 'b', '')]);
    expect(result.linearizable).toBe(false);
    expect(result.counterexample?.partition).toBe(1);
    expect(result.counterexample?.firstStuck).toEqual([get(2, 2, 3, 'b', '')]);
  });

  it('rejects two compare-and-sets from the same value both succeeding', () => {
    const ops = [cas(0, 0, 5, 'a', '', 'x', true), cas(1, 0, 5, 'a', '', 'y', true)];
    expect(checkLinearizable(kvModel, ops).linearizable).toBe(false);
    const oneLoses = [cas(0, 0, 5, 'a', '', 'x', true), cas(1, 0, 5, 'a', '', 'y', false), get(2, 6, 7, 'a', 'x')];
    expect(checkLinearizable(kvModel, oneLoses).linearizable).toBe(true);
  });
});
