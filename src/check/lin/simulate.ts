/**
 * Generates linearizable znode histories for tests and benchmarks of the checker: concurrent
 * clients issue operations with random, overlapping call/return intervals against an atomic
 * reference store; each operation takes effect at a random instant inside its interval, so the
 * order of those instants is a linearization and the history is linearizable by construction.
 */

import type { Operation } from './history.js';
import { ANY_VERSION, applyZnode, type ZnodeInput, type ZnodeOutput, type ZnodeState } from './znode-model.js';

/** Options of {@link simulateHistory}. */
export interface SimulateHistoryOptions {
  /** Number of operations in the history. */
  readonly operations: number;
  readonly clients: number;
  /** Number of distinct znode paths (`/p0`, `/p1`, …). */
  readonly paths: number;
  /** Seed of the generator: the same options give the same history. */
  readonly seed: number;
  /**
   * Fraction of operations whose reply is lost (`return = Infinity`); half of them take effect
   * anyway. Default 0.
   */
  readonly pendingRate?: number;
  /** Longest call-to-return interval, in ticks. Default {@link DEFAULT_MAX_DURATION_TICKS}. */
  readonly maxDurationTicks?: number;
  /** Longest pause of a client between a return and its next call. Default {@link DEFAULT_MAX_THINK_TICKS}. */
  readonly maxThinkTicks?: number;
}

export const DEFAULT_MAX_DURATION_TICKS = 40;
export const DEFAULT_MAX_THINK_TICKS = 10;

/** A small seeded PRNG (mulberry32): deterministic histories without a global random source. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  readonly clientId: number;
  readonly call: number;
  readonly return: number;
  /** Instant at which the operation takes effect; Infinity if it never does. */
  readonly effectAt: number;
  readonly path: string;
}

/**
 * A linearizable history of znode operations (create, delete, setData with and without a
 * version, getData, exists), sorted by call time. Inputs are chosen when the operation takes
 * effect, looking at the store, so conditional writes succeed often enough to be interesting.
 */
export function simulateHistory(options: SimulateHistoryOptions): Operation<ZnodeInput, ZnodeOutput | undefined>[] {
  const random = createRandom(options.seed);
  const below = (n: number): number => Math.floor(random() * n);
  const pendingRate = options.pendingRate ?? 0;
  const maxDurationTicks = options.maxDurationTicks ?? DEFAULT_MAX_DURATION_TICKS;
  const maxThinkTicks = options.maxThinkTicks ?? DEFAULT_MAX_THINK_TICKS;
  if (options.clients < 1 || options.paths < 1) throw new RangeError('simulateHistory needs clients and paths');

  // Interval plan: the client that is free earliest issues the next operation.
  const freeAt = new Array<number>(options.clients).fill(0);
  const planned: Planned[] = [];
  for (let i = 0; i < options.operations; i++) {
    let clientId = 0;
    for (let c = 1; c < options.clients; c++) if (freeAt[c]! < freeAt[clientId]!) clientId = c;
    const call = freeAt[clientId]! + below(maxThinkTicks + 1);
    const duration = 1 + below(maxDurationTicks);
    const pending = random() < pendingRate;
    const effectAt = pending && random() < 0.5 ? Infinity : call + random() * duration;
    planned.push({
      clientId,
      call,
      return: pending ? Infinity : call + duration,
      effectAt,
      path: `/p${below(options.paths)}`,
    });
    freeAt[clientId] = call + duration;
  }

  // Apply in effect order to the atomic reference store.
  const store = new Map<string, ZnodeState>();
  const order = planned.map((_, index) => index).sort((a, b) => planned[a]!.effectAt - planned[b]!.effectAt || a - b);
  const ops = new Array<Operation<ZnodeInput, ZnodeOutput | undefined>>(planned.length);
  for (const index of order) {
    const plan = planned[index]!;
    const state = store.get(plan.path) ?? null;
    const input = chooseInput(plan.path, state, `c${plan.clientId}#${index}`, below);
    let output: ZnodeOutput | undefined;
    if (plan.effectAt !== Infinity) {
      const [reply, next] = applyZnode(state, input);
      store.set(plan.path, next);
      if (plan.return !== Infinity) output = reply;
    }
    ops[index] = { clientId: plan.clientId, input, call: plan.call, output, return: plan.return };
  }
  return ops.sort((a, b) => a.call - b.call);
}

function chooseInput(path: string, state: ZnodeState, data: string, below: (n: number) => number): ZnodeInput {
  const version = (): number => {
    const roll = below(10);
    if (roll < 4) return ANY_VERSION;
    if (roll < 8 && state !== null) return state.version;
    return below(4);
  };
  const roll = below(100);
  if (roll < 15) return { op: 'create', path, data };
  if (roll < 25) return { op: 'delete', path, version: version() };
  if (roll < 60) return { op: 'setData', path, data, version: version() };
  if (roll < 85) return { op: 'getData', path };
  return { op: 'exists', path };
}
