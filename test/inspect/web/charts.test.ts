import { describe, expect, it } from 'vitest';
import { ROLE_CHARTS, buildChart, chartStates } from '../../../src/inspect/charts/index.js';
import { activePaths, annotateChartSvg, annotatedCharts, chartInfos } from '../../../src/inspect/web/charts.js';

function dataStates(svg: string): string[] {
  return [...svg.matchAll(/data-state="([^"]*)"/g)].map((m) => m[1]!);
}

describe('activePaths', () => {
  it('lists every active state of a value, parents first', () => {
    expect(activePaths('accepting')).toEqual(['accepting']);
    expect(activePaths({ follower: 'waiting' })).toEqual(['follower', 'follower.waiting']);
    expect(activePaths({ leader: { heartbeat: 'waiting', quorumCheck: 'watching' } })).toEqual([
      'leader',
      'leader.heartbeat',
      'leader.heartbeat.waiting',
      'leader.quorumCheck',
      'leader.quorumCheck.watching',
    ]);
    expect(activePaths(undefined)).toEqual([]);
  });
});

describe('annotated role charts', () => {
  it('maps each role chart to the node machine that drives it', () => {
    expect(chartInfos().map((c) => `${c.role}:${c.machine}`)).toEqual([
      'follower:election',
      'candidate:election',
      'leader:election',
      'proposer:proposer',
      'acceptor:acceptor',
      'learner:learner',
    ]);
  });

  it('tag every drawn state and stub with its state path, once', async () => {
    const charts = await annotatedCharts();
    for (const r of ROLE_CHARTS) {
      const svg = charts.get(r.role)!;
      expect(svg.startsWith('<svg'), r.role).toBe(true);
      const chart = buildChart(r.machine, r.statePath ?? '');
      const expected = [...chartStates(chart).map((s) => s.path), ...chart.stubs.map((s) => s.path)].filter((p) => p !== '').sort();
      expect(dataStates(svg).sort(), r.role).toEqual(expected);
    }
  });

  it('tags the leader chart so the states of a leader snapshot are found', async () => {
    const svg = (await annotatedCharts()).get('leader')!;
    const tagged = new Set(dataStates(svg));
    for (const path of activePaths({ leader: { heartbeat: 'waiting', quorumCheck: 'watching' } })) expect(tagged.has(path), path).toBe(true);
    // The follower stub in the leader chart: a leader that steps down lights it up.
    expect(svg).toMatch(/class="node sk-stub" data-state="follower"/);
  });

  it('leaves SVG it does not recognise alone', () => {
    const svg = '<svg><g id="node1" class="node">\n<title>nothing</title></g></svg>';
    expect(annotateChartSvg(svg, 'learner')).toBe(svg);
    expect(() => annotateChartSvg(svg, 'nobody')).toThrow(/unknown role/);
  });
});
