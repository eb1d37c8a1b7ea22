/**
 * What a consensus node keeps across a crash, and the group-commit contract between the node and
 * its store: writes are buffered, `flush` calls back once every write made before it is durable.
 */
import type { Ballot, Epoch, NodeId, Slot } from '../protocol/ids.js';
import { ZERO_BALLOT } from '../protocol/ids.js';
import type { AcceptedEntry, Entry } from '../protocol/messages.js';

export interface DurableState {
  readonly epoch: Epoch;
  readonly votedFor: NodeId | null;
  readonly promised: Ballot;
  readonly accepted: ReadonlyMap<Slot, AcceptedEntry>;
  /** Chosen entries, learned[i] at slot i + 1. */
  readonly learned: readonly Entry[];
}

export interface ConsensusStorage {
  load(): DurableState;
  saveElection(epoch: Epoch, votedFor: NodeId | null): void;
  savePromise(promised: Ballot): void;
  saveAccepted(promised: Ballot, accepted: readonly AcceptedEntry[]): void;
  appendLearned(slot: Slot, entry: Entry): void;
  /** `done` runs (possibly synchronously) once every write made before this call is durable. */
  flush(done: () => void): void;
  /** Whether writes are waiting for a flush. */
  readonly dirty: boolean;
}

/** Scheduling hook for a store whose fsync takes (virtual) time. */
export interface SyncScheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export function emptyDurableState(): DurableState {
  return { epoch: 0, votedFor: null, promised: ZERO_BALLOT, accepted: new Map(), learned: [] };
}

type Write =
  | { kind: 'election'; epoch: Epoch; votedFor: NodeId | null }
  | { kind: 'promise'; promised: Ballot }
  | { kind: 'accepted'; promised: Ballot; accepted: readonly AcceptedEntry[] }
  | { kind: 'learned'; slot: Slot; entry: Entry };

/**
 * The simulator's store: durable state survives `crash()`, unsynced writes do not. With a
 * scheduler and `fsyncMs > 0`, a flush takes virtual time and concurrent flushes share one sync
 * (group commit), so a crash can land between a write and its fsync exactly as on a disk.
 */
export class MemoryStorage implements ConsensusStorage {
  private durable = {
    epoch: 0,
    votedFor: null as NodeId | null,
    promised: ZERO_BALLOT,
    accepted: new Map<Slot, AcceptedEntry>(),
    learned: [] as Entry[],
  };
  private unsynced: Write[] = [];
  private waiters: (() => void)[] = [];
  private syncTimer: unknown = undefined;

  constructor(
    private readonly scheduler?: SyncScheduler,
    private readonly fsyncMs = 0,
  ) {}

  get dirty(): boolean {
    return this.unsynced.length > 0;
  }

  load(): DurableState {
    const d = this.durable;
    return { epoch: d.epoch, votedFor: d.votedFor, promised: d.promised, accepted: new Map(d.accepted), learned: d.learned.slice() };
  }

  saveElection(epoch: Epoch, votedFor: NodeId | null): void {
    this.unsynced.push({ kind: 'election', epoch, votedFor });
  }
  savePromise(promised: Ballot): void {
    this.unsynced.push({ kind: 'promise', promised });
  }
  saveAccepted(promised: Ballot, accepted: readonly AcceptedEntry[]): void {
    this.unsynced.push({ kind: 'accepted', promised, accepted });
  }
  appendLearned(slot: Slot, entry: Entry): void {
    this.unsynced.push({ kind: 'learned', slot, entry });
  }

  flush(done: () => void): void {
    if (this.scheduler === undefined || this.fsyncMs <= 0) {
      this.makeDurable(this.unsynced.length);
      done();
      return;
    }
    if (this.unsynced.length === 0 && this.syncTimer === undefined) {
      done();
      return;
    }
    this.waiters.push(done);
    if (this.syncTimer === undefined) this.startSync();
  }

  /** A crash: everything not yet synced is gone. */
  crash(): void {
    this.unsynced = [];
    this.waiters = [];
    if (this.syncTimer !== undefined) this.scheduler?.clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
  }

  /** Wipe the disk too (a node that lost its data directory). */
  wipe(): void {
    this.crash();
    this.durable = { epoch: 0, votedFor: null, promised: ZERO_BALLOT, accepted: new Map(), learned: [] };
  }

  private startSync(): void {
    const covered = this.unsynced.length;
    const waiters = this.waiters;
    this.waiters = [];
    this.syncTimer = this.scheduler!.setTimeout(() => {
      this.syncTimer = undefined;
      this.makeDurable(covered);
      for (const w of waiters) w();
      if (this.waiters.length > 0) this.startSync();
    }, this.fsyncMs);
  }

  private makeDurable(count: number): void {
    const d = this.durable;
    for (let i = 0; i < count; i++) {
      const w = this.unsynced[i]!;
      switch (w.kind) {
        case 'election':
          d.epoch = w.epoch;
          d.votedFor = w.votedFor;
          break;
        case 'promise':
          d.promised = w.promised;
          break;
        case 'accepted':
          d.promised = w.promised;
          for (const a of w.accepted) d.accepted.set(a.slot, a);
          break;
        case 'learned':
          if (w.slot === d.learned.length + 1) d.learned.push(w.entry);
          break;
      }
    }
    this.unsynced.splice(0, count);
  }
}
