/**
 * The consensus node's durable state on disk, over src/store: what a real statekeeper process keeps
 * across kill -9.
 *
 * Layout of a node's data directory:
 *
 * ```
 * <dir>/election.meta        FileMetaStore: { nodeId, epoch, votedFor }  (rare: once per election)
 * <logs>/acceptor/log.*      FileLogStore: the acceptor journal, one record per persist effect
 *                            { p: promised ballot, a: accepted entries }  (index = write sequence)
 * <logs>/learned/log.*       FileLogStore: chosen entries, record index = slot
 * <dir>/snapshots/snapshot.* FileSnapshotStore: the node's snapshots (application + log position)
 * ```
 *
 * `<logs>` is `<dir>` unless a separate log directory is given (ZooKeeper's dataLogDir).
 *
 * The acceptor journal is replayed on load: the promise is the highest ballot seen (an acceptor's
 * promise never goes down) and each slot keeps the entry of its last record (an acceptor overwrites
 * a slot only when it accepts in a ballot at least as high as before). Keeping promises in the
 * journal rather than in the meta file puts the hot path — accept, reply — on one fdatasync per
 * group of writes, instead of a temp-file + fsync + rename + directory fsync per promise.
 *
 * Compaction. Once a snapshot is durable the node drops learned entries below it (whole segments,
 * `compactUpTo`), and its acceptor forgets chosen slots below a floor: the journal then gets a
 * checkpoint, records `{ p, a, f }` carrying the floor and a copy of every entry above it, and the
 * segments before the checkpoint are removed once it is synced. Replay takes the highest floor
 * and drops slots at or below it; a checkpoint cut short by a crash is harmless because the older
 * records it copies are removed only after it is whole on disk.
 *
 * On open, the newest valid snapshot is the base and the learned log continues it. A learned log
 * that ends before the snapshot (a crash between installing a peer's snapshot and resetting the
 * log) is reset to continue after it; a learned log with a gap after the snapshot is damage.
 *
 * Records are MessagePack (msgpackr) with extension types on, so a command's payload round-trips
 * exactly: bigint session ids, Uint8Array data, undefined.
 *
 * `flush(done)` is group commit: one call makes every write made before it durable with at most
 * one fdatasync per log and one meta replacement if the election state changed. A failed write or
 * sync poisons the store: `onFailure` is told, and `done` never runs, so nothing that depends on the
 * lost write can leave the node.
 *
 * One deliberate refinement of the ConsensusStorage contract: the learned log is synced by the same
 * flush, but `done` does not wait for it. Nothing a node sends depends on a learned entry being on
 * its own disk — an entry is learned only once it is chosen, i.e. durable in the acceptor journals of
 * a quorum — and a tail lost in a crash is learned again from peers on restart. (A ZooKeeper client
 * that already saw the lost state cannot attach to the lagging server: the client port refuses a
 * client whose last zxid is ahead of the server's.) This keeps one fdatasync, not two racing on the
 * file-system journal, on the path of every acknowledged write.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Packr } from 'msgpackr';
import type { Options as PackrOptions } from 'msgpackr';
import { FileLogStore, FileMetaStore, FileSnapshotStore, MAX_RECORD_PAYLOAD_BYTES, stderrLogger } from '../store/index.js';
import type { LogRecord, Snapshot, StorageFs, StoreLogger } from '../store/index.js';
import type { Ballot, Epoch, NodeId, Slot } from '../protocol/ids.js';
import { compareBallots, ZERO_BALLOT } from '../protocol/ids.js';
import type { AcceptedEntry, Entry } from '../protocol/messages.js';
import type { ConsensusStorage, DurableState, NodeSnapshot } from './storage.js';

/** File name of the election metadata inside a node's data directory. */
export const ELECTION_META_FILE = 'election.meta';
/** Directory of the acceptor journal inside a node's data directory. */
export const ACCEPTOR_LOG_DIR = 'acceptor';
/** Directory of the learned (chosen) entries inside a node's data directory. */
export const LEARNED_LOG_DIR = 'learned';
/** Directory of the node's snapshots inside its data directory. */
export const SNAPSHOT_DIR = 'snapshots';
/** Snapshots kept on disk (the newest stands in for older ones; an older one covers a corrupt newest). */
export const SNAPSHOTS_KEPT = 2;

