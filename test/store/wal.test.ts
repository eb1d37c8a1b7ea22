/** FileLogStore specifics: group commit, segments, recovery from torn tails, corruption. */
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptLogError, StoreFailedError } from '../../src/store/errors.js';
import { frameLength } from '../../src/store/frame.js';
import type { StorageFs } from '../../src/store/fs.js';
import { silentLogger } from '../../src/store/types.js';
import { FileLogStore, segmentFileName } from '../../src/store/wal.js';
import type { FileLogStoreOptions } from '../../src/store/wal.js';
import { instrumentedFs, makeTempDir, plain, readAll, recordingLogger, recordsFor } from './helpers.js';
import type { InstrumentedFs } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempDir(): string {
  const { dir, remove } = makeTempDir('wal');
  cleanups.push(remove);
  return dir;
}

/** An instrumented fs whose descriptors are closed after the test (for abandoned stores). */
function shim(options: { skipSyncs?: boolean } = { skipSyncs: true }): InstrumentedFs {
  const fs = instrumentedFs(undefined, options);
  cleanups.push(() => fs.closeAll());
  return fs;
}

function open(dir: string, options: FileLogStoreOptions = {}): Promise<FileLogStore> {
  return FileLogStore.open(dir, { logger: silentLogger, fs: shim(), ...options });
}

/** Byte offset of each record of `records` when they start a segment, plus the end. */
function offsetsOf(records: readonly { payload: Uint8Array }[]): number[] {
  const offsets = [0];
  for (const record of records) offsets.push(offsets[offsets.length - 1]! + frameLength(record.payload.length));
  return offsets;
}

/** A gate: calls wait until release() is called. */
function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return { opened, release };
}

/** An fs whose fdatasync blocks on a gate, to hold a flush in flight. */
function blockingFs(base: StorageFs, blocked: Promise<void>, onBlocked: () => void): StorageFs {
  return {
    ...base,
    fdatasync: async (fd: number) => {
      onBlocked();
      await blocked;
      return base.fdatasync(fd);
    },
  };
}

describe('FileLogStore group commit', () => {
  it('covers many appends and concurrent syncs with one write and one fdatasync', async () => {
    const fs = shim({ skipSyncs: false });
    const log = await FileLogStore.open(tempDir(), { fs, logger: silentLogger });
    for (let batch = 0; batch < 10; batch++) log.append(recordsFor(batch * 10 + 1, batch * 10 + 10));
    const writesBefore = fs.count('write');
    await Promise.all(Array.from({ length: 10 }, () => log.sync()));
    expect(fs.count('fdatasync')).toBe(1);
    expect(fs.count('write') - writesBefore).toBe(1);
    // Nothing new: another sync does no IO.
    await log.sync();
    expect(fs.count('fdatasync')).toBe(1);
    await log.close();
  });

  it('puts appends made during a flush into the next one, shared by all syncs waiting for it', async () => {
    const fs = shim({ skipSyncs: false });
    const log = await FileLogStore.open(tempDir(), { fs, logger: silentLogger });
    log.append(recordsFor(1, 5));
    const first = log.sync();
    // Let the first flush start, then append and sync three times while it runs.
    await new Promise((resolve) => setImmediate(resolve));
    log.append(recordsFor(6, 8));
    const more = [log.sync(), log.sync()];
    log.append(recordsFor(9, 9));
    more.push(log.sync());
    await Promise.all([first, ...more]);
    expect(fs.count('fdatasync')).toBe(2);
    await log.close();
    const reopened = await open(log.directory);
    expect(readAll(reopened, 1)).toEqual(plain(recordsFor(1, 9)));
  });

  it('resolves a sync only after its records reached the file', async () => {
    const dir = tempDir();
    const log = await open(dir);
    log.append(recordsFor(1, 3));
    const path = join(dir, segmentFileName(1));
    expect(existsSync(path)).toBe(false);
    await log.sync();
    expect(statSync(path).size).toBe(offsetsOf(recordsFor(1, 3))[3]);
  });
});

