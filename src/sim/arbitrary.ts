/** fast-check arbitraries for simulator scenarios, so property tests shrink fault schedules. */
import fc from 'fast-check';
import type { FaultEvent, Scenario } from './scenario.js';
import { range } from './scenario.js';

export interface ScenarioArbitraryOptions {
  readonly minNodes?: number;
  readonly maxNodes?: number;
  readonly sabotage?: boolean;
  readonly maxFaults?: number;
}

const HEAL_AT_MS = 2500;

const rawFault = fc.oneof(
  fc.record({ atMs: fc.integer({ min: 0, max: HEAL_AT_MS - 1 }), kind: fc.constant('crash' as const), node: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ atMs: fc.integer({ min: 0, max: HEAL_AT_MS - 1 }), kind: fc.constant('restart' as const), node: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ atMs: fc.integer({ min: 0, max: HEAL_AT_MS - 1 }), kind: fc.constant('wipe' as const), node: fc.integer({ min: 1, max: 7 }) }),
  fc.record({
    atMs: fc.integer({ min: 0, max: HEAL_AT_MS - 1 }),
    kind: fc.constant('partition' as const),
    sides: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
  }),
  fc.record({ atMs: fc.integer({ min: 0, max: HEAL_AT_MS - 1 }), kind: fc.constant('heal' as const) }),
);

type RawFault = typeof rawFault extends fc.Arbitrary<infer T> ? T : never;

function toFault(raw: RawFault, nodes: number): FaultEvent | null {
  switch (raw.kind) {
    case 'crash':
    case 'restart':
    case 'wipe':
      return raw.node <= nodes ? { atMs: raw.atMs, kind: raw.kind, node: raw.node } : null;
    case 'partition': {
      const ids = range(nodes);
      const a = ids.filter((n) => raw.sides[n - 1]);
      const b = ids.filter((n) => !raw.sides[n - 1]);
      return a.length > 0 && b.length > 0 ? { atMs: raw.atMs, kind: 'partition', groups: [a, b] } : null;
    }
    case 'heal':
      return { atMs: raw.atMs, kind: 'heal' };
  }
}

/**
 * Scenarios with 1..7 nodes, any fault schedule, a lossy network and client load. At most one
 * disk loss per run, and only with three or more voters: losing more disks than that can lose
 * acknowledged data in any replicated system, so it is not a property to check.
 */
export function scenarioArbitrary(options: ScenarioArbitraryOptions = {}): fc.Arbitrary<Scenario> {
  return fc
    .record({
      nodes: fc.integer({ min: options.minNodes ?? 1, max: options.maxNodes ?? 7 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      faults: fc.array(rawFault, { maxLength: options.maxFaults ?? 16 }),
      dropRate: fc.double({ min: 0, max: 0.15, noNaN: true }),
      duplicateRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
      maxDelayMs: fc.integer({ min: 1, max: 40 }),
      commands: fc.integer({ min: 1, max: 200 }),
      clients: fc.integer({ min: 1, max: 4 }),
      // 0: no snapshots; otherwise nodes snapshot and compact every so many commands.
      snapshotEveryCommands: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 40 })),
    })
    .map((r): Scenario => {
      let wipes = 0;
      const faults: FaultEvent[] = [];
      for (const raw of [...r.faults].sort((x, y) => x.atMs - y.atMs)) {
        const f = toFault(raw, r.nodes);
        if (f === null) continue;
        if (f.kind === 'wipe' && (r.nodes < 3 || wipes++ > 0)) continue;
        faults.push(f);
      }
      return {
        nodes: r.nodes,
        seed: r.seed,
        network: { dropRate: r.dropRate, duplicateRate: r.duplicateRate, minDelayMs: 1, maxDelayMs: r.maxDelayMs },
        faults,
        clients: r.clients,
        commands: r.commands,
        loadMs: 2000,
        healAtMs: HEAL_AT_MS,
        leaderBoundMs: 3000,
        commitBoundMs: 6000,
        fsyncMs: 1,
        sabotage: options.sabotage ?? false,
        ...(r.snapshotEveryCommands > 0 ? { snapshotEveryCommands: r.snapshotEveryCommands } : {}),
      };
    });
}