/**
 * Largest acceptor journal record; a bigger persist is split over several records. A split
 * persist is safe: each record is a set of entries the acceptor did accept, and the reply that
 * depends on all of them waits for the flush that covers them all.
 */
export const MAX_JOURNAL_RECORD_BYTES = MAX_RECORD_PAYLOAD_BYTES;

/** Both the writer and every later reader of a data directory use exactly these options. */
const RECORD_CODEC_OPTIONS: PackrOptions = Object.freeze({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: true,
  useBigIntExtension: true,
  int64AsType: 'bigint',
  copyBuffers: true,
});

/** A record of a data directory that decodes but does not have the expected shape. */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
  constructor(
    /** Directory of the log holding the record. */
    readonly directory: string,
    /** Index of the record in that log. */
    readonly index: number,
    readonly reason: string,
  ) {
    super(`corrupt record ${index} in ${directory}: ${reason}`);
  }
}

/** The data directory belongs to another node id. */
export class ForeignDataDirectoryError extends Error {
  override readonly name = 'ForeignDataDirectoryError';
}

export interface FileStorageOptions {
  /** This node's id, recorded in the directory so that one node never starts on another's data. */
  readonly nodeId: NodeId;
  /** Where the two logs go (ZooKeeper's dataLogDir, e.g. a faster disk); default: the directory itself. */
  readonly logDirectory?: string;
  /** Where repairs (cut torn tails) are reported (default: warnings to stderr). */
  readonly logger?: StoreLogger;
  /** WAL segment size (default: the store's). */
  readonly segmentBytes?: number;
  /** File-system calls (default: node:fs); tests inject failures or count syncs. */
  readonly fs?: StorageFs;
  /** A write or sync failed: the store refuses all further work and the node must restart. */
  readonly onFailure?: (error: unknown) => void;
  /** Each completed flush, with its duration (write + fdatasync + meta replace). */
  readonly onFlush?: (durationMs: number) => void;
  /** Largest acceptor journal record before a persist is split (default MAX_JOURNAL_RECORD_BYTES). */
  readonly maxJournalRecordBytes?: number;
}

interface ElectionMeta {
  readonly nodeId: NodeId;
  readonly epoch: Epoch;
  readonly votedFor: NodeId | null;
}

interface JournalRecord {
  readonly p: Ballot;
  readonly a: readonly AcceptedEntry[];
  /** A checkpoint: the acceptor forgot every slot up to here. */
  readonly f?: Slot;
}

/** A {@link ConsensusStorage} in files: fsync before acknowledgement, recovery on open. */
export class FileStorage implements ConsensusStorage {
  private readonly packr = new Packr(RECORD_CODEC_OPTIONS);
  /** Entries packed for the acceptor journal and not yet appended to the learned log, with their bytes. */
  private readonly journalledEntries = new WeakMap<Entry, Uint8Array>();
  private electionState: ElectionMeta;
  private electionDirty = false;
  private acceptorDirty = false;
  private learnedDirty = false;
  /** Resolves when the last flush started has finished (whatever its outcome). */
  private lastFlush: Promise<void> = Promise.resolve();
  /** Resolves when the last learned-log sync has finished (whatever its outcome). */
  private lastLearnedSync: Promise<void> = Promise.resolve();
  /** Snapshot writes, installs and compactions, in order (whatever their outcome). */
  private background: Promise<void> = Promise.resolve();
  /** Peers' snapshots being installed: learned entries after the newest wait for the log reset. */
  private installing = 0;
  /** Slot of the newest snapshot being installed. */
  private installSlot = 0;
  private deferredLearned: LogRecord[] = [];
  /** Journal index of a checkpoint whose older records may go once the checkpoint is synced. */
  private journalCheckpoint = 0;
  private failure: unknown = undefined;
  private closed = false;

  private constructor(
    /** The node's data directory. */
    readonly directory: string,
    private readonly options: FileStorageOptions,
    private readonly meta: FileMetaStore<ElectionMeta>,
    private readonly acceptorLog: FileLogStore,
    private readonly learnedLog: FileLogStore,
    private readonly snapshots: FileSnapshotStore,
    private readonly recovered: DurableState,
    private readonly emptyOnOpen: boolean,
  ) {
    this.electionState = { nodeId: options.nodeId, epoch: recovered.epoch, votedFor: recovered.votedFor };
  }

