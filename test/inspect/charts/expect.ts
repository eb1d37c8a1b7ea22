/**
 * Test helpers written independently of src/inspect/charts: a reading of Mermaid state-diagram
 * text back into a tree, and a walk of an XState machine into the states and transitions a chart
 * of it must show. The tests compare the two.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** One node of a parsed Mermaid state diagram. */
export interface ParsedState {
  readonly id: string;
  /** The shown name: the quoted name of `state "name" as id`, else the id. */
  name: string;
  /** Ids of enclosing composites, outermost first. */
  readonly parents: readonly string[];
  composite: boolean;
  /** Description lines and note lines attached to it, unescaped. */
  readonly lines: string[];
  initial: string | null;
  final: boolean;
  /** For a composite: how many `--` region dividers it holds. */
  dividers: number;
}

export interface ParsedEdge {
  readonly from: string;
  readonly to: string;
  /** One label per transition (`<br/>` separated in the text), unescaped. */
  readonly labels: readonly string[];
}

export interface ParsedDiagram {
  readonly states: Map<string, ParsedState>;
  readonly edges: ParsedEdge[];
  /** Top-level `[*] --> id`, if any. */
  readonly topInitial: string | null;
  readonly classes: Map<string, string>;
}

/** Mermaid entity codes (`#58;`) back to characters. */
export function unescapeMermaid(text: string): string {
  return text.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)));
}

/** Parses the subset of `stateDiagram-v2` the chart export writes; throws on any other line. */
export function parseMermaid(text: string): ParsedDiagram {
  const lines = text.split('\n');
  if (lines[0] !== 'stateDiagram-v2') throw new Error(`first line is ${lines[0]}`);
  const states = new Map<string, ParsedState>();
  const edges: ParsedEdge[] = [];
  const classes = new Map<string, string>();
  const stack: string[] = [];
  let topInitial: string | null = null;
  const touch = (id: string): ParsedState => {
    let s = states.get(id);
    if (s === undefined) {
      s = { id, name: id, parents: [...stack], composite: false, lines: [], initial: null, final: false, dividers: 0 };
      states.set(id, s);
    }
    return s;
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    let m: RegExpMatchArray | null;
    if (line === '' || line.startsWith('%%')) continue;
    if ((m = line.match(/^state "([^"]*)" as (\w+) \{$/)) || (m = line.match(/^state (\w+) \{$/))) {
      const [name, id] = m.length === 3 ? [m[1]!, m[2]!] : [m[1]!, m[1]!];
      const s = touch(id);
      s.name = unescapeMermaid(name);
      s.composite = true;
      stack.push(id);
    } else if (line === '}') {
      if (stack.pop() === undefined) throw new Error(`line ${i + 1}: unbalanced }`);
    } else if (line === '--') {
      const top = stack.at(-1);
      if (top === undefined) throw new Error(`line ${i + 1}: divider outside a composite`);
      states.get(top)!.dividers++;
    } else if ((m = line.match(/^state "([^"]*)" as (\w+)$/))) {
      touch(m[2]!).name = unescapeMermaid(m[1]!);
    } else if ((m = line.match(/^note right of (\w+)$/))) {
      const s = states.get(m[1]!);
      if (s === undefined) throw new Error(`line ${i + 1}: note on undeclared ${m[1]}`);
      for (i++; i < lines.length && lines[i]!.trim() !== 'end note'; i++) s.lines.push(unescapeMermaid(lines[i]!.trim()));
    } else if ((m = line.match(/^\[\*\] --> (\w+)$/))) {
      const top = stack.at(-1);
      if (top === undefined) topInitial = m[1]!;
      else states.get(top)!.initial = m[1]!;
    } else if ((m = line.match(/^(\w+) --> \[\*\]$/))) {
      touch(m[1]!).final = true;
    } else if ((m = line.match(/^(\w+) --> (\w+) : (.+)$/))) {
      if (stack.length > 0) throw new Error(`line ${i + 1}: transitions must come after all declarations`);
      if (!states.has(m[1]!) || !states.has(m[2]!)) throw new Error(`line ${i + 1}: edge between undeclared states`);
      edges.push({ from: m[1]!, to: m[2]!, labels: m[3]!.split('<br/>').map(unescapeMermaid) });
    } else if ((m = line.match(/^(\w+) : (.+)$/))) {
      touch(m[1]!).lines.push(unescapeMermaid(m[2]!));
    } else if ((m = line.match(/^class ([\w,]+) (\w+)$/))) {
      for (const id of m[1]!.split(',')) classes.set(id, m[2]!);
    } else if (line.startsWith('classDef ')) {
      continue;
    } else if ((m = line.match(/^(\w+)$/))) {
      touch(m[1]!);
    } else {
      throw new Error(`line ${i + 1}: unexpected ${JSON.stringify(line)}`);
    }
  }
  if (stack.length !== 0) throw new Error('unclosed composite');
  return { states, edges, topInitial, classes };
}

