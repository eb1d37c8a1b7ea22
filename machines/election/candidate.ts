/**
 * Candidate: first a pre-vote (no epoch change, so a node that rejoins after a partition cannot
 * disrupt a healthy leader), then a real vote in epoch + 1.
 */
import { electionSetup } from './setup.js';

export const candidate = electionSetup.createStateConfig({
  entry: ['announceCandidate'],
  initial: 'preCampaign',
  states: {
    preCampaign: {
      entry: ['startPreCampaign', 'drawElectionTimeout', 'sendPreVoteRequests'],
      always: { guard: 'hasQuorumOfGrants', target: 'campaign' },
      after: { electionTimeout: { target: 'preCampaign', reenter: true } },
      on: {
        PreVoteReply: [
          { guard: 'isRefusalFromLaterEpoch', target: '#election.follower', actions: ['adoptEpoch', 'persistElection'] },
          { guard: 'isPreVoteGrant', actions: ['recordGrant'] },
        ],
      },
    },
    campaign: {
      entry: ['startCampaign', 'persistElection', 'drawElectionTimeout', 'sendVoteRequests'],
      always: { guard: 'hasQuorumOfGrants', target: '#election.leader' },
      after: { electionTimeout: { target: 'preCampaign' } },
      on: {
        VoteReply: [
          { guard: 'isHigherEpoch', target: '#election.follower', actions: ['adoptEpoch', 'persistElection'] },
          { guard: 'isVoteGrant', actions: ['recordGrant'] },
        ],
      },
    },
  },
  on: {
    Heartbeat: [
      { guard: 'isStaleLeader', actions: ['answerHeartbeat'] },
      { guard: 'isHigherEpoch', target: '#election.follower', actions: ['adoptEpoch', 'persistElection', 'redeliver'] },
      { guard: 'isCurrentLeader', target: '#election.follower', actions: ['redeliver'] },
    ],
    VoteRequest: [
      { guard: 'isHigherEpoch', target: '#election.follower', actions: ['adoptEpoch', 'persistElection', 'redeliver'] },
      { actions: ['denyVote'] },
    ],
    PreVoteRequest: [{ guard: 'canGrantPreVote', actions: ['grantPreVote'] }, { actions: ['denyPreVote'] }],
  },
});
