/**
 * Named limits of the durable store, in one place so their consistency can be tested
 * (see test/store/limits.test.ts).
 */

/** Bytes in a log record header: length u32, crc32c u32, index u64. */
export const RECORD_HEADER_BYTES = 16;

/**
 * Largest payload one log record may carry. A record is one batch of transactions; ZooKeeper's own
 * default `jute.maxbuffer` is 1 MiB per request, so this leaves room for large batches while a
 * corrupt length field can never make recovery allocate gigabytes.
 */
export const MAX_RECORD_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** Default size at which the write-ahead log rotates to a new segment file. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** Smallest segment size accepted (tests use tiny segments to exercise rotation). */
export const MIN_SEGMENT_BYTES = RECORD_HEADER_BYTES;

/**
 * Largest configurable segment size. Record offsets inside a segment are kept in a Uint32Array, so a
 * segment (at most this plus one oversized record) must stay below 4 GiB.
 */
export const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;

/** Segments `compactUpTo` always leaves in place (the newest ones), so lagging peers can catch up from the log. */
export const DEFAULT_SEGMENTS_KEPT = 2;

/** Bytes read per system call when reading records back from a segment. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/** Largest snapshot the snapshot store writes or reads (it is held in memory as one buffer). */
export const MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024;

/** Snapshots kept on disk; more than one, so a corrupt newest snapshot can fall back to an older one. */
export const DEFAULT_SNAPSHOTS_KEPT = 3;

/** Largest serialized metadata object (epoch, vote, promised ballot: a few hundred bytes in practice). */
export const MAX_META_BYTES = 64 * 1024;

/** Largest log index: indexes are JavaScript numbers stored as u64, so they must stay exact. */
export const MAX_LOG_INDEX = Number.MAX_SAFE_INTEGER;
