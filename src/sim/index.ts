/**
 * statekeeper/sim — the researcher's API: run the consensus core on a deterministic simulator with
 * your own invariants, fault schedules and machine variants. See docs/testing.md.
 */
export { SimCluster, SIM_TIMINGS, FIRST_CLIENT_ID } from './cluster.js';
export type { ClusterOptions } from './cluster.js';
export { randomScenario, range, ALL_FAULT_KINDS } from './scenario.js';
export type { Scenario, FaultEvent, FaultKind, ScenarioOptions } from './scenario.js';
export { runScenario, runBatch, runSeed, shrinkScenario, writeTraceFile, readTraceFile, replayTrace, machinesFor } from './runner.js';
export type { RunOptions, RunResult, BatchOptions, BatchResult, TraceFile, ReplayResult } from './runner.js';
export { scenarioArbitrary } from './arbitrary.js';
export type { ScenarioArbitraryOptions } from './arbitrary.js';
export { MUTANTS, SABOTAGED_MACHINES, findMutant } from './mutants.js';
export type { Mutant } from './mutants.js';
export type { RunRecord, Acceptance, Activation, Apply, LeaderTerm } from './record.js';
export { formatTraceEvent } from './trace.js';
export type { TraceEvent } from './trace.js';
export { VirtualScheduler } from './scheduler.js';
export { defaultMachines } from '../node/machines.js';
export type { MachineSet } from '../node/machines.js';
export * from '../check/invariants.js';
