import { describe, expect, it } from 'vitest';
import { checkLinearizable, formatCounterexample } from '../../../src/check/lin/checker.js';
import {
  ANY_VERSION,
  applyZnode,
  znodeModel,
  type ZnodeInput,
  type ZnodeOutput,
  type ZnodeState,
} from '../../../src/check/lin/znode-model.js';
import { ErrorCode } from '../../../src/protocol/zookeeper.js';
import { bruteForceLinearizable, op, wholeStore } from './reference.js';

const { OK, NONODE, NODEEXISTS, BADVERSION } = ErrorCode;
const zop = (client: number, call: number, ret: number, input: ZnodeInput, output?: ZnodeOutput) =>
  op<ZnodeInput, ZnodeOutput>(client, call, ret, input, output);

describe('znode model step (ZooKeeper 3.8 semantics, one path)', () => {
  const node = (data: string, version: number): ZnodeState => ({ data, version });

  it('creates an absent node at version 0 and refuses an existing one', () => {
    expect(applyZnode(null, { op: 'create', path: '/a', data: 'x' })).toEqual([{ err: OK, version: 0 }, node('x', 0)]);
    expect(applyZnode(node('x', 3), { op: 'create', path: '/a', data: 'y' })).toEqual([{ err: NODEEXISTS }, node('x', 3)]);
  });

  it('setData bumps the version, honours -1 and refuses a stale version', () => {
    expect(applyZnode(node('x', 0), { op: 'setData', path: '/a', data: 'y', version: 0 })).toEqual([
      { err: OK, version: 1 },
      node('y', 1),
    ]);
    expect(applyZnode(node('x', 4), { op: 'setData', path: '/a', data: 'y', version: ANY_VERSION })[1]).toEqual(node('y', 5));
    expect(applyZnode(node('x', 4), { op: 'setData', path: '/a', data: 'y' })[1]).toEqual(node('y', 5));
    expect(applyZnode(node('x', 4), { op: 'setData', path: '/a', data: 'y', version: 3 })).toEqual([
      { err: BADVERSION },
      node('x', 4),
    ]);
  });

  it('delete checks existence before the version, as PrepRequestProcessor does', () => {
    expect(applyZnode(null, { op: 'delete', path: '/a', version: 7 })).toEqual([{ err: NONODE }, null]);
    expect(applyZnode(node('x', 2), { op: 'delete', path: '/a', version: 1 })).toEqual([{ err: BADVERSION }, node('x', 2)]);
    expect(applyZnode(node('x', 2), { op: 'delete', path: '/a', version: 2 })).toEqual([{ err: OK }, null]);
  });

  it('reads return data and version, or NONODE', () => {
    expect(applyZnode(node('x', 2), { op: 'getData', path: '/a' })[0]).toEqual({ err: OK, data: 'x', version: 2 });
    expect(applyZnode(node('x', 2), { op: 'exists', path: '/a' })[0]).toEqual({ err: OK, version: 2 });
    expect(applyZnode(null, { op: 'getData', path: '/a' })[0]).toEqual({ err: NONODE });
    expect(applyZnode(null, { op: 'exists', path: '/a' })[0]).toEqual({ err: NONODE });
    expect(applyZnode(null, { op: 'setData', path: '/a', data: 'x' })[0]).toEqual({ err: NONODE });
  });

  it('compares only the output fields the recorder kept', () => {
    const state = node('x', 2);
    const getData: ZnodeInput = { op: 'getData', path: '/a' };
    expect(znodeModel.step(state, getData, { err: OK })[0]).toBe(true);
    expect(znodeModel.step(state, getData, { err: OK, data: 'x' })[0]).toBe(true);
    expect(znodeModel.step(state, getData, { err: OK, data: 'y' })[0]).toBe(false);
    expect(znodeModel.step(state, getData, { err: OK, version: 1 })[0]).toBe(false);
    expect(znodeModel.step(state, getData, { err: NONODE })[0]).toBe(false);
    expect(znodeModel.step(state, getData, undefined)).toEqual([true, state]);
  });

  it('hashes equal states alike and tells different ones apart', () => {
    expect(znodeModel.equal(node('x', 1), node('x', 1))).toBe(true);
    expect(znodeModel.hash(node('x', 1))).toBe(znodeModel.hash(node('x', 1)));
    expect(znodeModel.equal(node('x', 1), node('x', 2))).toBe(false);
    expect(znodeModel.equal(node('x', 1), null)).toBe(false);
    expect(znodeModel.hash(null)).not.toBe(znodeModel.hash(node('', 0)));
  });
});

