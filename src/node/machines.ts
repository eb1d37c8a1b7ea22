/** The set of role machines a node runs: the real ones, or variants (mutants, researchers' own). */
import { acceptorMachine } from '../../machines/acceptor/machine.js';
import { electionMachine } from '../../machines/election/machine.js';
import { learnerMachine } from '../../machines/learner/machine.js';
import { proposerMachine } from '../../machines/proposer/machine.js';

export interface MachineSet {
  readonly election: typeof electionMachine;
  readonly acceptor: typeof acceptorMachine;
  readonly learner: typeof learnerMachine;
  readonly proposer: typeof proposerMachine;
  /** Votes a proposer needs to choose a value; undefined means a majority. Only mutants set it. */
  readonly proposerQuorum?: number;
}

export const defaultMachines: MachineSet = {
  election: electionMachine,
  acceptor: acceptorMachine,
  learner: learnerMachine,
  proposer: proposerMachine,
};
