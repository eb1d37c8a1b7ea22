/**
 * What a simulated run leaves for the checks: the facts each invariant is stated over, gathered by
 * the node and network observers as the run goes. Plain data, so a researcher's invariant is a
 * function of a RunRecord.
 */
import type { Ballot, Epoch, NodeId, Slot } from '../protocol/ids.js';
import { formatBallot } from '../protocol/ids.js';
import type { Command, Entry } from '../protocol/messages.js';
import { entryKey } from '../protocol/messages.js';

export interface LeaderTerm {
  readonly epoch: Epoch;
  readonly node: NodeId;
  readonly atMs: number;
}

/** Acceptors that accepted one value at one slot in one ballot. */
export interface Acceptance {
  readonly slot: Slot;
  readonly ballot: Ballot;
  readonly key: string;
  readonly acceptors: Set<NodeId>;
  /** When a quorum had accepted it (the value was chosen), if ever. */
  chosenAtMs: number | undefined;
}

export interface Activation {
  readonly node: NodeId;
  readonly ballot: Ballot;
  readonly baseSlot: Slot;
  readonly adoptedKeys: readonly string[];
  readonly atMs: number;
}

export interface Apply {
  readonly slot: Slot;
  readonly key: string;
  readonly atMs: number;
  /** Which life of the node applied it (a restart starts a new one). */
  readonly incarnation: number;
  /** The slot this incarnation started after (recovered from its store). */
  readonly startAfter: Slot;
  /**
   * Set when this is not one applied entry but a snapshot installed from a peer: every slot up to
   * `slot` is now applied, with these entry keys (snapshotKeys[i] at slot i + 1).
   */
  readonly snapshotKeys?: readonly string[];
}

export interface RunRecord {
  readonly nodes: number;
  readonly quorum: number;
  readonly sabotage: boolean;
  readonly leaders: LeaderTerm[];
  /** slot -> ballot -> acceptance */
  readonly acceptances: Map<Slot, Map<string, Acceptance>>;
  readonly activations: Activation[];
  readonly applies: Map<NodeId, Apply[]>;
  readonly entries: Map<string, Entry>;
  readonly submitted: Map<string, Command>;
  readonly acked: Map<string, { atMs: number; slot: Slot }>;
  healAtMs: number;
  endMs: number;
  /** First time at or after the heal when one node led with a finished phase 1 in the highest epoch. */
  leaderAfterHealMs: number | undefined;
  /** Commands not acknowledged at the heal, and those still unacknowledged at the end. */
  pendingAtHeal: string[];
  readonly finalLogs: Map<NodeId, readonly string[]>;
  leaderBoundMs: number;
  commitBoundMs: number;
}

export function emptyRecord(nodes: number, quorum: number, sabotage: boolean): RunRecord {
  return {
    nodes,
    quorum,
    sabotage,
    leaders: [],
    acceptances: new Map(),
    activations: [],
    applies: new Map(),
    entries: new Map(),
    submitted: new Map(),
    acked: new Map(),
    healAtMs: Infinity,
    endMs: 0,
    leaderAfterHealMs: undefined,
    pendingAtHeal: [],
    finalLogs: new Map(),
    leaderBoundMs: Infinity,
    commitBoundMs: Infinity,
  };
}

export function recordAcceptance(record: RunRecord, acceptor: NodeId, slot: Slot, ballot: Ballot, entry: Entry, atMs: number): void {
  const key = entryKey(entry);
  record.entries.set(key, entry);
  let bySlot = record.acceptances.get(slot);
  if (bySlot === undefined) {
    bySlot = new Map();
    record.acceptances.set(slot, bySlot);
  }
  const b = formatBallot(ballot);
  let acceptance = bySlot.get(b);
  if (acceptance === undefined) {
    acceptance = { slot, ballot, key, acceptors: new Set(), chosenAtMs: undefined };
    bySlot.set(b, acceptance);
  }
  if (acceptance.key !== key) {
    // Two values in one ballot at one slot: record it as a separate acceptance so agreement sees it.
    const odd = `${b}#${key}`;
    let other = bySlot.get(odd);
    if (other === undefined) {
      other = { slot, ballot, key, acceptors: new Set(), chosenAtMs: undefined };
      bySlot.set(odd, other);
    }
    acceptance = other;
  }
  acceptance.acceptors.add(acceptor);
  if (acceptance.chosenAtMs === undefined && acceptance.acceptors.size >= record.quorum) acceptance.chosenAtMs = atMs;
}
