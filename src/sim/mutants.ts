/**
 * Deliberately broken variants of the role machines. Each is the real machine with one guard or
 * action swapped through XState's `machine.provide` (one, `snapshot-off-by-one`, breaks the
 * simulated application's snapshots instead), and each must be caught by some invariant:
 * a check that no mutant trips is a defect, and so is a mutant no check catches.
 */
import { emit, enqueueActions } from 'xstate';
import { bitOf } from '../../machines/election/rules.js';
import { compareBallots } from '../protocol/ids.js';
import { learnableEntries } from '../../machines/learner/machine.js';
import { defaultMachines } from '../node/machines.js';
import type { MachineSet } from '../node/machines.js';
import type { SnapshotEncoding } from '../node/node.js';
import { EntryLogApplication } from './log-application.js';
import type { EntryLogFactory } from './log-application.js';

export interface Mutant {
  /** kebab-case name, as `statekeeper check --mutant NAME` takes it. */
  readonly name: string;
  readonly description: string;
  readonly machines: MachineSet;
  /** A broken replicated application instead of the simulator's entry log (default: the real one). */
  readonly application?: EntryLogFactory;
  /**
   * Where the bug shows: ballot bugs only matter while two leaderships overlap, which the sabotaged
   * election provokes, and they need fewer acceptors to line up in a small cluster. `check` uses
   * these unless told otherwise; the correct machines pass under the same settings.
   */
  readonly prefers?: { readonly nodes?: number; readonly sabotage?: boolean; readonly snapshotEveryCommands?: number };
}

const m = defaultMachines;

