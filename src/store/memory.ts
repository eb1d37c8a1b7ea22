/**
 * In-memory stores with the same behaviour as the file stores, for tests and the deterministic
 * simulator. Each has `crash()`, which keeps exactly what was made durable, as kill -9 would.
 *
 * Durability is modelled by one hook: every durable step (sync, save, snapshot write, truncation)
 * awaits `options.durability()` and counts as durable only when it resolves, so a simulator can give
 * fsync a latency on its virtual clock and crash a node while a sync is in flight.
 *
 * Truncations, resets and compactions take effect at once, also for `crash()`: a real store may
 * still hold the dropped suffix if it crashes before the truncation is durable, which is the same
 * as the truncation never having been asked for, so the model omits that case.
 */
import { checkAppendBatch, checkIndex, checkSnapshotArgs, chooseSnapshot, serializeMeta } from './common.js';
import type { SnapshotCandidate } from './common.js';
import { CompactedIndexError, ConcurrentLogChangeError } from './errors.js';
import { DEFAULT_SNAPSHOTS_KEPT } from './limits.js';
import { silentLogger } from './logger.js';
import type { LogCoverage, LogRecord, LogStore, MetaStore, Snapshot, SnapshotStore, StoreLogger } from './types.js';

export interface MemoryStoreOptions {
  /** Awaited by every durable step; the step is durable when it resolves. Default: at once. */
  readonly durability?: () => Promise<void>;
  /** Where reports go (corrupt snapshots). Default: dropped. */
  readonly logger?: StoreLogger;
  /** Snapshots kept by `MemorySnapshotStore` (default DEFAULT_SNAPSHOTS_KEPT). */
  readonly snapshotsKept?: number;
}

const immediately = (): Promise<void> => Promise.resolve();

function closedError(what: string): Error {
  return new Error(`${what} is closed`);
}

/** A {@link LogStore} in memory. */
export class MemoryLogStore implements LogStore {
  private readonly durability: () => Promise<void>;
  /** payloads[i] is the record at index first + i. */
  private payloads: Uint8Array[] = [];
  private first = 1;
  private durableLast = 0;
  /** Syncs in flight: how far each may raise durableLast when it completes. */
  private readonly inflightSyncs = new Set<{ target: number }>();
  /** Bumped by truncations and resets, so live iterators notice. */
  private generation = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.durability = options.durability ?? immediately;
  }

  get firstIndex(): number {
    return this.first;
  }

  get lastIndex(): number {
    return this.first + this.payloads.length - 1;
  }

  /** The highest index a crash now would keep. */
  get durableIndex(): number {
    return this.durableLast;
  }

  append(records: readonly LogRecord[]): void {
    this.assertOpen();
    checkAppendBatch(records, this.lastIndex + 1);
    for (const record of records) this.payloads.push(new Uint8Array(record.payload));
  }

  async sync(): Promise<void> {
    this.assertOpen();
    const inflight = { target: this.lastIndex };
    this.inflightSyncs.add(inflight);
    try {
      await this.durability();
    } finally {
      this.inflightSyncs.delete(inflight);
    }
    this.durableLast = Math.max(this.durableLast, inflight.target);
  }

  async truncateAfter(index: number): Promise<void> {
    this.assertOpen();
    checkIndex(index, 'truncateAfter index');
    if (index < this.first - 1) {
      throw new RangeError(`truncateAfter(${index}): the log starts at ${this.first}; records before it are compacted`);
    }
    if (index >= this.lastIndex) return;
    this.payloads.length = index - this.first + 1;
    this.generation++;
    this.durableLast = Math.min(this.durableLast, index);
    this.capDurability(index);
    await this.durability();
  }

  async reset(nextIndex: number): Promise<void> {
    this.assertOpen();
    checkIndex(nextIndex, 'reset nextIndex', 1);
    if (nextIndex <= this.lastIndex) {
      throw new RangeError(`reset(${nextIndex}) must continue after the last index ${this.lastIndex}; use truncateAfter first`);
    }
    this.payloads = [];
    this.first = nextIndex;
    this.generation++;
    this.durableLast = nextIndex - 1;
    this.capDurability(nextIndex - 1);
    await this.durability();
  }

  readFrom(index: number): Iterable<LogRecord> {
    this.assertOpen();
    checkIndex(index, 'readFrom index', 1);
    if (index < this.first) throw new CompactedIndexError(index, this.first);
    return this.iterate(index, this.generation);
  }

  async compactUpTo(index: number): Promise<void> {
    this.assertOpen();
    checkIndex(index, 'compactUpTo index');
    // Only durable records go: compacting an undurable one could leave a crash with a hole.
    const upTo = Math.min(index, this.durableLast);
    if (upTo >= this.first) {
      this.payloads.splice(0, upTo - this.first + 1);
      this.first = upTo + 1;
    }
    await this.durability();
  }

  async close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /**
   * Simulate kill -9 and restart: forget every record not yet durable, let syncs still in flight
   * complete without effect, and make the store usable again (even if it was closed).
   */
  crash(): void {
    if (this.durableLast < this.first - 1 || this.durableLast > this.lastIndex) {
      throw new Error(`internal: durable index ${this.durableLast} outside the log [${this.first - 1}, ${this.lastIndex}]`);
    }
    this.payloads.length = this.durableLast - this.first + 1;
    this.capDurability(this.durableLast);
    this.generation++;
    this.closed = false;
  }

  private capDurability(index: number): void {
    for (const inflight of this.inflightSyncs) inflight.target = Math.min(inflight.target, index);
  }

  private *iterate(from: number, generation: number): Generator<LogRecord> {
    for (let next = from; next <= this.lastIndex; next++) {
      if (this.generation !== generation) throw new ConcurrentLogChangeError('log truncated or reset during readFrom');
      if (next < this.first) throw new CompactedIndexError(next, this.first);
      yield { index: next, payload: new Uint8Array(this.payloads[next - this.first]!) };
    }
  }

  private assertOpen(): void {
    if (this.closed) throw closedError('MemoryLogStore');
  }
}

