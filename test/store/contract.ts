/**
 * The behavioural suites every store implementation passes, written once and run for the file
 * stores and the memory stores alike (contract.test.ts).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CompactedIndexError, ConcurrentLogChangeError, SnapshotUnavailableError } from '../../src/store/errors.js';
import { MAX_META_BYTES } from '../../src/store/limits.js';
import type { LogStore, MetaStore, SnapshotStore, StoreLogger } from '../../src/store/types.js';
import { payloadFor, plain, readAll, recordsFor, recordingLogger } from './helpers.js';

/** How a suite creates, restarts and disposes of one implementation. */
export interface Harness<S> {
  /** A fresh, empty store. `options.logger` receives its reports. */
  open(options?: { logger?: StoreLogger }): Promise<S>;
  /** Simulate kill -9 and restart: whatever was durable survives. */
  crash(store: S): Promise<S>;
  /** Release everything created since the last cleanup. */
  cleanup(): Promise<void>;
}

export interface SnapshotHarness extends Harness<SnapshotStore> {
  /** Damage the stored snapshot at `index` so its checks fail. */
  corrupt(store: SnapshotStore, index: number): Promise<void>;
  /** Snapshots kept by stores this harness opens. */
  readonly snapshotsKept: number;
}

export function describeLogStoreContract(name: string, harness: Harness<LogStore>, propertyRuns: number): void {
  describe(`LogStore contract: ${name}`, () => {
    afterEach(() => harness.cleanup());

    it('starts empty at index 1', async () => {
      const log = await harness.open();
      expect([log.firstIndex, log.lastIndex]).toEqual([1, 0]);
      expect(readAll(log, 1)).toEqual([]);
    });

    it('reads back what was appended, before and after sync, and after a restart', async () => {
      let log = await harness.open();
      const records = recordsFor(1, 30);
      log.append(records.slice(0, 10));
      log.append(records.slice(10));
      expect(log.lastIndex).toBe(30);
      expect(readAll(log, 1)).toEqual(plain(records));
      await log.sync();
      expect(readAll(log, 12)).toEqual(plain(records.slice(11)));
      log = await harness.crash(log);
      expect([log.firstIndex, log.lastIndex]).toEqual([1, 30]);
      expect(readAll(log, 1)).toEqual(plain(records));
      expect(readAll(log, 31)).toEqual([]);
    });

    it('copies payloads in and out', async () => {
      const log = await harness.open();
      const payload = Uint8Array.from([1, 2, 3]);
      log.append([{ index: 1, payload }]);
      payload[0] = 99;
      const [first] = [...log.readFrom(1)];
      expect([...first!.payload]).toEqual([1, 2, 3]);
      first!.payload[1] = 99;
      await log.sync();
      expect(readAll(log, 1)).toEqual([{ index: 1, payload: [1, 2, 3] }]);
      // A Buffer's slice() is a view; the store must not keep one.
      const buffer = Buffer.from([4, 5]);
      log.append([{ index: 2, payload: buffer }]);
      buffer[0] = 0;
      expect(readAll(log, 2)).toEqual([{ index: 2, payload: [4, 5] }]);
    });

    it('refuses gaps, repeats and oversized input, appending nothing from a bad batch', async () => {
      const log = await harness.open();
      log.append(recordsFor(1, 3));
      expect(() => log.append(recordsFor(5, 6))).toThrow(RangeError);
      expect(() => log.append(recordsFor(3, 4))).toThrow(RangeError);
      expect(() => log.append([...recordsFor(4, 5), ...recordsFor(7, 7)])).toThrow(RangeError);
      expect(() => log.append([{ index: 4, payload: [1, 2] as unknown as Uint8Array }])).toThrow(TypeError);
      expect(log.lastIndex).toBe(3);
      log.append([]);
      log.append(recordsFor(4, 4));
      expect(log.lastIndex).toBe(4);
    });

    it('loses no synced record when it crashes with unsynced appends', async () => {
      let log = await harness.open();
      log.append(recordsFor(1, 20));
      await log.sync();
      log.append(recordsFor(21, 25));
      log = await harness.crash(log);
      expect(log.lastIndex).toBeGreaterThanOrEqual(20);
      expect(readAll(log, 1)).toEqual(plain(recordsFor(1, log.lastIndex)));
    });

    it('truncates a conflicting suffix durably and continues after it', async () => {
      let log = await harness.open();
      log.append(recordsFor(1, 40));
      await log.sync();
      await log.truncateAfter(25);
      expect(log.lastIndex).toBe(25);
      log.append(recordsFor(26, 30, 1));
      await log.sync();
      const expected = [...recordsFor(1, 25), ...recordsFor(26, 30, 1)];
      expect(readAll(log, 1)).toEqual(plain(expected));
      log = await harness.crash(log);
      expect(readAll(log, 1)).toEqual(plain(expected));
      await log.truncateAfter(30);
      await log.truncateAfter(99);
      expect(log.lastIndex).toBe(30);
    });

    it('may append right after truncateAfter without awaiting it', async () => {
      let log = await harness.open();
      log.append(recordsFor(1, 10));
      const firstSync = log.sync();
      const truncated = log.truncateAfter(4);
      log.append(recordsFor(5, 8, 2));
      const secondSync = log.sync();
      await Promise.all([firstSync, truncated, secondSync]);
      const expected = plain([...recordsFor(1, 4), ...recordsFor(5, 8, 2)]);
      expect(readAll(log, 1)).toEqual(expected);
      log = await harness.crash(log);
      expect(readAll(log, 1)).toEqual(expected);
    });

    it('truncates everything down to firstIndex - 1 and refuses to go below', async () => {
      let log = await harness.open();
      log.append(recordsFor(1, 5));
      await log.sync();
      await expect(log.truncateAfter(-1)).rejects.toThrow(RangeError);
      await log.truncateAfter(0);
      expect([log.firstIndex, log.lastIndex]).toEqual([1, 0]);
      log.append(recordsFor(1, 2, 3));
      await log.sync();
      log = await harness.crash(log);
      expect(readAll(log, 1)).toEqual(plain(recordsFor(1, 2, 3)));
    });

    it('resets to a later index durably', async () => {
      let log = await harness.open();
      log.append(recordsFor(1, 10));
      await log.sync();
      await expect(log.reset(10)).rejects.toThrow(RangeError);
      await log.reset(100);
      expect([log.firstIndex, log.lastIndex]).toEqual([100, 99]);
      expect(() => log.readFrom(50)).toThrow(CompactedIndexError);
      expect(() => log.append(recordsFor(11, 11))).toThrow(RangeError);
      log.append(recordsFor(100, 104));
      await log.sync();
      log = await harness.crash(log);
      expect([log.firstIndex, log.lastIndex]).toEqual([100, 104]);
      expect(readAll(log, 100)).toEqual(plain(recordsFor(100, 104)));
    });

    it('compacts only what a snapshot covers and keeps the rest readable', async () => {
      let log = await harness.open();
      log.append(recordsFor(1, 200));
      await log.sync();
      await log.compactUpTo(150);
      expect(log.firstIndex).toBeGreaterThanOrEqual(1);
      expect(log.firstIndex).toBeLessThanOrEqual(151);
      expect(log.lastIndex).toBe(200);
      expect(readAll(log, log.firstIndex)).toEqual(plain(recordsFor(log.firstIndex, 200)));
      if (log.firstIndex > 1) expect(() => log.readFrom(1)).toThrow(CompactedIndexError);
      const firstAfterCompaction = log.firstIndex;
      log = await harness.crash(log);
      expect(log.firstIndex).toBe(firstAfterCompaction);
      expect(readAll(log, log.firstIndex)).toEqual(plain(recordsFor(log.firstIndex, 200)));
      log.append(recordsFor(201, 202));
      await log.sync();
      expect(log.lastIndex).toBe(202);
    });

    it('fails an iterator that outlives a truncation', async () => {
      const log = await harness.open();
      log.append(recordsFor(1, 10));
      await log.sync();
      const iterator = log.readFrom(1)[Symbol.iterator]();
      expect(iterator.next().value?.index).toBe(1);
      await log.truncateAfter(5);
      expect(() => iterator.next()).toThrow(ConcurrentLogChangeError);
    });

    it('matches a model under random appends, syncs, truncations, resets, compactions and crashes', async () => {
      type Op =
        | { kind: 'append'; count: number; salt: number }
        | { kind: 'sync' }
        | { kind: 'truncate'; back: number }
        | { kind: 'reset'; ahead: number }
        | { kind: 'compact'; back: number }
        | { kind: 'crash' };
      const op: fc.Arbitrary<Op> = fc.oneof(
        { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 12 }), salt: fc.nat(255) }) },
        { weight: 3, arbitrary: fc.constant({ kind: 'sync' as const }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.nat(15) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), ahead: fc.integer({ min: 1, max: 20 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat(20) }) },
        { weight: 2, arbitrary: fc.constant({ kind: 'crash' as const }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
          let log = await harness.open();
          try {
            // The model: records by index, and what a crash keeps.
            let model = new Map<number, Uint8Array>();
            let first = 1;
            let last = 0;
            let durable = { records: new Map(model), first, last };
            const persist = (): void => {
              durable = { records: new Map(model), first, last };
            };
            for (const step of ops) {
              switch (step.kind) {
                case 'append': {
                  const records = recordsFor(last + 1, last + step.count, step.salt);
                  log.append(records);
                  for (const record of records) model.set(record.index, record.payload);
                  last += step.count;
                  break;
                }
                case 'sync':
                  await log.sync();
                  persist();
                  break;
                case 'truncate': {
                  const index = Math.max(first - 1, last - step.back);
                  // Truncations are durable, and so is what was synced before them.
                  await log.sync();
                  await log.truncateAfter(index);
                  for (let i = index + 1; i <= last; i++) model.delete(i);
                  last = Math.min(last, index);
                  persist();
                  break;
                }
                case 'reset':
                  await log.reset(last + step.ahead);
                  model = new Map();
                  first = last + step.ahead;
                  last = first - 1;
                  persist();
                  break;
                case 'compact': {
                  await log.sync();
                  persist();
                  const index = Math.max(0, last - step.back);
                  await log.compactUpTo(index);
                  expect(log.firstIndex).toBeGreaterThanOrEqual(first);
                  expect(log.firstIndex).toBeLessThanOrEqual(Math.max(first, Math.min(index, last) + 1));
                  for (let i = first; i < log.firstIndex; i++) model.delete(i);
                  first = log.firstIndex;
                  persist();
                  break;
                }
                case 'crash':
                  log = await harness.crash(log);
                  model = new Map(durable.records);
                  first = durable.first;
                  last = durable.last;
                  break;
              }
              expect([log.firstIndex, log.lastIndex]).toEqual([first, last]);
            }
            const expected = [...model.entries()].map(([index, payload]) => ({ index, payload: [...payload] }));
            expect(readAll(log, first)).toEqual(expected.sort((a, b) => a.index - b.index));
          } finally {
            await harness.cleanup();
          }
        }),
        { numRuns: propertyRuns },
      );
    });
  });
}

