/**
 * The file-system calls the file stores make, behind one small interface so tests can count
 * fdatasyncs (group commit) and inject failures (EIO on fsync) without touching the real disk.
 * The default, {@link nodeStorageFs}, is a thin layer over `node:fs`.
 */
import * as fs from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';

/** Open modes the stores use: create exclusively, create or replace, read-write, read-only. */
export type OpenMode = 'wx' | 'w' | 'r+' | 'r';

export interface StorageFs {
  /** Create `dir` and its parents; resolves the first directory created, undefined if none was. */
  mkdir(dir: string): Promise<string | undefined>;
  readdir(dir: string): Promise<string[]>;
  readdirSync(dir: string): string[];
  readFile(path: string): Promise<Buffer>;
  readFileSync(path: string): Buffer;
  /** Size in bytes of the file at `path`. */
  sizeSync(path: string): number;
  open(path: string, mode: OpenMode): Promise<number>;
  openSync(path: string, mode: 'r'): number;
  /** Positional write (pwrite); may write fewer bytes than asked. */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Positional read (pread); returns the bytes read. */
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fdatasync(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  close(fd: number): Promise<void>;
  closeSync(fd: number): void;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Make the directory's entries (created, renamed, removed files) durable: open it and fsync. */
  syncDirectory(dir: string): Promise<void>;
}

const openAsync = promisify(fs.open);
const writeAsync = promisify(fs.write);
const fdatasyncAsync = promisify(fs.fdatasync);
const fsyncAsync = promisify(fs.fsync);
const ftruncateAsync = promisify(fs.ftruncate);
const closeAsync = promisify(fs.close);

/** The real file system. */
export const nodeStorageFs: StorageFs = Object.freeze({
  mkdir: (dir: string) => fs.promises.mkdir(dir, { recursive: true }),
  readdir: (dir: string) => fs.promises.readdir(dir),
  readdirSync: (dir: string) => fs.readdirSync(dir),
  readFile: (path: string) => fs.promises.readFile(path),
  readFileSync: (path: string) => fs.readFileSync(path),
  sizeSync: (path: string) => fs.statSync(path).size,
  open: (path: string, mode: OpenMode) => openAsync(path, mode),
  openSync: (path: string, mode: 'r') => fs.openSync(path, mode),
  async write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return (await writeAsync(fd, buffer, offset, length, position)).bytesWritten;
  },
  readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
    fs.readSync(fd, buffer, offset, length, position),
  fdatasync: (fd: number) => fdatasyncAsync(fd),
  fsync: (fd: number) => fsyncAsync(fd),
  ftruncate: (fd: number, length: number) => ftruncateAsync(fd, length),
  close: (fd: number) => closeAsync(fd),
  closeSync: (fd: number) => fs.closeSync(fd),
  unlink: (path: string) => fs.promises.unlink(path),
  rename: (from: string, to: string) => fs.promises.rename(from, to),
  async syncDirectory(dir: string): Promise<void> {
    const fd = await openAsync(dir, 'r');
    try {
      await fsyncAsync(fd);
    } finally {
      await closeAsync(fd);
    }
  },
});

/** Write all of `length` bytes, looping over short writes (a pwrite may stop early). */
export async function writeFully(
  fsys: StorageFs,
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const written = await fsys.write(fd, buffer, offset + done, length - done, position + done);
    if (written <= 0) throw new Error(`write made no progress at position ${position + done}`);
    done += written;
  }
}

/** Read exactly `length` bytes or fewer only at end of file; returns the count read. */
export function readFullySync(
  fsys: StorageFs,
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): number {
  let done = 0;
  while (done < length) {
    const read = fsys.readSync(fd, buffer, offset + done, length - done, position + done);
    if (read === 0) break;
    done += read;
  }
  return done;
}

/**
 * Create `dir` if needed and make its existence durable: fsync the parent of every directory
 * created, so a crash cannot leave files whose directory entry was never persisted.
 */
export async function ensureDirectory(fsys: StorageFs, dir: string): Promise<void> {
  const target = resolve(dir);
  const firstCreated = await fsys.mkdir(target);
  if (firstCreated === undefined) return;
  for (let created = target; ; created = dirname(created)) {
    await fsys.syncDirectory(dirname(created));
    if (created === resolve(firstCreated) || created === dirname(created)) break;
  }
}
