/**
 * Durable storage: the write-ahead log, snapshots and small metadata, as files with fsync before
 * acknowledgement (for real nodes) or in memory (for tests and the simulator).
 */
export type {
  LogCoverage,
  LogRecord,
  LogStore,
  MetaStore,
  Snapshot,
  SnapshotStore,
  StoreLogger,
} from './types.js';
export { silentLogger, stderrLogger } from './logger.js';
export { MemoryLogStore, MemoryMetaStore, MemorySnapshotStore } from './memory.js';
export type { MemoryStoreOptions } from './memory.js';
export { FileLogStore, segmentFileName } from './wal.js';
export type { FileLogStoreOptions } from './wal.js';
export { FileSnapshotStore, snapshotFileName, SNAPSHOT_HEADER_BYTES } from './snapshot.js';
export type { FileSnapshotStoreOptions } from './snapshot.js';
export { FileMetaStore } from './meta.js';
export type { FileMetaStoreOptions } from './meta.js';
export { nodeStorageFs } from './fs.js';
export type { OpenMode, StorageFs } from './fs.js';
export { crc32c } from './crc32c.js';
export * from './errors.js';
export * from './limits.js';
