/**
 * What a consensus node keeps across a crash, and the group-commit contract between the node and
 * its store: writes are buffered, `flush` calls back once every write made before it is durable.
 */
import type { Ballot, Epoch, NodeId, Slot } from '../protocol/ids.js';
import { ZERO_BALLOT } from '../protocol/ids.js';
import type { AcceptedEntry, Entry } from '../protocol/messages.js';

/** A node's snapshot: the application and log position after applying every slot up to `slot`. */
export interface NodeSnapshot {
  readonly slot: Slot;
  /** Opaque to the store (the node encodes and decodes it). */
  readonly bytes: Uint8Array;
}

export interface DurableState {
  readonly epoch: Epoch;
  readonly votedFor: NodeId | null;
  readonly promised: Ballot;
  /** The acceptor's entries above `acceptorFloor`. */
  readonly accepted: ReadonlyMap<Slot, AcceptedEntry>;
  /** The acceptor forgot every slot up to here (see PersistCompactedEffect). */
  readonly acceptorFloor: Slot;
  /** The newest durable snapshot, or null: the log then starts at slot 1. */
  readonly snapshot: NodeSnapshot | null;
  /** Chosen entries after the snapshot: learned[i] at slot (snapshot?.slot ?? 0) + i + 1. */
  readonly learned: readonly Entry[];
}

export interface ConsensusStorage {
  load(): DurableState;
  saveElection(epoch: Epoch, votedFor: NodeId | null): void;
  savePromise(promised: Ballot): void;
  saveAccepted(promised: Ballot, accepted: readonly AcceptedEntry[]): void;
  /** The acceptor forgot every slot up to `floor`; its state is now `promised` and `accepted`. */
  saveCompacted(floor: Slot, promised: Ballot, accepted: readonly AcceptedEntry[]): void;
  /** Append the chosen entry at `slot`; ignored unless `slot` continues the learned log. */
  appendLearned(slot: Slot, entry: Entry): void;
  /**
   * Keep `snapshot` (taken from this node's own applied state). `durable` runs once it is (never,
   * if the node crashes first). The learned log keeps its entries until `compactLearned`.
   */
  saveSnapshot(snapshot: NodeSnapshot, durable: () => void): void;
  /** Drop learned entries up to `throughSlot`; only called at or below a durable snapshot. */
  compactLearned(throughSlot: Slot): void;
  /**
   * Replace the learned log with `snapshot` (received from a peer, ahead of this node): the next
   * appended slot is `snapshot.slot + 1`. `durable` runs once the snapshot is.
   */
  installSnapshot(snapshot: NodeSnapshot, durable: () => void): void;
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
  return { epoch: 0, votedFor: null, promised: ZERO_BALLOT, accepted: new Map(), acceptorFloor: 0, snapshot: null, learned: [] };
}

type Write =
  | { kind: 'election'; epoch: Epoch; votedFor: NodeId | null }
  | { kind: 'promise'; promised: Ballot }
  | { kind: 'accepted'; promised: Ballot; accepted: readonly AcceptedEntry[] }
  | { kind: 'learned'; slot: Slot; entry: Entry }
  | { kind: 'compacted'; floor: Slot; promised: Ballot; accepted: readonly AcceptedEntry[] }
  | { kind: 'snapshot'; snapshot: NodeSnapshot; durable: () => void }
  | { kind: 'compactLearned'; throughSlot: Slot }
  | { kind: 'install'; snapshot: NodeSnapshot; durable: () => void };

/**
 * The simulator's store: durable state survives `crash()`, unsynced writes do not. With a
 * scheduler and `fsyncMs > 0`, a flush takes virtual time and concurrent flushes share one sync
 * (group commit), so a crash can land between a write and its fsync exactly as on a disk.
 */
export class MemoryStorage implements ConsensusStorage {
  private durable = MemoryStorage.blank();
  private unsynced: Write[] = [];
  /** Wiped, and nothing made durable since: the node must rejoin (recover from its peers). */
  private lostDiskFlag = false;
  private waiters: (() => void)[] = [];
  private syncTimer: unknown = undefined;

