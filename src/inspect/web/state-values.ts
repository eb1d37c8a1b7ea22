/**
 * What the inspector reads of an actor's snapshot, shared by the simulation probe and the live
 * recorder (kept apart from charts.ts, so a node's recorder does not load the chart renderer).
 */
export interface AnySnapshot {
  readonly value: unknown;
  readonly status: string;
  readonly context?: unknown;
}

/** A state value as a string that changes exactly when the value does. */
export function valueKey(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
