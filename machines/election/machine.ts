/**
 * The election statechart: follower, candidate and leader, one file per role.
 * Epoch and vote are persistent (emitted as `persistElection` before any reply depending on them).
 */
import { candidate } from './candidate.js';
import { follower } from './follower.js';
import { leader } from './leader.js';
import { electionSetup, initialElectionContext } from './setup.js';

export const electionMachine = electionSetup.createMachine({
  id: 'election',
  context: ({ input }) => initialElectionContext(input),
  initial: 'follower',
  states: { follower, candidate, leader },
  on: {
    /** The shared prelude, for epochs seen outside election messages (ballots, rejections). */
    ObservedEpoch: { guard: 'isHigherEpoch', target: '.follower', reenter: true, actions: ['adoptEpoch', 'persistElection'] },
  },
});

export type ElectionMachine = typeof electionMachine;
export { isLogUpToDate } from './rules.js';
export type { ElectionContext, ElectionEvent, ElectionInput, ElectionTimings } from './types.js';
