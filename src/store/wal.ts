/**
 * The file-backed write-ahead log: records in segment files named after their first index
 * (`log.00000000000000000001`), framed as described in frame.ts.
 *
 * Write path. `append` encodes records into an in-memory buffer per segment. `sync()` hands the
 * buffer to the disk with one positional write and one fdatasync per segment touched (one of each
 * unless a rotation happened) and resolves every caller whose appends it covered: concurrent calls
 * coalesce into one flush (group commit). A new segment is created only after the previous one is
 * synced, and the directory is fsynced right after a segment is created, so a crash can only ever
 * damage the tail of the last segment.
 *
 * All disk work (flushes, truncations, resets, compactions) runs one operation at a time in call
 * order. The in-memory view (indexes, offsets, buffered records) changes at call time, so appends
 * may follow a truncation at once; a "barrier" number keeps a flush from writing records appended
 * after a truncation before that truncation has reached the disk.
 *
 * Recovery on open scans every segment and verifies every record. A record cut short or failing
 * its checksum at the very end of the last segment, with no valid record anywhere after it, is a
 * torn write: it is cut off (ftruncate) and reported. Any other damage throws CorruptLogError.
 */
import { join } from 'node:path';
import { checkAppendBatch, checkIndex } from './common.js';
import { CompactedIndexError, ConcurrentLogChangeError, CorruptLogError, StoreFailedError } from './errors.js';
import { decodeFrame, encodeFrame, frameLength, hasValidFrameAfter } from './frame.js';
import { ensureDirectory, nodeStorageFs, readFullySync, writeFully } from './fs.js';
import type { StorageFs } from './fs.js';
import {
  DEFAULT_SEGMENT_BYTES,
  DEFAULT_SEGMENTS_KEPT,
  MAX_SEGMENT_BYTES,
  MIN_SEGMENT_BYTES,
  READ_CHUNK_BYTES,
  RECORD_HEADER_BYTES,
} from './limits.js';
import { stderrLogger } from './logger.js';
import type { LogRecord, LogStore, StoreLogger } from './types.js';

export interface FileLogStoreOptions {
  /** Size at which appends move on to a new segment file (default DEFAULT_SEGMENT_BYTES). */
  readonly segmentBytes?: number;
  /** Newest segments `compactUpTo` never removes (default DEFAULT_SEGMENTS_KEPT, at least 1). */
  readonly segmentsKept?: number;
  /** Where repairs (cut torn tails) are reported (default: warnings to stderr). */
  readonly logger?: StoreLogger;
  /** File-system calls, replaceable to count fsyncs or inject failures (default: node:fs). */
  readonly fs?: StorageFs;
}

const SEGMENT_NAME = /^log\.(\d{20})$/;
const SEGMENT_PREFIX = 'log.';
/** Initial capacity of a pending write buffer; it doubles as records arrive. */
const INITIAL_PENDING_BUFFER_BYTES = 64 * 1024;

/** File name of the segment whose first record has index `firstIndex`. */
export function segmentFileName(firstIndex: number): string {
  return `${SEGMENT_PREFIX}${String(firstIndex).padStart(20, '0')}`;
}

/** Byte offsets of the records of one segment, in a growable Uint32Array (4 bytes per record). */
class OffsetTable {
  private data = new Uint32Array(64);
  private count = 0;

  get length(): number {
    return this.count;
  }

  get(position: number): number {
    return this.data[position]!;
  }

  push(offset: number): void {
    if (this.count === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.count++] = offset;
  }

  truncate(count: number): void {
    this.count = Math.min(this.count, count);
  }
}

interface Segment {
  readonly firstIndex: number;
  readonly path: string;
  /** Start offset of each record, written or still buffered. */
  readonly offsets: OffsetTable;
  /** End of the last record, written or still buffered. */
  sizeBytes: number;
  // Disk state below: changed only by queued operations, so it follows their order.
  /** Whether the file exists (created by a flush or a reset, found by recovery). */
  onDisk: boolean;
  /** Open descriptor for writing, kept for the segment being appended to. */
  fd: number | null;
  /** Bytes written to the file by completed operations. */
  writtenBytes: number;
}

