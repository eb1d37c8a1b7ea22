/** FileMetaStore specifics: file format, atomic replacement, crash leftovers, corruption. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptMetaError, StoreFailedError } from '../../src/store/errors.js';
import { FileMetaStore, decodeMetaFile } from '../../src/store/meta.js';
import { silentLogger } from '../../src/store/types.js';
import { instrumentedFs, makeTempDir, recordingLogger } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function metaPath(): string {
  const { dir, remove } = makeTempDir('meta');
  cleanups.push(remove);
  return join(dir, 'election.json');
}

interface Election {
  epoch: number;
  votedFor: number | null;
}

describe('FileMetaStore', () => {
  it('writes a temp file, fsyncs it, renames it and fsyncs the directory', async () => {
    const path = metaPath();
    const fs = instrumentedFs();
    const meta = await FileMetaStore.open<Election>(path, { fs, logger: silentLogger });
    await meta.save({ epoch: 4, votedFor: 1 });
    expect([fs.count('fsync'), fs.count('rename'), fs.count('syncDirectory')]).toEqual([1, 1, 1]);
    expect(readdirSync(join(path, '..'))).toEqual(['election.json']);
    const text = readFileSync(path, 'utf8');
    expect(decodeMetaFile(text)).toEqual({ json: '{"epoch":4,"votedFor":1}' });
    expect(JSON.parse(text)).toMatchObject({ format: 'statekeeper.meta', version: 1 });
  });

  it('ignores and removes a stale temp file: the interrupted save never happened', async () => {
    const path = metaPath();
    const meta = await FileMetaStore.open<Election>(path, { logger: silentLogger });
    await meta.save({ epoch: 4, votedFor: 1 });
    writeFileSync(`${path}.tmp`, '{"format":"statekeeper.meta","version":1,"crc32c":1,"da');
    const logger = recordingLogger();
    const reopened = await FileMetaStore.open<Election>(path, { logger });
    expect(reopened.load()).toEqual({ epoch: 4, votedFor: 1 });
    expect(readdirSync(join(path, '..'))).toEqual(['election.json']);
    expect(logger.entries).toMatchObject([{ details: { file: `${path}.tmp` } }]);
  });

  it('refuses a damaged file instead of starting from nothing', async () => {
    const path = metaPath();
    const meta = await FileMetaStore.open<Election>(path, { logger: silentLogger });
    await meta.save({ epoch: 4, votedFor: 1 });
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"epoch\\":4', '"epoch\\":5'));
    await expect(FileMetaStore.open(path, { logger: silentLogger })).rejects.toThrow(CorruptMetaError);
    writeFileSync(path, text.slice(0, 20));
    await expect(FileMetaStore.open(path, { logger: silentLogger })).rejects.toThrow(CorruptMetaError);
    writeFileSync(path, text);
    expect((await FileMetaStore.open<Election>(path, { logger: silentLogger })).load()).toEqual({ epoch: 4, votedFor: 1 });
  });

  it('keeps the previous value when a save fails, and refuses further saves', async () => {
    const path = metaPath();
    const fs = instrumentedFs();
    const meta = await FileMetaStore.open<Election>(path, { fs, logger: silentLogger });
    await meta.save({ epoch: 1, votedFor: null });
    fs.failNext('rename');
    await expect(meta.save({ epoch: 2, votedFor: 3 })).rejects.toThrow(StoreFailedError);
    expect(meta.load()).toEqual({ epoch: 1, votedFor: null });
    await expect(meta.save({ epoch: 3, votedFor: 3 })).rejects.toThrow(StoreFailedError);
    expect((await FileMetaStore.open<Election>(path, { logger: silentLogger })).load()).toEqual({ epoch: 1, votedFor: null });
  });
});