/** The path of a parsed state: names of its enclosing composites and its own, dot-joined. */
export function parsedPath(diagram: ParsedDiagram, id: string): string {
  const s = diagram.states.get(id);
  if (s === undefined) throw new Error(`no state ${id}`);
  return [...s.parents.map((p) => diagram.states.get(p)!.name), s.name].join('.');
}

/** A transition as a chart of `machine` must show it, computed straight from the machine. */
export interface ExpectedTransition {
  /** Path of the state it is drawn from (relative to the machine root). */
  readonly source: string;
  /** Path of its target, or null when targetless. */
  readonly target: string | null;
  readonly label: string;
}

/** The subtree a chart shows: every state path (machine-relative) and every transition. */
export function expectedChart(machine: AnyStateMachine, statePath = ''): { states: string[]; transitions: ExpectedTransition[] } {
  let node: AnyStateNode = machine.root;
  for (const key of statePath === '' ? [] : statePath.split('.')) node = node.states[key]!;
  const states: string[] = [];
  const transitions: ExpectedTransition[] = [];
  const own = (n: AnyStateNode, drawnFrom: string): void => {
    const all = [...[...n.transitions.values()].flat(), ...(n.always ?? [])];
    for (const t of all) {
      const label = expectedLabel(n, t.eventType, t.guard, t.actions);
      const targets: readonly AnyStateNode[] = t.target ?? [];
      if (targets.length === 0) transitions.push({ source: drawnFrom, target: null, label });
      for (const target of targets) transitions.push({ source: drawnFrom, target: target.path.join('.'), label });
    }
  };
  const visit = (n: AnyStateNode): void => {
    states.push(n.path.join('.'));
    own(n, n.path.join('.'));
    for (const child of Object.values(n.states)) visit(child);
  };
  visit(node);
  for (let a = node.parent; a !== undefined; a = a.parent) own(a, node.path.join('.'));
  return { states, transitions };
}

function expectedLabel(n: AnyStateNode, eventType: string, guard: unknown, actions: readonly unknown[]): string {
  let trigger = eventType;
  if (eventType === '') trigger = 'always';
  else if (eventType.startsWith('xstate.after.')) {
    const delay = eventType.slice('xstate.after.'.length, eventType.length - n.id.length - 1);
    trigger = /^\d+$/.test(delay) ? `after ${delay}ms` : `after ${delay}`;
  }
  const g = guard === undefined ? '' : ` [${guardText(guard)}]`;
  const names = actions.map((a) => (typeof a === 'string' ? a : (a as { type: string }).type.replace(/^xstate\./, '')));
  return `${trigger}${g}${names.length === 0 ? '' : ` / ${names.join(', ')}`}`;
}

/** Named guards by name; XState's and/or/not spelled as calls. */
function guardText(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  const g = guard as { name?: string; type?: string; guards?: unknown[] };
  if (typeof guard === 'function' && g.guards !== undefined) return `${g.name}(${g.guards.map(guardText).join(', ')})`;
  return g.type ?? 'inline';
}
