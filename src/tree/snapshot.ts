/**
 * Snapshot format of the data tree (statekeeper's own, versioned):
 *
 * ```
 * magic "SKTR" · u16 format version · i64 lastZxid
 * u32 session count · per session: i64 id, f64 timeoutMs, u8 has password, string password
 * u32 node count · per node, in path order: node encoding (node.ts writeNode; null data: length 0xffffffff)
 * i64 node digest · i64 session digest        (checked on load: a corrupt snapshot is refused)
 * ```
 *
 * The same tree always gives the same bytes (sessions and nodes are written in sorted order).
 */
import { ByteReader, ByteWriter } from './codec.js';
import { readNode, writeNode, type NodeRecord } from './node.js';
import { splitPath } from './path.js';
import { NodeStore, type SessionRecord } from './store.js';

/**
 * Bump when the layout changes; versions not listed in {@link READABLE_SNAPSHOT_VERSIONS} are
 * refused rather than misread. Version 2 may hold null node data (length 0xffffffff); otherwise its
 * bytes are version 1's, so version 1 snapshots load unchanged.
 */
export const SNAPSHOT_FORMAT_VERSION = 2;
const READABLE_SNAPSHOT_VERSIONS: ReadonlySet<number> = new Set([1, 2]);
const MAGIC = new TextEncoder().encode('SKTR');

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Encode the store and the last applied zxid. */
export function encodeSnapshot(store: NodeStore, lastZxid: bigint): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, lastZxid, [...store.sessions]);
  const paths = [...store.nodes.keys()].sort(compareStrings);
  w.u32(paths.length);
  for (const path of paths) {
    const slot = store.get(path);
    if (slot !== undefined) writeNode(w, path, slot.rec);
  }
  // Stored as signed 64-bit: asIntN keeps the bit pattern of the unsigned sums.
  w.i64(BigInt.asIntN(64, store.nodeDigest)).i64(BigInt.asIntN(64, store.sessionDigest));
  return w.finish();
}

/** Magic, version, zxid and the sessions table in id order (sorts `sessions`). */
function writeHeader(w: ByteWriter, lastZxid: bigint, sessions: Array<readonly [bigint, SessionRecord]>): void {
  w.raw(MAGIC).u16(SNAPSHOT_FORMAT_VERSION).i64(lastZxid);
  sessions.sort((a, b) => compareBigInt(a[0], b[0]));
  w.u32(sessions.length);
  for (const [id, s] of sessions) w.i64(id).f64(s.timeoutMs).u8(s.passwordHex === undefined ? 0 : 1).string(s.passwordHex ?? '');
}

/** About how many nodes one {@link SnapshotEncoder.step} handles: a few milliseconds of work. */
export const SNAPSHOT_STEP_NODES = 2048;

type Pair = readonly [path: string, rec: NodeRecord];

/**
 * {@link encodeSnapshot} a slice at a time, so a large tree does not stall its event loop while the
 * tree keeps changing. Starting costs O(sessions), not O(nodes): the store is frozen (it keeps each
 * path's record as it was at the start, at the path's first change), and the steps read the live
 * nodes through that. Records are immutable (a change replaces the record), so holding one keeps
 * it. The steps: collect every path's starting record (live ones, then removed ones), sort runs of
 * them, merge the runs into the output in path order. A path can be collected more than once (a
 * path removed and added again meanwhile is met again by the live iteration) but always with its
 * starting record, so the merge writes it once. The output is a list of chunks, one per merge
 * step plus the header (written last, when the node count is known): one growing buffer would be
 * copied whole each time it doubles, a pause of its own on a large tree. Joined, the chunks equal
 * what encodeSnapshot gave at the start.
 */
