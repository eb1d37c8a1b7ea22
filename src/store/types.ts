/**
 * Interfaces of the durable store. A node persists three things through them:
 *
 * - a {@link LogStore}: the replicated log, opaque records at contiguous indexes;
 * - a {@link MetaStore}: small state that must survive a crash (election epoch and vote, the
 *   acceptor's promised ballot);
 * - a {@link SnapshotStore}: serialized trees, so the log can be compacted.
 *
 * Two families implement them: the file stores (fsync before acknowledgement, for real nodes) and
 * the memory stores (for tests and the deterministic simulator, with a `crash()` that keeps
 * exactly what was made durable). Both pass one behavioural test suite (test/store/contract.ts).
 */

/** One log record: an opaque payload at a position of the log. */
export interface LogRecord {
  /** Position in the log: a safe integer ≥ 1, exactly one more than the record before it. */
  readonly index: number;
  /** Opaque bytes; stores copy them on append and hand out fresh copies on read. */
  readonly payload: Uint8Array;
}

export type { StoreLogger } from './logger.js';
export { silentLogger, stderrLogger } from './logger.js';

/**
 * A write-ahead log of opaque records at contiguous indexes.
 *
 * Durability contract: `append` only buffers. A record is durable once a `sync()` called after its
 * `append` has resolved; a reply that depends on it must not leave before that. `truncateAfter`,
 * `reset` and `compactUpTo` are durable when their promises resolve, and every `sync()` called
 * after them also waits for them.
 *
 * Reads see every appended record at once, durable or not (a leader may send entries to peers
 * while its own fsync is still running, as etcd's raft does).
 *
 * When the log holds no records, `firstIndex === lastIndex + 1` and the next append must carry
 * `lastIndex + 1`. A fresh log starts empty with `firstIndex === 1`.
 */
export interface LogStore {
  /** Index of the oldest record held (or `lastIndex + 1` when the log is empty). */
  readonly firstIndex: number;
  /** Index of the newest record appended (durable or not). */
  readonly lastIndex: number;
  /**
   * Buffer `records` in memory. Their indexes must continue the log without a gap
   * (`lastIndex + 1`, `lastIndex + 2`, …). All or nothing: an invalid batch throws and appends none.
   */
  append(records: readonly LogRecord[]): void;
  /**
   * Make every record appended before this call durable (group commit: concurrent calls share one
   * fdatasync). Rejects if the write failed; the store then refuses all further work.
   */
  sync(): Promise<void>;
  /**
   * Drop every record after `index` (a conflicting suffix), durably. `index` may be anything from
   * `firstIndex - 1` (drop all) upwards; at or beyond `lastIndex` it changes nothing.
   * Appends may follow at once; they become durable only after the truncation.
   */
  truncateAfter(index: number): Promise<void>;
  /**
   * Drop every record and continue the log at `nextIndex` (> `lastIndex`), durably: used after
   * installing a snapshot that is ahead of the log. A crash part-way leaves either a prefix of the
   * old log or the new empty log: the node must compare the log with its newest snapshot on start.
   */
  reset(nextIndex: number): Promise<void>;
  /**
   * Records from `index` up to `lastIndex`, in order, read lazily. Throws
   * {@link CompactedIndexError} if `index < firstIndex`; yields nothing if `index > lastIndex`.
   * Iteration throws `ConcurrentLogChangeError` if the log is truncated or reset meanwhile.
   */
  readFrom(index: number): Iterable<LogRecord>;
  /**
   * Remove old records covered by a snapshot at `index`. Only whole units (segments) are removed,
   * and implementations may keep some recent ones, so afterwards `firstIndex <= index + 1` may
   * still hold; records after `index` and `lastIndex` are never touched.
   */
  compactUpTo(index: number): Promise<void>;
  /** Sync what is pending, wait for queued work, release files. The store is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * Small persisted state (a JSON-serializable object), replaced atomically: after a crash `load()`
 * returns either the previous value or the new one, never a mix, never nothing.
 */
export interface MetaStore<T> {
  /** Replace the stored value durably. Resolves only once a crash can no longer undo it. */
  save(value: T): Promise<void>;
  /** The value of the last save that completed (a fresh copy), or null if none ever did. */
  load(): T | null;
  /** Wait for queued saves and release resources. */
  close(): Promise<void>;
}

/** A snapshot: the state of the tree after applying every log record up to `index`. */
export interface Snapshot {
  readonly index: number;
  readonly bytes: Uint8Array;
}

/** The range of indexes a log still holds, used to decide whether an older snapshot can stand in. */
export interface LogCoverage {
  readonly firstIndex: number;
  readonly lastIndex: number;
}

/** Serialized snapshots, written atomically, the newest `keep` retained. */
export interface SnapshotStore {
  /**
   * Store `bytes` as the snapshot at `index`, atomically and durably, then prune old ones. The
   * store keeps `bytes` until the write is done and does not copy it (a snapshot may be tens of
   * megabytes): the caller must not change it meanwhile.
   */
  write(index: number, bytes: Uint8Array): Promise<void>;
  /**
   * The newest valid snapshot, or null if there is none (start from the empty tree).
   *
   * A snapshot that fails its checks is reported through the logger and skipped, but an older one
   * (or the empty tree) stands in only if `log` still covers the gap: it must hold every index from
   * just after the fallback up to the corrupt snapshot's index. Otherwise, or when `log` is not
   * given, this throws `SnapshotUnavailableError` rather than silently forget acknowledged state.
   */
  latest(log?: LogCoverage): Snapshot | null;
  /** Wait for queued writes and release resources. */
  close(): Promise<void>;
}

export { MemoryLogStore, MemoryMetaStore, MemorySnapshotStore } from './memory.js';
export type { MemoryStoreOptions } from './memory.js';