  /**
   * Open (or create) the node's storage in `directory` and recover it. Torn tails are cut and
   * reported; any other damage throws the store's error (`CorruptLogError` with file and byte
   * offset, `CorruptMetaError`) or {@link CorruptRecordError}, and the node must not start.
   */
  static async open(directory: string, options: FileStorageOptions): Promise<FileStorage> {
    const logger = options.logger ?? stderrLogger;
    const storeOptions = {
      logger,
      ...(options.fs === undefined ? {} : { fs: options.fs }),
    };
    const logOptions = { ...storeOptions, ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }) };
    const meta = await FileMetaStore.open<ElectionMeta>(join(directory, ELECTION_META_FILE), storeOptions);
    const stored = meta.load();
    if (stored !== null && stored.nodeId !== options.nodeId) {
      await meta.close();
      throw new ForeignDataDirectoryError(`data directory ${directory} belongs to node ${stored.nodeId}, not ${options.nodeId}`);
    }
    const logDirectory = options.logDirectory ?? directory;
    const acceptorLog = await FileLogStore.open(join(logDirectory, ACCEPTOR_LOG_DIR), logOptions);
    const learnedLog = await FileLogStore.open(join(logDirectory, LEARNED_LOG_DIR), logOptions);
    const snapshots = await FileSnapshotStore.open(join(directory, SNAPSHOT_DIR), { ...storeOptions, snapshotsKept: SNAPSHOTS_KEPT });
    const unpack = new Packr(RECORD_CODEC_OPTIONS);
    try {
      const { promised, accepted, floor } = replayJournal(acceptorLog, unpack);
      const snapshot = snapshots.latest({ firstIndex: learnedLog.firstIndex, lastIndex: learnedLog.lastIndex });
      const snapshotSlot = snapshot?.index ?? 0;
      if (learnedLog.lastIndex < snapshotSlot) {
        logger.info({ directory: learnedLog.directory, snapshot: snapshotSlot, lastIndex: learnedLog.lastIndex }, 'learned log ends before the snapshot: continuing after the snapshot');
        await learnedLog.reset(snapshotSlot + 1);
      }
      const learned = readLearned(learnedLog, unpack, snapshotSlot);
      const state: DurableState = {
        epoch: stored?.epoch ?? 0,
        votedFor: stored?.votedFor ?? null,
        promised,
        accepted,
        acceptorFloor: floor,
        snapshot: snapshot === null ? null : toNodeSnapshot(snapshot),
        learned,
      };
      const empty = stored === null && acceptorLog.lastIndex === 0 && learnedLog.lastIndex === 0 && snapshot === null;
      return new FileStorage(directory, options, meta, acceptorLog, learnedLog, snapshots, state, empty);
    } catch (error) {
      await Promise.allSettled([meta.close(), acceptorLog.close(), learnedLog.close(), snapshots.close()]);
      throw error;
    }
  }

  get dirty(): boolean {
    return this.electionDirty || this.acceptorDirty || this.learnedDirty;
  }

  /** Newest slot held in the learned log. */
  get learnedSlot(): Slot {
    return this.learnedLog.lastIndex;
  }

  /** Whether the directory held nothing when opened (a first start, or a node that lost its disk). */
  get wasEmpty(): boolean {
    return this.emptyOnOpen;
  }

  /** The state recovered on open (a fresh copy each call, as the node may mutate what it gets). */
  load(): DurableState {
    const r = this.recovered;
    return {
      epoch: r.epoch,
      votedFor: r.votedFor,
      promised: r.promised,
      accepted: new Map(r.accepted),
      acceptorFloor: r.acceptorFloor,
      snapshot: r.snapshot,
      learned: r.learned.slice(),
    };
  }

  /** Slot of the oldest learned entry still held (the snapshot covers the ones before). */
  get learnedFrom(): Slot {
    return this.learnedLog.firstIndex;
  }

  saveCompacted(floor: Slot, promised: Ballot, accepted: readonly AcceptedEntry[]): void {
    if (this.failure !== undefined) return;
    const checkpoint = this.acceptorLog.lastIndex + 1;
    this.appendJournal(promised, accepted, floor);
    this.journalCheckpoint = checkpoint;
  }

  saveSnapshot(snapshot: NodeSnapshot, durable: () => void): void {
    this.inBackground(() => this.snapshots.write(snapshot.slot, snapshot.bytes), durable);
  }

  compactLearned(throughSlot: Slot): void {
    this.inBackground(() => this.learnedLog.compactUpTo(throughSlot));
  }

  installSnapshot(snapshot: NodeSnapshot, durable: () => void): void {
    this.installing++;
    this.installSlot = snapshot.slot;
    // Whatever waited for an earlier install is at or below this snapshot (it is ahead of the node).
    this.deferredLearned = [];
    this.inBackground(async () => {
      await this.snapshots.write(snapshot.slot, snapshot.bytes);
      // Only now: a crash before this leaves the old log and the old snapshot, still consistent.
      if (this.learnedLog.lastIndex < snapshot.slot + 1) await this.learnedLog.reset(snapshot.slot + 1);
      this.installing--;
      // A newer install follows: the entries waiting are after its snapshot, and wait for it.
      if (this.installing > 0) return;
      const deferred = this.deferredLearned;
      this.deferredLearned = [];
      if (deferred.length > 0 && deferred[0]!.index === this.learnedLog.lastIndex + 1) {
        this.append(this.learnedLog, deferred);
        this.lastLearnedSync = this.learnedLog.sync().catch((error: unknown) => this.fail(error));
      }
    }, durable);
  }

  saveElection(epoch: Epoch, votedFor: NodeId | null): void {
    this.electionState = { nodeId: this.options.nodeId, epoch, votedFor };
    this.electionDirty = true;
  }

  savePromise(promised: Ballot): void {
    this.appendJournal(promised, []);
  }

  saveAccepted(promised: Ballot, accepted: readonly AcceptedEntry[]): void {
    this.appendJournal(promised, accepted);
  }

  appendLearned(slot: Slot, entry: Entry): void {
    if (this.failure !== undefined) return;
    if (this.installing > 0) {
      // After the snapshot being installed: written once the log continues after it.
      const expected = (this.deferredLearned.at(-1)?.index ?? this.installSlot) + 1;
      if (slot === expected) this.deferredLearned.push({ index: slot, payload: this.encode(entry) });
      return;
    }
    // Like MemoryStorage: only the next slot extends the log (a broken learner is the checks' business).
    if (slot !== this.learnedLog.lastIndex + 1) return;
    // The entry was usually packed moments ago for the acceptor journal: its bytes are the record.
    const payload = this.journalledEntries.get(entry) ?? this.encode(entry);
    this.journalledEntries.delete(entry);
    this.append(this.learnedLog, [{ index: slot, payload }]);
    this.learnedDirty = true;
  }

  flush(done: () => void): void {
    if (this.failure !== undefined || this.closed) return;
    const started = performance.now();
    const work: Promise<void>[] = [this.lastFlush];
    if (this.electionDirty) work.push(this.meta.save(this.electionState));
    if (this.acceptorDirty) work.push(this.acceptorLog.sync());
    if (this.learnedDirty) {
      // Off the critical path (see the module comment); a failure still poisons the store.
      this.lastLearnedSync = this.learnedLog.sync().catch((error: unknown) => this.fail(error));
    }
    this.electionDirty = this.acceptorDirty = this.learnedDirty = false;
    const checkpoint = this.journalCheckpoint;
    this.journalCheckpoint = 0;
    const flush = Promise.all(work).then(
      () => {
        if (this.failure !== undefined) return;
        // The checkpoint is whole on disk: the records it copies may go.
        if (checkpoint > 0) this.inBackground(() => this.acceptorLog.compactUpTo(checkpoint - 1));
        this.options.onFlush?.(performance.now() - started);
        done();
      },
      (error: unknown) => this.fail(error),
    );
    this.lastFlush = flush.catch(() => undefined);
  }

  /** Wait for pending flushes and release the files (a graceful stop; unflushed writes are synced). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.lastFlush, this.lastLearnedSync, this.background]);
    const results = await Promise.allSettled([this.meta.close(), this.acceptorLog.close(), this.learnedLog.close(), this.snapshots.close()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined && this.failure === undefined) throw failed.reason;
  }

  /** Run store work after the background work before it; a failure poisons the store. */
  private inBackground(work: () => Promise<void>, then?: () => void): void {
    if (this.failure !== undefined || this.closed) return;
    const run = this.background.then(async () => {
      if (this.failure !== undefined) return;
      await work();
      if (this.failure === undefined && !this.closed) then?.();
    });
    this.background = run.catch((error: unknown) => this.fail(error));
  }

  private appendJournal(promised: Ballot, accepted: readonly AcceptedEntry[], floor?: Slot): void {
    if (this.failure !== undefined) return;
    const records: LogRecord[] = [];
    let next = this.acceptorLog.lastIndex + 1;
    // A checkpoint starts with its floor, then copies every entry above it (see the module comment).
    if (floor !== undefined) records.push({ index: next++, payload: this.encode({ p: promised, a: [], f: floor } satisfies JournalRecord) });
    for (const payload of this.encodeJournal(promised, accepted)) records.push({ index: next++, payload });
    this.append(this.acceptorLog, records);
    this.acceptorDirty = true;
  }

  /**
   * The journal records `{ p: promised, a: accepted }` of one persist: one record, or several when
   * the entries do not fit one. Assembled from separately packed parts (the MessagePack of a map is
   * its header, then key and value bytes), so each entry is packed once and its bytes kept for the
   * learned log; readers decode the records as before.
   */
  private encodeJournal(promised: Ballot, accepted: readonly AcceptedEntry[]): Uint8Array[] {
    const limit = this.options.maxJournalRecordBytes ?? MAX_JOURNAL_RECORD_BYTES;
    const head = this.encode(promised);
    const items: JournalItem[] = [];
    let lastBallot: Ballot | undefined;
    let ballotBytes: Uint8Array = head;
    for (const a of accepted) {
      if (a.ballot !== lastBallot) {
        lastBallot = a.ballot;
        ballotBytes = this.encode(a.ballot);
      }
      let entryBytes = this.journalledEntries.get(a.entry);
      if (entryBytes === undefined) {
        entryBytes = this.encode(a.entry);
        this.journalledEntries.set(a.entry, entryBytes);
      }
      items.push(acceptedEntryBytes(a.slot, ballotBytes, entryBytes));
    }
    const records: Uint8Array[] = [];
    let group: JournalItem[] = [];
    let groupBytes = 0;
    for (const item of items) {
      if (group.length > 0 && journalRecordBytes(head, groupBytes, group.length + 1) + item.length > limit) {
        records.push(journalRecord(head, group, groupBytes));
        group = [];
        groupBytes = 0;
      }
      group.push(item);
      groupBytes += item.length;
    }
    if (group.length > 0 || records.length === 0) records.push(journalRecord(head, group, groupBytes));
    return records;
  }
  private encode(value: unknown): Uint8Array {
    return this.packr.pack(value);
  }

  private append(log: FileLogStore, records: readonly LogRecord[]): void {
    try {
      log.append(records);
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.options.onFailure?.(error);
  }
}