/** Records buffered for one segment, waiting for a flush. */
interface PendingGroup {
  readonly segment: Segment;
  /** Value of the barrier counter when the group was started. */
  readonly barrier: number;
  /** Offset in the segment file where `buffer` goes. */
  readonly position: number;
  readonly firstIndex: number;
  buffer: Buffer;
  length: number;
  records: number;
}

/** A record not yet written to its file; `payload` is a view into a pending buffer. */
interface UnwrittenRecord {
  readonly index: number;
  readonly payload: Uint8Array;
}

/** A {@link LogStore} in segment files, with group commit and crash recovery. */
export class FileLogStore implements LogStore {
  private segments: Segment[];
  private last: number;
  /** Highest index whose bytes a flush has taken (written, or being written). */
  private handedIndex: number;
  private pendingGroups: PendingGroup[] = [];
  /** Records appended but not yet written, contiguous by index (pending and in-flight ones). */
  private unwritten: UnwrittenRecord[] = [];
  /** Bumped by truncations and resets that must reach the disk before later appends. */
  private barrier = 0;
  /** A flush queued but not started yet: syncs arriving meanwhile share it. */
  private scheduledFlush: { readonly barrier: number; readonly promise: Promise<void> } | null = null;
  private queueTail: Promise<void> = Promise.resolve();
  private lastOperation: Promise<void> = Promise.resolve();
  private failure: StoreFailedError | null = null;
  /** Bumped by truncations and resets, so live iterators notice. */
  private generation = 0;
  private closed = false;

  private constructor(
    /** Directory holding the segment files. */
    readonly directory: string,
    private readonly fsys: StorageFs,
    private readonly logger: StoreLogger,
    private readonly segmentBytes: number,
    private readonly segmentsKept: number,
    segments: Segment[],
  ) {
    this.segments = segments;
    const active = segments[segments.length - 1]!;
    this.last = active.firstIndex + active.offsets.length - 1;
    this.handedIndex = this.last;
  }

