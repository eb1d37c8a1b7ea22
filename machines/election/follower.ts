/** Follower: waits for a leader's heartbeats; campaigns when they stop. */
import { electionSetup } from './setup.js';

export const follower = electionSetup.createStateConfig({
  entry: ['announceFollower'],
  initial: 'waiting',
  states: {
    waiting: {
      entry: ['drawElectionTimeout'],
      after: {
        electionTimeout: { target: '#election.candidate', actions: ['forgetLeaderContact'] },
      },
    },
  },
  on: {
    Heartbeat: [
      { guard: 'isStaleLeader', actions: ['answerHeartbeat'] },
      { guard: 'isHigherEpoch', target: '#election.follower', reenter: true, actions: ['adoptEpoch', 'persistElection', 'redeliver'] },
      { guard: 'isCurrentLeader', target: '.waiting', reenter: true, actions: ['noteLeader', 'answerHeartbeat'] },
    ],
    VoteRequest: [
      { guard: 'isHigherEpoch', target: '#election.follower', reenter: true, actions: ['adoptEpoch', 'persistElection', 'redeliver'] },
      { guard: 'canGrantVote', target: '.waiting', reenter: true, actions: ['recordVote', 'persistElection', 'grantVote'] },
      { actions: ['denyVote'] },
    ],
    PreVoteRequest: [{ guard: 'canGrantPreVote', actions: ['grantPreVote'] }, { actions: ['denyPreVote'] }],
  },
});