describe('FileLogStore segments', () => {
  it('rotates at the segment size and reads across segments from any index', async () => {
    const dir = tempDir();
    const records = recordsFor(1, 120);
    const log = await open(dir, { segmentBytes: 300 });
    log.append(records.slice(0, 50));
    await log.sync();
    log.append(records.slice(50));
    await log.sync();
    const firsts = log.segmentFirstIndexes();
    expect(firsts.length).toBeGreaterThan(5);
    expect(readdirSync(dir).sort()).toEqual(firsts.map(segmentFileName));
    for (const [position, first] of firsts.entries()) {
      const size = statSync(join(dir, segmentFileName(first))).size;
      const next = firsts[position + 1] ?? 121;
      expect(size).toBe(offsetsOf(records.slice(first - 1, next - 1)).at(-1));
      expect(size).toBeLessThanOrEqual(300);
    }
    for (let from = 1; from <= 121; from += 7) expect(readAll(log, from)).toEqual(plain(records.slice(from - 1)));
    await log.close();
    const reopened = await open(dir, { segmentBytes: 300 });
    expect(reopened.segmentFirstIndexes()).toEqual(firsts);
    expect(readAll(reopened, 1)).toEqual(plain(records));
  });

  it('gives a record larger than the segment size a segment of its own', async () => {
    const dir = tempDir();
    const log = await open(dir, { segmentBytes: 64 });
    const big = { index: 2, payload: new Uint8Array(500).fill(7) };
    log.append([{ index: 1, payload: new Uint8Array(10) }, big, { index: 3, payload: new Uint8Array(10) }]);
    await log.sync();
    expect(log.segmentFirstIndexes()).toEqual([1, 2, 3]);
    expect([...[...log.readFrom(2)][0]!.payload]).toEqual([...big.payload]);
  });

  it('reads records in chunks larger than one read buffer', async () => {
    const dir = tempDir();
    const log = await open(dir, { segmentBytes: 64 * 1024 * 1024 });
    const records = Array.from({ length: 40 }, (_, i) => ({ index: i + 1, payload: new Uint8Array(100_000).fill(i) }));
    log.append(records);
    await log.sync();
    await log.close();
    const reopened = await open(dir);
    const read = [...reopened.readFrom(3)];
    expect(read.map((record) => record.index)).toEqual(records.slice(2).map((record) => record.index));
    expect(read.every((record, i) => record.payload.length === 100_000 && record.payload[99_999] === i + 2)).toBe(true);
  });

  it('truncates across segments, removing whole files, then appends and recovers', async () => {
    const dir = tempDir();
    const log = await open(dir, { segmentBytes: 200 });
    log.append(recordsFor(1, 60));
    await log.sync();
    const before = log.segmentFirstIndexes();
    await log.truncateAfter(20);
    const after = log.segmentFirstIndexes();
    expect(after.every((first) => first <= 21)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(after.map(segmentFileName));
    expect(after.length).toBeLessThan(before.length);
    log.append(recordsFor(21, 70, 5));
    await log.sync();
    const expected = plain([...recordsFor(1, 20), ...recordsFor(21, 70, 5)]);
    expect(readAll(log, 1)).toEqual(expected);
    await log.close();
    expect(readAll(await open(dir, { segmentBytes: 200 }), 1)).toEqual(expected);
  });

  it('compacts whole segments covered by the snapshot, keeping the newest ones', async () => {
    const dir = tempDir();
    const log = await open(dir, { segmentBytes: 200, segmentsKept: 3 });
    log.append(recordsFor(1, 100));
    await log.sync();
    const firsts = log.segmentFirstIndexes();
    // A segment goes only if its last index (the next segment's first - 1) is <= 50.
    const covered = firsts.filter((_, i) => i + 1 < firsts.length && firsts[i + 1]! - 1 <= 50);
    await log.compactUpTo(50);
    expect(log.segmentFirstIndexes()).toEqual(firsts.slice(covered.length));
    expect(readdirSync(dir).sort()).toEqual(firsts.slice(covered.length).map(segmentFileName));
    expect(log.firstIndex).toBeLessThanOrEqual(51);
    // Everything covered: still keeps segmentsKept segments, and never the records after 100.
    await log.compactUpTo(1000);
    expect(log.segmentFirstIndexes()).toEqual(firsts.slice(-3));
    expect(readAll(log, log.firstIndex)).toEqual(plain(recordsFor(log.firstIndex, 100)));
    await log.close();
    const reopened = await open(dir, { segmentBytes: 200 });
    expect([reopened.firstIndex, reopened.lastIndex]).toEqual([firsts.at(-3), 100]);
  });

  it('never compacts records that are only buffered', async () => {
    const log = await open(tempDir(), { segmentBytes: 100, segmentsKept: 1 });
    log.append(recordsFor(1, 50));
    await log.compactUpTo(50);
    expect(log.firstIndex).toBe(1);
    await log.sync();
    await log.compactUpTo(50);
    expect(log.segmentFirstIndexes()).toHaveLength(1);
  });
});

describe('FileLogStore with a flush in flight', () => {
  it('truncates records that are being written and orders the rewrite after the truncation', async () => {
    const dir = tempDir();
    const { opened, release } = gate();
    let inFlight = false;
    const log = await open(dir, { fs: blockingFs(shim(), opened, () => (inFlight = true)), segmentBytes: 120 });
    log.append(recordsFor(1, 10));
    const firstSync = log.sync();
    for (let spins = 0; !inFlight && spins < 1000; spins++) await new Promise((resolve) => setImmediate(resolve));
    expect(inFlight).toBe(true);
    const truncated = log.truncateAfter(4);
    log.append(recordsFor(5, 12, 3));
    const secondSync = log.sync();
    const expected = plain([...recordsFor(1, 4), ...recordsFor(5, 12, 3)]);
    expect(readAll(log, 1)).toEqual(expected);
    release();
    await Promise.all([firstSync, truncated, secondSync]);
    expect(readAll(log, 1)).toEqual(expected);
    await log.close();
    expect(readAll(await open(dir, { segmentBytes: 120 }), 1)).toEqual(expected);
  });

  it('resets while records are being written', async () => {
    const dir = tempDir();
    const { opened, release } = gate();
    let inFlight = false;
    const log = await open(dir, { fs: blockingFs(shim(), opened, () => (inFlight = true)) });
    log.append(recordsFor(1, 10));
    const firstSync = log.sync();
    for (let spins = 0; !inFlight && spins < 1000; spins++) await new Promise((resolve) => setImmediate(resolve));
    const reset = log.reset(500);
    log.append(recordsFor(500, 503));
    const secondSync = log.sync();
    release();
    await Promise.all([firstSync, reset, secondSync]);
    await log.close();
    expect(readdirSync(dir)).toEqual([segmentFileName(500)]);
    const reopened = await open(dir);
    expect([reopened.firstIndex, reopened.lastIndex]).toEqual([500, 503]);
    expect(readAll(reopened, 500)).toEqual(plain(recordsFor(500, 503)));
  });
});

describe('FileLogStore failures', () => {
  it('refuses all work after a failed fdatasync, and recovers what was durable on reopen', async () => {
    const dir = tempDir();
    const fs = shim();
    const log = await open(dir, { fs });
    log.append(recordsFor(1, 5));
    await log.sync();
    log.append(recordsFor(6, 9));
    fs.failNext('fdatasync');
    await expect(log.sync()).rejects.toThrow(StoreFailedError);
    expect(() => log.append(recordsFor(10, 10))).toThrow(StoreFailedError);
    await expect(log.sync()).rejects.toThrow(StoreFailedError);
    await expect(log.truncateAfter(2)).rejects.toThrow(StoreFailedError);
    const reopened = await open(dir);
    expect(reopened.lastIndex).toBeGreaterThanOrEqual(5);
    expect(readAll(reopened, 1)).toEqual(plain(recordsFor(1, reopened.lastIndex)));
  });

  it('leaves a gapless prefix of the old log when a reset stops part-way', async () => {
    const dir = tempDir();
    const fs = shim();
    const log = await open(dir, { fs, segmentBytes: 150 });
    log.append(recordsFor(1, 40));
    await log.sync();
    const segments = log.segmentFirstIndexes().length;
    // The second removal fails: only the newest segment is gone.
    const base = fs.unlink;
    let unlinks = 0;
    fs.unlink = (path: string) => (++unlinks === 2 ? Promise.reject(new Error('EIO: injected')) : base(path));
    await expect(log.reset(1000)).rejects.toThrow(StoreFailedError);
    const reopened = await open(dir, { segmentBytes: 150 });
    expect(reopened.segmentFirstIndexes()).toHaveLength(segments - 1);
    expect(readAll(reopened, 1)).toEqual(plain(recordsFor(1, reopened.lastIndex)));
    expect(reopened.lastIndex).toBeLessThan(40);
  });

  it('detects damage on read back after open', async () => {
    const dir = tempDir();
    const log = await open(dir);
    log.append(recordsFor(1, 5));
    await log.sync();
    const path = join(dir, segmentFileName(1));
    const file = readFileSync(path);
    const third = offsetsOf(recordsFor(1, 5))[2]!;
    file[third + 17] = file[third + 17]! ^ 0xff;
    writeFileSync(path, file);
    expect(() => readAll(log, 1)).toThrow(CorruptLogError);
    let caught: unknown;
    try {
      readAll(log, 1);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ file: path, offset: third });
    expect(readAll(log, 4)).toEqual(plain(recordsFor(4, 5)));
  });
});