  /**
   * Open (or create) the log in `directory`, recovering it: every record is verified, a torn tail
   * is cut off and reported, and any other damage throws {@link CorruptLogError}.
   */
  static async open(directory: string, options: FileLogStoreOptions = {}): Promise<FileLogStore> {
    const fsys = options.fs ?? nodeStorageFs;
    const logger = options.logger ?? stderrLogger;
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    const segmentsKept = options.segmentsKept ?? DEFAULT_SEGMENTS_KEPT;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
      throw new RangeError(`segmentBytes must be an integer in [${MIN_SEGMENT_BYTES}, ${MAX_SEGMENT_BYTES}], got ${segmentBytes}`);
    }
    checkIndex(segmentsKept, 'segmentsKept', 1);
    await ensureDirectory(fsys, directory);
    const names = (await fsys.readdir(directory)).filter((name) => name.startsWith(SEGMENT_PREFIX)).sort();
    const segments: Segment[] = [];
    for (const [position, name] of names.entries()) {
      const previous = segments[segments.length - 1];
      const isLast = position === names.length - 1;
      segments.push(await recoverSegment(fsys, logger, join(directory, name), name, previous, isLast));
    }
    if (segments.length === 0) segments.push(newSegment(directory, 1));
    return new FileLogStore(directory, fsys, logger, segmentBytes, segmentsKept, segments);
  }

  get firstIndex(): number {
    return this.segments[0]!.firstIndex;
  }

  get lastIndex(): number {
    return this.last;
  }

  /** First index of each segment file, oldest first (for operators and tests). */
  segmentFirstIndexes(): number[] {
    return this.segments.map((segment) => segment.firstIndex);
  }

  append(records: readonly LogRecord[]): void {
    this.assertUsable();
    if (records.length === 0) return;
    checkAppendBatch(records, this.last + 1);
    for (const record of records) {
      const bytes = frameLength(record.payload.length);
      let segment = this.activeSegment();
      if (segment.sizeBytes > 0 && segment.sizeBytes + bytes > this.segmentBytes) {
        segment = newSegment(this.directory, record.index);
        this.segments.push(segment);
      }
      const group = this.pendingGroupFor(segment, record.index, bytes);
      const at = group.length;
      encodeFrame(group.buffer, at, record.index, record.payload);
      group.length += bytes;
      group.records++;
      segment.offsets.push(segment.sizeBytes);
      segment.sizeBytes += bytes;
      this.unwritten.push({ index: record.index, payload: group.buffer.subarray(at + RECORD_HEADER_BYTES, at + bytes) });
      this.last = record.index;
    }
  }

  sync(): Promise<void> {
    try {
      this.assertUsable();
    } catch (error) {
      return Promise.reject(error);
    }
    // Nothing buffered: the last queued operation covers every earlier append and truncation.
    if (this.pendingGroups.length === 0) return this.lastOperation;
    if (this.scheduledFlush !== null && this.scheduledFlush.barrier === this.barrier) return this.scheduledFlush.promise;
    const barrier = this.barrier;
    const promise = this.enqueue(() => {
      if (this.scheduledFlush?.promise === promise) this.scheduledFlush = null;
      return this.flush(barrier);
    });
    this.scheduledFlush = { barrier, promise };
    return promise;
  }

  async truncateAfter(index: number): Promise<void> {
    this.assertUsable();
    checkIndex(index, 'truncateAfter index');
    if (index < this.firstIndex - 1) {
      throw new RangeError(`truncateAfter(${index}): the log starts at ${this.firstIndex}; records before it are compacted`);
    }
    if (index >= this.last) return;
    this.generation++;
    if (this.unwritten.length > 0) {
      const keep = Math.max(0, index - this.unwritten[0]!.index + 1);
      if (keep < this.unwritten.length) this.unwritten.length = keep;
    }
    this.trimPendingGroups(index);
    let keptPosition = this.segments.length - 1;
    while (keptPosition > 0 && this.segments[keptPosition]!.firstIndex > index + 1) keptPosition--;
    const removed = this.segments.splice(keptPosition + 1);
    const kept = this.segments[keptPosition]!;
    const keptRecords = index - kept.firstIndex + 1;
    const cut = keptRecords < kept.offsets.length ? kept.offsets.get(keptRecords) : kept.sizeBytes;
    kept.offsets.truncate(keptRecords);
    kept.sizeBytes = cut;
    this.last = index;
    // Records up to handedIndex may be on disk; anything later was only ever in memory.
    if (index >= this.handedIndex) return;
    this.handedIndex = index;
    this.barrier++;
    await this.enqueue(async () => {
      // Newest first, so a crash part-way leaves a shorter but gapless log.
      for (const segment of removed.reverse()) await this.removeSegmentFile(segment);
      if (kept.onDisk && kept.writtenBytes > cut) {
        const fd = await this.openForWrite(kept);
        await this.fsys.ftruncate(fd, cut);
        await this.fsys.fdatasync(fd);
        kept.writtenBytes = cut;
      }
    });
  }

  async reset(nextIndex: number): Promise<void> {
    this.assertUsable();
    checkIndex(nextIndex, 'reset nextIndex', 1);
    if (nextIndex <= this.last) {
      throw new RangeError(`reset(${nextIndex}) must continue after the last index ${this.last}; use truncateAfter first`);
    }
    this.generation++;
    this.barrier++;
    const removed = this.segments;
    const fresh = newSegment(this.directory, nextIndex);
    this.segments = [fresh];
    this.pendingGroups = [];
    this.unwritten = [];
    this.last = nextIndex - 1;
    this.handedIndex = nextIndex - 1;
    await this.enqueue(async () => {
      // Newest first: a crash part-way leaves a prefix of the old log (or none), never a gap.
      for (const segment of [...removed].reverse()) await this.removeSegmentFile(segment);
      if (!fresh.onDisk) await this.openForWrite(fresh);
    });
  }

  readFrom(index: number): Iterable<LogRecord> {
    this.assertUsable();
    checkIndex(index, 'readFrom index', 1);
    if (index < this.firstIndex) throw new CompactedIndexError(index, this.firstIndex);
    return this.iterate(index, this.generation);
  }

  async compactUpTo(index: number): Promise<void> {
    this.assertUsable();
    checkIndex(index, 'compactUpTo index');
    let removable = 0;
    while (this.segments.length - removable > this.segmentsKept) {
      const next = this.segments[removable + 1];
      if (next === undefined) break;
      const lastOfCandidate = next.firstIndex - 1;
      // Only segments wholly covered by the snapshot, and wholly handed to the disk already.
      if (lastOfCandidate > index || lastOfCandidate > this.handedIndex) break;
      removable++;
    }
    if (removable === 0) return;
    const removed = this.segments.splice(0, removable);
    await this.enqueue(async () => {
      // Oldest first, so a crash part-way leaves a gapless log.
      for (const segment of removed) await this.removeSegmentFile(segment);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.failure === null && this.pendingGroups.length > 0) await this.sync();
      await this.queueTail;
    } finally {
      this.closed = true;
      for (const segment of this.segments) {
        if (segment.fd !== null) {
          await this.fsys.close(segment.fd).catch(() => undefined);
          segment.fd = null;
        }
      }
    }
  }

  private activeSegment(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private pendingGroupFor(segment: Segment, index: number, bytes: number): PendingGroup {
    let group = this.pendingGroups[this.pendingGroups.length - 1];
    if (group === undefined || group.segment !== segment || group.barrier !== this.barrier) {
      group = {
        segment,
        barrier: this.barrier,
        position: segment.sizeBytes,
        firstIndex: index,
        buffer: Buffer.allocUnsafe(Math.max(INITIAL_PENDING_BUFFER_BYTES, bytes)),
        length: 0,
        records: 0,
      };
      this.pendingGroups.push(group);
    } else if (group.length + bytes > group.buffer.length) {
      // Views of earlier records keep the old buffer alive and unchanged; only new bytes go here.
      const grown = Buffer.allocUnsafe(Math.max(group.buffer.length * 2, group.length + bytes));
      group.buffer.copy(grown, 0, 0, group.length);
      group.buffer = grown;
    }
    return group;
  }

  /** Drops buffered records after `index`, before the segment offsets are cut. */
  private trimPendingGroups(index: number): void {
    while (this.pendingGroups.length > 0) {
      const group = this.pendingGroups[this.pendingGroups.length - 1]!;
      if (group.firstIndex > index) {
        this.pendingGroups.pop();
        continue;
      }
      const keep = index - group.firstIndex + 1;
      if (keep < group.records) {
        const segment = group.segment;
        const keptBytes = segment.offsets.get(index + 1 - segment.firstIndex) - group.position;
        // A fresh buffer, so bytes appended later never overwrite ones a reader may still hold.
        const buffer = Buffer.allocUnsafe(Math.max(INITIAL_PENDING_BUFFER_BYTES, keptBytes));
        group.buffer.copy(buffer, 0, 0, keptBytes);
        group.buffer = buffer;
        group.length = keptBytes;
        group.records = keep;
      }
      return;
    }
  }

  /** Writes and syncs the pending groups started before or at `barrier`. Runs in the queue. */
  private async flush(barrier: number): Promise<void> {
    let count = 0;
    while (count < this.pendingGroups.length && this.pendingGroups[count]!.barrier <= barrier) count++;
    if (count === 0) return;
    const groups = this.pendingGroups.splice(0, count);
    let recordCount = 0;
    for (const group of groups) recordCount += group.records;
    const taken = this.unwritten.slice(0, recordCount);
    const lastGroup = groups[groups.length - 1]!;
    if (taken[0]?.index !== groups[0]!.firstIndex || taken.length !== recordCount) {
      throw new Error(`internal: unwritten records do not match the pending groups at index ${groups[0]!.firstIndex}`);
    }
    this.handedIndex = lastGroup.firstIndex + lastGroup.records - 1;
    for (const group of groups) {
      const segment = group.segment;
      if (group.position !== segment.writtenBytes) {
        throw new Error(`internal: ${segment.path} has ${segment.writtenBytes} bytes written, flush expected ${group.position}`);
      }
      const fd = await this.openForWrite(segment);
      await writeFully(this.fsys, fd, group.buffer, 0, group.length, group.position);
      await this.fsys.fdatasync(fd);
      segment.writtenBytes += group.length;
    }
    for (const group of groups) {
      const segment = group.segment;
      if (segment !== this.activeSegment() && segment.fd !== null) {
        await this.fsys.close(segment.fd);
        segment.fd = null;
      }
    }
    // Written records are read back from their files from now on. A truncation meanwhile may
    // have replaced some of them, so drop only those still identical to what was written.
    let written = 0;
    while (written < taken.length && this.unwritten[written] === taken[written]) written++;
    this.unwritten.splice(0, written);
  }

  /** The segment's write descriptor, creating the file (and syncing the directory) if needed. */
  private async openForWrite(segment: Segment): Promise<number> {
    if (segment.fd !== null) return segment.fd;
    if (segment.onDisk) {
      segment.fd = await this.fsys.open(segment.path, 'r+');
      return segment.fd;
    }
    const fd = await this.fsys.open(segment.path, 'wx');
    segment.fd = fd;
    segment.onDisk = true;
    // The new name must be durable before any later segment can exist, or a crash leaves a gap.
    await this.fsys.syncDirectory(this.directory);
    return fd;
  }

  private async removeSegmentFile(segment: Segment): Promise<void> {
    if (segment.fd !== null) {
      await this.fsys.close(segment.fd);
      segment.fd = null;
    }
    if (!segment.onDisk) return;
    await this.fsys.unlink(segment.path);
    segment.onDisk = false;
    // One directory sync per removal keeps removals in order across a crash, so no gap appears.
    await this.fsys.syncDirectory(this.directory);
  }

  private enqueue(operation: () => Promise<void>): Promise<void> {
    const run = this.queueTail.then(async () => {
      if (this.failure !== null) throw this.failure;
      try {
        await operation();
      } catch (error) {
        this.failure ??= new StoreFailedError(error);
        throw this.failure;
      }
    });
    this.queueTail = run.catch(() => undefined);
    this.lastOperation = run;
    return run;
  }

  private assertUsable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new Error(`FileLogStore ${this.directory} is closed`);
  }

  private *iterate(from: number, generation: number): Generator<LogRecord> {
    let next = from;
    for (;;) {
      this.checkIteration(next, generation);
      if (next > this.last) return;
      const firstUnwritten = this.unwritten.length > 0 ? this.unwritten[0]!.index : this.last + 1;
      if (next >= firstUnwritten) {
        const record = this.unwritten[next - firstUnwritten]!;
        yield { index: next, payload: new Uint8Array(record.payload) };
        next++;
        continue;
      }
      for (const record of this.readChunk(next, firstUnwritten - 1)) {
        this.checkIteration(record.index, generation);
        yield record;
        next++;
      }
    }
  }

  private checkIteration(next: number, generation: number): void {
    this.assertUsable();
    if (this.generation !== generation) throw new ConcurrentLogChangeError('log truncated or reset during readFrom');
    if (next < this.firstIndex) throw new CompactedIndexError(next, this.firstIndex);
  }

  /** Reads records from `from` on (not past `upTo`, one segment, about READ_CHUNK_BYTES), verified. */
  private readChunk(from: number, upTo: number): LogRecord[] {
    const segment = this.segmentOf(from);
    const segmentLast = segment.firstIndex + segment.offsets.length - 1;
    const lastWanted = Math.min(upTo, segmentLast);
    const recordEnd = (index: number): number =>
      index < segmentLast ? segment.offsets.get(index + 1 - segment.firstIndex) : segment.sizeBytes;
    const start = segment.offsets.get(from - segment.firstIndex);
    let lastRead = from;
    while (lastRead < lastWanted && recordEnd(lastRead + 1) - start <= READ_CHUNK_BYTES) lastRead++;
    const length = recordEnd(lastRead) - start;
    const buffer = Buffer.allocUnsafe(length);
    const fd = this.fsys.openSync(segment.path, 'r');
    let read: number;
    try {
      read = readFullySync(this.fsys, fd, buffer, 0, length, start);
    } finally {
      this.fsys.closeSync(fd);
    }
    if (read < length) throw new CorruptLogError(segment.path, start + read, `file ends early (expected ${length - read} more bytes)`);
    const records: LogRecord[] = [];
    for (let index = from, at = 0; index <= lastRead; index++) {
      const frame = decodeFrame(buffer, at, length);
      const fileOffset = start + at;
      if (!frame.ok) throw new CorruptLogError(segment.path, fileOffset, `on read back: ${frame.reason}`);
      if (frame.index !== index) {
        throw new CorruptLogError(segment.path, fileOffset, `on read back: record has index ${frame.index}, expected ${index}`);
      }
      if (start + frame.end !== recordEnd(index)) {
        throw new CorruptLogError(segment.path, fileOffset, 'on read back: record length differs from the one recovered');
      }
      records.push({ index, payload: new Uint8Array(buffer.subarray(frame.payloadStart, frame.end)) });
      at = frame.end;
    }
    return records;
  }

  private segmentOf(index: number): Segment {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.segments[middle]!.firstIndex <= index) low = middle;
      else high = middle - 1;
    }
    return this.segments[low]!;
  }
}