/** A {@link MetaStore} in memory; values go through JSON, as they would on disk. */
export class MemoryMetaStore<T> implements MetaStore<T> {
  private readonly durability: () => Promise<void>;
  private durableJson: string | null = null;
  private queue: Promise<void> = Promise.resolve();
  /** Bumped by crash(), so saves in flight at the crash never land. */
  private incarnation = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.durability = options.durability ?? immediately;
  }

  save(value: T): Promise<void> {
    let json: string;
    try {
      if (this.closed) throw closedError('MemoryMetaStore');
      json = serializeMeta(value);
    } catch (error) {
      return Promise.reject(error);
    }
    const incarnation = this.incarnation;
    const run = this.queue.then(async () => {
      await this.durability();
      if (incarnation === this.incarnation) this.durableJson = json;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  load(): T | null {
    return this.durableJson === null ? null : (JSON.parse(this.durableJson) as T);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  /** Simulate kill -9 and restart: saves still in flight are lost; the store is usable again. */
  crash(): void {
    this.incarnation++;
    this.queue = Promise.resolve();
    this.closed = false;
  }
}

/** A {@link SnapshotStore} in memory, with `corrupt()` to simulate a damaged snapshot. */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly durability: () => Promise<void>;
  private readonly logger: StoreLogger;
  private readonly kept: number;
  private readonly snapshots = new Map<number, { bytes: Uint8Array; corruption: string | null }>();
  private queue: Promise<void> = Promise.resolve();
  private incarnation = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.durability = options.durability ?? immediately;
    this.logger = options.logger ?? silentLogger;
    this.kept = options.snapshotsKept ?? DEFAULT_SNAPSHOTS_KEPT;
    checkIndex(this.kept, 'snapshotsKept', 1);
  }

  write(index: number, bytes: Uint8Array): Promise<void> {
    try {
      if (this.closed) throw closedError('MemorySnapshotStore');
      checkSnapshotArgs(index, bytes);
    } catch (error) {
      return Promise.reject(error);
    }
    const copy = new Uint8Array(bytes);
    const incarnation = this.incarnation;
    const run = this.queue.then(async () => {
      await this.durability();
      if (incarnation !== this.incarnation) return;
      this.snapshots.set(index, { bytes: copy, corruption: null });
      const newestFirst = [...this.snapshots.keys()].sort((a, b) => b - a);
      for (const old of newestFirst.slice(this.kept)) this.snapshots.delete(old);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  latest(log?: LogCoverage): Snapshot | null {
    const candidates: SnapshotCandidate[] = [...this.snapshots.entries()]
      .sort(([a], [b]) => b - a)
      .map(([index, stored]) => ({
        index,
        location: `memory snapshot ${index}`,
        load: () => (stored.corruption === null ? { index, bytes: new Uint8Array(stored.bytes) } : { corrupt: stored.corruption }),
      }));
    return chooseSnapshot(candidates, log, this.logger);
  }

  /** Indexes of the stored snapshots, oldest first. */
  indexes(): number[] {
    return [...this.snapshots.keys()].sort((a, b) => a - b);
  }

  /** Fault injection: make the snapshot at `index` fail its checks from now on. */
  corrupt(index: number, reason = 'simulated corruption'): void {
    const stored = this.snapshots.get(index);
    if (stored === undefined) throw new RangeError(`no snapshot at index ${index}`);
    stored.corruption = reason;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  /** Simulate kill -9 and restart: writes still in flight are lost; the store is usable again. */
  crash(): void {
    this.incarnation++;
    this.queue = Promise.resolve();
    this.closed = false;
  }
}
