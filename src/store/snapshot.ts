/**
 * Snapshots in files named `snapshot.<20-digit index>`, each with a verified header:
 *
 * ```
 * offset 0   8 bytes  magic "SKSNAPSH"
 * offset 8   u32      format version (1)
 * offset 12  u32      crc32c over header bytes 0..12 and 16..32, then the payload
 * offset 16  u64      index (must match the file name)
 * offset 24  u64      payload length (must match the file size)
 * offset 32  ...      payload
 * ```
 *
 * A write goes to `<name>.tmp`, is fsynced, renamed over the final name and the directory is
 * fsynced: after a crash the snapshot is either wholly there or not at all. Stray temp files (from
 * a crash mid-write) are never read, and are removed when the store is opened.
 */
import { join } from 'node:path';
import { checkIndex, checkSnapshotArgs, chooseSnapshot } from './common.js';
import type { SnapshotCandidate } from './common.js';
import { crc32c } from './crc32c.js';
import { CorruptSnapshotError, StoreFailedError } from './errors.js';
import { ensureDirectory, nodeStorageFs, writeFully } from './fs.js';
import type { StorageFs } from './fs.js';
import { DEFAULT_SNAPSHOTS_KEPT, MAX_SNAPSHOT_BYTES } from './limits.js';
import { stderrLogger } from './logger.js';
import type { LogCoverage, Snapshot, SnapshotStore, StoreLogger } from './types.js';

export interface FileSnapshotStoreOptions {
  /** Snapshots kept after each write, newest by index (default DEFAULT_SNAPSHOTS_KEPT, at least 1). */
  readonly snapshotsKept?: number;
  /** Where corrupt snapshots and cleaned-up temp files are reported (default: warnings to stderr). */
  readonly logger?: StoreLogger;
  readonly fs?: StorageFs;
}

const MAGIC = Buffer.from('SKSNAPSH', 'latin1');
const FORMAT_VERSION = 1;
/** Bytes of the snapshot header. */
export const SNAPSHOT_HEADER_BYTES = 32;
const SNAPSHOT_NAME = /^snapshot\.(\d{20})$/;
const TEMP_SUFFIX = '.tmp';
const TWO_TO_32 = 2 ** 32;

/** File name of the snapshot at `index`. */
export function snapshotFileName(index: number): string {
  return `snapshot.${String(index).padStart(20, '0')}`;
}

function encodeHeader(index: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(index >>> 0, 16);
  header.writeUInt32LE(Math.floor(index / TWO_TO_32), 20);
  header.writeUInt32LE(payload.length >>> 0, 24);
  header.writeUInt32LE(Math.floor(payload.length / TWO_TO_32), 28);
  header.writeUInt32LE(snapshotChecksum(header, payload), 12);
  return header;
}

function snapshotChecksum(header: Buffer, payload: Uint8Array): number {
  let crc = crc32c(header.subarray(0, 12));
  crc = crc32c(header.subarray(16, SNAPSHOT_HEADER_BYTES), crc);
  return crc32c(payload, crc);
}

/** Verifies a whole snapshot file: the snapshot, or why it is unusable. */
export function decodeSnapshotFile(file: Buffer, expectedIndex: number): Snapshot | { readonly corrupt: string } {
  if (file.length < SNAPSHOT_HEADER_BYTES) return { corrupt: `file is ${file.length} bytes, shorter than the header` };
  if (!file.subarray(0, 8).equals(MAGIC)) return { corrupt: 'bad magic' };
  const version = file.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return { corrupt: `unknown format version ${version}` };
  const index = file.readUInt32LE(16) + file.readUInt32LE(20) * TWO_TO_32;
  const length = file.readUInt32LE(24) + file.readUInt32LE(28) * TWO_TO_32;
  if (length !== file.length - SNAPSHOT_HEADER_BYTES) {
    return { corrupt: `header says ${length} payload bytes, file holds ${file.length - SNAPSHOT_HEADER_BYTES}` };
  }
  const header = file.subarray(0, SNAPSHOT_HEADER_BYTES);
  const payload = file.subarray(SNAPSHOT_HEADER_BYTES);
  const stored = file.readUInt32LE(12);
  const computed = snapshotChecksum(header, payload);
  if (stored !== computed) return { corrupt: `checksum mismatch (stored ${stored}, computed ${computed})` };
  if (index !== expectedIndex) return { corrupt: `header index ${index} differs from the file name's ${expectedIndex}` };
  return { index, bytes: new Uint8Array(payload) };
}

/** A {@link SnapshotStore} in a directory of files. */
export class FileSnapshotStore implements SnapshotStore {
  private queue: Promise<void> = Promise.resolve();
  private failure: StoreFailedError | null = null;
  private closed = false;

