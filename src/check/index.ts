/** statekeeper/check — invariants over simulated runs, and the linearizability checker. */
export * from './invariants.js';
export * from './lin/index.js';
