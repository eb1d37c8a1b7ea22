import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCEPTOR_LOG_DIR, FileStorage, ForeignDataDirectoryError, LEARNED_LOG_DIR } from '../../src/node/file-storage.js';
import { CorruptLogError, FileLogStore, nodeStorageFs } from '../../src/store/index.js';
import type { StorageFs, StoreLogger } from '../../src/store/index.js';
import type { AcceptedEntry, Entry } from '../../src/protocol/messages.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sk-fstore-'));
  dirs.push(d);
  return d;
}
const quiet: StoreLogger = { info: () => undefined, warn: () => undefined };

/** A service-shaped command: a TreeTxn with a bigint session id and Uint8Array data. */
function entry(n: number, epoch = 1): Entry {
  return {
    origin: { epoch, nodeId: 1 },
    createdMs: 1_790_000_000_000 + n,
    commands: [
      {
        id: `1.${n}`,
        payload: {
          s: 'abc',
          c: n,
          t: { type: 'create', sessionId: 0x0123_4567_89ab_cdefn, auth: [], path: `/k${n}`, data: new Uint8Array([n & 0xff, 1, 2]), acl: [], mode: 0, ttlMs: undefined },
        },
      },
    ],
  };
}
function accepted(slot: number, epoch = 1): AcceptedEntry {
  return { slot, ballot: { epoch, nodeId: 1 }, entry: entry(slot, epoch) };
}
function flushed(s: FileStorage): Promise<void> {
  return new Promise((resolve) => s.flush(resolve));
}
function countingFs(): StorageFs & { counts: Map<string, number>; failNext: (m: string) => void } {
  const counts = new Map<string, number>();
  const failing = new Set<string>();
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(nodeStorageFs) as [string, (...a: unknown[]) => unknown][]) {
    out[name] = (...args: unknown[]) => {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (failing.delete(name)) return Promise.reject(Object.assign(new Error(`EIO: injected in ${name}`), { code: 'EIO' }));
      return fn(...args);
    };
  }
  return Object.assign(out as unknown as StorageFs, { counts, failNext: (m: string) => void failing.add(m) });
}
function segmentPath(dir: string, sub: string): string {
  const name = readdirSync(join(dir, sub)).find((n) => n.startsWith('log.'));
  if (name === undefined) throw new Error(`no segment in ${sub}`);
  return join(dir, sub, name);
}

