/**
 * Graphviz DOT from a chart model: the same walk as the Mermaid text, laid out by `dot`.
 *
 * Composite and parallel states are clusters (parallel regions dashed), simple states rounded
 * boxes whose name sits above their `entry / …` lines and internal transitions (UML's internal
 * compartment), the initial pseudo-state a dot, final states lead to a ringed dot, and targets
 * outside a role chart are dashed stubs. An arrow from or to a composite leaves or enters its
 * frame (`ltail`/`lhead` on an invisible anchor node inside the cluster). Transitions between the
 * same two states share one arrow, one label line each, as in the Mermaid text.
 */
import type { AnyStateMachine } from 'xstate';
import { assignIds, stateKey, stubKey } from './ids.js';
import type { Chart, ChartState } from './model.js';
import { activityLines, buildChart, drawnTransitions, transitionLabel } from './model.js';

/** One plain font name: Graphviz sizes text from its built-in metrics for it (no system fonts here). */
const FONT = 'Helvetica';
const STATE_FILL = '#eef0ff';
const STATE_LINE = '#5b5b9b';
const REGION_LINE = '#8c8cc0';
const STUB_LINE = '#999999';
const STUB_TEXT = '#555555';
const DETAIL_POINT_SIZE = 9;
const INDENT = '  ';

/** Options for {@link machineToDot}. */
export interface DotOptions {
  /** Chart only this state (dotted path, e.g. `'follower'`): a role of a bigger statechart. */
  readonly statePath?: string;
}

/** Graphviz DOT text for any XState v5 machine, or for one state of it. */
export function machineToDot(machine: AnyStateMachine, options: DotOptions = {}): string {
  return chartToDot(buildChart(machine, options.statePath ?? ''));
}

/** Escapes text for a double-quoted DOT string. */
export function escapeDotString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n');
}

