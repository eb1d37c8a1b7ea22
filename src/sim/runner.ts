/**
 * Running scenarios and judging them: one run, many randomized runs, shrinking a failing scenario
 * to a small one that still fails, and trace files that `statekeeper replay` reproduces.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkRun, invariantsFor } from '../check/invariants.js';
import type { Invariant, Violation } from '../check/invariants.js';
import type { MachineSet } from '../node/machines.js';
import { SimCluster } from './cluster.js';
import type { RunRecord } from './record.js';
import { randomScenario } from './scenario.js';
import type { FaultKind, Scenario } from './scenario.js';
import { findMutant, mutantRunOptions, SABOTAGED_MACHINES } from './mutants.js';
import type { EntryLogFactory } from './log-application.js';
import type { TraceEvent } from './trace.js';

export interface RunOptions {
  /** The machines to run (default: the real ones; the sabotaged election when the scenario asks). */
  readonly machines?: MachineSet;
  /** The replicated application (default: the simulator's entry log; mutants replace it). */
  readonly application?: EntryLogFactory;
  /** Invariants to check (default: every built-in one that applies to the run). */
  readonly invariants?: Readonly<Record<string, Invariant>>;
  readonly trace?: boolean;
}

export interface RunResult {
  readonly scenario: Scenario;
  readonly record: RunRecord;
  readonly violation: Violation | null;
  readonly trace: TraceEvent[] | undefined;
  /** Messages the simulated network delivered. */
  readonly deliveries: number;
}

export function machinesFor(scenario: Scenario, machines?: MachineSet): MachineSet | undefined {
  if (!scenario.sabotage) return machines;
  return { ...(machines ?? SABOTAGED_MACHINES), election: SABOTAGED_MACHINES.election };
}

export function runScenario(scenario: Scenario, options: RunOptions = {}): RunResult {
  const machines = machinesFor(scenario, options.machines);
  const cluster = new SimCluster(scenario, {
    ...(machines ? { machines } : {}),
    ...(options.application ? { application: options.application } : {}),
    trace: options.trace ?? false,
  });
  const record = cluster.run();
  const violation = checkRun(record, options.invariants ?? invariantsFor(record));
  return { scenario, record, violation, trace: cluster.trace, deliveries: cluster.bus.delivered };
}

/** The seed of run `index` of a batch started from `seed`: spread out so neighbouring runs differ. */
export function runSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) + Math.imul(index + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 1;
}

export interface BatchOptions extends RunOptions {
  readonly runs: number;
  readonly seed: number;
  readonly nodes?: number;
  readonly faults?: readonly FaultKind[];
  readonly sabotage?: boolean;
  /** Snapshot every N commands in every run (default: drawn per run from its seed). */
  readonly snapshotEveryCommands?: number;
  /** Build each run's scenario yourself (your own fault schedule); default randomScenario. */
  readonly scenario?: (seed: number) => Scenario;
  readonly onRun?: (index: number, result: RunResult) => void;
}

export interface BatchResult {
  readonly runs: number;
  readonly violations: number;
  readonly first: RunResult | undefined;
}

export function runBatch(options: BatchOptions): BatchResult {
  let violations = 0;
  let first: RunResult | undefined;
  for (let i = 0; i < options.runs; i++) {
    const seed = runSeed(options.seed, i);
    const scenario =
      options.scenario?.(seed) ??
      randomScenario(seed, {
        ...(options.nodes === undefined ? {} : { nodes: options.nodes }),
        ...(options.faults === undefined ? {} : { faults: options.faults }),
        sabotage: options.sabotage ?? false,
        ...(options.snapshotEveryCommands === undefined ? {} : { snapshotEveryCommands: options.snapshotEveryCommands }),
      });
    const result = runScenario(scenario, options);
    if (result.violation !== null) {
      violations++;
      first ??= result;
    }
    options.onRun?.(i, result);
  }
  return { runs: options.runs, violations, first };
}

/**
 * Make a failing scenario smaller while it still breaks the same invariant: drop faults, calm the
 * network, send fewer commands. Deterministic, so the result replays.
 */
export function shrinkScenario(failing: Scenario, invariant: string, options: RunOptions = {}, maxRuns = 400): Scenario {
  let best = failing;
  let budget = maxRuns;
  const stillFails = (candidate: Scenario): boolean => {
    if (budget-- <= 0) return false;
    return runScenario(candidate, { ...options, trace: false }).violation?.invariant === invariant;
  };
  // 1. remove chunks of faults, halving the chunk size (delta debugging)
  for (let chunk = Math.max(1, Math.floor(best.faults.length / 2)); chunk >= 1; chunk = Math.floor(chunk / 2)) {
    for (let start = 0; start < best.faults.length; ) {
      const faults = [...best.faults.slice(0, start), ...best.faults.slice(start + chunk)];
      const candidate = { ...best, faults };
      if (stillFails(candidate)) best = candidate;
      else start += chunk;
    }
    if (chunk === 1) break;
  }
  // 2. a calmer network
  for (const network of [
    { ...best.network, dropRate: 0 },
    { ...best.network, duplicateRate: 0 },
    { ...best.network, maxDelayMs: best.network.minDelayMs + 2 },
  ]) {
    const candidate = { ...best, network };
    if (stillFails(candidate)) best = candidate;
  }
  // 3. fewer commands and clients
  for (let commands = Math.floor(best.commands / 2); commands >= 1; commands = Math.floor(commands / 2)) {
    const candidate = { ...best, commands };
    if (!stillFails(candidate)) break;
    best = candidate;
  }
  if (best.clients > 1 && stillFails({ ...best, clients: 1 })) best = { ...best, clients: 1 };
  return best;
}

export interface TraceFile {
  readonly format: 'statekeeper-trace/1';
  readonly scenario: Scenario;
  readonly mutant: string | null;
  readonly violation: Violation | null;
  readonly replay: string;
  readonly events: readonly TraceEvent[];
}

export function writeTraceFile(path: string, scenario: Scenario, mutant: string | null): TraceFile {
  const result = runScenario(scenario, { ...mutantRunOptions(mutant === null ? undefined : findMutant(mutant)), trace: true });
  const file: TraceFile = {
    format: 'statekeeper-trace/1',
    scenario,
    mutant,
    violation: result.violation,
    replay: `npx statekeeper replay ${path}`,
    events: result.trace ?? [],
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(file, null, 0).replace(/\},\{/g, '},\n{'));
  return file;
}

export interface ReplayResult {
  readonly file: TraceFile;
  readonly events: readonly TraceEvent[];
  /** Index of the first event that differs from the file, or -1 when identical. */
  readonly divergesAt: number;
  readonly violation: Violation | null;
}

export function readTraceFile(path: string): TraceFile {
  const file = JSON.parse(readFileSync(path, 'utf8')) as TraceFile;
  if (file.format !== 'statekeeper-trace/1') throw new Error(`${path}: not a statekeeper trace (format ${String(file.format)})`);
  return file;
}

/** Run the file's scenario again and compare, event by event, with what it recorded. */
export function replayTrace(file: TraceFile): ReplayResult {
  const mutant = file.mutant === null ? undefined : findMutant(file.mutant);
  if (file.mutant !== null && mutant === undefined) throw new Error(`unknown mutant ${file.mutant}`);
  const result = runScenario(file.scenario, { ...mutantRunOptions(mutant), trace: true });
  const events = result.trace ?? [];
  let divergesAt = -1;
  const n = Math.max(events.length, file.events.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(events[i]) !== JSON.stringify(file.events[i])) {
      divergesAt = i;
      break;
    }
  }
  return { file, events, divergesAt, violation: result.violation };
}