function newSegment(directory: string, firstIndex: number): Segment {
  return {
    firstIndex,
    path: join(directory, segmentFileName(firstIndex)),
    offsets: new OffsetTable(),
    sizeBytes: 0,
    onDisk: false,
    fd: null,
    writtenBytes: 0,
  };
}

/** Verifies one segment file found on open; cuts a torn tail if it is the last one. */
async function recoverSegment(
  fsys: StorageFs,
  logger: StoreLogger,
  path: string,
  name: string,
  previous: Segment | undefined,
  isLast: boolean,
): Promise<Segment> {
  const match = SEGMENT_NAME.exec(name);
  const firstIndex = match === null ? Number.NaN : Number(match[1]);
  if (!Number.isSafeInteger(firstIndex) || firstIndex < 1) {
    throw new CorruptLogError(path, 0, 'file name is not log.<20-digit first index> with an index in [1, 2^53)');
  }
  if (previous !== undefined) {
    const previousLast = previous.firstIndex + previous.offsets.length - 1;
    if (firstIndex !== previousLast + 1) {
      throw new CorruptLogError(
        path,
        0,
        `index gap: segment starts at index ${firstIndex} but ${previous.path} ends at index ${previousLast}`,
      );
    }
  }
  const bytes = await fsys.readFile(path);
  const segment: Segment = { ...newSegment('', firstIndex), path, onDisk: true };
  let at = 0;
  let expected = firstIndex;
  let damage: { readonly reason: string; readonly torn: boolean } | null = null;
  while (at < bytes.length) {
    const frame = decodeFrame(bytes, at, bytes.length);
    if (!frame.ok) {
      damage = frame;
      break;
    }
    if (frame.index !== expected) {
      damage = { reason: `record has index ${frame.index}, expected ${expected}`, torn: false };
      break;
    }
    segment.offsets.push(at);
    at = frame.end;
    expected++;
  }
  if (damage !== null) {
    if (!isLast) throw new CorruptLogError(path, at, `${damage.reason} (in a segment that is not the last)`);
    if (!damage.torn) throw new CorruptLogError(path, at, damage.reason);
    // A torn write leaves nothing valid behind it. A valid record further on means the damage
    // is in the middle of acknowledged data: refuse rather than drop it.
    const maxIndex = expected + Math.floor((bytes.length - at) / RECORD_HEADER_BYTES);
    if (hasValidFrameAfter(bytes, at, bytes.length, expected, maxIndex)) {
      throw new CorruptLogError(path, at, `${damage.reason}, and valid records follow it`);
    }
    logger.warn(
      { file: path, offset: at, droppedBytes: bytes.length - at, lastIndex: expected - 1, reason: damage.reason },
      'cut a torn record from the tail of the write-ahead log',
    );
    const fd = await fsys.open(path, 'r+');
    segment.fd = fd;
    await fsys.ftruncate(fd, at);
    await fsys.fdatasync(fd);
  }
  segment.sizeBytes = at;
  segment.writtenBytes = at;
  return segment;
}