export function describeMetaStoreContract(name: string, harness: Harness<MetaStore<Record<string, unknown>>>): void {
  describe(`MetaStore contract: ${name}`, () => {
    afterEach(() => harness.cleanup());

    it('loads null before the first save and the saved value after it, across a restart', async () => {
      let meta = await harness.open();
      expect(meta.load()).toBeNull();
      await meta.save({ epoch: 3, votedFor: 2, promised: { epoch: 3, nodeId: 1 } });
      expect(meta.load()).toEqual({ epoch: 3, votedFor: 2, promised: { epoch: 3, nodeId: 1 } });
      meta = await harness.crash(meta);
      expect(meta.load()).toEqual({ epoch: 3, votedFor: 2, promised: { epoch: 3, nodeId: 1 } });
    });

    it('keeps the last of several saves, in call order, and hands out copies', async () => {
      let meta = await harness.open();
      await Promise.all([meta.save({ epoch: 1 }), meta.save({ epoch: 2 }), meta.save({ epoch: 3, votedFor: null })]);
      const loaded = meta.load()!;
      expect(loaded).toEqual({ epoch: 3, votedFor: null });
      loaded.epoch = 99;
      expect(meta.load()).toEqual({ epoch: 3, votedFor: null });
      meta = await harness.crash(meta);
      expect(meta.load()).toEqual({ epoch: 3, votedFor: null });
    });

    it('stores values as JSON and refuses oversized ones, keeping the old value', async () => {
      const meta = await harness.open();
      await meta.save({ epoch: 1, dropped: undefined });
      expect(meta.load()).toEqual({ epoch: 1 });
      await expect(meta.save({ blob: 'x'.repeat(MAX_META_BYTES) })).rejects.toThrow(RangeError);
      expect(meta.load()).toEqual({ epoch: 1 });
    });
  });
}