  private constructor(
    /** Directory holding the snapshot files. */
    readonly directory: string,
    private readonly fsys: StorageFs,
    private readonly logger: StoreLogger,
    private readonly snapshotsKept: number,
  ) {}

  /** Open (or create) the store in `directory`, removing temp files left by a crash. */
  static async open(directory: string, options: FileSnapshotStoreOptions = {}): Promise<FileSnapshotStore> {
    const fsys = options.fs ?? nodeStorageFs;
    const logger = options.logger ?? stderrLogger;
    const snapshotsKept = options.snapshotsKept ?? DEFAULT_SNAPSHOTS_KEPT;
    checkIndex(snapshotsKept, 'snapshotsKept', 1);
    await ensureDirectory(fsys, directory);
    const strays = (await fsys.readdir(directory)).filter((name) => name.startsWith('snapshot.') && name.endsWith(TEMP_SUFFIX));
    for (const name of strays) {
      // A temp file was never renamed into place, so its write was never acknowledged.
      logger.info({ file: join(directory, name) }, 'removing an incomplete snapshot left by a crash');
      await fsys.unlink(join(directory, name));
    }
    if (strays.length > 0) await fsys.syncDirectory(directory);
    return new FileSnapshotStore(directory, fsys, logger, snapshotsKept);
  }

  write(index: number, bytes: Uint8Array): Promise<void> {
    try {
      this.assertUsable();
      checkSnapshotArgs(index, bytes);
    } catch (error) {
      return Promise.reject(error);
    }
    // Not copied (see SnapshotStore.write): a copy of a large snapshot holds the event loop.
    const payload = bytes;
    const run = this.queue.then(async () => {
      if (this.failure !== null) throw this.failure;
      try {
        await this.writeNow(index, payload);
      } catch (error) {
        // A failed fsync leaves the page cache in an unknown state: refuse further work.
        this.failure ??= new StoreFailedError(error);
        throw this.failure;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  latest(log?: LogCoverage): Snapshot | null {
    this.assertUsable();
    const candidates: SnapshotCandidate[] = this.listIndexes()
      .reverse()
      .map((index) => {
        const path = join(this.directory, snapshotFileName(index));
        return { index, location: path, load: () => this.readVerified(path, index) };
      });
    return chooseSnapshot(candidates, log, this.logger);
  }

  /** Indexes of the snapshot files present (valid or not), oldest first. */
  listIndexes(): number[] {
    const indexes: number[] = [];
    for (const name of this.fsys.readdirSync(this.directory)) {
      const match = SNAPSHOT_NAME.exec(name);
      if (match === null) continue;
      const index = Number(match[1]);
      if (Number.isSafeInteger(index)) indexes.push(index);
    }
    return indexes.sort((a, b) => a - b);
  }

  /** Reads and verifies the snapshot at `index`; throws {@link CorruptSnapshotError} if it fails. */
  read(index: number): Snapshot {
    const path = join(this.directory, snapshotFileName(index));
    const loaded = this.readVerified(path, index);
    if ('corrupt' in loaded) throw new CorruptSnapshotError(path, loaded.corrupt);
    return loaded;
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
  }

  private readVerified(path: string, index: number): Snapshot | { readonly corrupt: string } {
    const size = this.fsys.sizeSync(path);
    if (size > SNAPSHOT_HEADER_BYTES + MAX_SNAPSHOT_BYTES) return { corrupt: `file is ${size} bytes, over MAX_SNAPSHOT_BYTES` };
    return decodeSnapshotFile(this.fsys.readFileSync(path), index);
  }

  private async writeNow(index: number, payload: Uint8Array): Promise<void> {
    const finalPath = join(this.directory, snapshotFileName(index));
    const tempPath = finalPath + TEMP_SUFFIX;
    const header = encodeHeader(index, payload);
    const fd = await this.fsys.open(tempPath, 'w');
    try {
      await writeFully(this.fsys, fd, header, 0, header.length, 0);
      await writeFully(this.fsys, fd, payload, 0, payload.length, header.length);
      await this.fsys.fsync(fd);
    } finally {
      await this.fsys.close(fd);
    }
    await this.fsys.rename(tempPath, finalPath);
    await this.fsys.syncDirectory(this.directory);
    // Prune only once the new snapshot is durable. Corrupt files count too: they are kept for
    // inspection until newer snapshots push them out.
    const stale = this.listIndexes().reverse().slice(this.snapshotsKept);
    for (const old of stale) await this.fsys.unlink(join(this.directory, snapshotFileName(old)));
    if (stale.length > 0) await this.fsys.syncDirectory(this.directory);
  }

  private assertUsable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new Error(`FileSnapshotStore ${this.directory} is closed`);
  }
}
