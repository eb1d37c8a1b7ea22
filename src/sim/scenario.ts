/**
 * A scenario is everything a simulated run depends on, as plain data: cluster size, the seed of
 * network randomness and election jitter, the fault schedule and the client load. Being data, it
 * can be written to a file, replayed, and shrunk.
 */
import type { NetworkFaults } from '../bus/memory.js';
import type { NodeId } from '../protocol/ids.js';
import { SeededRandom } from '../protocol/random.js';

export type FaultEvent =
  | { readonly atMs: number; readonly kind: 'crash'; readonly node: NodeId }
  | { readonly atMs: number; readonly kind: 'restart'; readonly node: NodeId }
  /** A node that lost its disk: crashed, wiped, then started empty. */
  | { readonly atMs: number; readonly kind: 'wipe'; readonly node: NodeId }
  | { readonly atMs: number; readonly kind: 'partition'; readonly groups: readonly (readonly NodeId[])[] }
  | { readonly atMs: number; readonly kind: 'heal' };

export type FaultKind = 'crash' | 'partition' | 'drop' | 'duplicate' | 'delay';
export const ALL_FAULT_KINDS: readonly FaultKind[] = ['crash', 'partition', 'drop', 'duplicate', 'delay'];

export interface Scenario {
  readonly nodes: number;
  readonly seed: number;
  readonly network: NetworkFaults;
  readonly faults: readonly FaultEvent[];
  readonly clients: number;
  readonly commands: number;
  /** Commands are submitted at random times in [0, loadMs). */
  readonly loadMs: number;
  /** At this time the network heals, every crashed node restarts and drops stop. */
  readonly healAtMs: number;
  /** How long after the heal a leader must exist, and every pending command be committed. */
  readonly leaderBoundMs: number;
  readonly commitBoundMs: number;
  /** Virtual time one fsync takes. */
  readonly fsyncMs: number;
  /** Let two nodes lead at once (double votes, no check-quorum): agreement must still hold. */
  readonly sabotage: boolean;
  /**
   * Nodes snapshot after this many applied commands and compact their logs, so learners behind
   * the compaction point catch up by snapshot transfer. Absent: no snapshots.
   */
  readonly snapshotEveryCommands?: number;
}

export interface ScenarioOptions {
  nodes?: number;
  faults?: readonly FaultKind[];
  commands?: number;
  clients?: number;
  sabotage?: boolean;
  /** Force snapshots on (every N commands) or off (0); default: drawn from the seed. */
  snapshotEveryCommands?: number;
}

/** A randomized scenario, a pure function of `seed` and the options. */
export function randomScenario(seed: number, options: ScenarioOptions = {}): Scenario {
  const random = new SeededRandom(seed);
  const kinds = new Set(options.faults ?? ALL_FAULT_KINDS);
  const nodes = options.nodes ?? random.int(1, 7);
  const loadMs = 2000;
  const healAtMs = 2500;
  const faults: FaultEvent[] = [];
  const down = new Set<NodeId>();
  let t = random.int(50, 400);
  while (t < healAtMs - 100) {
    const options: (() => FaultEvent | null)[] = [];
    if (kinds.has('crash')) {
      options.push(() => {
        const up = range(nodes).filter((n) => !down.has(n));
        if (up.length === 0) return null;
        const node = random.pick(up);
        down.add(node);
        return random.chance(0.15) ? { atMs: t, kind: 'wipe', node } : { atMs: t, kind: 'crash', node };
      });
      options.push(() => {
        if (down.size === 0) return null;
        const node = random.pick([...down]);
        down.delete(node);
        return { atMs: t, kind: 'restart', node };
      });
    }
    if (kinds.has('partition') && nodes > 1) {
      options.push(() => ({ atMs: t, kind: 'partition', groups: randomSplit(random, nodes) }));
      options.push(() => ({ atMs: t, kind: 'heal' }));
    }
    if (options.length === 0) break;
    const event = random.pick(options)();
    if (event !== null) {
      // A wipe must not take the last copy of anything: wipe only with a majority still up.
      if (event.kind === 'wipe' && nodes - down.size < Math.floor(nodes / 2) + 1) {
        faults.push({ atMs: t, kind: 'crash', node: event.node });
      } else {
        faults.push(event);
      }
    }
    t += random.int(30, 300);
  }
  const network: NetworkFaults = {
    dropRate: kinds.has('drop') ? random.next() * 0.1 : 0,
    duplicateRate: kinds.has('duplicate') ? random.next() * 0.05 : 0,
    minDelayMs: 1,
    maxDelayMs: kinds.has('delay') ? 2 + random.int(0, 30) : 3,
  };
  // Drawn last, so the rest of a seed's scenario is what it was before snapshots existed.
  const snapshotEveryCommands = options.snapshotEveryCommands ?? (random.chance(0.5) ? random.int(5, 40) : 0);
  return {
    nodes,
    seed,
    network,
    faults,
    clients: options.clients ?? 3,
    commands: options.commands ?? 200,
    loadMs,
    healAtMs,
    leaderBoundMs: 3000,
    commitBoundMs: 6000,
    fsyncMs: 1,
    sabotage: options.sabotage ?? false,
    ...(snapshotEveryCommands > 0 ? { snapshotEveryCommands } : {}),
  };
}

export function range(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

function randomSplit(random: SeededRandom, nodes: number): NodeId[][] {
  const groups: NodeId[][] = [[], []];
  for (const n of range(nodes)) groups[random.int(0, 1)]!.push(n);
  if (random.chance(0.3)) {
    // isolate one node completely from the others
    const lone = random.int(1, nodes);
    return [[lone], range(nodes).filter((n) => n !== lone)];
  }
  return groups.filter((g) => g.length > 0);
}
