/** FileSnapshotStore specifics: file format, atomic replacement, crash leftovers, corruption reports. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptSnapshotError, StoreFailedError } from '../../src/store/errors.js';
import { FileSnapshotStore, SNAPSHOT_HEADER_BYTES, decodeSnapshotFile, snapshotFileName } from '../../src/store/snapshot.js';
import { silentLogger } from '../../src/store/types.js';
import { instrumentedFs, makeTempDir, recordingLogger } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  const { dir, remove } = makeTempDir('snapshot');
  cleanups.push(remove);
  return dir;
}

const bytes = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);

describe('FileSnapshotStore', () => {
  it('writes a header, fsyncs the file, renames it and fsyncs the directory', async () => {
    const dir = tempDir();
    const fs = instrumentedFs();
    const store = await FileSnapshotStore.open(dir, { fs, logger: silentLogger });
    await store.write(42, bytes(1000, 3));
    const file = readFileSync(join(dir, snapshotFileName(42)));
    expect(file.length).toBe(SNAPSHOT_HEADER_BYTES + 1000);
    expect(file.subarray(0, 8).toString('latin1')).toBe('SKSNAPSH');
    expect(decodeSnapshotFile(file, 42)).toEqual({ index: 42, bytes: bytes(1000, 3) });
    expect(decodeSnapshotFile(file, 43)).toMatchObject({ corrupt: expect.stringContaining('file name') });
    expect([fs.count('fsync'), fs.count('rename'), fs.count('syncDirectory')]).toEqual([1, 1, 1]);
    expect(readdirSync(dir)).toEqual([snapshotFileName(42)]);
  });

  it('ignores and removes a temp file left by a crash mid-write', async () => {
    const dir = tempDir();
    const store = await FileSnapshotStore.open(dir, { logger: silentLogger });
    await store.write(10, bytes(50, 1));
    // A crash after writing part of snapshot 20: the temp file was never renamed.
    const partial = readFileSync(join(dir, snapshotFileName(10))).subarray(0, 40);
    writeFileSync(join(dir, `${snapshotFileName(20)}.tmp`), partial);
    expect(store.latest()).toEqual({ index: 10, bytes: bytes(50, 1) });
    const logger = recordingLogger();
    const reopened = await FileSnapshotStore.open(dir, { logger });
    expect(readdirSync(dir)).toEqual([snapshotFileName(10)]);
    expect(logger.entries).toMatchObject([{ details: { file: join(dir, `${snapshotFileName(20)}.tmp`) } }]);
    expect(reopened.latest()).toEqual({ index: 10, bytes: bytes(50, 1) });
  });

  it('reports each corrupt snapshot it skips, with its file and reason', async () => {
    const dir = tempDir();
    const logger = recordingLogger();
    const store = await FileSnapshotStore.open(dir, { logger });
    await store.write(10, bytes(20, 1));
    await store.write(20, bytes(20, 2));
    await store.write(30, bytes(20, 3));
    const path30 = join(dir, snapshotFileName(30));
    writeFileSync(path30, readFileSync(path30).subarray(0, 25)); // cut inside the header
    const path20 = join(dir, snapshotFileName(20));
    const file20 = readFileSync(path20);
    file20[SNAPSHOT_HEADER_BYTES + 5] = 0xff;
    writeFileSync(path20, file20);
    expect(store.latest({ firstIndex: 5, lastIndex: 40 })).toEqual({ index: 10, bytes: bytes(20, 1) });
    const skipped = logger.entries.filter((entry) => entry.message === 'skipping corrupt snapshot');
    expect(skipped.map((entry) => entry.details.snapshot)).toEqual([path30, path20]);
    expect(skipped[0]!.details.reason).toContain('shorter than the header');
    expect(skipped[1]!.details.reason).toContain('checksum');
    expect(() => store.read(20)).toThrow(CorruptSnapshotError);
    expect(store.read(10).bytes).toEqual(bytes(20, 1));
  });

  it('prunes to the newest snapshots after each write', async () => {
    const dir = tempDir();
    const store = await FileSnapshotStore.open(dir, { logger: silentLogger, snapshotsKept: 2 });
    for (const index of [5, 1, 9, 7]) await store.write(index, bytes(3, index));
    expect(store.listIndexes()).toEqual([7, 9]);
  });

  it('keeps the old snapshot and refuses further writes when an fsync fails', async () => {
    const dir = tempDir();
    const fs = instrumentedFs();
    const store = await FileSnapshotStore.open(dir, { fs, logger: silentLogger });
    await store.write(10, bytes(10, 1));
    fs.failNext('fsync');
    await expect(store.write(20, bytes(10, 2))).rejects.toThrow(StoreFailedError);
    await expect(store.write(30, bytes(10, 3))).rejects.toThrow(StoreFailedError);
    const reopened = await FileSnapshotStore.open(dir, { logger: silentLogger });
    expect(reopened.latest()).toEqual({ index: 10, bytes: bytes(10, 1) });
    expect(readdirSync(dir)).toEqual([snapshotFileName(10)]);
  });
});
