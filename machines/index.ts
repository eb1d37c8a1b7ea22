/** The role statecharts. Pure: no IO, no clock, no randomness of their own. */
export { electionMachine } from './election/machine.js';
export type { ElectionMachine, ElectionContext, ElectionEvent, ElectionInput, ElectionTimings } from './election/machine.js';
export { isLogUpToDate } from './election/rules.js';
export { acceptorMachine, acceptedFrom } from './acceptor/machine.js';
export type { AcceptorMachine, AcceptorContext, AcceptorEvent, AcceptorInput } from './acceptor/machine.js';
export { learnerMachine, learnableEntries, STRICT_ORDER } from './learner/machine.js';
export type { LearnerMachine, LearnerContext, LearnerEvent, LearnerInput, LearnRule } from './learner/machine.js';
export { proposerMachine } from './proposer/machine.js';
export type { ProposerMachine, ProposerContext, ProposerEvent, ProposerInput, ProposerTimings } from './proposer/machine.js';
