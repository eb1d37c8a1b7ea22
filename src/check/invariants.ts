/**
 * The safety and liveness properties of statekeeper's consensus, as named functions over the
 * record of a run. Each returns null when it holds, or a Violation saying what broke. Every one of
 * them is shown to fail on a deliberately broken machine (see src/sim/mutants.ts and the tests).
 */
import type { NodeId, Slot } from '../protocol/ids.js';
import { compareBallots, formatBallot } from '../protocol/ids.js';
import type { RunRecord } from '../sim/record.js';

export interface Violation {
  readonly invariant: string;
  readonly message: string;
}

export type Invariant = (record: RunRecord) => Violation | null;

/** Raft §5.2 / ZAB: at most one node becomes leader in any epoch. */
export const electionSafety: Invariant = (record) => {
  const byEpoch = new Map<number, NodeId>();
  for (const term of record.leaders) {
    const other = byEpoch.get(term.epoch);
    if (other !== undefined && other !== term.node) {
      return violation('electionSafety', `nodes ${other} and ${term.node} both became leader in epoch ${term.epoch} (t=${term.atMs.toFixed(1)})`);
    }
    byEpoch.set(term.epoch, term.node);
  }
  return null;
};

/**
 * Paxos P2 and state machine safety: no slot has two chosen values, and no two learners apply
 * different entries at one position.
 */
export const agreement: Invariant = (record) => {
  for (const [slot, byBallot] of record.acceptances) {
    let chosenKey: string | undefined;
    let chosenBallot = '';
    for (const [ballot, a] of byBallot) {
      if (a.chosenAtMs === undefined) continue;
      if (chosenKey !== undefined && chosenKey !== a.key) {
        return violation('agreement', `slot ${slot} has two chosen values: ${chosenKey} (ballot ${chosenBallot}) and ${a.key} (ballot ${ballot})`);
      }
      chosenKey = a.key;
      chosenBallot = ballot;
    }
  }
  const appliedAt = new Map<Slot, { key: string; node: NodeId }>();
  const see = (slot: Slot, key: string, node: NodeId, how: string): string | null => {
    const other = appliedAt.get(slot);
    if (other === undefined) appliedAt.set(slot, { key, node });
    else if (other.key !== key) return `slot ${slot}: node ${other.node} applied ${other.key} but node ${node} ${how} ${key}`;
    return null;
  };
  for (const [node, applies] of record.applies) {
    for (const a of applies) {
      if (a.snapshotKeys !== undefined) {
        // A snapshot from a peer stands for every slot it covers.
        for (let i = 0; i < a.snapshotKeys.length; i++) {
          const bad = see(i + 1, a.snapshotKeys[i]!, node, 'installed a snapshot with');
          if (bad !== null) return violation('agreement', bad);
        }
        continue;
      }
      const bad = see(a.slot, a.key, node, 'applied');
      if (bad !== null) return violation('agreement', bad);
    }
  }
  return null;
};

/** Committed logs agree: every learner applies slots one after another, none skipped or repeated. */
export const committedPrefix: Invariant = (record) => {
  for (const [node, applies] of record.applies) {
    const expected = new Map<number, Slot>();
    for (const a of applies) {
      const next = expected.get(a.incarnation) ?? a.startAfter + 1;
      if (a.snapshotKeys !== undefined) {
        // A snapshot may jump ahead, never back, and covers exactly the slots it says.
        if (a.slot < next || a.snapshotKeys.length !== a.slot) {
          return violation('committedPrefix', `node ${node} installed a snapshot up to slot ${a.slot} when slot ${next} was next (t=${a.atMs.toFixed(1)})`);
        }
        expected.set(a.incarnation, a.slot + 1);
        continue;
      }
      if (a.slot !== next) {
        return violation('committedPrefix', `node ${node} applied slot ${a.slot} when slot ${next} was next (t=${a.atMs.toFixed(1)})`);
      }
      expected.set(a.incarnation, next + 1);
    }
  }
  const logs = [...record.finalLogs.entries()];
  for (let i = 0; i < logs.length; i++) {
    for (let j = i + 1; j < logs.length; j++) {
      const [na, la] = logs[i]!;
      const [nb, lb] = logs[j]!;
      const n = Math.min(la.length, lb.length);
      for (let s = 0; s < n; s++) {
        if (la[s] !== lb[s]) return violation('committedPrefix', `final logs of nodes ${na} and ${nb} differ at slot ${s + 1}`);
      }
    }
  }
  return null;
};

