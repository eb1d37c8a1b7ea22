import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../../src/check/lin/checker.js';
import { HistoryRecorder, isPending } from '../../../src/check/lin/history.js';
import { registerModel, type RegisterInput, type RegisterOutput } from '../../../src/check/lin/register-model.js';

describe('HistoryRecorder', () => {
  it('turns interleaved invoke/ok events into operations on a logical clock', () => {
    const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
    recorder.invoke(0, { op: 'write', value: 1 }); // t0
    recorder.invoke(1, { op: 'read' }); // t1
    recorder.ok(1, { value: 0 }); // t2
    recorder.ok(0, {}); // t3
    expect(recorder.operations()).toEqual([
      { clientId: 1, input: { op: 'read' }, call: 1, output: { value: 0 }, return: 2 },
      { clientId: 0, input: { op: 'write', value: 1 }, call: 0, output: {}, return: 3 },
    ]);
    expect(recorder.events.map((e) => e.type)).toEqual(['invoke', 'invoke', 'ok', 'ok']);
  });

  it('drops failed operations and keeps info and unfinished ones pending', () => {
    const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
    recorder.invoke(0, { op: 'write', value: 1 });
    recorder.fail(0);
    recorder.invoke(1, { op: 'write', value: 2 });
    recorder.info(1);
    recorder.invoke(2, { op: 'write', value: 3 });
    const ops = recorder.operations();
    expect(ops.map((o) => [o.clientId, isPending(o)])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(ops.every((o) => o.output === undefined)).toBe(true);
    expect(recorder.isOpen(2)).toBe(true);
    expect(recorder.isOpen(1)).toBe(false);
  });

  it('lets a client go on after info, its lost operation concurrent with what follows', () => {
    const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
    recorder.invoke(0, { op: 'write', value: 1 });
    recorder.info(0);
    recorder.invoke(0, { op: 'read' });
    recorder.ok(0, { value: 0 });
    recorder.invoke(0, { op: 'read' });
    recorder.ok(0, { value: 1 });
    expect(checkLinearizable(registerModel, recorder.operations()).linearizable).toBe(true);
    // A failed write, though, did not happen: reading its value is a violation.
    const failed = new HistoryRecorder<RegisterInput, RegisterOutput>();
    failed.invoke(0, { op: 'write', value: 1 });
    failed.fail(0);
    failed.invoke(0, { op: 'read' });
    failed.ok(0, { value: 1 });
    expect(checkLinearizable(registerModel, failed.operations()).linearizable).toBe(false);
  });

  it('uses the given clock and refuses one that goes backwards', () => {
    const times = [10, 10, 25, 5];
    const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>({ now: () => times.shift()! });
    recorder.invoke(3, { op: 'read' });
    recorder.invoke(4, { op: 'read' });
    recorder.ok(3, { value: 0 });
    expect(recorder.operations()[0]).toMatchObject({ clientId: 3, call: 10, return: 25 });
    expect(() => recorder.ok(4, { value: 0 })).toThrow(/backwards/);
    expect(recorder.isOpen(4)).toBe(true);
  });

  it('refuses a second invoke while one is open, and a reply with none open', () => {
    const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
    recorder.invoke(0, { op: 'read' });
    expect(() => recorder.invoke(0, { op: 'read' })).toThrow(/still open/);
    expect(() => recorder.ok(1, { value: 0 })).toThrow(/no open operation/);
    expect(() => recorder.info(1)).toThrow(/no open operation/);
    expect(() => recorder.fail(1)).toThrow(/no open operation/);
  });
});