// MessagePack framing for the journal records assembled by hand (see encodeJournal).
const KEY_P = Uint8Array.of(0xa1, 0x70);
const KEY_A = Uint8Array.of(0xa1, 0x61);
const KEY_SLOT = Uint8Array.of(0xa4, 0x73, 0x6c, 0x6f, 0x74);
const KEY_BALLOT = Uint8Array.of(0xa6, 0x62, 0x61, 0x6c, 0x6c, 0x6f, 0x74);
const KEY_ENTRY = Uint8Array.of(0xa5, 0x65, 0x6e, 0x74, 0x72, 0x79);
const FIXMAP_2 = 0x82;
const FIXMAP_3 = 0x83;

/** MessagePack of a non-negative safe integer, as msgpackr writes it (uint 8/16/32, else float 64). */
function uintBytes(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0xcc, n);
  if (n < 0x10000) return Uint8Array.of(0xcd, n >>> 8, n & 0xff);
  if (n < 0x1_0000_0000) return Uint8Array.of(0xce, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const out = new Uint8Array(9);
  out[0] = 0xcb;
  new DataView(out.buffer).setFloat64(1, n);
  return out;
}

/** Header of a MessagePack array of `count` elements. */
function arrayHeader(count: number): Uint8Array {
  if (count < 16) return Uint8Array.of(0x90 | count);
  if (count < 0x10000) return Uint8Array.of(0xdc, count >>> 8, count & 0xff);
  return Uint8Array.of(0xdd, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff);
}

