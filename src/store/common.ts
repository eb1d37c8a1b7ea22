/** Validation and policy shared by the file and memory stores, so both behave the same. */
import { SnapshotUnavailableError } from './errors.js';
import { MAX_LOG_INDEX, MAX_META_BYTES, MAX_RECORD_PAYLOAD_BYTES, MAX_SNAPSHOT_BYTES } from './limits.js';
import type { LogCoverage, LogRecord, Snapshot, StoreLogger } from './types.js';

/** Throws a RangeError unless `index` is an integer in [min, MAX_LOG_INDEX]. */
export function checkIndex(index: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(index) || index < min || index > MAX_LOG_INDEX) {
    throw new RangeError(`${what} must be an integer in [${min}, ${MAX_LOG_INDEX}], got ${index}`);
  }
}

/** Checks a batch for `append`: contiguous indexes starting at `nextIndex`, payloads within limits. */
export function checkAppendBatch(records: readonly LogRecord[], nextIndex: number): void {
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const expected = nextIndex + i;
    if (record.index !== expected) {
      throw new RangeError(`append: record ${i} has index ${record.index}, expected ${expected} (indexes must be contiguous)`);
    }
    checkIndex(record.index, 'append: record index', 1);
    if (!(record.payload instanceof Uint8Array)) {
      throw new TypeError(`append: record ${record.index} payload is not a Uint8Array`);
    }
    if (record.payload.length > MAX_RECORD_PAYLOAD_BYTES) {
      throw new RangeError(
        `append: record ${record.index} payload is ${record.payload.length} bytes, over MAX_RECORD_PAYLOAD_BYTES (${MAX_RECORD_PAYLOAD_BYTES})`,
      );
    }
  }
}

export function checkSnapshotArgs(index: number, bytes: Uint8Array): void {
  checkIndex(index, 'snapshot index', 1);
  if (!(bytes instanceof Uint8Array)) throw new TypeError('snapshot bytes must be a Uint8Array');
  if (bytes.length > MAX_SNAPSHOT_BYTES) {
    throw new RangeError(`snapshot is ${bytes.length} bytes, over MAX_SNAPSHOT_BYTES (${MAX_SNAPSHOT_BYTES})`);
  }
}

/** Serializes a metadata value, refusing what JSON cannot carry faithfully or what is too large. */
export function serializeMeta(value: unknown): string {
  if (value === undefined) throw new TypeError('metadata value must not be undefined');
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json, 'utf8') > MAX_META_BYTES) {
    throw new RangeError(`metadata is ${Buffer.byteLength(json, 'utf8')} bytes, over MAX_META_BYTES (${MAX_META_BYTES})`);
  }
  return json;
}

/** A stored snapshot as `latest()` examines it, newest first. */
export interface SnapshotCandidate {
  readonly index: number;
  /** Where it lives, for reports (a path, or a label for memory stores). */
  readonly location: string;
  /** Reads and verifies it: the snapshot, or the reason it is unusable. */
  load(): Snapshot | { readonly corrupt: string };
}

/**
 * The fallback policy of `SnapshotStore.latest`, shared by both implementations. `candidates` must
 * be sorted by index, newest first.
 */
export function chooseSnapshot(
  candidates: readonly SnapshotCandidate[],
  log: LogCoverage | undefined,
  logger: StoreLogger,
): Snapshot | null {
  let newestCorrupt: SnapshotCandidate | null = null;
  for (const candidate of candidates) {
    const loaded = candidate.load();
    if ('corrupt' in loaded) {
      logger.warn({ snapshot: candidate.location, index: candidate.index, reason: loaded.corrupt }, 'skipping corrupt snapshot');
      newestCorrupt ??= candidate;
      continue;
    }
    if (newestCorrupt !== null) requireCoverage(loaded.index, newestCorrupt, log, logger);
    return loaded;
  }
  if (newestCorrupt !== null) requireCoverage(0, newestCorrupt, log, logger);
  return null;
}

function requireCoverage(
  fallbackIndex: number,
  corrupt: SnapshotCandidate,
  log: LogCoverage | undefined,
  logger: StoreLogger,
): void {
  // Rebuilding the corrupt snapshot's state needs every entry after the fallback up to its index.
  const covered = log !== undefined && log.firstIndex <= fallbackIndex + 1 && log.lastIndex >= corrupt.index;
  if (!covered) {
    const held = log === undefined ? 'unknown' : `[${log.firstIndex}, ${log.lastIndex}]`;
    throw new SnapshotUnavailableError(
      `snapshot ${corrupt.location} (index ${corrupt.index}) is corrupt and the log (holding ${held}) does not cover ` +
        `indexes ${fallbackIndex + 1}..${corrupt.index} needed to rebuild it from ${fallbackIndex === 0 ? 'the empty tree' : `snapshot ${fallbackIndex}`}`,
    );
  }
  logger.warn(
    { corrupt: corrupt.location, fallbackIndex, logFirstIndex: log.firstIndex, logLastIndex: log.lastIndex },
    'falling back to an older snapshot; the log covers the gap',
  );
}
