/**
 * Charts for the page: the role statecharts of src/inspect/charts, with every state's group in
 * the SVG tagged by its state path so the page can highlight the active states of a node.
 *
 * Graphviz names each node group by a `<title>` holding the DOT node id (`waiting`) and each
 * cluster by `cluster:<id>`; the ids come from `assignIds` over the same chart model, so mapping
 * them back to state paths is exact, not a guess from the label text.
 */
import { ROLE_CHARTS, buildChart, chartStates, chartSvg } from '../charts/index.js';
import type { RoleChart } from '../charts/index.js';
import { assignIds, stateKey, stubKey } from '../charts/ids.js';
import type { MachineName } from './types.js';

/** What the page needs to know about one role chart. */
export interface ChartInfo {
  readonly role: string;
  /** The node machine whose snapshot drives the highlight. */
  readonly machine: MachineName;
  /** The role's state inside the machine (election roles), or '' for a whole machine. */
  readonly statePath: string;
  readonly summary: string;
}

const MACHINE_NAMES: readonly MachineName[] = ['election', 'acceptor', 'learner', 'proposer'];

/** The node machine a role chart is drawn from (by machine id: the machines are named after them). */
export function machineOfRole(chart: RoleChart): MachineName {
  const name = MACHINE_NAMES.find((m) => m === chart.machine.id);
  if (name === undefined) throw new Error(`role chart ${chart.role}: machine '${chart.machine.id}' is not a node machine`);
  return name;
}

export function chartInfos(): ChartInfo[] {
  return ROLE_CHARTS.map((r) => ({ role: r.role, machine: machineOfRole(r), statePath: r.statePath ?? '', summary: r.summary }));
}

/**
 * Every active state of an XState state value as dotted paths, parents before children:
 * `{ leader: { heartbeat: 'waiting' } }` gives `leader`, `leader.heartbeat`, `leader.heartbeat.waiting`.
 */
export function activePaths(value: unknown, prefix = ''): string[] {
  const join = (key: string): string => (prefix === '' ? key : `${prefix}.${key}`);
  if (typeof value === 'string') return [join(value)];
  if (typeof value !== 'object' || value === null) return [];
  const out: string[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = join(key);
    out.push(path);
    out.push(...activePaths(child, path));
  }
  return out;
}

/** Decodes the entities Graphviz writes in `<title>` text. */
function unescapeXml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * Adds `data-state="<path>"` (and class `sk-state` or `sk-stub`) to the SVG group of every state
 * and stub of the role's chart. The machine root (path '') is left out: it is always active.
 */
export function annotateChartSvg(svg: string, role: string): string {
  const r = ROLE_CHARTS.find((c) => c.role === role);
  if (r === undefined) throw new Error(`unknown role '${role}'`);
  const chart = buildChart(r.machine, r.statePath ?? '');
  const ids = assignIds(chart);
  const byTitle = new Map<string, { path: string; stub: boolean }>();
  for (const s of chartStates(chart)) {
    if (s.path === '') continue;
    const id = ids.get(stateKey(s.path));
    if (id === undefined) continue;
    // A state drawn as a frame is a Graphviz cluster; a simple one is a node. Register both names.
    byTitle.set(id, { path: s.path, stub: false });
    byTitle.set(`cluster:${id}`, { path: s.path, stub: false });
  }
  for (const stub of chart.stubs) {
    const id = ids.get(stubKey(stub.path));
    if (id !== undefined && stub.path !== '') byTitle.set(id, { path: stub.path, stub: true });
  }
  return svg.replace(/<g id="([^"]+)" class="(node|cluster)">(\s*)<title>([^<]*)<\/title>/g, (whole, gid: string, cls: string, space: string, title: string) => {
    const found = byTitle.get(unescapeXml(title));
    if (found === undefined) return whole;
    const extra = found.stub ? 'sk-stub' : 'sk-state';
    return `<g id="${gid}" class="${cls} ${extra}" data-state="${escapeAttribute(found.path)}">${space}<title>${title}</title>`;
  });
}

/** The annotated SVG of every role chart, rendered once per process. */
let annotated: Promise<Map<string, string>> | undefined;

export function annotatedCharts(): Promise<Map<string, string>> {
  annotated ??= (async () => {
    const out = new Map<string, string>();
    for (const r of ROLE_CHARTS) {
      const svg = await chartSvg(r.role);
      // Drop the XML prolog and DOCTYPE: the page inlines the SVG into HTML.
      out.set(r.role, annotateChartSvg(svg.slice(svg.indexOf('<svg')), r.role));
    }
    return out;
  })();
  return annotated;
}