describe('FileStorage', () => {
  it('recovers election state, the highest promise, accepted entries and learned entries with exact payloads', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 2, logger: quiet });
    expect(s.load().learned).toEqual([]);
    s.saveElection(3, 1);
    s.savePromise({ epoch: 3, nodeId: 1 });
    s.saveAccepted({ epoch: 3, nodeId: 1 }, [accepted(1, 3), accepted(2, 3)]);
    // A later ballot overwrites slot 2; the promise follows the highest ballot.
    s.saveAccepted({ epoch: 4, nodeId: 3 }, [accepted(2, 4)]);
    s.appendLearned(1, entry(1, 3));
    s.appendLearned(3, entry(3, 3)); // not the next slot: ignored, as MemoryStorage does
    expect(s.dirty).toBe(true);
    await flushed(s);
    expect(s.dirty).toBe(false);
    await s.close();

    const r = await FileStorage.open(dir, { nodeId: 2, logger: quiet });
    const d = r.load();
    expect(d.epoch).toBe(3);
    expect(d.votedFor).toBe(1);
    expect(d.promised).toEqual({ epoch: 4, nodeId: 3 });
    expect([...d.accepted.keys()].sort()).toEqual([1, 2]);
    expect(d.accepted.get(2)).toEqual(accepted(2, 4));
    expect(d.learned).toEqual([entry(1, 3)]);
    const payload = d.learned[0]!.commands[0]!.payload as { t: { sessionId: unknown; data: unknown } };
    expect(typeof payload.t.sessionId).toBe('bigint');
    expect(payload.t.data).toBeInstanceOf(Uint8Array);
    await r.close();
  });

  it('group commit: one flush makes many accepts durable with one fdatasync per log', async () => {
    const dir = tempDir();
    const fs = countingFs();
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet, fs });
    const before = fs.counts.get('fdatasync') ?? 0;
    for (let slot = 1; slot <= 200; slot++) s.saveAccepted({ epoch: 1, nodeId: 1 }, [accepted(slot)]);
    for (let slot = 1; slot <= 50; slot++) s.appendLearned(slot, entry(slot));
    await flushed(s);
    await s.close(); // the learned log's sync is not awaited by the flush (see the next test)
    expect((fs.counts.get('fdatasync') ?? 0) - before).toBe(2);
    const r = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    expect(r.load().accepted.size).toBe(200);
    expect(r.load().learned.length).toBe(50);
    await r.close();
  });

  it('a flush completes on the acceptor journal and meta alone; the learned log syncs beside it', async () => {
    const dir = tempDir();
    const paths = new Map<number, string>();
    let releaseLearned: (() => void) | undefined;
    const learnedHeld = new Promise<void>((resolve) => (releaseLearned = resolve));
    const fs: StorageFs = {
      ...nodeStorageFs,
      open: async (path, mode) => {
        const fd = await nodeStorageFs.open(path, mode);
        paths.set(fd, path);
        return fd;
      },
      fdatasync: async (fd) => {
        if (paths.get(fd)?.includes(`/${LEARNED_LOG_DIR}/`)) await learnedHeld;
        return nodeStorageFs.fdatasync(fd);
      },
    };
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet, fs });
    s.saveAccepted({ epoch: 1, nodeId: 1 }, [accepted(1)]);
    s.appendLearned(1, entry(1));
    await flushed(s); // would hang here if the flush waited for the learned log
    const closing = s.close();
    releaseLearned!();
    await closing;
    const r = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    expect(r.load().learned).toEqual([entry(1)]);
    await r.close();
  });

  it('writes not yet flushed are not on disk', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    s.saveAccepted({ epoch: 1, nodeId: 1 }, [accepted(1)]);
    await flushed(s);
    s.saveAccepted({ epoch: 1, nodeId: 1 }, [accepted(2)]);
    s.saveElection(9, 1);
    // A second process opening the directory now sees only what the flush covered.
    const other = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    expect([...other.load().accepted.keys()]).toEqual([1]);
    expect(other.load().epoch).toBe(0);
    await other.close();
    await s.close();
  });

  it('a flush issued while another is running completes only after it', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    const order: string[] = [];
    s.saveAccepted({ epoch: 1, nodeId: 1 }, [accepted(1)]);
    const first = new Promise<void>((resolve) => s.flush(() => (order.push('first'), resolve())));
    const second = new Promise<void>((resolve) => s.flush(() => (order.push('second'), resolve())));
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    await s.close();
  });

  it('journal records assembled from packed parts read back exactly: slots at every integer width, long arrays, learned bytes reused', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    const slots = [1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3];
    const wide = slots.map((slot) => ({ slot, ballot: { epoch: 3, nodeId: 2 }, entry: entry(slot % 1000, 3) }));
    // More than 15 (fixarray) and, over two persists, two ballots in one journal.
    const many = Array.from({ length: 40 }, (_, i) => accepted(i + 2));
    s.saveAccepted({ epoch: 3, nodeId: 2 }, wide);
    s.saveAccepted({ epoch: 4, nodeId: 1 }, many);
    s.savePromise({ epoch: 5, nodeId: 3 });
    // The learned log takes the entries' journal bytes; one it never saw is packed on its own.
    s.appendLearned(1, many[0]!.entry);
    s.appendLearned(2, entry(77));
    await flushed(s);
    await s.close();
    const r = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    const state = r.load();
    expect(state.promised).toEqual({ epoch: 5, nodeId: 3 });
    const expected = new Map<number, AcceptedEntry>();
    for (const a of [...wide, ...many]) expected.set(a.slot, a);
    expect(state.accepted).toEqual(expected);
    expect(state.learned).toEqual([many[0]!.entry, entry(77)]);
    await r.close();
  });

  it('splits a persist too big for one record and recovers all of it', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet, maxJournalRecordBytes: 300 });
    const many = Array.from({ length: 40 }, (_, i) => accepted(i + 1));
    s.saveAccepted({ epoch: 1, nodeId: 1 }, many);
    await flushed(s);
    await s.close();
    const r = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    expect(r.load().accepted).toEqual(new Map(many.map((a) => [a.slot, a])));
    await r.close();
    const journal = await FileLogStore.open(join(dir, ACCEPTOR_LOG_DIR), { logger: quiet });
    expect(journal.lastIndex).toBeGreaterThan(1);
    for (const record of journal.readFrom(1)) expect(record.payload.length).toBeLessThanOrEqual(300);
    await journal.close();
  });

  it('cuts a torn tail of the learned log and reports it', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    for (let slot = 1; slot <= 5; slot++) s.appendLearned(slot, entry(slot));
    await flushed(s);
    await s.close();
    const file = segmentPath(dir, LEARNED_LOG_DIR);
    truncateSync(file, statSync(file).size - 3);
    const warnings: string[] = [];
    const r = await FileStorage.open(dir, { nodeId: 1, logger: { info: (_d, m) => void warnings.push(m), warn: (_d, m) => void warnings.push(m) } });
    expect(r.load().learned).toEqual([1, 2, 3, 4].map((n) => entry(n)));
    expect(warnings.length).toBeGreaterThan(0);
    await r.close();
  });

  it('refuses a flipped byte in the middle of the acceptor journal, naming file and offset', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    for (let slot = 1; slot <= 6; slot++) s.saveAccepted({ epoch: 1, nodeId: 1 }, [accepted(slot)]);
    await flushed(s);
    await s.close();
    const file = segmentPath(dir, ACCEPTOR_LOG_DIR);
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(file, bytes);
    const error = await FileStorage.open(dir, { nodeId: 1, logger: quiet }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptLogError);
    expect((error as CorruptLogError).file).toBe(file);
    expect((error as CorruptLogError).offset).toBeGreaterThan(0);
    expect((error as CorruptLogError).offset).toBeLessThanOrEqual(middle);
  });

  it('refuses a data directory written by another node id', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet });
    s.saveElection(1, 1);
    await flushed(s);
    await s.close();
    await expect(FileStorage.open(dir, { nodeId: 2, logger: quiet })).rejects.toBeInstanceOf(ForeignDataDirectoryError);
  });

  it('a failed fdatasync poisons the store: onFailure runs and the flush never completes', async () => {
    const dir = tempDir();
    const fs = countingFs();
    const failures: unknown[] = [];
    const s = await FileStorage.open(dir, { nodeId: 1, logger: quiet, fs, onFailure: (e) => failures.push(e) });
    s.saveAccepted({ epoch: 1, nodeId: 1 }, [accepted(1)]);
    fs.failNext('fdatasync');
    let completed = false;
    s.flush(() => (completed = true));
    await s.close().catch(() => undefined);
    expect(failures).toHaveLength(1);
    expect(completed).toBe(false);
  });
});

