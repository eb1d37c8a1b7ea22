/**
 * A coordination-service scenario: the consensus simulator's fault vocabulary (FaultEvent,
 * NetworkFaults) plus what the service layer needs (tick, session timeouts). Plain data, so it can
 * be printed, replayed and shrunk; `randomZkScenario` derives one from a seed, `zkScenarioArbitrary`
 * lets fast-check generate and shrink explicit fault schedules.
 */
import fc from 'fast-check';
import type { NetworkFaults } from '../../bus/memory.js';
import type { NodeId } from '../../protocol/ids.js';
import { SeededRandom } from '../../protocol/random.js';
import { range } from '../scenario.js';
import type { FaultEvent, FaultKind } from '../scenario.js';

/** ZooKeeper's tickTime in the simulator: session timeouts negotiate into [2, 20] ticks. */
export const SIM_TICK_MS = 100;
/** Session timeout the simulated clients ask for unless a test says otherwise. */
export const SIM_SESSION_TIMEOUT_MS = 1200;
/** Virtual time one fsync takes. */
export const SIM_FSYNC_MS = 1;
/** Default length of the faulty phase: faults happen in [0, healAtMs). */
export const SIM_HEAL_AT_MS = 3000;

export interface ZkScenario {
  /** Voters (every server is one). */
  readonly nodes: number;
  /** Seed of everything random in the run: network, election jitter, session passwords, clients. */
  readonly seed: number;
  /** Drop, duplicate and delay rates of the faulty phase (drops and duplicates stop at the heal). */
  readonly network: NetworkFaults;
  /** Crashes, restarts, disk losses, partitions and partial heals, in time order, before `healAtMs`. */
  readonly faults: readonly FaultEvent[];
  /** At this time every partition heals, every crashed node restarts and messages stop being lost. */
  readonly healAtMs: number;
  readonly tickMs: number;
  readonly fsyncMs: number;
  /** Servers snapshot every this many applied commands and compact their logs; absent: never. */
  readonly snapshotEveryCommands?: number;
}

/** Options of {@link randomZkScenario}. */
export interface ZkScenarioOptions {
  readonly nodes?: number;
  /** Fault kinds to draw from (default crash, partition, drop, duplicate, delay). */
  readonly faults?: readonly FaultKind[];
  readonly healAtMs?: number;
  /** Allow one disk loss (a wipe) per run, only while a majority stays up. */
  readonly wipe?: boolean;
  readonly tickMs?: number;
  /** Force snapshots on (every N commands) or off (0); default: drawn from the seed. */
  readonly snapshotEveryCommands?: number;
}

/** The smallest gap between two scheduled faults, and the largest. */
const MIN_FAULT_GAP_MS = 40;
const MAX_FAULT_GAP_MS = 400;

/** A fault-free scenario: a reliable network, nothing crashes. */
export function calmZkScenario(seed: number, nodes = 3, healAtMs = 0): ZkScenario {
  return {
    nodes,
    seed,
    network: { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 3 },
    faults: [],
    healAtMs,
    tickMs: SIM_TICK_MS,
    fsyncMs: SIM_FSYNC_MS,
  };
}

/** A randomized scenario, a pure function of `seed` and the options. */
export function randomZkScenario(seed: number, options: ZkScenarioOptions = {}): ZkScenario {
  const random = new SeededRandom(seed);
  const kinds = new Set(options.faults ?? ['crash', 'partition', 'drop', 'duplicate', 'delay']);
  const nodes = options.nodes ?? random.int(3, 5);
  const healAtMs = options.healAtMs ?? SIM_HEAL_AT_MS;
  const faults: FaultEvent[] = [];
  const down = new Set<NodeId>();
  let wipes = options.wipe === true ? 1 : 0;
  for (let t = random.int(200, 600); t < healAtMs - MIN_FAULT_GAP_MS; t += random.int(MIN_FAULT_GAP_MS, MAX_FAULT_GAP_MS)) {
    const choices: (() => FaultEvent | null)[] = [];
    if (kinds.has('crash')) {
      choices.push(() => {
        const up = range(nodes).filter((n) => !down.has(n));
        if (up.length === 0) return null;
        const node = random.pick(up);
        down.add(node);
        // A disk loss only while a majority keeps the data.
        if (wipes > 0 && nodes - down.size >= Math.floor(nodes / 2) + 1 && random.chance(0.3)) {
          wipes--;
          return { atMs: t, kind: 'wipe', node };
        }
        return { atMs: t, kind: 'crash', node };
      });
      choices.push(() => {
        if (down.size === 0) return null;
        const node = random.pick([...down]);
        down.delete(node);
        return { atMs: t, kind: 'restart', node };
      });
    }
    if (kinds.has('partition')) {
      choices.push(() => ({ atMs: t, kind: 'partition', groups: randomSplit(random, nodes) }));
      choices.push(() => ({ atMs: t, kind: 'heal' }));
    }
    if (choices.length === 0) break;
    const event = random.pick(choices)();
    if (event !== null) {
      // A wiped node starts again at once (empty); keep it counted as up.
      if (event.kind === 'wipe') down.delete(event.node);
      faults.push(event);
    }
  }
  const network = {
    dropRate: kinds.has('drop') ? random.next() * 0.08 : 0,
    duplicateRate: kinds.has('duplicate') ? random.next() * 0.05 : 0,
    minDelayMs: 1,
    maxDelayMs: kinds.has('delay') ? 2 + random.int(0, 25) : 3,
  };
  // Drawn last, so the rest of a seed's scenario is what it was before snapshots existed.
  const snapshotEveryCommands = options.snapshotEveryCommands ?? (random.chance(0.5) ? random.int(5, 40) : 0);
  return {
    nodes,
    seed,
    network,
    faults,
    healAtMs,
    tickMs: options.tickMs ?? SIM_TICK_MS,
    fsyncMs: SIM_FSYNC_MS,
    ...(snapshotEveryCommands > 0 ? { snapshotEveryCommands } : {}),
  };
}