export class SnapshotEncoder {
  private readonly frozen: ReadonlyMap<string, NodeRecord | null>;
  private readonly sessions: Array<readonly [bigint, SessionRecord]>;
  private readonly nodeDigest: bigint;
  private readonly sessionDigest: bigint;
  private readonly lastZxid: bigint;
  private phase: 'live' | 'removed' | 'sort' | 'merge' | 'done' | 'cancelled' = 'live';
  private readonly live: Iterator<[string, { rec: NodeRecord }]>;
  private removed: Iterator<[string, NodeRecord | null]> | undefined;
  private readonly pairs: Pair[] = [];
  private sortedUpTo = 0;
  /** Merge heap of run cursors, ordered by the path each points at. */
  private heap: Array<{ at: number; end: number }> = [];
  private lastWritten: string | undefined;
  private written = 0;
  /** The header chunk first (filled in at the end), then one chunk per merge step. */
  private readonly chunks: Uint8Array[] = [new Uint8Array(0)];
  private bytesPerNode = 256;
  private result: Uint8Array[] | undefined;

  constructor(
    private readonly store: NodeStore,
    lastZxid: bigint,
  ) {
    this.frozen = store.freeze();
    this.sessions = [...store.sessions];
    this.nodeDigest = store.nodeDigest;
    this.sessionDigest = store.sessionDigest;
    this.lastZxid = lastZxid;
    this.live = store.nodes.entries();
  }

  /**
   * Do one slice of the work, about `budget` nodes' worth across the phases: the snapshot's bytes
   * once it is whole (as chunks to be joined in order), else null. An unbounded budget encodes it
   * all in one call.
   */
  step(budget = SNAPSHOT_STEP_NODES): readonly Uint8Array[] | null {
    if (this.phase === 'cancelled') throw new Error('snapshot encoding was cancelled');
    let left = Math.max(1, budget);
    while (left > 0 && this.phase !== 'done') {
      if ((this.phase === 'live' || this.phase === 'removed') && !this.store.isFrozen(this.frozen)) {
        // Another encoder froze the store since: changes are no longer kept for this one.
        this.phase = 'cancelled';
        throw new Error('snapshot encoding was superseded by another');
      }
      // Each phase call does at least one unit of work or moves to the next phase.
      if (this.phase === 'live') left -= this.collectLive(left);
      else if (this.phase === 'removed') left -= this.collectRemoved(left);
      else if (this.phase === 'sort') left -= this.sortRun(left);
      else if (this.phase === 'merge') left -= this.merge(left);
      else break;
    }
    return this.result ?? null;
  }

  /** Give up: the store stops keeping records for this encoder. */
  cancel(): void {
    if (this.phase === 'done') return;
    this.phase = 'cancelled';
    this.store.thaw(this.frozen);
  }

  private collectLive(budget: number): number {
    for (let i = 0; i < budget; i++) {
      const next = this.live.next();
      if (next.done === true) {
        this.removed = this.frozen.entries();
        this.phase = 'removed';
        return i;
      }
      const [path, slot] = next.value;
      const before = this.frozen.get(path);
      if (before === undefined) this.pairs.push([path, slot.rec]);
      else if (before !== null) this.pairs.push([path, before]);
    }
    return budget;
  }

  private collectRemoved(budget: number): number {
    for (let i = 0; i < budget; i++) {
      const next = this.removed!.next();
      if (next.done === true) {
        // Every starting record is collected: later changes no longer matter to this snapshot.
        this.store.thaw(this.frozen);
        this.phase = 'sort';
        return i;
      }
      const [path, before] = next.value;
      if (before !== null) this.pairs.push([path, before]);
    }
    return budget;
  }

  private sortRun(budget: number): number {
    const start = this.sortedUpTo;
    const end = Math.min(this.pairs.length, start + budget);
    if (end > start) {
      const run = this.pairs.slice(start, end).sort(comparePairs);
      for (let i = 0; i < run.length; i++) this.pairs[start + i] = run[i]!;
      this.heap.push({ at: start, end });
    }
    this.sortedUpTo = end;
    if (end < this.pairs.length) return end - start;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
    this.phase = 'merge';
    return end - start;
  }

