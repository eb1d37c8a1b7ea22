/**
 * Mermaid `stateDiagram-v2` text from a chart model.
 *
 * Layout rules, each checked against Mermaid 11 rendering in a browser:
 * - every state is declared inside its composite block first, and transitions come after all
 *   declarations at the top level: Mermaid puts a state in the block where it is first named;
 * - transitions between the same two states share one edge whose label lists them one per line
 *   (`<br/>`): Mermaid draws parallel edges, self-loops above all, on top of each other;
 * - an atomic state with actions or internal transitions is declared `state "name" as id` so its
 *   name stays the title and the `entry / …` and transition lines sit below it; a composite's go
 *   in a note beside it (Mermaid replaces a composite's title with a description line, and lays
 *   out a multi-line title over the composite's children).
 * Which transitions are lines inside a state rather than arrows: see {@link drawnTransitions}.
 */
import type { AnyStateMachine } from 'xstate';
import { assignIds, stateKey, stubKey } from './ids.js';
import type { Chart, ChartState } from './model.js';
import { activityLines, buildChart, drawnTransitions, transitionLabel } from './model.js';

const INDENT = '  ';
const LINE_BREAK = '<br/>';
/** Mermaid ends a multi-line note at the first `end note` (any case): a no-break space keeps text from doing so. */
const NOTE_END = /end note/gi;
/** Stub nodes (other roles) look secondary: dashed and grey. */
const STUB_CLASS = 'roleStub';
const STUB_STYLE = 'fill:#f6f6f6,stroke:#999999,stroke-dasharray:4 4,color:#555555';

/**
 * Characters that Mermaid's lexer or its HTML labels would misread, as Mermaid entity codes
 * (`#58;`), which Mermaid decodes back after parsing. `:` and `;` end a label; `#` starts an
 * entity; `%%` starts a comment; `"` ends a quoted name; `<`, `>`, `&` are HTML; `{`/`}` open and
 * close blocks. Replaced in one pass, so an inserted code is never escaped again.
 */
const MERMAID_SPECIAL = /[#:;%"&<>{}]|[\r\n]+/g;

/** Escapes text for a Mermaid state name, transition label or note. */
export function escapeMermaid(text: string): string {
  return text.replace(MERMAID_SPECIAL, (ch) => (ch.startsWith('\r') || ch.startsWith('\n') ? ' ' : `#${ch.codePointAt(0)};`));
}

/** Options for {@link machineToMermaid}. */
export interface MermaidOptions {
  /** Chart only this state (dotted path, e.g. `'follower'`): a role of a bigger statechart. */
  readonly statePath?: string;
}

/** Mermaid `stateDiagram-v2` text for any XState v5 machine, or for one state of it. */
export function machineToMermaid(machine: AnyStateMachine, options: MermaidOptions = {}): string {
  return chartToMermaid(buildChart(machine, options.statePath ?? ''));
}

/** Mermaid `stateDiagram-v2` text for a chart model. Ends with a newline. */
export function chartToMermaid(chart: Chart): string {
  const ids = assignIds(chart);
  const idOf = (key: string): string => {
    const id = ids.get(key);
    if (id === undefined) throw new Error(`chart '${chart.name}': no id for ${key}`);
    return id;
  };
  const drawn = drawnTransitions(chart);
  const lines: string[] = ['stateDiagram-v2'];
  const where = chart.statePath === '' ? '' : `, state ${chart.statePath}`;
  lines.push(`${INDENT}%% generated from machine ${chart.machineId}${where} by src/inspect/charts: do not edit`);

  const declare = (state: ChartState, depth: number): void => {
    const pad = INDENT.repeat(depth);
    const id = idOf(stateKey(state.path));
    const activities = [...activityLines(state), ...(drawn.inside.get(state.path) ?? [])];
    if (state.children.length === 0) {
      const name = state.kind === 'history' ? `${state.name} (history)` : state.name;
      if (name === id && activities.length === 0) {
        lines.push(`${pad}${id}`);
      } else {
        lines.push(`${pad}state "${escapeMermaid(name)}" as ${id}`);
        for (const line of activities) lines.push(`${pad}${id} : ${escapeMermaid(line)}`);
      }
      return;
    }
    const title = escapeMermaid(state.name);
    lines.push(title === id ? `${pad}state ${id} {` : `${pad}state "${title}" as ${id} {`);
    declareChildren(state, depth + 1);
    lines.push(`${pad}}`);
    if (activities.length > 0) {
      lines.push(`${pad}note right of ${id}`);
      for (const line of activities) lines.push(`${pad}${INDENT}${escapeMermaid(line).replace(NOTE_END, (m) => m.replace(' ', '\u00a0'))}`);
      lines.push(`${pad}end note`);
    }
  };

  /** Children of a composite (or of the unframed root): initial arrow, states, final arrows. */
  const declareChildren = (state: ChartState, depth: number): void => {
    const pad = INDENT.repeat(depth);
    if (state.initialPath !== null) lines.push(`${pad}[*] --> ${idOf(stateKey(state.initialPath))}`);
    state.children.forEach((child, i) => {
      // Parallel regions are separated by Mermaid's concurrency divider.
      if (state.kind === 'parallel' && i > 0) lines.push(`${pad}--`);
      declare(child, depth);
      if (child.kind === 'final') lines.push(`${pad}${idOf(stateKey(child.path))} --> [*]`);
    });
  };

  if (chart.framed) {
    if (chart.rootIsInitial) lines.push(`${INDENT}[*] --> ${idOf(stateKey(chart.root.path))}`);
    declare(chart.root, 1);
  } else {
    declareChildren(chart.root, 1);
  }

  for (const stub of chart.stubs) {
    const id = idOf(stubKey(stub.path));
    lines.push(stub.name === id ? `${INDENT}${id}` : `${INDENT}state "${escapeMermaid(stub.name)}" as ${id}`);
  }

  // One edge per (source, target) pair, labels in transition order.
  const edges = new Map<string, { from: string; to: string; labels: string[] }>();
  for (const t of drawn.arrows) {
    if (t.targetPath === null) throw new Error(`chart '${chart.name}': a targetless transition cannot be an arrow`);
    const from = idOf(stateKey(t.sourcePath));
    const to = idOf(t.targetIsStub ? stubKey(t.targetPath) : stateKey(t.targetPath));
    const key = `${from} ${to}`;
    let edge = edges.get(key);
    if (edge === undefined) {
      edge = { from, to, labels: [] };
      edges.set(key, edge);
    }
    edge.labels.push(escapeMermaid(transitionLabel(t)));
  }
  for (const edge of edges.values()) lines.push(`${INDENT}${edge.from} --> ${edge.to} : ${edge.labels.join(LINE_BREAK)}`);

  if (chart.stubs.length > 0) {
    lines.push(`${INDENT}classDef ${STUB_CLASS} ${STUB_STYLE}`);
    lines.push(`${INDENT}class ${chart.stubs.map((s) => idOf(stubKey(s.path))).join(',')} ${STUB_CLASS}`);
  }
  return `${lines.join('\n')}\n`;
}