describe('FileStorage snapshots and compaction', () => {
  /** Small segments, so compaction has whole segments to remove. */
  const small = { logger: quiet, segmentBytes: 4096 };
  const waitFor = (register: (done: () => void) => void) => new Promise<void>((resolve) => register(resolve));

  it('recovers from the newest snapshot plus the learned entries after it, with the acceptor floor', async () => {
    const dir = tempDir();
    const w = await FileStorage.open(dir, { nodeId: 1, ...small });
    const ballot = { epoch: 1, nodeId: 1 };
    const all = Array.from({ length: 420 }, (_, i) => accepted(i + 1));
    w.saveAccepted(ballot, all);
    for (let slot = 1; slot <= 420; slot++) {
      w.appendLearned(slot, entry(slot));
      // Segments roll between writes, not inside one.
      if (slot % 20 === 0) await flushed(w);
    }
    await flushed(w);
    await w.close();
    const segmentsBefore = readdirSync(join(dir, LEARNED_LOG_DIR)).length;
    expect(segmentsBefore).toBeGreaterThan(3);
    const s = await FileStorage.open(dir, { nodeId: 1, ...small });
    await waitFor((done) => s.saveSnapshot({ slot: 400, bytes: new Uint8Array([1, 0, 0]) }, done));
    s.compactLearned(395);
    // The acceptor forgets chosen slots up to 400: a checkpoint holds the rest.
    s.saveCompacted(400, ballot, all.slice(400));
    await flushed(s);
    await s.close();

    const r = await FileStorage.open(dir, { nodeId: 1, ...small });
    const d = r.load();
    expect(d.snapshot).toEqual({ slot: 400, bytes: new Uint8Array([1, 0, 0]) });
    expect(d.learned).toEqual(Array.from({ length: 20 }, (_, i) => entry(401 + i)));
    expect(d.acceptorFloor).toBe(400);
    expect([...d.accepted.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 401 + i));
    expect(d.promised).toEqual(ballot);
    // Whole learned-log segments below the kept tail are gone, and the journal before the checkpoint.
    expect(readdirSync(join(dir, LEARNED_LOG_DIR)).length).toBeLessThan(segmentsBefore);
    expect(r.learnedFrom).toBeGreaterThan(1);
    expect(r.learnedFrom).toBeLessThanOrEqual(396);
    await r.close();
  });

  it('installing a peer snapshot continues the learned log after it, and later entries survive', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, ...small });
    for (let slot = 1; slot <= 5; slot++) s.appendLearned(slot, entry(slot));
    await flushed(s);
    const durable = waitFor((done) => s.installSnapshot({ slot: 50, bytes: new Uint8Array([5]) }, done));
    // Entries after the snapshot arrive while it is still being written.
    s.appendLearned(51, entry(51));
    s.appendLearned(52, entry(52));
    await durable;
    await flushed(s);
    await s.close();
    const r = await FileStorage.open(dir, { nodeId: 1, ...small });
    const d = r.load();
    expect(d.snapshot?.slot).toBe(50);
    expect(d.learned).toEqual([entry(51), entry(52)]);
    await r.close();
  });

  it('two installs in a row: entries learned between and after them all land after the newest', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, ...small });
    for (let slot = 1; slot <= 3; slot++) s.appendLearned(slot, entry(slot));
    const first = waitFor((done) => s.installSnapshot({ slot: 20, bytes: new Uint8Array([20]) }, done));
    s.appendLearned(21, entry(21));
    s.appendLearned(22, entry(22));
    // A second, newer snapshot arrives before the first is on disk.
    const second = waitFor((done) => s.installSnapshot({ slot: 40, bytes: new Uint8Array([40]) }, done));
    s.appendLearned(41, entry(41));
    s.appendLearned(42, entry(42));
    await Promise.all([first, second]);
    // And learning goes on once both are installed.
    s.appendLearned(43, entry(43));
    await flushed(s);
    await s.close();
    const r = await FileStorage.open(dir, { nodeId: 1, ...small });
    expect(r.load().snapshot?.slot).toBe(40);
    expect(r.load().learned).toEqual([entry(41), entry(42), entry(43)]);
    await r.close();
  });

  it('a learned log that ends before the newest snapshot continues after it on open', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, ...small });
    for (let slot = 1; slot <= 3; slot++) s.appendLearned(slot, entry(slot));
    await waitFor((done) => s.saveSnapshot({ slot: 3, bytes: new Uint8Array([3]) }, done));
    await flushed(s);
    await s.close();
    // A crash between writing a peer's snapshot and resetting the log: snapshot 9, log up to 3.
    const { FileSnapshotStore } = await import('../../src/store/index.js');
    const snapshots = await FileSnapshotStore.open(join(dir, 'snapshots'), { logger: quiet });
    await snapshots.write(9, new Uint8Array([9]));
    await snapshots.close();
    const r = await FileStorage.open(dir, { nodeId: 1, ...small });
    expect(r.load().snapshot?.slot).toBe(9);
    expect(r.load().learned).toEqual([]);
    r.appendLearned(10, entry(10));
    await flushed(r);
    await r.close();
    const again = await FileStorage.open(dir, { nodeId: 1, ...small });
    expect(again.load().learned).toEqual([entry(10)]);
    await again.close();
  });

  it('refuses a learned log that leaves a gap after the snapshot, naming the log', async () => {
    const dir = tempDir();
    const s = await FileStorage.open(dir, { nodeId: 1, ...small });
    s.installSnapshot({ slot: 50, bytes: new Uint8Array([5]) }, () => undefined);
    s.appendLearned(51, entry(51));
    await flushed(s);
    await s.close();
    // Lose the snapshot: the log starts at 51 with nothing before it.
    rmSync(join(dir, 'snapshots'), { recursive: true, force: true });
    await expect(FileStorage.open(dir, { nodeId: 1, ...small })).rejects.toThrow(/learned/);
  });
});
