/**
 * Deliberately broken machines for the rules src/sim/mutants.ts has no mutant for: each breaks one
 * rule of the papers, and the interaction test of that rule must fail on it (a rule test that
 * cannot fail is a defect). Each is the real machine with one guard or action swapped.
 */
import { enqueueActions } from 'xstate';
import { isLogUpToDate } from '../../machines/election/rules.js';
import { defaultMachines } from '../../src/node/machines.js';
import type { MachineSet } from '../../src/node/machines.js';
import { ballotsEqual, compareBallots } from '../../src/protocol/ids.js';
import type { Ballot } from '../../src/protocol/ids.js';
import type { AcceptedEntry, Entry } from '../../src/protocol/messages.js';

const m = defaultMachines;

export interface LocalMutant {
  readonly description: string;
  readonly machines: MachineSet;
}

export const LOCAL_MUTANTS = {
  'vote-ignores-log': {
    description: 'voters grant (pre-)votes without comparing logs (Raft §5.4.1 broken)',
    machines: {
      ...m,
      election: m.election.provide({
        guards: {
          canGrantVote: ({ context, event }) =>
            event.type === 'VoteRequest' && event.epoch === context.epoch && (context.votedFor === null || context.votedFor === event.from),
          canGrantPreVote: ({ context, event }) => event.type === 'PreVoteRequest' && event.epoch > context.epoch && !context.leaderContact,
        },
      }),
    },
  },
  'leader-ignores-higher-epoch': {
    description: 'a leader does not step down on a message from a higher epoch (only its check-quorum removes it)',
    machines: {
      ...m,
      election: m.election.provide({
        guards: { isHigherEpoch: ({ context, event }) => 'epoch' in event && event.epoch > context.epoch && context.leader !== context.id },
      }),
    },
  },
  'pre-vote-ignores-leader': {
    description: 'a follower grants pre-votes although it hears from a healthy leader',
    machines: {
      ...m,
      election: m.election.provide({
        guards: {
          canGrantPreVote: ({ context, event }) =>
            event.type === 'PreVoteRequest' && event.epoch > context.epoch && isLogUpToDate(event.lastLog, event.localLog),
        },
      }),
    },
  },
  'resend-other-values': {
    description: 'a leader retransmits its unchosen slots with the values in reverse order (a slot changes value within a ballot)',
    machines: {
      ...m,
      proposer: m.proposer.provide({
        actions: {
          resendUnchosen: enqueueActions(({ context, enqueue }) => {
            const from = context.commitSlot + 1;
            const entries = context.entries.slice(from - context.firstSlot).reverse();
            if (entries.length === 0) return;
            enqueue.emit({ type: 'send', to: 'voters', msg: { type: 'AcceptRequest', ballot: context.ballot, fromSlot: from, entries } });
          }),
        },
      }),
    },
  },
  'accept-needs-promise': {
    description: 'an acceptor accepts only a ballot it promised in phase 1, never a first proposal (Paxos P1 broken)',
    machines: {
      ...m,
      acceptor: m.acceptor.provide({
        guards: {
          isBallotAtLeastPromised: ({ context, event }) =>
            'ballot' in event &&
            (event.type === 'PrepareRequest' ? compareBallots(event.ballot, context.promised) >= 0 : ballotsEqual(event.ballot, context.promised)),
        },
      }),
    },
  },
  'adopt-lowest-ballot': {
    description: 'phase 1 adopts, per slot, the value of the lowest ballot reported (Paxos P2c broken)',
    machines: {
      ...m,
      proposer: m.proposer.provide({
        actions: {
          recordPromise: enqueueActions(({ context, event, enqueue }) => {
            if (event.type !== 'PromiseReply') return;
            for (const a of event.accepted) {
              if (a.slot <= context.baseSlot) continue;
              const known = context.reported.get(a.slot);
              if (known === undefined || compareBallots(a.ballot, known.ballot) < 0) context.reported.set(a.slot, a);
            }
            const bit = 1 << context.voters.indexOf(event.from);
            enqueue.assign({ promisedBy: context.promisedBy | (context.voters.includes(event.from) ? bit : 0) });
          }),
        },
      }),
    },
  },
  'no-gap-fill': {
    description: 'phase 1 packs the reported values into consecutive slots instead of filling gaps with no-ops',
    machines: {
      ...m,
      proposer: m.proposer.provide({
        actions: {
          adoptReported: enqueueActions(({ context, enqueue }) => {
            const reported = [...context.reported.values()].sort((x: AcceptedEntry, y: AcceptedEntry) => x.slot - y.slot);
            for (const a of reported) {
              context.entries.push(a.entry);
              context.acks.push(0);
            }
            context.reported.clear();
            enqueue.emit({ type: 'proposerActive', ballot: context.ballot, baseSlot: context.baseSlot, adopted: context.entries.slice() });
            if (context.entries.length > 0) {
              const entries: Entry[] = context.entries.slice();
              const ballot: Ballot = context.ballot;
              enqueue.emit({ type: 'send', to: 'voters', msg: { type: 'AcceptRequest', ballot, fromSlot: context.firstSlot, entries } });
            }
          }),
        },
      }),
    },
  },
} satisfies Record<string, LocalMutant>;

export type LocalMutantName = keyof typeof LOCAL_MUTANTS;
