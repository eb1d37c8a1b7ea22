import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../../src/check/lin/checker.js';
import { simulateHistory } from '../../../src/check/lin/simulate.js';
import { znodeModel } from '../../../src/check/lin/znode-model.js';
import { ErrorCode } from '../../../src/protocol/zookeeper.js';

/** The benchmark's shape: 10,000 operations, 16 clients, a few hundred paths. */
const BIG = { operations: 10_000, clients: 16, paths: 300, seed: 1 } as const;
/** Far beyond what the checker needs on this machine, yet bounded so a regression cannot hang CI. */
const GENEROUS_TIMEOUT_MS = 60_000;

describe('simulateHistory', () => {
  it('is deterministic in its seed', () => {
    const options = { operations: 200, clients: 4, paths: 5, seed: 9, pendingRate: 0.05 };
    expect(simulateHistory(options)).toEqual(simulateHistory(options));
    expect(simulateHistory({ ...options, seed: 10 })).not.toEqual(simulateHistory(options));
  });

  it('produces a rich history: every kind of operation and outcome, overlapping intervals, lost replies', () => {
    const ops = simulateHistory({ ...BIG, pendingRate: 0.01 });
    expect(ops).toHaveLength(BIG.operations);
    expect(new Set(ops.map((o) => o.clientId)).size).toBe(BIG.clients);
    expect(new Set(ops.map((o) => o.input.op))).toEqual(new Set(['create', 'delete', 'setData', 'getData', 'exists']));
    const errors = new Set(ops.map((o) => o.output?.err));
    for (const err of [ErrorCode.OK, ErrorCode.NONODE, ErrorCode.NODEEXISTS, ErrorCode.BADVERSION]) expect(errors).toContain(err);
    expect(ops.filter((o) => o.return === Infinity).length).toBeGreaterThan(50);
    // Operations on one path overlap in time, so the checker has orders to choose between.
    const onePath = ops.filter((o) => o.input.path === '/p0');
    const overlapping = onePath.filter((a, i) => onePath.some((b, j) => i !== j && a.call <= b.return && b.call <= a.return));
    expect(overlapping.length).toBeGreaterThan(0);
  });
});

describe('checking simulated histories', () => {
  it('judges a 10,000-operation, 16-client history over 300 paths linearizable', () => {
    const result = checkLinearizable(znodeModel, simulateHistory(BIG), { timeoutMs: GENEROUS_TIMEOUT_MS });
    expect(result.linearizable).toBe(true);
    expect(result.partitions).toBe(BIG.paths);
  });

  it('judges one with lost replies (pending operations) linearizable', () => {
    const result = checkLinearizable(znodeModel, simulateHistory({ ...BIG, seed: 2, pendingRate: 0.02 }), {
      timeoutMs: GENEROUS_TIMEOUT_MS,
    });
    expect(result.linearizable).toBe(true);
  });

  it('copes with all 16 clients hammering a single path', () => {
    const ops = simulateHistory({ operations: 2_000, clients: 16, paths: 1, seed: 3, pendingRate: 0.005 });
    const result = checkLinearizable(znodeModel, ops, { timeoutMs: GENEROUS_TIMEOUT_MS });
    expect(result).toMatchObject({ linearizable: true, partitions: 1 });
  });

  it('finds one corrupted read among 10,000 operations and blames its path', () => {
    const ops = simulateHistory(BIG);
    const victim = ops.findIndex((o, i) => i > 5_000 && o.input.op === 'getData' && o.output?.err === ErrorCode.OK);
    const corrupted = ops.map((o, i) => (i === victim ? { ...o, output: { ...o.output!, data: 'never written' } } : o));
    const result = checkLinearizable(znodeModel, corrupted, { timeoutMs: GENEROUS_TIMEOUT_MS });
    expect(result.linearizable).toBe(false);
    const counterexample = result.counterexample!;
    const blamed = new Set([...counterexample.longestLinearizablePrefix, ...counterexample.firstStuck].map((o) => o.input.path));
    expect(blamed).toEqual(new Set([ops[victim]!.input.path]));
    expect(counterexample.firstStuck).toContain(corrupted[victim]);
  });

  it('finds a version that skips ahead', () => {
    const ops = simulateHistory({ ...BIG, seed: 4 });
    const victim = ops.findIndex((o, i) => i > 2_000 && o.input.op === 'setData' && o.output?.err === ErrorCode.OK);
    const corrupted = ops.map((o, i) => (i === victim ? { ...o, output: { ...o.output!, version: o.output!.version! + 1 } } : o));
    expect(checkLinearizable(znodeModel, corrupted, { timeoutMs: GENEROUS_TIMEOUT_MS }).linearizable).toBe(false);
  });
});
