/**
 * statekeeper's coordination service on the deterministic simulator: servers (ConsensusNode +
 * CoordinationService) on one virtual clock and simulated network, simulated ZooKeeper clients,
 * fault schedules, recorded histories and the service-level invariants. See README.md here.
 */
export { ZkSimCluster, DEFAULT_SETTLE_LIMIT_MS } from './cluster.js';
export type { AppliedTxn, ServerWatcher, ZkClusterOptions, ZkServer } from './cluster.js';
export { SimZkClient, MIN_CONNECT_TIMEOUT_MS, RECONNECT_BACKOFF_MS } from './client.js';
export type { AnsweredWrite, CallOutcome, ClientEvent, JournalEntry, SessionState, SimClientOptions } from './client.js';
export {
  SIM_FSYNC_MS,
  SIM_HEAL_AT_MS,
  SIM_SESSION_TIMEOUT_MS,
  SIM_TICK_MS,
  calmZkScenario,
  describeZkScenario,
  randomZkScenario,
  zkScenarioArbitrary,
} from './scenario.js';
export type { ZkScenario, ZkScenarioArbitraryOptions, ZkScenarioOptions } from './scenario.js';
export { FINAL_READER_BASE_ID, ZnodeHistory, znodeOutput, znodeRequest } from './history.js';
export type { ZnodeOperation } from './history.js';
export { LIN_ROOT, ensureZnode, runLinearizabilityWorkload } from './workload.js';
export type { LinWorkloadOptions, LinWorkloadResult } from './workload.js';
export {
  LIN_CHECK_TIMEOUT_MS,
  checkAnsweredWritesApplied,
  checkReplicasConverged,
  checkSessionAlive,
  checkSessionGone,
  checkZnodeHistory,
  sessionEndTimes,
} from './checks.js';
export { checkWatchDelivery, expectedNotifications, registrationsOf, triggersOf } from './watch-oracle.js';
export type { ExpectedNotification, WatchRegistration } from './watch-oracle.js';
export { LOCK_ROOT, LockClient, checkLockSafety, runLockWorkload } from './lock.js';
export type { BrokenLockRecipe, HoldPlan, LockHold, LockWorkloadOptions } from './lock.js';
export { ReferenceServer, ZxidPairing, normalizeResponse } from './reference.js';
export type { ReferenceEvent } from './reference.js';
export { STALE_SNAPSHOT_MS, ZK_MUTANTS, findZkMutant } from './mutants.js';
export type { ZkMutant } from './mutants.js';
