/**
 * Errors raised by the durable store. Corruption is always an error, never a silent skip: the
 * operator decides what to do with a damaged file, the store does not guess.
 */

/** The write-ahead log holds damage that is not a torn tail: a file and a byte offset say where. */
export class CorruptLogError extends Error {
  override readonly name = 'CorruptLogError';
  constructor(
    /** Path of the damaged segment file. */
    readonly file: string,
    /** Byte offset inside `file` where the first damaged record starts. */
    readonly offset: number,
    /** What is wrong there. */
    readonly reason: string,
  ) {
    super(`corrupt log segment ${file} at byte offset ${offset}: ${reason}`);
  }
}

/** A snapshot file failed its checks. Reported (logged) by `latest()`, thrown by direct reads. */
export class CorruptSnapshotError extends Error {
  override readonly name = 'CorruptSnapshotError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`corrupt snapshot ${file}: ${reason}`);
  }
}

/**
 * No usable snapshot: the newest one is corrupt and the log no longer holds the entries needed to
 * rebuild its state from an older one. Restarting would lose acknowledged state, so the node stops.
 */
export class SnapshotUnavailableError extends Error {
  override readonly name = 'SnapshotUnavailableError';
}

/** The metadata file failed its checks. Never replaced by defaults: that could undo a vote. */
export class CorruptMetaError extends Error {
  override readonly name = 'CorruptMetaError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`corrupt metadata file ${file}: ${reason}`);
  }
}

/** `readFrom` asked for an index that compaction (or a reset) has already removed. */
export class CompactedIndexError extends Error {
  override readonly name = 'CompactedIndexError';
  constructor(
    readonly index: number,
    readonly firstIndex: number,
  ) {
    super(`log index ${index} is compacted: the log starts at ${firstIndex}`);
  }
}

/** The log was truncated or reset while an iterator from `readFrom` was still being consumed. */
export class ConcurrentLogChangeError extends Error {
  override readonly name = 'ConcurrentLogChangeError';
}

/**
 * A write or flush failed (EIO, ENOSPC, …). After a failed fsync the state of the page cache is
 * unknown, so the store refuses all further work: the node must restart and recover from disk.
 */
export class StoreFailedError extends Error {
  override readonly name = 'StoreFailedError';
  constructor(cause: unknown) {
    super(`store failed and refuses further work: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}
