/** Runs the behavioural suites for the file stores and the memory stores alike. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileMetaStore } from '../../src/store/meta.js';
import { MemoryLogStore, MemoryMetaStore, MemorySnapshotStore } from '../../src/store/memory.js';
import { FileSnapshotStore, snapshotFileName } from '../../src/store/snapshot.js';
import { silentLogger } from '../../src/store/types.js';
import type { LogStore, MetaStore, SnapshotStore, StoreLogger } from '../../src/store/types.js';
import { FileLogStore } from '../../src/store/wal.js';
import { describeLogStoreContract, describeMetaStoreContract, describeSnapshotStoreContract } from './contract.js';
import type { Harness } from './contract.js';
import { instrumentedFs, makeTempDir } from './helpers.js';
import type { InstrumentedFs } from './helpers.js';

const SNAPSHOTS_KEPT = 3;

/** Temp directories and file-system shims of one test, released by cleanup(). */
function fileResources(label: string) {
  const dirs: (() => void)[] = [];
  const shims: InstrumentedFs[] = [];
  return {
    dir(): string {
      const made = makeTempDir(label);
      dirs.push(made.remove);
      return made.dir;
    },
    // fsync is skipped: these tests "crash" by abandoning a store object, which the page cache
    // survives; real durability is what kill.test.ts checks with a killed process.
    fs(): InstrumentedFs {
      const shim = instrumentedFs(undefined, { skipSyncs: true });
      shims.push(shim);
      return shim;
    },
    async cleanup(): Promise<void> {
      for (const shim of shims.splice(0)) shim.closeAll();
      for (const remove of dirs.splice(0)) remove();
    },
  };
}

function fileLogHarness(): Harness<LogStore> {
  const resources = fileResources('log');
  const loggers = new WeakMap<LogStore, StoreLogger>();
  const open = async (dir: string, logger: StoreLogger): Promise<LogStore> => {
    const log = await FileLogStore.open(dir, { fs: resources.fs(), logger, segmentBytes: 256, segmentsKept: 2 });
    loggers.set(log, logger);
    return log;
  };
  return {
    open: (options) => open(resources.dir(), options?.logger ?? silentLogger),
    // The old object is abandoned with whatever it buffered, as a killed process would leave it.
    crash: (log) => open((log as FileLogStore).directory, loggers.get(log) ?? silentLogger),
    cleanup: () => resources.cleanup(),
  };
}

function memoryLogHarness(): Harness<LogStore> {
  return {
    open: () => Promise.resolve(new MemoryLogStore()),
    crash: (log) => {
      (log as MemoryLogStore).crash();
      return Promise.resolve(log);
    },
    cleanup: () => Promise.resolve(),
  };
}

type Meta = MetaStore<Record<string, unknown>>;

function fileMetaHarness(): Harness<Meta> {
  const resources = fileResources('meta');
  return {
    open: (options) => FileMetaStore.open(join(resources.dir(), 'meta.json'), { fs: resources.fs(), logger: options?.logger ?? silentLogger }),
    crash: (meta) => FileMetaStore.open((meta as FileMetaStore<Record<string, unknown>>).path, { fs: resources.fs(), logger: silentLogger }),
    cleanup: () => resources.cleanup(),
  };
}

function memoryMetaHarness(): Harness<Meta> {
  return {
    open: () => Promise.resolve(new MemoryMetaStore<Record<string, unknown>>()),
    crash: (meta) => {
      (meta as MemoryMetaStore<Record<string, unknown>>).crash();
      return Promise.resolve(meta);
    },
    cleanup: () => Promise.resolve(),
  };
}

function fileSnapshotHarness() {
  const resources = fileResources('snap');
  const loggers = new WeakMap<SnapshotStore, StoreLogger>();
  const open = async (dir: string, logger: StoreLogger): Promise<SnapshotStore> => {
    const store = await FileSnapshotStore.open(dir, { fs: resources.fs(), logger, snapshotsKept: SNAPSHOTS_KEPT });
    loggers.set(store, logger);
    return store;
  };
  return {
    snapshotsKept: SNAPSHOTS_KEPT,
    open: (options?: { logger?: StoreLogger }) => open(resources.dir(), options?.logger ?? silentLogger),
    crash: (store: SnapshotStore) => open((store as FileSnapshotStore).directory, loggers.get(store) ?? silentLogger),
    corrupt: (store: SnapshotStore, index: number) => {
      const path = join((store as FileSnapshotStore).directory, snapshotFileName(index));
      const file = readFileSync(path);
      file[file.length - 1]! ^= 0x40;
      writeFileSync(path, file);
      return Promise.resolve();
    },
    cleanup: () => resources.cleanup(),
  };
}

function memorySnapshotHarness() {
  return {
    snapshotsKept: SNAPSHOTS_KEPT,
    open: (options?: { logger?: StoreLogger }) =>
      Promise.resolve<SnapshotStore>(new MemorySnapshotStore({ snapshotsKept: SNAPSHOTS_KEPT, logger: options?.logger ?? silentLogger })),
    crash: (store: SnapshotStore) => {
      (store as MemorySnapshotStore).crash();
      return Promise.resolve(store);
    },
    corrupt: (store: SnapshotStore, index: number) => {
      (store as MemorySnapshotStore).corrupt(index);
      return Promise.resolve();
    },
    cleanup: () => Promise.resolve(),
  };
}

describeLogStoreContract('FileLogStore', fileLogHarness(), 30);
describeLogStoreContract('MemoryLogStore', memoryLogHarness(), 100);
describeMetaStoreContract('FileMetaStore', fileMetaHarness());
describeMetaStoreContract('MemoryMetaStore', memoryMetaHarness());
describeSnapshotStoreContract('FileSnapshotStore', fileSnapshotHarness());
describeSnapshotStoreContract('MemorySnapshotStore', memorySnapshotHarness());
