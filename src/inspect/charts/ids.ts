/**
 * Short, unique, syntax-safe node ids for a chart, shared by the Mermaid and DOT renderers so the
 * two texts name states alike.
 */
import type { Chart } from './model.js';
import { chartStates } from './model.js';

/** Key of a state in the id map. */
export function stateKey(path: string): string {
  return `state:${path}`;
}

/** Key of a stub in the id map. */
export function stubKey(path: string): string {
  return `stub:${path}`;
}

/**
 * Words Mermaid's state-diagram lexer reads as keywords at the start of a token (`default` even
 * as a prefix): an id that starts with one gets a prefix instead of breaking the parse.
 */
const RESERVED_ID = /^(default|state$|note$|class$|classdef$|scale$|direction$|hide$|end$|acctitle$|accdescr$|statediagram)/i;

/**
 * Assigns ids in document order: a state's own name when no other node in the chart shares it
 * (what a reader expects), else its path with `_` separators, then a numeric suffix if that still
 * collides. Ids use only `[A-Za-z0-9_]`.
 */
export function assignIds(chart: Chart): Map<string, string> {
  const nodes: { key: string; name: string; path: string }[] = [];
  for (const state of chartStates(chart)) nodes.push({ key: stateKey(state.path), name: state.name, path: state.path || state.name });
  for (const stub of chart.stubs) nodes.push({ key: stubKey(stub.path), name: stub.name, path: stub.path || stub.name });

  const nameCounts = new Map<string, number>();
  for (const n of nodes) nameCounts.set(sanitize(n.name), (nameCounts.get(sanitize(n.name)) ?? 0) + 1);

  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const n of nodes) {
    const preferred = sanitize(n.name);
    let id = nameCounts.get(preferred) === 1 ? preferred : sanitize(n.path);
    for (let suffix = 2; taken.has(id); suffix++) id = `${sanitize(n.path)}_${suffix}`;
    taken.add(id);
    ids.set(n.key, id);
  }
  return ids;
}

function sanitize(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_]/g, '_') || 's';
  return RESERVED_ID.test(id) ? `s_${id}` : id;
}
