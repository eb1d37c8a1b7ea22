/**
 * Chart export: one chart per protocol role, drawn from the XState machines themselves.
 *
 * The election machine is one statechart whose top-level states follower, candidate and leader
 * are the three election roles, so each of those is charted on its own (with stubs for the other
 * roles it moves to); the proposer, acceptor and learner machines are one chart each.
 * `writeCharts` produces the committed docs/charts/ (`npx tsx scripts/charts.ts docs/charts`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { acceptorMachine, electionMachine, learnerMachine, proposerMachine } from '../../../machines/index.js';
import { chartToDot } from './dot.js';
import { chartToMermaid } from './mermaid.js';
import { buildChart } from './model.js';
import { dotToSvg } from './svg.js';

export { chartToDot, escapeDotHtml, escapeDotString, machineToDot } from './dot.js';
export type { DotOptions } from './dot.js';
export { chartToMermaid, escapeMermaid, machineToMermaid } from './mermaid.js';
export type { MermaidOptions } from './mermaid.js';
export { actionName, buildChart, chartStates, drawnTransitions, guardName, resolveStateNode, transitionLabel } from './model.js';
export type { Chart, ChartState, ChartStateKind, ChartStub, ChartTransition, DrawnTransitions } from './model.js';
export { dotToSvg } from './svg.js';

/** One role's chart: a whole machine, or one state of it (`statePath`). */
export interface RoleChart {
  readonly role: string;
  readonly machine: AnyStateMachine;
  /** Dotted path of the role's state inside `machine`; absent when the role is the whole machine. */
  readonly statePath?: string;
  /** Where the role is defined, relative to the repository root. */
  readonly source: string;
  /** One sentence for the index page. */
  readonly summary: string;
}

/** The six protocol roles, in the order the index page lists them. */
export const ROLE_CHARTS: readonly RoleChart[] = [
  {
    role: 'follower',
    machine: electionMachine,
    statePath: 'follower',
    source: 'machines/election/follower.ts',
    summary: "Waits for a leader's heartbeats and grants votes; campaigns when its election timeout fires.",
  },
  {
    role: 'candidate',
    machine: electionMachine,
    statePath: 'candidate',
    source: 'machines/election/candidate.ts',
    summary: 'Runs a pre-vote (no epoch change), then a real vote in epoch + 1; leads on a quorum of grants.',
  },
  {
    role: 'leader',
    machine: electionMachine,
    statePath: 'leader',
    source: 'machines/election/leader.ts',
    summary: 'Heartbeats every member; steps down (check-quorum) when it has not heard from a quorum in time.',
  },
  {
    role: 'proposer',
    machine: proposerMachine,
    source: 'machines/proposer/machine.ts',
    summary:
      'On the elected leader: phase 1 (prepare/promise) adopts accepted entries, phase 2 (accept/accepted) proposes batches; stops when a higher ballot pre-empts it.',
  },
  {
    role: 'acceptor',
    machine: acceptorMachine,
    source: 'machines/acceptor/machine.ts',
    summary: 'On every voter: promises and accepts by ballot, refusing ballots lower than its promise.',
  },
  {
    role: 'learner',
    machine: learnerMachine,
    source: 'machines/learner/machine.ts',
    summary: 'On every node: learns chosen slots strictly in order and fetches the entries it is missing.',
  },
];

/** The role's entry in {@link ROLE_CHARTS}; throws for an unknown role. */
export function roleChart(role: string): RoleChart {
  const found = ROLE_CHARTS.find((r) => r.role === role);
  if (found === undefined) throw new Error(`unknown role '${role}': one of ${ROLE_CHARTS.map((r) => r.role).join(', ')}`);
  return found;
}

/** Mermaid `stateDiagram-v2` text of a role's chart. */
export function chartMermaid(role: string): string {
  const r = roleChart(role);
  return chartToMermaid(buildChart(r.machine, r.statePath ?? ''));
}