/**
 * Leader completeness: when a proposer finishes phase 1, every value chosen in a lower ballot above
 * its base slot is among the entries it adopted, at the same slot.
 */
export const leaderCompleteness: Invariant = (record) => {
  for (const act of record.activations) {
    for (const [slot, byBallot] of record.acceptances) {
      if (slot <= act.baseSlot) continue;
      for (const a of byBallot.values()) {
        if (a.chosenAtMs === undefined || a.chosenAtMs > act.atMs || compareBallots(a.ballot, act.ballot) >= 0) continue;
        const adopted = act.adoptedKeys[slot - act.baseSlot - 1];
        if (adopted !== a.key) {
          return violation(
            'leaderCompleteness',
            `node ${act.node} became active with ballot ${formatBallot(act.ballot)} at t=${act.atMs.toFixed(1)} without ${a.key}, chosen at slot ${slot} in ballot ${formatBallot(a.ballot)}`,
          );
        }
      }
    }
  }
  return null;
};

/** Integrity: only commands some client submitted (unchanged) or no-ops are ever chosen or applied. */
export const integrity: Invariant = (record) => {
  for (const [key, entry] of record.entries) {
    for (const c of entry.commands) {
      const submitted = record.submitted.get(c.id);
      if (submitted === undefined) return violation('integrity', `entry ${key} carries command ${c.id}, which no client submitted`);
      if (JSON.stringify(submitted.payload) !== JSON.stringify(c.payload)) {
        return violation('integrity', `command ${c.id} was changed on its way into the log`);
      }
    }
  }
  return null;
};

/** Durability: every command a client was told succeeded is in the final log of every live node. */
export const durability: Invariant = (record) => {
  if (record.acked.size === 0) return null;
  let longest: readonly string[] = [];
  for (const log of record.finalLogs.values()) if (log.length > longest.length) longest = log;
  const present = new Set<string>();
  for (const key of longest) {
    const entry = record.entries.get(key);
    for (const c of entry?.commands ?? []) present.add(c.id);
  }
  for (const [id, ack] of record.acked) {
    if (!present.has(id)) {
      return violation('durability', `command ${id}, acknowledged at t=${ack.atMs.toFixed(1)} (slot ${ack.slot}), is not in the final log`);
    }
  }
  return null;
};

/** Liveness: after the network heals, a leader within a bound and every pending command committed within a bound. */
export const liveness: Invariant = (record) => {
  if (record.healAtMs === Infinity) return null;
  const leaderAt = record.leaderAfterHealMs;
  if (leaderAt === undefined || leaderAt - record.healAtMs > record.leaderBoundMs) {
    return violation('liveness', `no leader within ${record.leaderBoundMs} ms of the heal at t=${record.healAtMs.toFixed(1)}`);
  }
  const deadline = record.healAtMs + record.commitBoundMs;
  for (const id of record.submitted.keys()) {
    const ack = record.acked.get(id);
    if (ack === undefined || ack.atMs > deadline) {
      return violation('liveness', `command ${id} was not committed within ${record.commitBoundMs} ms of the heal`);
    }
  }
  return null;
};

export const SAFETY_INVARIANTS: Readonly<Record<string, Invariant>> = Object.freeze({
  electionSafety,
  agreement,
  committedPrefix,
  leaderCompleteness,
  integrity,
  durability,
});

export const ALL_INVARIANTS: Readonly<Record<string, Invariant>> = Object.freeze({ ...SAFETY_INVARIANTS, liveness });

/**
 * The invariants that must hold for a run. A sabotaged election lets two nodes lead at once on
 * purpose, so election safety and liveness are not expected of it; agreement and the rest are.
 */
export function invariantsFor(record: RunRecord): Readonly<Record<string, Invariant>> {
  if (!record.sabotage) return ALL_INVARIANTS;
  const { electionSafety: _e, ...rest } = SAFETY_INVARIANTS;
  return rest;
}

/** The first invariant that fails, or null. */
export function checkRun(record: RunRecord, invariants: Readonly<Record<string, Invariant>> = invariantsFor(record)): Violation | null {
  for (const invariant of Object.values(invariants)) {
    const v = invariant(record);
    if (v !== null) return v;
  }
  return null;
}

function violation(invariant: string, message: string): Violation {
  return { invariant, message };
}
