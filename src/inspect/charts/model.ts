/**
 * The one walk over an XState v5 machine that every chart format renders from.
 *
 * It reads the machine's own definition (`machine.root`: state nodes, the `transitions` map,
 * `always`, `after`, entry/exit actions), never a hand-written description, so a chart cannot
 * drift from the code. Ordering is the machine's document order everywhere (states in config
 * order, transitions in the order XState would try them), which keeps the output deterministic and
 * shows guard priority as it is.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** What kind of state node this is, as XState reports it. */
export type ChartStateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** One state node of the chart, with its children in document order. */
export interface ChartState {
  /** Dotted path from the machine root (`''` for the root itself); unique within the machine. */
  readonly path: string;
  /** What the chart shows: the state's key, or the machine id for the root. */
  readonly name: string;
  readonly kind: ChartStateKind;
  /** Path of the initial child of a compound state, else null. */
  readonly initialPath: string | null;
  /** Named entry actions (the raise/cancel actions XState generates for `after` are left out). */
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  /** Sources of actors invoked while in this state. */
  readonly invoke: readonly string[];
  readonly children: readonly ChartState[];
}

/** A node standing for a state outside the chart (in a role chart: another role). */
export interface ChartStub {
  /** Dotted path of the state it stands for. */
  readonly path: string;
  readonly name: string;
}

/** One transition, one target. A transition with two targets (parallel regions) becomes two. */
export interface ChartTransition {
  /** Path of the state it leaves from: always a state drawn in the chart. */
  readonly sourcePath: string;
  /** Path of the state or stub it goes to; null for a targetless (internal) transition. */
  readonly targetPath: string | null;
  readonly targetIsStub: boolean;
  /** The event as a reader names it: `Heartbeat`, `after electionTimeout`, `always`. */
  readonly trigger: string;
  /** Guard expression, or null when unguarded. */
  readonly guard: string | null;
  readonly actions: readonly string[];
  /** XState `reenter`: a transition to itself or a descendant exits and re-enters the source. */
  readonly reenter: boolean;
  /** For a role chart: the ancestor that defines this transition (it applies to the role too). */
  readonly inheritedFrom: string | null;
}

/** A chart: a subtree of one machine, its transitions, and stubs for targets outside it. */
export interface Chart {
  /** The chart's name: the machine id, or the role for a role chart. */
  readonly name: string;
  readonly machineId: string;
  /** Dotted path of the charted state (`''` for the whole machine). */
  readonly statePath: string;
  readonly root: ChartState;
  /**
   * Whether the root is drawn as a state of its own (a frame around its children). A role chart
   * always is; a whole machine when its root is parallel or has transitions or actions of its own.
   */
  readonly framed: boolean;
  /** A framed root that its parent enters first gets an initial arrow from outside. */
  readonly rootIsInitial: boolean;
  readonly stubs: readonly ChartStub[];
  readonly transitions: readonly ChartTransition[];
}

const AFTER_PREFIX = 'xstate.after.';
const DONE_STATE_PREFIX = 'xstate.done.state.';
const DONE_ACTOR_PREFIX = 'xstate.done.actor.';
const ERROR_ACTOR_PREFIX = 'xstate.error.actor.';
const BUILTIN_PREFIX = 'xstate.';
/** Names XState gives inline functions from the config key they were written under: not informative. */
const UNINFORMATIVE_FUNCTION_NAMES = new Set(['', 'guard', 'actions', 'entry', 'exit', 'anonymous']);
const HIGHER_ORDER_GUARDS = new Set(['and', 'or', 'not']);

/** Resolves a dotted state path (`'leader.heartbeat'`) against a machine; throws on an unknown key. */
export function resolveStateNode(machine: AnyStateMachine, statePath: string): AnyStateNode {
  let node: AnyStateNode = machine.root;
  if (statePath === '') return node;
  for (const key of statePath.split('.')) {
    const child: AnyStateNode | undefined = node.states[key];
    if (child === undefined) {
      const known = Object.keys(node.states).join(', ') || '(none)';
      throw new Error(`machine '${machine.id}' has no state '${statePath}': '${key}' is not one of ${known}`);
    }
    node = child;
  }
  return node;
}