/** Two non-empty sides: often one node alone, otherwise a random cut. */
function randomSplit(random: SeededRandom, nodes: number): NodeId[][] {
  const isolate = (): NodeId[][] => {
    const lone = random.int(1, nodes);
    return [[lone], range(nodes).filter((n) => n !== lone)];
  };
  if (random.chance(0.4)) return isolate();
  const groups: NodeId[][] = [[], []];
  for (const n of range(nodes)) groups[random.int(0, 1)]!.push(n);
  return groups.every((g) => g.length > 0) ? groups : isolate();
}

/** Options of {@link zkScenarioArbitrary}. */
export interface ZkScenarioArbitraryOptions {
  readonly minNodes?: number;
  readonly maxNodes?: number;
  readonly maxFaults?: number;
  readonly healAtMs?: number;
}

/**
 * Scenarios with explicit fault schedules, for fast-check to generate and shrink: 3..5 nodes by
 * default, crashes, restarts, two-sided partitions and heals at any time before the heal, a lossy
 * network. No disk losses (the consensus suite covers those).
 */
export function zkScenarioArbitrary(options: ZkScenarioArbitraryOptions = {}): fc.Arbitrary<ZkScenario> {
  const healAtMs = options.healAtMs ?? SIM_HEAL_AT_MS;
  const maxNodes = options.maxNodes ?? 5;
  const atMs = fc.integer({ min: 0, max: healAtMs - 1 });
  const node = fc.integer({ min: 1, max: maxNodes });
  const rawFault = fc.oneof(
    fc.record({ atMs, kind: fc.constant('crash' as const), node }),
    fc.record({ atMs, kind: fc.constant('restart' as const), node }),
    fc.record({ atMs, kind: fc.constant('partition' as const), sides: fc.array(fc.boolean(), { minLength: maxNodes, maxLength: maxNodes }) }),
    fc.record({ atMs, kind: fc.constant('heal' as const) }),
  );
  return fc
    .record({
      nodes: fc.integer({ min: options.minNodes ?? 3, max: maxNodes }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      faults: fc.array(rawFault, { maxLength: options.maxFaults ?? 12 }),
      dropRate: fc.double({ min: 0, max: 0.1, noNaN: true }),
      duplicateRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
      maxDelayMs: fc.integer({ min: 1, max: 30 }),
      snapshotEveryCommands: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 40 })),
    })
    .map((r): ZkScenario => {
      const faults: FaultEvent[] = [];
      for (const raw of [...r.faults].sort((x, y) => x.atMs - y.atMs)) {
        if (raw.kind === 'partition') {
          const a = range(r.nodes).filter((n) => raw.sides[n - 1]);
          const b = range(r.nodes).filter((n) => !raw.sides[n - 1]);
          if (a.length > 0 && b.length > 0) faults.push({ atMs: raw.atMs, kind: 'partition', groups: [a, b] });
        } else if (raw.kind === 'heal') {
          faults.push({ atMs: raw.atMs, kind: 'heal' });
        } else if (raw.node <= r.nodes) {
          faults.push({ atMs: raw.atMs, kind: raw.kind, node: raw.node });
        }
      }
      return {
        nodes: r.nodes,
        seed: r.seed,
        network: { dropRate: r.dropRate, duplicateRate: r.duplicateRate, minDelayMs: 1, maxDelayMs: Math.max(1, r.maxDelayMs) },
        faults,
        healAtMs,
        tickMs: SIM_TICK_MS,
        fsyncMs: SIM_FSYNC_MS,
        ...(r.snapshotEveryCommands > 0 ? { snapshotEveryCommands: r.snapshotEveryCommands } : {}),
      };
    });
}

/** One line that identifies a scenario in a failure message. */
export function describeZkScenario(s: ZkScenario): string {
  const faults = s.faults
    .map((f) => {
      const at = Math.round(f.atMs);
      switch (f.kind) {
        case 'partition':
          return `${at}:partition ${f.groups.map((g) => g.join(',')).join('|')}`;
        case 'heal':
          return `${at}:heal`;
        default:
          return `${at}:${f.kind} n${f.node}`;
      }
    })
    .join(' ');
  const n = s.network;
  return `nodes=${s.nodes} seed=${s.seed} drop=${n.dropRate.toFixed(3)} dup=${n.duplicateRate.toFixed(3)} delay=${n.minDelayMs}..${n.maxDelayMs}ms heal@${s.healAtMs} faults=[${faults}]`;
}
