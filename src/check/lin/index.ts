/** Linearizability checking of client histories: the checker, its models and history tools. */

export { checkLinearizable, formatCounterexample } from './checker.js';
export type { CheckOptions, CheckResult, Counterexample } from './checker.js';
export { HistoryRecorder, isPending } from './history.js';
export type { HistoryEvent, HistoryRecorderOptions, Operation } from './history.js';
export type { Model } from './model.js';
export {
  ANY_VERSION,
  INDETERMINATE_ERRORS,
  ZNODE_MODEL_ERRORS,
  applyZnode,
  znodeModel,
} from './znode-model.js';
export type { ZnodeInput, ZnodeOutput, ZnodeState } from './znode-model.js';
export { createRegisterModel, kvModel, registerModel } from './register-model.js';
export type { KvInput, KvOutput, RegisterInput, RegisterOutput, RegisterValue } from './register-model.js';
export { simulateHistory } from './simulate.js';
export type { SimulateHistoryOptions } from './simulate.js';