describe('FileLogStore recovery', () => {
  /** A closed log in `dir`: records 1..8 over two segments (1..4 and 5..8). */
  async function twoSegmentLog(dir: string): Promise<{ first: string; last: string; lastOffsets: number[] }> {
    const log = await open(dir, { segmentBytes: 10_000 });
    log.append(recordsFor(1, 4));
    await log.sync();
    await log.close();
    // Force the second segment by opening with a tiny segment size once.
    const rotating = await open(dir, { segmentBytes: 16 });
    rotating.append(recordsFor(5, 5));
    await rotating.sync();
    await rotating.close();
    const appending = await open(dir, { segmentBytes: 10_000 });
    appending.append(recordsFor(6, 8));
    await appending.sync();
    await appending.close();
    expect(readdirSync(dir).sort()).toEqual([segmentFileName(1), segmentFileName(5)]);
    return { first: join(dir, segmentFileName(1)), last: join(dir, segmentFileName(5)), lastOffsets: offsetsOf(recordsFor(5, 8)) };
  }

  it('cuts a torn final record at every byte offset, keeping exactly the complete records', async () => {
    const dir = tempDir();
    const { last, lastOffsets } = await twoSegmentLog(dir);
    const original = readFileSync(last);
    const finalStart = lastOffsets[3]!;
    const finalEnd = lastOffsets[4]!;
    expect(original.length).toBe(finalEnd);
    for (let cut = finalStart; cut < finalEnd; cut++) {
      writeFileSync(last, original.subarray(0, cut));
      const logger = recordingLogger();
      const log = await open(dir, { logger });
      expect(log.lastIndex).toBe(7);
      expect(readAll(log, 1)).toEqual(plain(recordsFor(1, 7)));
      expect(statSync(last).size).toBe(finalStart);
      if (cut === finalStart) {
        expect(logger.entries).toEqual([]);
      } else {
        expect(logger.entries).toHaveLength(1);
        expect(logger.entries[0]).toMatchObject({ level: 'warn', details: { file: last, offset: finalStart, droppedBytes: cut - finalStart } });
      }
      await log.close();
    }
    // After the cut the log goes on as usual.
    const log = await open(dir);
    log.append(recordsFor(8, 9, 1));
    await log.sync();
    await log.close();
    expect(readAll(await open(dir), 1)).toEqual(plain([...recordsFor(1, 7), ...recordsFor(8, 9, 1)]));
  });

  it('cuts a full-length final record with a bad checksum, and zeros after the last record', async () => {
    const dir = tempDir();
    const { last, lastOffsets } = await twoSegmentLog(dir);
    const file = readFileSync(last);
    file[file.length - 1] = file[file.length - 1]! ^ 0x01;
    writeFileSync(last, file);
    const logger = recordingLogger();
    const log = await open(dir, { logger });
    expect(log.lastIndex).toBe(7);
    expect(logger.entries[0]?.details).toMatchObject({ offset: lastOffsets[3], reason: expect.stringContaining('checksum') });
    await log.close();
    appendFileSync(last, Buffer.alloc(4096));
    const again = recordingLogger();
    const reopened = await open(dir, { logger: again });
    expect(reopened.lastIndex).toBe(7);
    expect(again.entries[0]?.details).toMatchObject({ offset: lastOffsets[3], droppedBytes: 4096 });
  });

  it('accepts an empty last segment left by a crash right after rotation', async () => {
    const dir = tempDir();
    await twoSegmentLog(dir);
    writeFileSync(join(dir, segmentFileName(9)), Buffer.alloc(0));
    const log = await open(dir);
    expect([log.firstIndex, log.lastIndex]).toEqual([1, 8]);
    log.append(recordsFor(9, 9));
    await log.sync();
    expect(log.segmentFirstIndexes()).toEqual([1, 5, 9]);
  });

  it('refuses a flipped byte in the middle of the last segment, naming file and offset', async () => {
    const dir = tempDir();
    const { last, lastOffsets } = await twoSegmentLog(dir);
    const file = readFileSync(last);
    file[lastOffsets[1]! + 9] = file[lastOffsets[1]! + 9]! ^ 0x10;
    writeFileSync(last, file);
    const error = await open(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptLogError);
    expect(error).toMatchObject({ file: last, offset: lastOffsets[1] });
    expect((error as Error).message).toContain(last);
    expect((error as Error).message).toContain(`byte offset ${lastOffsets[1]}`);
    // Nothing was cut.
    expect(readFileSync(last)).toEqual(file);
  });

  it('refuses a damaged length field in the middle, though the next record is not where it claims', async () => {
    const dir = tempDir();
    const { last, lastOffsets } = await twoSegmentLog(dir);
    const file = readFileSync(last);
    file.writeUInt32LE(file.readUInt32LE(lastOffsets[2]!) + 3, lastOffsets[2]!);
    writeFileSync(last, file);
    await expect(open(dir)).rejects.toMatchObject({ name: 'CorruptLogError', file: last, offset: lastOffsets[2] });
  });

  it('refuses damage in a segment that is not the last, even in its final record or as a torn tail', async () => {
    const dir = tempDir();
    const { first } = await twoSegmentLog(dir);
    const original = readFileSync(first);
    const offsets = offsetsOf(recordsFor(1, 4));
    const flipped = Buffer.from(original);
    flipped[original.length - 1] = flipped[original.length - 1]! ^ 0x80;
    writeFileSync(first, flipped);
    await expect(open(dir)).rejects.toMatchObject({ name: 'CorruptLogError', file: first, offset: offsets[3] });
    writeFileSync(first, original.subarray(0, original.length - 3));
    await expect(open(dir)).rejects.toMatchObject({ name: 'CorruptLogError', file: first, offset: offsets[3] });
  });

  it('refuses a missing segment (index gap), a misnamed segment and stray log files', async () => {
    const dir = tempDir();
    const log = await open(dir, { segmentBytes: 100 });
    log.append(recordsFor(1, 30));
    await log.sync();
    await log.close();
    const firsts = log.segmentFirstIndexes();
    const middle = join(dir, segmentFileName(firsts[2]!));
    const saved = readFileSync(middle);
    unlinkSync(middle);
    await expect(open(dir)).rejects.toMatchObject({ name: 'CorruptLogError', file: join(dir, segmentFileName(firsts[3]!)), offset: 0 });
    // The segment's contents under the wrong name: the records' indexes do not follow it.
    writeFileSync(join(dir, segmentFileName(firsts[2]! - 1)), saved);
    const renamed = await open(dir).catch((caught: unknown) => caught);
    expect(renamed).toBeInstanceOf(CorruptLogError);
    unlinkSync(join(dir, segmentFileName(firsts[2]! - 1)));
    writeFileSync(middle, saved);
    expect((await open(dir)).lastIndex).toBe(30);
    writeFileSync(join(dir, 'log.backup'), 'x');
    await expect(open(dir)).rejects.toMatchObject({ name: 'CorruptLogError', file: join(dir, 'log.backup') });
  });

  it('refuses a well-formed record whose index does not follow, even at the tail', async () => {
    const dir = tempDir();
    const { last } = await twoSegmentLog(dir);
    // Append a valid frame for index 12 (instead of 9) made by a scratch log.
    const scratchDir = tempDir();
    const scratch = await open(scratchDir);
    await scratch.reset(12);
    scratch.append(recordsFor(12, 12));
    await scratch.sync();
    await scratch.close();
    appendFileSync(last, readFileSync(join(scratchDir, segmentFileName(12))));
    await expect(open(dir)).rejects.toMatchObject({ name: 'CorruptLogError', file: last, offset: offsetsOf(recordsFor(5, 8))[4] });
  });

  it('treats any flipped byte as corruption, unless it is in the final record of the last segment', async () => {
    const dir = tempDir();
    const { first, last, lastOffsets } = await twoSegmentLog(dir);
    const files = [
      { path: first, original: readFileSync(first), offsets: offsetsOf(recordsFor(1, 4)) },
      { path: last, original: readFileSync(last), offsets: lastOffsets },
    ];
    await fc.assert(
      fc.asyncProperty(fc.nat(1), fc.nat(10_000), fc.integer({ min: 1, max: 255 }), async (which, position, mask) => {
        const target = files[which]!;
        const at = position % target.original.length;
        const damaged = Buffer.from(target.original);
        damaged[at] = damaged[at]! ^ mask;
        writeFileSync(target.path, damaged);
        try {
          const recordStart = target.offsets.filter((offset) => offset <= at).at(-1)!;
          const inFinalRecord = target.path === last && recordStart === lastOffsets[3];
          const outcome = await open(dir).then(
            (log) => ({ lastIndex: log.lastIndex, error: null }),
            (error: unknown) => ({ lastIndex: -1, error }),
          );
          if (inFinalRecord) {
            expect(outcome).toEqual({ lastIndex: 7, error: null });
          } else {
            expect(outcome.error).toBeInstanceOf(CorruptLogError);
            expect(outcome.error).toMatchObject({ file: target.path, offset: recordStart });
          }
        } finally {
          writeFileSync(target.path, target.original);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('FileLogStore directory handling', () => {
  it('creates missing directories and starts empty', async () => {
    const dir = join(tempDir(), 'a', 'b');
    const fs = shim();
    const log = await open(dir, { fs });
    expect([log.firstIndex, log.lastIndex]).toEqual([1, 0]);
    expect(fs.count('syncDirectory')).toBeGreaterThanOrEqual(2);
    expect(existsSync(dir)).toBe(true);
  });

  it('refuses segment sizes outside the limits', async () => {
    await expect(open(tempDir(), { segmentBytes: 1 })).rejects.toThrow(RangeError);
    await expect(open(tempDir(), { segmentsKept: 0 })).rejects.toThrow(RangeError);
  });
});