  private merge(budget: number): number {
    const nodes = Math.min(budget, this.pairs.length);
    const out = new ByteWriter(Number.isFinite(nodes) ? Math.ceil(nodes * this.bytesPerNode * 1.25) : undefined);
    let i = 0;
    let wrote = 0;
    for (; i < budget && this.heap.length > 0; i++) {
      const top = this.heap[0]!;
      const [path, rec] = this.pairs[top.at]!;
      if (path !== this.lastWritten) {
        writeNode(out, path, rec);
        wrote++;
        this.lastWritten = path;
        this.written++;
      }
      top.at++;
      if (top.at === top.end) {
        const last = this.heap.pop()!;
        if (this.heap.length > 0) this.heap[0] = last;
      }
      if (this.heap.length > 0) this.siftDown(0);
    }
    if (wrote > 0) this.bytesPerNode = Math.max(16, Math.ceil(out.size / wrote));
    if (this.heap.length > 0) {
      this.chunks.push(out.finish());
      return i;
    }
    // Stored as signed 64-bit: asIntN keeps the bit pattern of the unsigned sums.
    out.i64(BigInt.asIntN(64, this.nodeDigest)).i64(BigInt.asIntN(64, this.sessionDigest));
    this.chunks.push(out.finish());
    const header = new ByteWriter();
    writeHeader(header, this.lastZxid, this.sessions);
    this.chunks[0] = header.u32(this.written).finish();
    this.result = this.chunks;
    this.pairs.length = 0;
    this.phase = 'done';
    return i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < heap.length && this.pathAt(heap[l]!) < this.pathAt(heap[least]!)) least = l;
      if (r < heap.length && this.pathAt(heap[r]!) < this.pathAt(heap[least]!)) least = r;
      if (least === i) return;
      [heap[i], heap[least]] = [heap[least]!, heap[i]!];
      i = least;
    }
  }

  private pathAt(cursor: { at: number }): string {
    return this.pairs[cursor.at]![0];
  }
}

function comparePairs(a: Pair, b: Pair): number {
  return compareStrings(a[0], b[0]);
}

function readHeader(r: ByteReader): bigint {
  const magic = r.raw(MAGIC.length);
  if (!magic.every((b, i) => b === MAGIC[i])) throw new RangeError('not a statekeeper tree snapshot');
  const version = r.u16();
  if (!READABLE_SNAPSHOT_VERSIONS.has(version)) throw new RangeError(`unsupported snapshot format version ${version}`);
  return r.i64();
}

function readSessions(r: ByteReader, store: NodeStore): void {
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const id = r.i64();
    const timeoutMs = r.f64();
    const hasPassword = r.u8() === 1;
    const password = r.string();
    store.putSession(id, { timeoutMs, passwordHex: hasPassword ? password : undefined });
  }
}

function readNodes(r: ByteReader, store: NodeStore): void {
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const { path, rec } = readNode(r);
    store.insertNode(path, rec);
  }
  for (const path of store.nodes.keys()) {
    if (path === '/') continue;
    const split = splitPath(path);
    if (split === null || store.get(split.parent) === undefined) throw new RangeError(`snapshot node ${path} has no parent`);
    store.addChild(split.parent, split.name);
  }
}

/** Decode a snapshot into a fresh store; throws RangeError if it is malformed or its digest does not match. */
export function decodeSnapshot(bytes: Uint8Array): { store: NodeStore; lastZxid: bigint } {
  const r = new ByteReader(bytes);
  const lastZxid = readHeader(r);
  const store = new NodeStore();
  readSessions(r, store);
  readNodes(r, store);
  const nodeDigest = BigInt.asUintN(64, r.i64());
  const sessionDigest = BigInt.asUintN(64, r.i64());
  r.expectEnd();
  if (nodeDigest !== store.nodeDigest || sessionDigest !== store.sessionDigest) {
    throw new RangeError('snapshot digest mismatch: the snapshot is corrupt');
  }
  return { store, lastZxid };
}