export function describeSnapshotStoreContract(name: string, harness: SnapshotHarness): void {
  describe(`SnapshotStore contract: ${name}`, () => {
    afterEach(() => harness.cleanup());
    const bytes = (index: number): Uint8Array => payloadFor(index, 9);

    it('returns null when empty and the newest snapshot otherwise, across a restart', async () => {
      let snapshots = await harness.open();
      expect(snapshots.latest()).toBeNull();
      await snapshots.write(10, bytes(10));
      await snapshots.write(20, bytes(20));
      await snapshots.write(15, bytes(15));
      expect(snapshots.latest()).toEqual({ index: 20, bytes: bytes(20) });
      snapshots = await harness.crash(snapshots);
      expect(snapshots.latest()).toEqual({ index: 20, bytes: bytes(20) });
    });

    it('replaces a snapshot written again at the same index', async () => {
      const snapshots = await harness.open();
      await snapshots.write(10, bytes(10));
      await snapshots.write(10, Uint8Array.from([7, 7]));
      expect(snapshots.latest()).toEqual({ index: 10, bytes: Uint8Array.from([7, 7]) });
    });

    it('keeps only the newest snapshots', async () => {
      const snapshots = await harness.open();
      for (let index = 1; index <= harness.snapshotsKept + 2; index++) await snapshots.write(index * 10, bytes(index));
      // The newest ones are still there (corrupt() needs them); once all are corrupt, latest()
      // falls back to the empty tree, which shows the two oldest were pruned.
      const survivors = Array.from({ length: harness.snapshotsKept }, (_, i) => (i + 3) * 10);
      for (const index of survivors) await harness.corrupt(snapshots, index);
      expect(snapshots.latest({ firstIndex: 1, lastIndex: 1000 })).toBeNull();
    });

    it('reports a corrupt newest snapshot and falls back only when the log covers the gap', async () => {
      const logger = recordingLogger();
      const snapshots = await harness.open({ logger });
      await snapshots.write(100, bytes(100));
      await snapshots.write(200, bytes(200));
      await harness.corrupt(snapshots, 200);
      // The log holds 101..250: the state at 200 can be rebuilt from snapshot 100.
      expect(snapshots.latest({ firstIndex: 90, lastIndex: 250 })).toEqual({ index: 100, bytes: bytes(100) });
      expect(logger.entries.some((entry) => entry.level === 'warn' && JSON.stringify(entry.details).includes('200'))).toBe(true);
      // Entries 101.. are compacted away, or the log ends before 200: acknowledged state would be lost.
      expect(() => snapshots.latest({ firstIndex: 150, lastIndex: 250 })).toThrow(SnapshotUnavailableError);
      expect(() => snapshots.latest({ firstIndex: 1, lastIndex: 199 })).toThrow(SnapshotUnavailableError);
      expect(() => snapshots.latest()).toThrow(SnapshotUnavailableError);
    });

    it('falls back to the empty tree only if the log starts at index 1', async () => {
      const snapshots = await harness.open();
      await snapshots.write(50, bytes(50));
      await harness.corrupt(snapshots, 50);
      expect(snapshots.latest({ firstIndex: 1, lastIndex: 60 })).toBeNull();
      expect(() => snapshots.latest({ firstIndex: 2, lastIndex: 60 })).toThrow(SnapshotUnavailableError);
    });

    it('refuses invalid indexes', async () => {
      const snapshots = await harness.open();
      await expect(snapshots.write(0, bytes(1))).rejects.toThrow(RangeError);
      await expect(snapshots.write(1.5, bytes(1))).rejects.toThrow(RangeError);
      expect(snapshots.latest()).toBeNull();
    });
  });
}
