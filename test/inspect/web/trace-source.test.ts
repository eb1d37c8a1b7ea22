import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HISTORY_EVENTS } from '../../../src/inspect/web/constants.js';
import { TraceSource, checkTraceFile } from '../../../src/inspect/web/trace-source.js';
import type { ClusterView, SourceEvent } from '../../../src/inspect/web/types.js';
import { writeTraceFile } from '../../../src/sim/runner.js';
import type { TraceFile } from '../../../src/sim/runner.js';
import { randomScenario } from '../../../src/sim/scenario.js';
import { formatTraceEvent } from '../../../src/sim/trace.js';

let dir: string;
let file: TraceFile;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sk-inspect-trace-'));
  file = writeTraceFile(join(dir, 'run.json'), randomScenario(21, { nodes: 3, commands: 30, faults: ['crash', 'partition'] }), null);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a person compares between two visits of the same event: every node's state and the clock. */
function essence(view: ClusterView): unknown {
  return {
    nowMs: view.nowMs,
    actions: view.actions,
    index: view.trace?.index,
    nodes: view.nodes.map((n) => ({ id: n.id, up: n.up, role: n.role, epoch: n.epoch, applied: n.appliedSlot, values: Object.fromEntries(Object.entries(n.machines).map(([k, m]) => [k, m!.value])) })),
  };
}

describe('TraceSource', () => {
  it('steps forwards and backwards through the file, showing each event and its time', () => {
    const source = new TraceSource(file, 'run.json');
    expect(source.total).toBe(file.events.length);
    expect(source.view().trace).toMatchObject({ index: 0, atMs: file.events[0]!.t, divergesAt: -1 });
    const target = 200;
    for (let i = 1; i <= target; i++) expect(source.control({ type: 'step' }).ok).toBe(true);
    let trace = source.view().trace!;
    expect(trace.index).toBe(target);
    expect(trace.atMs).toBe(file.events[target]!.t);
    expect(trace.event).toBe(formatTraceEvent(file.events[target]!).trim());
    const forwardActions = source.view().actions;
    for (let i = 1; i <= 3; i++) {
      expect(source.control({ type: 'back' }).ok).toBe(true);
      trace = source.view().trace!;
      expect(trace.index).toBe(target - i);
      expect(trace.atMs).toBe(file.events[target - i]!.t);
      expect(trace.event).toBe(formatTraceEvent(file.events[target - i]!).trim());
    }
    // Going back past the last action re-ran the scenario from the start, to fewer actions.
    expect(source.reruns).toBeGreaterThan(0);
    expect(source.view().actions).toBeLessThanOrEqual(forwardActions);
    expect(source.view().trace!.divergesAt).toBe(-1);
    source.close();
  });

  it('reaches the same state for an event forwards and by rewinding', () => {
    const forward = new TraceSource(file, 'run.json');
    const rewound = new TraceSource(file, 'run.json');
    const index = Math.floor(file.events.length / 2);
    forward.seek(index);
    rewound.seek(file.events.length - 1);
    rewound.seek(index);
    expect(rewound.reruns).toBe(1);
    expect(essence(rewound.view())).toEqual(essence(forward.view()));
    forward.close();
    rewound.close();
  });

  it('plays to the end and agrees with the file all the way', () => {
    const source = new TraceSource(file, 'run.json');
    source.runFor(1e9);
    const trace = source.view().trace!;
    expect(trace.finished).toBe(true);
    expect(trace.index).toBe(file.events.length - 1);
    expect(trace.divergesAt).toBe(-1);
    expect(source.control({ type: 'step' })).toMatchObject({ ok: false, message: 'end of the trace' });
    expect(source.control({ type: 'crash', node: 1 }).ok).toBe(false);
    source.close();
  });

  it('hands watchers a reset and a bounded history after a rewind, not the whole re-run', () => {
    const source = new TraceSource(file, 'run.json');
    const events: SourceEvent[] = [];
    const stop = source.watch({ event: (e) => events.push(e), changed: () => undefined });
    source.seek(file.events.length - 1);
    events.length = 0;
    source.seek(file.events.length - 50);
    expect(events[0]?.kind).toBe('reset');
    expect(events.length).toBeLessThanOrEqual(MAX_HISTORY_EVENTS + 1);
    expect(events.slice(1)).toEqual(source.history());
    expect(events.some((e) => e.kind === 'message')).toBe(true);
    stop();
    source.close();
  });

  it('reports where a re-run differs from the file', () => {
    const events = file.events.slice();
    events[30] = { t: 0, kind: 'fault', fault: '{"kind":"edited"}' };
    const source = new TraceSource({ ...file, events }, 'edited.json');
    source.seek(40);
    expect(source.view().trace!.divergesAt).toBe(30);
    source.close();
  });

  it('rejects what is not a trace', () => {
    expect(() => checkTraceFile({ format: 'other' })).toThrow(/not a statekeeper trace/);
    expect(() => checkTraceFile({ ...file, mutant: 'no-such-mutant' })).toThrow(/unknown mutant/);
  });
});