/** Graphviz DOT text of a role's chart. */
export function chartDot(role: string): string {
  const r = roleChart(role);
  return chartToDot(buildChart(r.machine, r.statePath ?? ''));
}

/** SVG of a role's chart, laid out by Graphviz (WebAssembly). */
export async function chartSvg(role: string): Promise<string> {
  return dotToSvg(chartDot(role));
}

/** Name of the generated index page inside the output directory. */
export const INDEX_FILE = 'index.md';
/** The command that regenerates the committed charts, quoted in the index page and in test failures. */
export const REGENERATE_COMMAND = 'npx tsx scripts/charts.ts docs/charts';

/**
 * Writes `<role>.mmd` and `<role>.svg` for every role, and an `index.md` that shows each SVG with
 * its Mermaid source, into `outDir` (created if missing). Returns the written paths in order.
 */
export async function writeCharts(outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const sections: string[] = [];
  for (const r of ROLE_CHARTS) {
    const mermaid = chartMermaid(r.role);
    const svg = await chartSvg(r.role);
    for (const [file, text] of [
      [`${r.role}.mmd`, mermaid],
      [`${r.role}.svg`, svg],
    ] as const) {
      const path = join(outDir, file);
      await writeFile(path, text);
      written.push(path);
    }
    sections.push(roleSection(r, mermaid));
  }
  const indexPath = join(outDir, INDEX_FILE);
  await writeFile(indexPath, indexPage(sections));
  written.push(indexPath);
  return written;
}

function roleSection(r: RoleChart, mermaid: string): string {
  const where = r.statePath === undefined ? `machine \`${r.machine.id}\`` : `machine \`${r.machine.id}\`, state \`${r.statePath}\``;
  return [
    `## ${r.role}`,
    '',
    `${r.summary} Drawn from ${where}, defined in [${r.source}](../../${r.source}).`,
    '',
    `![${r.role} statechart](${r.role}.svg)`,
    '',
    `Mermaid source ([${r.role}.mmd](${r.role}.mmd)):`,
    '',
    '```mermaid',
    mermaid.trimEnd(),
    '```',
    '',
  ].join('\n');
}

function indexPage(sections: readonly string[]): string {
  const rows = ROLE_CHARTS.map(
    (r) => `| [${r.role}](#${r.role}) | \`${r.machine.id}\`${r.statePath === undefined ? '' : ` › \`${r.statePath}\``} | [${r.source}](../../${r.source}) |`,
  );
  return [
    '# Role statecharts',
    '',
    'Generated from the XState machines in `machines/` by `src/inspect/charts`: do not edit by hand.',
    `Regenerate with \`${REGENERATE_COMMAND}\`; a test fails while these files are stale.`,
    '',
    '| role | machine › state | defined in |',
    '| --- | --- | --- |',
    ...rows,
    '',
    '## Reading the charts',
    '',
    '- A rounded box is a state. A frame with states inside is a composite state; dashed frames inside a frame are the regions of a parallel state, all active at once.',
    '- A black dot points to the initial state; an arrow to a ringed dot means the machine stops there (final state).',
    '- Arrows read `Event [guard] / action1, action2`: on `Event`, if the guard holds, run the actions and move. `after d` fires once the state has lasted the delay `d` (named in the machine\'s `setup`); `always [guard]` is taken as soon as the guard holds, with no event.',
    '- Lines inside a box, under its name: `entry / …`, `exit / …` actions, then the transitions that are not arrows. Targetless ones are internal: the state is neither left nor re-entered. Those ending in `→ target` (a composite\'s transitions to itself or into its substates) leave and re-enter. In the Mermaid charts a composite\'s lines are in a note beside it.',
    '- Transitions are listed in the order XState tries them: for one event the first whose guard holds wins. A state\'s transitions also apply in all its substates, after the substates\' own.',
    '- Dashed grey boxes stand for other roles, drawn in their own charts. Transitions that a machine defines above a role\'s state (for the election roles: on the election machine itself) apply in that role too, and its chart draws them from the role.',
    '',
    ...sections,
  ].join('\n');
}