/** The packed parts of one `{ slot, ballot, entry }`, joined only when its record is written. */
interface JournalItem {
  readonly parts: readonly Uint8Array[];
  readonly length: number;
}

function acceptedEntryBytes(slot: Slot, ballot: Uint8Array, entry: Uint8Array): JournalItem {
  const slotBytes = uintBytes(slot);
  const parts = [Uint8Array.of(FIXMAP_3), KEY_SLOT, slotBytes, KEY_BALLOT, ballot, KEY_ENTRY, entry];
  return { parts, length: 1 + KEY_SLOT.length + slotBytes.length + KEY_BALLOT.length + ballot.length + KEY_ENTRY.length + entry.length };
}

/** Size of `{ p, a: [count items of itemBytes in all] }`. */
function journalRecordBytes(promised: Uint8Array, itemBytes: number, count: number): number {
  return 1 + KEY_P.length + promised.length + KEY_A.length + arrayHeader(count).length + itemBytes;
}

function journalRecord(promised: Uint8Array, items: readonly JournalItem[], itemBytes: number): Uint8Array {
  const out = Buffer.allocUnsafe(journalRecordBytes(promised, itemBytes, items.length));
  let at = 0;
  const put = (part: Uint8Array): void => {
    out.set(part, at);
    at += part.length;
  };
  for (const part of [Uint8Array.of(FIXMAP_2), KEY_P, promised, KEY_A, arrayHeader(items.length)]) put(part);
  for (const item of items) for (const part of item.parts) put(part);
  return out;
}

