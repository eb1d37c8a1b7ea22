/**
 * Leader: heartbeats every member; check-quorum steps down when it has not heard from a quorum
 * within the longest election timeout, so a leader cut off from a majority stops serving.
 */
import { electionSetup } from './setup.js';

export const leader = electionSetup.createStateConfig({
  entry: ['takeLeadership', 'announceLeader', 'sendHeartbeats'],
  type: 'parallel',
  states: {
    heartbeat: {
      initial: 'waiting',
      states: {
        waiting: {
          after: { heartbeatInterval: { target: 'waiting', reenter: true, actions: ['sendHeartbeats'] } },
        },
      },
    },
    quorumCheck: {
      initial: 'watching',
      states: {
        watching: {
          after: {
            checkQuorumInterval: [
              { guard: 'heardFromQuorum', target: 'watching', reenter: true, actions: ['resetHeard'] },
              { target: '#election.follower', actions: ['forgetLeaderContact'] },
            ],
          },
        },
      },
    },
  },
  on: {
    HeartbeatReply: [
      { guard: 'isHigherEpoch', target: '#election.follower', actions: ['adoptEpoch', 'persistElection'] },
      { guard: 'isCurrentEpochReply', actions: ['recordHeard'] },
    ],
    Heartbeat: [
      { guard: 'isStaleLeader', actions: ['answerHeartbeat'] },
      { guard: 'isHigherEpoch', target: '#election.follower', actions: ['adoptEpoch', 'persistElection', 'redeliver'] },
    ],
    VoteRequest: [
      { guard: 'isHigherEpoch', target: '#election.follower', actions: ['adoptEpoch', 'persistElection', 'redeliver'] },
      { actions: ['denyVote'] },
    ],
    PreVoteRequest: { actions: ['denyPreVote'] },
  },
});