/** The compaction-floor mutant's phase 1: promises are read as if no acceptor had compacted. */
const recordPromiseIgnoringFloor = enqueueActions(({ context, event, enqueue }: { context: any; event: any; enqueue: any }) => {
  if (event.type !== 'PromiseReply') return;
  for (const a of event.accepted) {
    if (a.slot <= context.baseSlot) continue;
    const known = context.reported.get(a.slot);
    if (known === undefined || compareBallots(a.ballot, known.ballot) > 0) context.reported.set(a.slot, a);
  }
  enqueue.assign({ promisedBy: context.promisedBy | bitOf(context.voters, event.from) });
});

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'accept-lower-ballot',
    description: 'acceptor accepts and promises any ballot, even one lower than it promised',
    machines: { ...m, acceptor: m.acceptor.provide({ guards: { isBallotAtLeastPromised: () => true } }) },
    prefers: { nodes: 3, sabotage: true },
  },
  {
    name: 'forget-promise',
    description: 'acceptor does not persist its promises: a restart forgets them',
    prefers: { nodes: 3, sabotage: true },
    machines: {
      ...m,
      acceptor: m.acceptor.provide({
        actions: {
          persistPromise: () => {},
          persistAccepted: emit(({ event }) => {
            const e = event as { fromSlot: number; ballot: { epoch: number; nodeId: number }; entries: readonly import('../protocol/messages.js').Entry[] };
            return {
              type: 'persistAccepted' as const,
              promised: { epoch: 0, nodeId: 0 },
              accepted: e.entries.map((entry, i) => ({ slot: e.fromSlot + i, ballot: e.ballot, entry })),
            };
          }),
        },
      }),
    },
  },
  {
    name: 'unpersisted-accepts',
    description: 'acceptor replies to accept requests without making the accepted entries durable',
    machines: { ...m, acceptor: m.acceptor.provide({ actions: { persistAccepted: () => {} } }) },
  },
  {
    name: 'ignore-phase1-values',
    description: 'proposer ignores the values reported in phase 1 and proposes its own at every open slot',
    machines: {
      ...m,
      proposer: m.proposer.provide({
        actions: {
          adoptReported: enqueueActions(({ context, enqueue }) => {
            context.reported.clear();
            enqueue.emit({ type: 'proposerActive', ballot: context.ballot, baseSlot: context.baseSlot, adopted: [] });
          }),
        },
      }),
    },
  },
  {
    name: 'double-vote',
    description: 'a voter grants its vote to every candidate of an epoch, not just the first',
    machines: {
      ...m,
      election: m.election.provide({
        guards: {
          canGrantVote: ({ context, event }) => event.type === 'VoteRequest' && event.epoch === context.epoch,
        },
      }),
    },
  },
  {
    name: 'minority-commit',
    description: 'proposer counts a value chosen once a single acceptor (a minority) accepted it',
    machines: { ...m, proposerQuorum: 1 },
  },
  {
    name: 'learner-skips-gap',
    description: 'learner applies the entries it has past a slot it is still missing (out of order)',
    machines: {
      ...m,
      learner: m.learner.provide({
        actions: {
          applyLearnable: enqueueActions(({ context, event, enqueue }) => {
            const entries = learnableEntries(context, event, { skipUnknownSlots: true });
            if (entries.length === 0) return;
            const first = context.appliedSlot + 1;
            for (let i = 0; i < entries.length; i++) enqueue.emit({ type: 'apply', slot: first + i, entry: entries[i]! });
            enqueue.assign({ appliedSlot: first + entries.length - 1 });
          }),
        },
      }),
    },
  },
  {
    name: 'fake-noop-command',
    description: 'proposer fills a gap with a made-up command instead of an empty no-op',
    prefers: { nodes: 3 },
    machines: {
      ...m,
      proposer: m.proposer.provide({
        actions: {
          adoptReported: enqueueActions(({ context, enqueue }) => {
            let maxSlot = context.baseSlot;
            for (const slot of context.reported.keys()) if (slot > maxSlot) maxSlot = slot;
            for (let slot = context.baseSlot + 1; slot <= maxSlot; slot++) {
              const adopted = context.reported.get(slot);
              const filler = { id: `noop-${slot}`, payload: null };
              context.entries.push(adopted?.entry ?? { origin: context.ballot, createdMs: context.nowMs, commands: [filler] });
              context.acks.push(0);
            }
            context.reported.clear();
            enqueue.emit({ type: 'proposerActive', ballot: context.ballot, baseSlot: context.baseSlot, adopted: context.entries.slice() });
            if (context.entries.length > 0) {
              enqueue.emit({
                type: 'send',
                to: 'voters',
                msg: { type: 'AcceptRequest', ballot: context.ballot, fromSlot: context.firstSlot, entries: context.entries.slice() },
              });
            }
          }),
        },
      }),
    },
  },
  {
    name: 'no-retransmit',
    description: 'proposer never resends an accept request that was lost',
    machines: { ...m, proposer: m.proposer.provide({ actions: { resendUnchosen: () => {} } }) },
  },
  {
    name: 'ignore-compaction-floor',
    description: 'proposer ignores the compaction floor in promises: it fills slots a compacted acceptor no longer reports',
    machines: { ...m, proposer: m.proposer.provide({ actions: { recordPromise: recordPromiseIgnoringFloor as never } }) },
    prefers: { nodes: 5, snapshotEveryCommands: 5 },
  },
  {
    name: 'snapshot-off-by-one',
    description: 'the replicated application writes each entry one slot early into its snapshots (a node that installs or restarts from one holds a wrong log)',
    machines: m,
    application: (onRestore) => new OffByOneSnapshotLog(onRestore),
    prefers: { nodes: 5, snapshotEveryCommands: 5 },
  },
];

/**
 * The sabotaged election: voters vote for every candidate of an epoch and leaders never step down
 * for lack of a quorum, so two nodes can lead at once. Agreement must survive it.
 */
export const SABOTAGED_MACHINES: MachineSet = {
  ...m,
  election: m.election.provide({
    guards: {
      canGrantVote: ({ context, event }) => event.type === 'VoteRequest' && event.epoch === context.epoch,
      heardFromQuorum: () => true,
    },
  }),
};

/**
 * The entry log with an off-by-one in its snapshot: each entry is written one slot early (the first
 * is dropped, the last repeated), so the snapshot still has as many entries as its slot.
 */
class OffByOneSnapshotLog extends EntryLogApplication {
  override snapshot(): SnapshotEncoding {
    const keys = this.keys.slice(1);
    if (keys.length > 0) keys.push(keys[keys.length - 1]!);
    else keys.push(...this.keys);
    return { step: () => [new TextEncoder().encode(JSON.stringify(keys))], cancel: () => undefined };
  }
}

/** What a run needs to use `mutant` (its machines, and its application if it has one). */
export function mutantRunOptions(mutant: Mutant | undefined): { machines?: MachineSet; application?: EntryLogFactory } {
  if (mutant === undefined) return {};
  return { machines: mutant.machines, ...(mutant.application === undefined ? {} : { application: mutant.application }) };
}

export function findMutant(name: string): Mutant | undefined {
  return MUTANTS.find((mutant) => mutant.name === name);
}