function isBallot(value: unknown): value is Ballot {
  return (
    typeof value === 'object' &&
    value !== null &&
    Number.isSafeInteger((value as Ballot).epoch) &&
    Number.isSafeInteger((value as Ballot).nodeId)
  );
}

function isEntry(value: unknown): value is Entry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Entry;
  return isBallot(e.origin) && typeof e.createdMs === 'number' && Array.isArray(e.commands) && e.commands.every((c) => typeof c?.id === 'string');
}

function decodeRecord(unpack: Packr, directory: string, record: LogRecord): unknown {
  try {
    return unpack.unpack(record.payload);
  } catch (error) {
    throw new CorruptRecordError(directory, record.index, `not MessagePack: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Replays the acceptor journal: highest promise and floor, and per slot above it the last entry written. */
function replayJournal(log: FileLogStore, unpack: Packr): { promised: Ballot; accepted: Map<Slot, AcceptedEntry>; floor: Slot } {
  let promised: Ballot = ZERO_BALLOT;
  let floor = 0;
  const accepted = new Map<Slot, AcceptedEntry>();
  for (const record of log.readFrom(log.firstIndex)) {
    const value = decodeRecord(unpack, log.directory, record) as Partial<JournalRecord> | null;
    if (value === null || typeof value !== 'object' || !isBallot(value.p) || !Array.isArray(value.a)) {
      throw new CorruptRecordError(log.directory, record.index, 'not an acceptor journal record');
    }
    if (compareBallots(value.p, promised) > 0) promised = value.p;
    if (value.f !== undefined) {
      if (!Number.isSafeInteger(value.f) || value.f < 0) throw new CorruptRecordError(log.directory, record.index, 'malformed compaction floor');
      if (value.f > floor) floor = value.f;
    }
    for (const a of value.a) {
      if (!Number.isSafeInteger(a?.slot) || a.slot < 1 || !isBallot(a.ballot) || !isEntry(a.entry)) {
        throw new CorruptRecordError(log.directory, record.index, 'malformed accepted entry');
      }
      accepted.set(a.slot, a);
    }
  }
  for (const slot of accepted.keys()) if (slot <= floor) accepted.delete(slot);
  return { promised, accepted, floor };
}

function toNodeSnapshot(snapshot: Snapshot): NodeSnapshot {
  return { slot: snapshot.index, bytes: snapshot.bytes };
}

/** The learned entries after `snapshotSlot`; they must continue it without a gap. */
function readLearned(log: FileLogStore, unpack: Packr, snapshotSlot: Slot): Entry[] {
  if (log.firstIndex > snapshotSlot + 1) {
    throw new CorruptRecordError(
      log.directory,
      log.firstIndex,
      snapshotSlot === 0 ? 'the learned log does not start at slot 1 and there is no snapshot' : `the learned log starts after slot ${snapshotSlot + 1}, leaving a gap after the snapshot at slot ${snapshotSlot}`,
    );
  }
  const learned: Entry[] = [];
  for (const record of log.readFrom(snapshotSlot + 1)) {
    const value = decodeRecord(unpack, log.directory, record);
    if (!isEntry(value)) throw new CorruptRecordError(log.directory, record.index, 'not a log entry');
    learned.push(value);
  }
  return learned;
}