describe('znode histories', () => {
  const reference = wholeStore(znodeModel, (input) => input.path);
  function expectVerdict(ops: ReturnType<typeof zop>[], linearizable: boolean): void {
    expect(bruteForceLinearizable(reference, ops)).toBe(linearizable);
    expect(checkLinearizable(znodeModel, ops).linearizable).toBe(linearizable);
  }

  it('rejects two concurrent creates of one path that both succeed', () => {
    expectVerdict(
      [zop(0, 0, 5, { op: 'create', path: '/lock', data: 'a' }, { err: OK }), zop(1, 0, 5, { op: 'create', path: '/lock', data: 'b' }, { err: OK })],
      false,
    );
  });

  it('accepts concurrent creates where one gets NODEEXISTS, and the winner is what readers see', () => {
    const creates = [
      zop(0, 0, 5, { op: 'create', path: '/lock', data: 'a' }, { err: NODEEXISTS }),
      zop(1, 0, 5, { op: 'create', path: '/lock', data: 'b' }, { err: OK }),
    ];
    expectVerdict([...creates, zop(2, 6, 7, { op: 'getData', path: '/lock' }, { err: OK, data: 'b', version: 0 })], true);
    expectVerdict([...creates, zop(2, 6, 7, { op: 'getData', path: '/lock' }, { err: OK, data: 'a', version: 0 })], false);
  });

  it('rejects two conditional setData from the same version both succeeding', () => {
    const create = zop(0, 0, 1, { op: 'create', path: '/c', data: '0' }, { err: OK });
    const setA = (err: number) => zop(1, 2, 6, { op: 'setData', path: '/c', data: 'a', version: 0 }, { err });
    const setB = (err: number) => zop(2, 2, 6, { op: 'setData', path: '/c', data: 'b', version: 0 }, { err });
    expectVerdict([create, setA(OK), setB(OK)], false);
    expectVerdict([create, setA(OK), setB(BADVERSION)], true);
    expectVerdict([create, setA(BADVERSION), setB(BADVERSION)], false);
  });

  it('rejects data read back after a completed delete', () => {
    expectVerdict(
      [
        zop(0, 0, 1, { op: 'create', path: '/e', data: 'x' }, { err: OK }),
        zop(0, 2, 3, { op: 'delete', path: '/e', version: 0 }, { err: OK }),
        zop(1, 4, 5, { op: 'getData', path: '/e' }, { err: OK, data: 'x', version: 0 }),
      ],
      false,
    );
  });

  it('accepts a delete that lost to a concurrent setData with BADVERSION', () => {
    expectVerdict(
      [
        zop(0, 0, 1, { op: 'create', path: '/e', data: 'x' }, { err: OK }),
        zop(1, 2, 8, { op: 'setData', path: '/e', data: 'y', version: 0 }, { err: OK, version: 1 }),
        zop(2, 3, 7, { op: 'delete', path: '/e', version: 0 }, { err: BADVERSION }),
        zop(3, 9, 10, { op: 'exists', path: '/e' }, { err: OK, version: 1 }),
      ],
      true,
    );
  });

  it('rejects versions that go backwards between two reads', () => {
    expectVerdict(
      [
        zop(0, 0, 1, { op: 'create', path: '/v', data: 'x' }, { err: OK }),
        zop(0, 2, 20, { op: 'setData', path: '/v', data: 'y' }, { err: OK, version: 1 }),
        zop(1, 3, 4, { op: 'exists', path: '/v' }, { err: OK, version: 1 }),
        zop(2, 5, 6, { op: 'exists', path: '/v' }, { err: OK, version: 0 }),
      ],
      false,
    );
  });

  it('accepts a lost create (pending) that a later reader sees', () => {
    expectVerdict(
      [
        zop(0, 0, Infinity, { op: 'create', path: '/p', data: 'x' }),
        zop(1, 1, 2, { op: 'exists', path: '/p' }, { err: NONODE }),
        zop(1, 3, 4, { op: 'getData', path: '/p' }, { err: OK, data: 'x', version: 0 }),
      ],
      true,
    );
  });

  it('partitions per path and names the failing path in the counterexample', () => {
    const ops = [
      zop(0, 0, 1, { op: 'create', path: '/a', data: 'x' }, { err: OK }),
      zop(0, 0, 1, { op: 'create', path: '/b', data: 'x' }, { err: OK }),
      zop(1, 2, 3, { op: 'create', path: '/b', data: 'y' }, { err: OK }),
    ];
    const result = checkLinearizable(znodeModel, ops);
    expect(result).toMatchObject({ linearizable: false, partitions: 2 });
    expect(result.counterexample?.longestLinearizablePrefix).toEqual([ops[1]]);
    expect(result.counterexample?.firstStuck).toEqual([ops[2]]);
    expect(formatCounterexample(znodeModel, result)).toContain('create /b "y" -> OK');
  });

  it('refuses completed operations with error codes outside the model', () => {
    const lost = zop(0, 0, 1, { op: 'setData', path: '/a', data: 'x' }, { err: ErrorCode.CONNECTIONLOSS });
    expect(() => checkLinearizable(znodeModel, [lost])).toThrow(/record it as pending/);
    const notEmpty = zop(0, 0, 1, { op: 'delete', path: '/a' }, { err: ErrorCode.NOTEMPTY });
    expect(() => checkLinearizable(znodeModel, [notEmpty])).toThrow(/outside the znode model/);
  });
});
