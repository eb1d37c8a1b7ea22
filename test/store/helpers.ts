/** Test helpers for the store: temp directories, an instrumented file system, a recording logger. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeStorageFs } from '../../src/store/fs.js';
import type { StorageFs } from '../../src/store/fs.js';
import type { LogRecord, StoreLogger } from '../../src/store/types.js';

/** A fresh directory under os.tmpdir(); remove it with the returned function. */
export function makeTempDir(label: string): { readonly dir: string; readonly remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sk-store-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface InstrumentedFs extends StorageFs {
  /** Calls made so far, by method name. */
  readonly calls: Map<string, number>;
  count(method: keyof StorageFs): number;
  /** Make the next call of `method` fail with an EIO error. */
  failNext(method: keyof StorageFs): void;
  /** Close every descriptor opened through this shim and still open (for abandoned stores). */
  closeAll(): void;
}

/**
 * Wraps a file system, counting calls, failing chosen ones and tracking open descriptors.
 * `skipSyncs` makes fsync/fdatasync no-ops: for tests whose "crash" is abandoning a store object
 * (the page cache survives that), where durability against power loss is not what is measured.
 */
export function instrumentedFs(base: StorageFs = nodeStorageFs, options: { skipSyncs?: boolean } = {}): InstrumentedFs {
  const calls = new Map<string, number>();
  const failures = new Set<string>();
  const open = new Set<number>();
  const wrapped = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(base) as [string, (...args: unknown[]) => unknown][]) {
    wrapped[name] = (...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      if (failures.delete(name)) {
        const error = Object.assign(new Error(`EIO: injected failure in ${name}`), { code: 'EIO' });
        if (name.endsWith('Sync')) throw error;
        return Promise.reject(error);
      }
      if (options.skipSyncs === true && (name === 'fsync' || name === 'fdatasync' || name === 'syncDirectory')) {
        return Promise.resolve();
      }
      const result = fn(...args);
      if (name === 'open') return (result as Promise<number>).then((fd) => (open.add(fd), fd));
      if (name === 'close' || name === 'closeSync') open.delete(args[0] as number);
      return result;
    };
  }
  return Object.assign(wrapped as unknown as StorageFs, {
    calls,
    count: (method: keyof StorageFs) => calls.get(method) ?? 0,
    failNext: (method: keyof StorageFs) => void failures.add(method),
    closeAll: () => {
      for (const fd of open) base.closeSync(fd);
      open.clear();
    },
  });
}

export interface LogEntry {
  readonly level: 'info' | 'warn';
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/** A logger that keeps what it is told. */
export function recordingLogger(): StoreLogger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (details, message) => void entries.push({ level: 'info', message, details }),
    warn: (details, message) => void entries.push({ level: 'warn', message, details }),
  };
}

/** A deterministic payload for `index`, of a length that varies with it. */
export function payloadFor(index: number, salt = 0): Uint8Array {
  const length = (index * 7 + salt) % 41;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (index * 31 + i * 17 + salt) & 0xff;
  return bytes;
}

/** Records `from..to` with {@link payloadFor} payloads. */
export function recordsFor(from: number, to: number, salt = 0): LogRecord[] {
  const records: LogRecord[] = [];
  for (let index = from; index <= to; index++) records.push({ index, payload: payloadFor(index, salt) });
  return records;
}

/** Everything `readFrom(from)` yields, as plain arrays for deep equality. */
export function readAll(log: { readFrom(index: number): Iterable<LogRecord> }, from: number): { index: number; payload: number[] }[] {
  return [...log.readFrom(from)].map((record) => ({ index: record.index, payload: [...record.payload] }));
}

/** Same shape as {@link readAll}, for expected records. */
export function plain(records: readonly LogRecord[]): { index: number; payload: number[] }[] {
  return records.map((record) => ({ index: record.index, payload: [...record.payload] }));
}