  constructor(
    private readonly scheduler?: SyncScheduler,
    private readonly fsyncMs = 0,
  ) {}

  get dirty(): boolean {
    return this.unsynced.length > 0;
  }

  private static blank() {
    return {
      epoch: 0,
      votedFor: null as NodeId | null,
      promised: ZERO_BALLOT,
      accepted: new Map<Slot, AcceptedEntry>(),
      acceptorFloor: 0,
      snapshot: null as NodeSnapshot | null,
      /** learned[i] is at slot learnedBase + i + 1. */
      learnedBase: 0,
      learned: [] as Entry[],
    };
  }

  load(): DurableState {
    const d = this.durable;
    // The log may still hold entries the snapshot covers (kept until compactLearned).
    const snapshotSlot = d.snapshot?.slot ?? 0;
    return {
      epoch: d.epoch,
      votedFor: d.votedFor,
      promised: d.promised,
      accepted: new Map(d.accepted),
      acceptorFloor: d.acceptorFloor,
      snapshot: d.snapshot,
      learned: d.learned.slice(Math.max(0, snapshotSlot - d.learnedBase)),
    };
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
  saveCompacted(floor: Slot, promised: Ballot, accepted: readonly AcceptedEntry[]): void {
    this.unsynced.push({ kind: 'compacted', floor, promised, accepted });
  }
  saveSnapshot(snapshot: NodeSnapshot, durable: () => void): void {
    this.unsynced.push({ kind: 'snapshot', snapshot, durable });
  }
  compactLearned(throughSlot: Slot): void {
    this.unsynced.push({ kind: 'compactLearned', throughSlot });
  }
  installSnapshot(snapshot: NodeSnapshot, durable: () => void): void {
    this.unsynced.push({ kind: 'install', snapshot, durable });
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

  /**
   * Whether the disk was lost and nothing was made durable since: a node started on it must rejoin,
   * and still must after a crash in the middle of its recovery (which writes nothing until done).
   */
  get lostDisk(): boolean {
    return this.lostDiskFlag;
  }

  /** Wipe the disk too (a node that lost its data directory). */
  wipe(): void {
    this.crash();
    this.durable = MemoryStorage.blank();
    this.lostDiskFlag = true;
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
    const callbacks: (() => void)[] = [];
    for (let i = 0; i < count; i++) {
      const w = this.unsynced[i]!;
      switch (w.kind) {
        case 'election':
          d.epoch = w.epoch;
          d.votedFor = w.votedFor;
          // A rejoining voter writes its election state only once its recovery is done (learned
          // entries it writes meanwhile do not end the rejoin).
          this.lostDiskFlag = false;
          break;
        case 'promise':
          d.promised = w.promised;
          break;
        case 'accepted':
          d.promised = w.promised;
          for (const a of w.accepted) d.accepted.set(a.slot, a);
          break;
        case 'learned':
          if (w.slot === d.learnedBase + d.learned.length + 1) d.learned.push(w.entry);
          break;
        case 'compacted':
          d.promised = w.promised;
          d.acceptorFloor = w.floor;
          d.accepted = new Map(w.accepted.map((a) => [a.slot, a]));
          break;
        case 'snapshot':
          if (w.snapshot.slot > (d.snapshot?.slot ?? 0)) d.snapshot = w.snapshot;
          callbacks.push(w.durable);
          break;
        case 'compactLearned': {
          const drop = Math.min(d.learned.length, w.throughSlot - d.learnedBase);
          if (drop > 0) {
            d.learned.splice(0, drop);
            d.learnedBase += drop;
          }
          break;
        }
        case 'install':
          if (w.snapshot.slot > (d.snapshot?.slot ?? 0)) d.snapshot = w.snapshot;
          d.learned = [];
          d.learnedBase = w.snapshot.slot;
          callbacks.push(w.durable);
          break;
      }
    }
    this.unsynced.splice(0, count);
    // After the bookkeeping: a callback may write again.
    for (const c of callbacks) c();
  }
}
