/**
 * Small persisted state in one JSON file, replaced atomically:
 *
 * ```json
 * {"format":"statekeeper.meta","version":1,"crc32c":123456789,"data":"{\"epoch\":3,\"votedFor\":2}"}
 * ```
 *
 * `data` is the value's JSON as a string and `crc32c` its checksum over the UTF-8 bytes, so the
 * file stays readable by people while damage is still detected. A save writes `<file>.tmp`, fsyncs
 * it, renames it over the file and fsyncs the directory: a crash leaves the old value or the new.
 */
import { basename, dirname, join } from 'node:path';
import { serializeMeta } from './common.js';
import { crc32c } from './crc32c.js';
import { CorruptMetaError, StoreFailedError } from './errors.js';
import { ensureDirectory, nodeStorageFs, writeFully } from './fs.js';
import type { StorageFs } from './fs.js';
import { MAX_META_BYTES } from './limits.js';
import { stderrLogger } from './logger.js';
import type { MetaStore, StoreLogger } from './types.js';

export interface FileMetaStoreOptions {
  /** Where a removed stale temp file is reported (default: warnings to stderr). */
  readonly logger?: StoreLogger;
  readonly fs?: StorageFs;
}

const FORMAT = 'statekeeper.meta';
const FORMAT_VERSION = 1;
const TEMP_SUFFIX = '.tmp';

interface MetaFile {
  readonly format: string;
  readonly version: number;
  readonly crc32c: number;
  readonly data: string;
}

function checksum(json: string): number {
  return crc32c(Buffer.from(json, 'utf8'));
}

/** The file contents for a value already serialized as `json`. */
export function encodeMetaFile(json: string): string {
  const file: MetaFile = { format: FORMAT, version: FORMAT_VERSION, crc32c: checksum(json), data: json };
  return `${JSON.stringify(file)}\n`;
}

/** Verifies file contents; returns the value's JSON or why the file is unusable. */
export function decodeMetaFile(text: string): { readonly json: string } | { readonly corrupt: string } {
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch (error) {
    return { corrupt: `not JSON: ${(error as Error).message}` };
  }
  if (typeof file !== 'object' || file === null) return { corrupt: 'not a JSON object' };
  const { format, version, crc32c: stored, data } = file as Partial<MetaFile>;
  if (format !== FORMAT) return { corrupt: `format is ${JSON.stringify(format)}, expected ${FORMAT}` };
  if (version !== FORMAT_VERSION) return { corrupt: `unknown format version ${String(version)}` };
  if (typeof data !== 'string' || typeof stored !== 'number') return { corrupt: 'missing data or checksum' };
  const computed = checksum(data);
  if (stored !== computed) return { corrupt: `checksum mismatch (stored ${stored}, computed ${computed})` };
  try {
    JSON.parse(data);
  } catch (error) {
    return { corrupt: `data is not JSON: ${(error as Error).message}` };
  }
  return { json: data };
}

/** A {@link MetaStore} in one file with atomic replacement. */
export class FileMetaStore<T> implements MetaStore<T> {
  private queue: Promise<void> = Promise.resolve();
  private failure: StoreFailedError | null = null;
  private closed = false;

  private constructor(
    /** Path of the metadata file. */
    readonly path: string,
    private readonly fsys: StorageFs,
    private durableJson: string | null,
  ) {}

  /**
   * Open the metadata file at `path` (its directory is created if needed). A missing file means
   * nothing was ever saved; a damaged one throws {@link CorruptMetaError}, never defaults.
   */
  static async open<T>(path: string, options: FileMetaStoreOptions = {}): Promise<FileMetaStore<T>> {
    const fsys = options.fs ?? nodeStorageFs;
    const logger = options.logger ?? stderrLogger;
    const directory = dirname(path);
    await ensureDirectory(fsys, directory);
    const names = new Set(await fsys.readdir(directory));
    if (names.has(basename(path) + TEMP_SUFFIX)) {
      // A save interrupted before its rename: it never completed, so it was never acknowledged.
      logger.info({ file: path + TEMP_SUFFIX }, 'removing an incomplete metadata save left by a crash');
      await fsys.unlink(path + TEMP_SUFFIX);
      await fsys.syncDirectory(directory);
    }
    let json: string | null = null;
    if (names.has(basename(path))) {
      const bytes = await fsys.readFile(path);
      if (bytes.length > 2 * MAX_META_BYTES) throw new CorruptMetaError(path, `file is ${bytes.length} bytes, far over MAX_META_BYTES`);
      const decoded = decodeMetaFile(bytes.toString('utf8'));
      if ('corrupt' in decoded) throw new CorruptMetaError(path, decoded.corrupt);
      json = decoded.json;
    }
    return new FileMetaStore<T>(join(directory, basename(path)), fsys, json);
  }

  save(value: T): Promise<void> {
    let json: string;
    try {
      if (this.failure !== null) throw this.failure;
      if (this.closed) throw new Error(`FileMetaStore ${this.path} is closed`);
      json = serializeMeta(value);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.queue.then(async () => {
      if (this.failure !== null) throw this.failure;
      try {
        await this.replace(encodeMetaFile(json));
      } catch (error) {
        this.failure ??= new StoreFailedError(error);
        throw this.failure;
      }
      this.durableJson = json;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  load(): T | null {
    return this.durableJson === null ? null : (JSON.parse(this.durableJson) as T);
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
  }

  private async replace(contents: string): Promise<void> {
    const tempPath = this.path + TEMP_SUFFIX;
    const bytes = Buffer.from(contents, 'utf8');
    const fd = await this.fsys.open(tempPath, 'w');
    try {
      await writeFully(this.fsys, fd, bytes, 0, bytes.length, 0);
      await this.fsys.fsync(fd);
    } finally {
      await this.fsys.close(fd);
    }
    await this.fsys.rename(tempPath, this.path);
    await this.fsys.syncDirectory(dirname(this.path));
  }
}
