import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { acceptorMachine, electionMachine, learnerMachine, proposerMachine } from '../../../machines/index.js';
import { ROLE_CHARTS, chartMermaid, escapeMermaid, machineToMermaid, roleChart } from '../../../src/inspect/charts/index.js';
import { expectedChart, parseMermaid, parsedPath, unescapeMermaid } from './expect.js';
import type { ParsedDiagram } from './expect.js';
import { awkwardMachine, tinyMachine } from './fixtures.js';

const ACTIVITY = /^(entry|exit|invoke) \/ /;
const ENTITY_CODE = /#\d+;/g;

/**
 * Checks a chart's Mermaid text against an independent walk of the machine: the same state tree,
 * every transition drawn from the right state to the right state, nothing extra.
 */
function checkAgainstMachine(text: string, machine: AnyStateMachine, statePath = ''): void {
  const d = parseMermaid(text);
  const stubs = new Set([...d.classes].filter(([, c]) => c === 'roleStub').map(([id]) => id));
  const parentPrefix = statePath.split('.').slice(0, -1).join('.');
  const framedMachineRoot = statePath === '' && [...d.states.values()].some((s) => s.parents.length === 0 && s.name === machine.id && s.composite);
  const machinePath = (id: string): string => {
    let p = parsedPath(d, id);
    if (framedMachineRoot) p = p === machine.id ? '' : p.slice(machine.id.length + 1);
    return parentPrefix === '' ? p : `${parentPrefix}.${p}`;
  };
  const idByPath = new Map<string, string>();
  for (const id of d.states.keys()) if (!stubs.has(id)) idByPath.set(machinePath(id), id);
  const idOf = (path: string): string => {
    const id = idByPath.get(path);
    if (id === undefined) throw new Error(`state ${path} not drawn; drawn: ${[...idByPath.keys()].join(', ')}`);
    return id;
  };

  const { states, transitions } = expectedChart(machine, statePath);
  const drawnRoot = statePath !== '' || framedMachineRoot;
  expect([...idByPath.keys()].sort()).toEqual(states.filter((p) => drawnRoot || p !== '').sort());

  const rootDepth = statePath === '' ? 0 : statePath.split('.').length;
  let used = 0;
  for (const t of transitions) {
    const from = idOf(t.source);
    const own = d.states.get(from)!.lines;
    const inside = (suffixOk: (suffix: string) => boolean): boolean =>
      own.some((l) => l === t.label ? suffixOk('') : l.startsWith(`${t.label} → `) && suffixOk(l.slice(t.label.length + 3)));
    let to: string;
    if (t.target === null) {
      expect(inside((s) => s === ''), `${t.source}: internal "${t.label}"`).toBe(true);
      used++;
      continue;
    }
    if (statePath === '' || t.target === statePath || t.target.startsWith(`${statePath}.`)) {
      to = idOf(t.target);
      const target = t.target;
      if (inside((s) => s !== '' && (target === s || target.endsWith(`.${s}`)))) {
        used++;
        continue;
      }
    } else {
      const role = t.target.split('.').slice(0, rootDepth).join('.');
      const stub = [...stubs].find((id) => d.states.get(id)!.name === role);
      expect(stub, `stub for ${role}`).toBeDefined();
      to = stub!;
    }
    const edge = d.edges.find((e) => e.from === from && e.to === to);
    expect(edge?.labels, `${t.source} -> ${t.target}: "${t.label}"`).toContain(t.label);
    used++;
  }
  const drawnTransitions =
    d.edges.reduce((n, e) => n + e.labels.length, 0) +
    [...d.states.values()].reduce((n, s) => n + s.lines.filter((l) => !ACTIVITY.test(l)).length, 0);
  expect(drawnTransitions, 'no transition drawn that the machine does not have').toBe(used);

  checkStructure(d, machine, statePath, idOf);
}

/** Initial arrows, final markers, region dividers and entry/exit lines match the machine. */
function checkStructure(d: ParsedDiagram, machine: AnyStateMachine, statePath: string, idOf: (path: string) => string): void {
  let node: AnyStateNode = machine.root;
  for (const key of statePath === '' ? [] : statePath.split('.')) node = node.states[key]!;
  const visit = (n: AnyStateNode, drawn: boolean): void => {
    const path = n.path.join('.');
    const children = Object.values(n.states) as AnyStateNode[];
    if (drawn) {
      const s = d.states.get(idOf(path))!;
      expect(s.final, `${path} final`).toBe(n.type === 'final');
      if (n.type === 'compound') expect(s.initial, `${path} initial`).toBe(idOf(n.initial.target[0]!.path.join('.')));
      if (n.type === 'parallel') expect(s.dividers, `${path} regions`).toBe(children.length - 1);
      const entry = n.entry.filter((a: unknown) => {
        const action = a as { type?: string; id?: string };
        return !(action.type === 'xstate.raise' && action.id?.startsWith('xstate.after.'));
      });
      if (entry.length > 0) expect(s.lines, `${path} entry`).toContain(`entry / ${entry.join(', ')}`);
    } else if (n.type === 'compound') {
      expect(d.topInitial).toBe(idOf(n.initial.target[0]!.path.join('.')));
    }
    for (const child of children) visit(child, true);
  };
  let rootDrawn = true;
  try {
    idOf(node.path.join('.'));
  } catch {
    rootDrawn = false;
  }
  visit(node, rootDrawn);
}