/**
 * Walks `machine` (or, with `statePath`, the subtree of that state: a role) into a chart model.
 * Transitions defined on the state's ancestors also apply while in it, so a role chart includes
 * them, drawn from the role itself. Targets outside the subtree become stubs named after the
 * ancestor of the target at the role's own depth (its sibling role).
 */
export function buildChart(machine: AnyStateMachine, statePath = ''): Chart {
  const rootNode = resolveStateNode(machine, statePath);
  const rootPath = rootNode.path;
  const root = walkState(rootNode);
  const stubs = new Map<string, ChartStub>();
  const transitions: ChartTransition[] = [];

  const inSubtree = (node: AnyStateNode): boolean => isPrefix(rootPath, node.path);
  const targetOf = (node: AnyStateNode): { path: string; isStub: boolean } => {
    if (inSubtree(node)) return { path: pathOf(node), isStub: false };
    const stubPath = node.path.slice(0, Math.min(node.path.length, Math.max(rootPath.length, 1)));
    const path = stubPath.join('.');
    if (!stubs.has(path)) stubs.set(path, { path, name: stubPath.length === 0 ? machine.id : stubPath.join('.') });
    return { path, isStub: true };
  };
  const addAll = (owner: AnyStateNode, drawnFrom: string, inheritedFrom: string | null): void => {
    for (const definition of transitionsOf(owner)) {
      const base = {
        sourcePath: drawnFrom,
        trigger: triggerName(owner, definition),
        guard: definition.guard === undefined ? null : guardName(definition.guard),
        actions: definition.actions.map(actionName),
        reenter: definition.reenter,
        inheritedFrom,
      };
      const targets = definition.target ?? [];
      if (targets.length === 0) transitions.push({ ...base, targetPath: null, targetIsStub: false });
      for (const target of targets) {
        const { path, isStub } = targetOf(target);
        transitions.push({ ...base, targetPath: path, targetIsStub: isStub });
      }
    }
  };

  const visit = (node: AnyStateNode): void => {
    addAll(node, pathOf(node), null);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(rootNode);
  for (let ancestor = rootNode.parent; ancestor !== undefined; ancestor = ancestor.parent) {
    addAll(ancestor, pathOf(rootNode), pathOf(ancestor));
  }

  const parent = rootNode.parent;
  const rootIsInitial =
    parent !== undefined && parent.type === 'compound' && parent.initial.target.some((t: AnyStateNode) => t === rootNode);
  return {
    name: statePath === '' ? machine.id : rootNode.key,
    machineId: machine.id,
    statePath,
    root,
    // A parallel root needs a frame: region dividers only exist inside a composite.
    framed: statePath !== '' || rootNode.type === 'parallel' || hasOwnBehaviour(rootNode),
    rootIsInitial,
    stubs: [...stubs.values()],
    transitions,
  };
}

/** Every state of the chart's tree, root first, in document order. */
export function chartStates(chart: Chart): ChartState[] {
  const out: ChartState[] = [];
  const visit = (state: ChartState): void => {
    out.push(state);
    for (const child of state.children) visit(child);
  };
  visit(chart.root);
  return out;
}

/** `Event [guard] / action1, action2`: the label every format puts on a transition. */
export function transitionLabel(t: Pick<ChartTransition, 'trigger' | 'guard' | 'actions'>): string {
  return `${t.trigger}${t.guard === null ? '' : ` [${t.guard}]`}${t.actions.length === 0 ? '' : ` / ${t.actions.join(', ')}`}`;
}

/** The state's action lines as a chart shows them: `entry / a, b`, `exit / c`, `invoke / d`. */
export function activityLines(state: ChartState): string[] {
  const lines: string[] = [];
  if (state.entry.length > 0) lines.push(`entry / ${state.entry.join(', ')}`);
  if (state.invoke.length > 0) lines.push(`invoke / ${state.invoke.join(', ')}`);
  if (state.exit.length > 0) lines.push(`exit / ${state.exit.join(', ')}`);
  return lines;
}

/** A chart's transitions as drawn: lines inside their source state's box, and arrows. */
export interface DrawnTransitions {
  /** Per source path, in transition order: `Event [guard] / actions`, plus ` → target` if it has one. */
  readonly inside: ReadonlyMap<string, readonly string[]>;
  readonly arrows: readonly ChartTransition[];
}

/**
 * Decides how each transition is drawn. An arrow needs two distinct boxes, so these are written
 * inside the source state instead, as UML does for internal transitions:
 * - targetless (internal) transitions, which neither exit nor enter anything;
 * - a composite state's transitions to itself or into its own substates, and any transition to
 *   an enclosing state: neither Mermaid nor Graphviz can draw an arrow between a frame and a
 *   box it contains (Mermaid drops such edges, Graphviz detaches them from the frame).
 * Those with a target say where they go (` → waiting`): unlike internal ones they exit and
 * re-enter. A simple state's transition to itself stays an arrow (a loop).
 */
export function drawnTransitions(chart: Chart): DrawnTransitions {
  const names = new Map(chartStates(chart).map((s) => [s.path, s] as const));
  const inside = new Map<string, string[]>();
  const arrows: ChartTransition[] = [];
  for (const t of chart.transitions) {
    const source = names.get(t.sourcePath);
    if (source === undefined) throw new Error(`chart '${chart.name}': unknown source ${t.sourcePath}`);
    const target = t.targetPath;
    let suffix: string | null = null;
    if (target === null) {
      suffix = '';
    } else if (!t.targetIsStub && source.children.length > 0 && isSelfOrDescendant(target, t.sourcePath)) {
      suffix = ` → ${target === t.sourcePath ? source.name : target.slice(t.sourcePath === '' ? 0 : t.sourcePath.length + 1)}`;
    } else if (!t.targetIsStub && target !== t.sourcePath && isSelfOrDescendant(t.sourcePath, target)) {
      suffix = ` → ${names.get(target)?.name ?? target}`;
    }
    if (suffix === null) {
      arrows.push(t);
      continue;
    }
    let lines = inside.get(t.sourcePath);
    if (lines === undefined) {
      lines = [];
      inside.set(t.sourcePath, lines);
    }
    lines.push(`${transitionLabel(t)}${suffix}`);
  }
  return { inside, arrows };
}

/** Whether the state at `path` is the state at `ancestor` or nested in it (`''` is the root). */
export function isSelfOrDescendant(path: string, ancestor: string): boolean {
  return ancestor === '' || path === ancestor || path.startsWith(`${ancestor}.`);
}

function walkState(node: AnyStateNode): ChartState {
  return {
    path: pathOf(node),
    name: node.parent === undefined ? node.machine.id : node.key,
    kind: node.type,
    initialPath: node.type === 'compound' && node.initial.target.length > 0 ? pathOf(node.initial.target[0]!) : null,
    entry: node.entry.filter((a: unknown) => !isDelayBookkeeping(a)).map(actionName),
    exit: node.exit.filter((a: unknown) => !isDelayBookkeeping(a)).map(actionName),
    invoke: node.invoke.map((i: { id: string; src: unknown }) => (typeof i.src === 'string' ? i.src : i.id)),
    children: Object.values(node.states).map((child) => walkState(child)),
  };
}

/** The node's own transitions in XState's order: evented and delayed ones (the map), then `always`. */
function transitionsOf(node: AnyStateNode): AnyTransition[] {
  const out: AnyTransition[] = [];
  for (const definitions of node.transitions.values()) out.push(...(definitions as AnyTransition[]));
  for (const definition of (node.always ?? []) as AnyTransition[]) out.push(definition);
  return out;
}

interface AnyTransition {
  readonly eventType: string | null;
  readonly target: readonly AnyStateNode[] | undefined;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly reenter: boolean;
}

function hasOwnBehaviour(node: AnyStateNode): boolean {
  return transitionsOf(node).length > 0 || node.entry.length > 0 || node.exit.length > 0 || node.invoke.length > 0;
}

function triggerName(owner: AnyStateNode, t: AnyTransition): string {
  const eventType = t.eventType;
  // `always` transitions carry an empty event type (XState's eventless transition).
  if (eventType === null || eventType === '') return 'always';
  if (eventType.startsWith(AFTER_PREFIX)) {
    const delayed = owner.after.find((d: { eventType: string }) => d.eventType === eventType);
    const delay: unknown = delayed?.delay ?? afterDelayFromEventType(eventType, owner.id);
    return `after ${typeof delay === 'number' ? `${delay}ms` : String(delay)}`;
  }
  if (eventType.startsWith(DONE_STATE_PREFIX)) return `done(${eventType.slice(DONE_STATE_PREFIX.length)})`;
  if (eventType.startsWith(DONE_ACTOR_PREFIX)) return `done(${eventType.slice(DONE_ACTOR_PREFIX.length)})`;
  if (eventType.startsWith(ERROR_ACTOR_PREFIX)) return `error(${eventType.slice(ERROR_ACTOR_PREFIX.length)})`;
  return eventType;
}

/** `xstate.after.<delay>.<stateId>`: the delay name sits between the prefix and the state id. */
function afterDelayFromEventType(eventType: string, stateId: string): string {
  const rest = eventType.slice(AFTER_PREFIX.length);
  return rest.endsWith(`.${stateId}`) ? rest.slice(0, rest.length - stateId.length - 1) : rest;
}

/** XState adds a raise (entry) and a cancel (exit) per `after` delay: plumbing, not behaviour. */
function isDelayBookkeeping(action: unknown): boolean {
  if (typeof action !== 'function' && (typeof action !== 'object' || action === null)) return false;
  const a = action as { type?: unknown; id?: unknown; sendId?: unknown };
  if (a.type === 'xstate.raise') return typeof a.id === 'string' && a.id.startsWith(AFTER_PREFIX);
  if (a.type === 'xstate.cancel') return typeof a.sendId === 'string' && a.sendId.startsWith(AFTER_PREFIX);
  return false;
}

/** A guard as written: a name, or a higher-order guard spelled out (`and(a, not(b))`). */
export function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const g = guard as { name: string; guards?: unknown; stateValue?: unknown };
    if (HIGHER_ORDER_GUARDS.has(g.name) && Array.isArray(g.guards)) return `${g.name}(${g.guards.map(guardName).join(', ')})`;
    if (g.stateValue !== undefined) return `in(${typeof g.stateValue === 'string' ? g.stateValue : JSON.stringify(g.stateValue)})`;
    return UNINFORMATIVE_FUNCTION_NAMES.has(g.name) ? 'inline' : g.name;
  }
  if (typeof guard === 'object' && guard !== null && typeof (guard as { type?: unknown }).type === 'string') {
    return (guard as { type: string }).type;
  }
  return 'inline';
}

/** An action as written: its name, or for XState's built-ins (`assign(...)` inline) the built-in's name. */
export function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if ((typeof action === 'object' || typeof action === 'function') && action !== null) {
    const type = (action as { type?: unknown }).type;
    if (typeof type === 'string') return type.startsWith(BUILTIN_PREFIX) ? type.slice(BUILTIN_PREFIX.length) : type;
  }
  if (typeof action === 'function' && !UNINFORMATIVE_FUNCTION_NAMES.has(action.name)) return action.name;
  return 'inline';
}

function pathOf(node: AnyStateNode): string {
  return node.path.join('.');
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((key, i) => path[i] === key);
}