/** Escapes text for a Graphviz HTML-like label. */
export function escapeDotHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Graphviz DOT text for a chart model. Ends with a newline. */
export function chartToDot(chart: Chart): string {
  const ids = assignIds(chart);
  const idOf = (key: string): string => {
    const id = ids.get(key);
    if (id === undefined) throw new Error(`chart '${chart.name}': no id for ${key}`);
    return id;
  };
  const drawn = drawnTransitions(chart);
  const byPath = new Map<string, ChartState>();
  const collect = (s: ChartState): void => {
    byPath.set(s.path, s);
    s.children.forEach(collect);
  };
  collect(chart.root);
  const isCluster = (path: string): boolean => (byPath.get(path)?.children.length ?? 0) > 0 && (path !== chart.root.path || chart.framed);

  // Clusters that arrows leave or enter need an anchor node inside them.
  const anchored = new Set<string>();
  for (const t of drawn.arrows) {
    if (isCluster(t.sourcePath)) anchored.add(t.sourcePath);
    if (t.targetPath !== null && !t.targetIsStub && isCluster(t.targetPath)) anchored.add(t.targetPath);
  }
  for (const s of byPath.values()) if (s.initialPath !== null && isCluster(s.initialPath)) anchored.add(s.initialPath);
  if (chart.framed && chart.rootIsInitial) anchored.add(chart.root.path);

  const q = (id: string): string => `"${escapeDotString(id)}"`;
  const anchorId = (path: string): string => `anchor:${idOf(stateKey(path))}`;
  /** The node an arrow touches for a state, and the cluster attribute that clips it to the frame. */
  const endpoint = (path: string, side: 'ltail' | 'lhead'): { node: string; clip: string } =>
    isCluster(path)
      ? { node: q(anchorId(path)), clip: `${side}=${q(`cluster:${idOf(stateKey(path))}`)}` }
      : { node: q(idOf(stateKey(path))), clip: '' };

  const lines: string[] = [];
  const where = chart.statePath === '' ? '' : `, state ${chart.statePath}`;
  lines.push(`// generated from machine ${chart.machineId}${where} by src/inspect/charts: do not edit`);
  lines.push(`digraph ${q(chart.name)} {`);
  lines.push(
    `${INDENT}graph [compound=true, rankdir=TB, newrank=true, nodesep=0.5, ranksep=0.55, fontname=${q(FONT)}, fontsize=12, labelloc=t, labeljust=l, label=${q(chartTitle(chart))}];`,
  );
  lines.push(`${INDENT}node [fontname=${q(FONT)}, fontsize=11, shape=plain, color=${q(STATE_LINE)}];`);
  lines.push(`${INDENT}edge [fontname=${q(FONT)}, fontsize=${DETAIL_POINT_SIZE}, color="#444444", arrowsize=0.7];`);

  const initialEdge = (from: string, targetPath: string, pad: string): void => {
    const head = endpoint(targetPath, 'lhead');
    lines.push(`${pad}${q(from)} [shape=point, width=0.11, color=black];`);
    lines.push(`${pad}${q(from)} -> ${head.node}${head.clip === '' ? '' : ` [${head.clip}]`};`);
  };

  const declare = (state: ChartState, depth: number): void => {
    const pad = INDENT.repeat(depth);
    const id = idOf(stateKey(state.path));
    const details = [...activityLines(state), ...(drawn.inside.get(state.path) ?? [])];
    if (!isCluster(state.path)) {
      const name = state.kind === 'history' ? `${state.name} (history)` : state.name;
      lines.push(`${pad}${q(id)} [label=<${stateTable(name, details, state.kind === 'final')}>];`);
      return;
    }
    const parentIsParallel = state.path !== '' && byPath.get(parentPath(state.path))?.kind === 'parallel';
    lines.push(`${pad}subgraph ${q(`cluster:${id}`)} {`);
    const inner = pad + INDENT;
    lines.push(
      `${inner}graph [label=<${clusterLabel(state.name, details)}>, style=${q(parentIsParallel ? 'rounded,dashed' : 'rounded')}, color=${q(parentIsParallel ? REGION_LINE : STATE_LINE)}];`,
    );
    if (anchored.has(state.path)) lines.push(`${inner}${q(anchorId(state.path))} [shape=point, style=invis, width=0.01, height=0.01];`);
    declareChildren(state, depth + 1);
    lines.push(`${pad}}`);
  };

  const declareChildren = (state: ChartState, depth: number): void => {
    const pad = INDENT.repeat(depth);
    if (state.initialPath !== null) initialEdge(`init:${idOf(stateKey(state.path))}`, state.initialPath, pad);
    for (const child of state.children) {
      declare(child, depth);
      if (child.kind === 'final') {
        const finalId = `final:${idOf(stateKey(child.path))}`;
        lines.push(`${pad}${q(finalId)} [shape=point, width=0.13, peripheries=2, color=black];`);
        lines.push(`${pad}${q(idOf(stateKey(child.path)))} -> ${q(finalId)};`);
      }
    }
  };

  if (chart.framed) {
    if (chart.rootIsInitial) initialEdge('init:', chart.root.path, INDENT);
    declare(chart.root, 1);
  } else {
    declareChildren(chart.root, 1);
  }

  for (const stub of chart.stubs) {
    lines.push(
      `${INDENT}${q(idOf(stubKey(stub.path)))} [shape=box, style="rounded,dashed", color=${q(STUB_LINE)}, fontcolor=${q(STUB_TEXT)}, label=${q(stub.name)}, tooltip=${q(`${stub.name}: drawn in its own chart`)}];`,
    );
  }

  // One arrow per (source, target) pair, its transitions one per line in transition order.
  const arrows = new Map<string, { tail: { node: string; clip: string }; head: { node: string; clip: string }; labels: string[] }>();
  for (const t of drawn.arrows) {
    if (t.targetPath === null) throw new Error(`chart '${chart.name}': a targetless transition cannot be an arrow`);
    const tail = endpoint(t.sourcePath, 'ltail');
    const head = t.targetIsStub ? { node: q(idOf(stubKey(t.targetPath))), clip: '' } : endpoint(t.targetPath, 'lhead');
    const key = `${tail.node} ${tail.clip} ${head.node} ${head.clip}`;
    let a = arrows.get(key);
    if (a === undefined) {
      a = { tail, head, labels: [] };
      arrows.set(key, a);
    }
    a.labels.push(transitionLabel(t));
  }
  for (const { tail, head, labels } of arrows.values()) {
    // `\l` ends a left-justified line in a DOT label.
    const label = `${labels.map(escapeDotString).join('\\l')}\\l`;
    const attributes = [`label="${label}"`, tail.clip, head.clip].filter((a) => a !== '');
    lines.push(`${INDENT}${tail.node} -> ${head.node} [${attributes.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function chartTitle(chart: Chart): string {
  return chart.statePath === '' ? `${chart.name} (machine ${chart.machineId})` : `${chart.name} (machine ${chart.machineId}, state ${chart.statePath})`;
}

function stateTable(name: string, details: readonly string[], isFinal: boolean): string {
  const rows = [`<TR><TD><B>${escapeDotHtml(name)}</B></TD></TR>`];
  if (details.length > 0) {
    rows.push('<HR/>');
    for (const d of details) rows.push(`<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="${DETAIL_POINT_SIZE}">${escapeDotHtml(d)}</FONT></TD></TR>`);
  }
  // A final state's box has a heavier border (its arrow to the ringed dot says the rest).
  const border = isFinal ? '2' : '1';
  return `<TABLE STYLE="ROUNDED" BORDER="${border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" BGCOLOR="${STATE_FILL}" COLOR="${STATE_LINE}">${rows.join('')}</TABLE>`;
}

function clusterLabel(name: string, details: readonly string[]): string {
  const rows = [`<TR><TD ALIGN="LEFT"><B>${escapeDotHtml(name)}</B></TD></TR>`];
  for (const d of details) rows.push(`<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="${DETAIL_POINT_SIZE}">${escapeDotHtml(d)}</FONT></TD></TR>`);
  return `<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">${rows.join('')}</TABLE>`;
}

function parentPath(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}