describe('role charts', () => {
  it('are exactly the six protocol roles, and cover every top-level election state', () => {
    expect(ROLE_CHARTS.map((r) => r.role)).toEqual(['follower', 'candidate', 'leader', 'proposer', 'acceptor', 'learner']);
    const electionRoles = ROLE_CHARTS.filter((r) => r.machine === electionMachine).map((r) => r.statePath);
    expect(electionRoles).toEqual(Object.keys(electionMachine.root.states));
    expect(ROLE_CHARTS.filter((r) => r.statePath === undefined).map((r) => r.machine)).toEqual([proposerMachine, acceptorMachine, learnerMachine]);
  });

  for (const r of ROLE_CHARTS) {
    it(`${r.role}: every state and transition of the machine appears, from and to the right states`, () => {
      checkAgainstMachine(chartMermaid(r.role), r.machine, r.statePath ?? '');
    });
  }

  it('together cover every transition of the election machine, root transitions in every role', () => {
    const all = expectedChart(electionMachine).transitions;
    const perRole = ROLE_CHARTS.filter((r) => r.machine === electionMachine).flatMap((r) => expectedChart(r.machine, r.statePath).transitions);
    for (const t of all.filter((t) => t.source !== '')) expect(perRole).toContainEqual(t);
    const rootLabels = all.filter((t) => t.source === '').map((t) => t.label);
    expect(rootLabels.length).toBeGreaterThan(0);
    for (const r of ROLE_CHARTS.filter((r) => r.machine === electionMachine)) {
      const labels = parseMermaid(chartMermaid(r.role)).edges.flatMap((e) => e.labels);
      const lines = [...parseMermaid(chartMermaid(r.role)).states.values()].flatMap((s) => s.lines.map((l) => l.split(' → ')[0]));
      for (const label of rootLabels) expect([...labels, ...lines], `${r.role} shows ${label}`).toContain(label);
    }
  });

  it('draw other election roles as stubs named after the role', () => {
    const d = parseMermaid(chartMermaid('candidate'));
    const stubNames = [...d.classes].filter(([, c]) => c === 'roleStub').map(([id]) => d.states.get(id)!.name);
    expect(stubNames.sort()).toEqual(['follower', 'leader']);
    const follower = parseMermaid(chartMermaid('follower'));
    expect([...follower.classes].map(([id]) => follower.states.get(id)!.name)).toEqual(['candidate']);
  });

  it('are deterministic', () => {
    for (const r of ROLE_CHARTS) expect(chartMermaid(r.role)).toBe(chartMermaid(r.role));
  });

  it('reject an unknown role by name', () => {
    expect(() => roleChart('observer')).toThrow(/unknown role 'observer'.*follower, candidate, leader/);
  });
});

describe('machineToMermaid', () => {
  it('draws whole machines, the election with its root transitions in a frame', () => {
    for (const m of [electionMachine, proposerMachine, acceptorMachine, learnerMachine]) checkAgainstMachine(machineToMermaid(m), m);
    expect(machineToMermaid(electionMachine)).toContain('state election {');
    expect(machineToMermaid(learnerMachine)).not.toContain('state learner {');
  });

  it('draws a tiny machine with parallel regions, after, always, guards and final states exactly so', () => {
    expect(machineToMermaid(tinyMachine)).toBe(TINY_GOLDEN);
    checkAgainstMachine(machineToMermaid(tinyMachine), tinyMachine);
  });

  it('charts one state of a machine on request, with stubs for what lies outside', () => {
    const text = machineToMermaid(tinyMachine, { statePath: 'running' });
    checkAgainstMachine(text, tinyMachine, 'running');
    expect(text).toContain('running --> stopped : STOP');
    expect(() => machineToMermaid(tinyMachine, { statePath: 'running.nope' })).toThrow(/no state 'running.nope'/);
  });

  it('keeps ids unique and clear of Mermaid keywords, and escapes names and labels', () => {
    const text = machineToMermaid(awkwardMachine);
    const d = parseMermaid(text);
    const ids = [...d.states.keys()];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).not.toMatch(/^(default|note|state|end)$/i);
    expect(ids.map((id) => parsedPath(d, id)).sort()).toEqual(['default', 'end note', 'note', 'note.default', 'note.state']);
    const edge = d.edges.find((e) => e.labels[0]!.startsWith('go'));
    expect(edge?.labels).toEqual(['go:now [ready: yes; really #1 %% "quoted"]']);
    // Raw delimiters never reach Mermaid's parser after a label's leading ` : ` (Mermaid turns
    // entity codes like `#58;` into placeholders before it parses).
    for (const line of text.split('\n').filter((l) => l.includes(' --> ') && l.includes(' : '))) {
      expect(line.slice(line.indexOf(' : ') + 3).replace(ENTITY_CODE, '')).not.toMatch(/[:;"%#]/);
    }
  });

  it('escapes every Mermaid delimiter once, reversibly', () => {
    const raw = 'a:b;c#d%%e"f<g>h&i{j}k\nl';
    const escaped = escapeMermaid(raw);
    expect(escaped.replace(ENTITY_CODE, '')).not.toMatch(/[:;%"<>&{}#\n]/);
    expect(unescapeMermaid(escaped)).toBe(raw.replace('\n', ' '));
  });
});

const TINY_GOLDEN = `stateDiagram-v2
  %% generated from machine tiny by src/inspect/charts: do not edit
  [*] --> idle
  state "idle" as idle
  idle : GO / log
  state running {
    state poller {
      [*] --> polling
      polling
      gaveUp
      gaveUp --> [*]
    }
    --
    state counter {
      [*] --> counting
      state "counting" as counting
      counting : TICK / assign
    }
  }
  note right of running
    entry / start
    exit / stop
  end note
  state "stopped" as stopped
  stopped : entry / log
  stopped --> [*]
  idle --> running : GO [isReady] / start
  idle --> idle : TICK
  running --> stopped : STOP
  polling --> gaveUp : after 5000ms
  polling --> polling : after pollDelay / count
  counting --> stopped : always [and(isDone, not(isReady))]
`;
