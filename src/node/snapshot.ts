/**
 * A node's snapshot: the application's state plus the log position it was taken at, so a node can
 * start from it (or install it from a peer) and continue exactly where the log left off.
 *
 * Format 2: `"SKND" · u32 n · n bytes of MessagePack { v: 2, slot, lastEpoch, zxidEpoch, zxidCounter }
 * · the application's bytes`, so the (large) application state is copied once, into the assembled
 * snapshot, and never through MessagePack. Format 1, still read: MessagePack `{ v: 1, slot, …, app }`.
 */
import { Packr } from 'msgpackr';
import type { Slot } from '../protocol/ids.js';

/** Format version written into every snapshot; a node refuses one it does not know. */
export const NODE_SNAPSHOT_VERSION = 2;
const NODE_SNAPSHOT_MAGIC = new TextEncoder().encode('SKND');

/** When a node snapshots its application, and how much log it keeps behind a snapshot. */
export interface SnapshotPolicy {
  /**
   * Take a snapshot after about this many commands were applied since the last one: after a
   * number drawn anew each time from [everyCommands / 2, everyCommands], as ZooKeeper does with
   * snapCount, so that servers applying the same log do not all snapshot at once.
   */
  readonly everyCommands: number;
  /**
   * Learned entries kept below the newest durable snapshot, so a learner a little behind gets
   * entries rather than the whole snapshot (ZooKeeper keeps the logs of its retained snapshots).
   */
  readonly retainSlots: number;
  /** Bytes of snapshot per SnapshotChunk message. */
  readonly chunkBytes: number;
}

/** Defaults for a real node: ZooKeeper's snapCount is 100,000 transactions. */
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = Object.freeze({
  everyCommands: 100_000,
  retainSlots: 10_000,
  chunkBytes: 256 * 1024,
});

/** Largest snapshot a node accepts from a peer (a bigger announced size is refused). */
export const MAX_SNAPSHOT_TRANSFER_BYTES = 2 ** 31 - 1;

export interface NodeSnapshotContent {
  /** Every slot up to here is applied. */
  readonly slot: Slot;
  /** Origin epoch of the entry at `slot` (0 for slot 0), for vote log comparisons. */
  readonly lastEpoch: number;
  /** The zxid counters after the last applied command, so zxids continue without a jump. */
  readonly zxidEpoch: number;
  readonly zxidCounter: number;
  /** The application's own serialized state. */
  readonly app: Uint8Array;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });

/**
 * `magic · u32 length · MessagePack header`: the start of a snapshot whose body (the bulk) follows
 * as raw bytes.
 */
export function framedHeader(magic: Uint8Array, header: object): Uint8Array {
  const packed = packr.pack(header);
  const out = new Uint8Array(magic.length + 4 + packed.length);
  out.set(magic, 0);
  new DataView(out.buffer).setUint32(magic.length, packed.length);
  out.set(packed, magic.length + 4);
  return out;
}

/** Split what {@link framedHeader} began; null if `bytes` does not start with `magic`. */
export function readFramed(bytes: Uint8Array, magic: Uint8Array): { header: unknown; body: Uint8Array } | null {
  if (bytes.length < magic.length + 4 || !magic.every((b, i) => bytes[i] === b)) return null;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(magic.length);
  const start = magic.length + 4;
  if (start + length > bytes.length) throw new RangeError(`snapshot header of ${length} bytes runs past the ${bytes.length} bytes`);
  let header: unknown;
  try {
    header = packr.unpack(bytes.subarray(start, start + length));
  } catch (error) {
    throw new RangeError(`snapshot header is not MessagePack: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { header, body: bytes.subarray(start + length) };
}

/** The header chunk of a format 2 node snapshot; the application's chunks follow it. */
export function nodeSnapshotHeader(position: Omit<NodeSnapshotContent, 'app'>): Uint8Array {
  return framedHeader(NODE_SNAPSHOT_MAGIC, {
    v: NODE_SNAPSHOT_VERSION,
    slot: position.slot,
    lastEpoch: position.lastEpoch,
    zxidEpoch: position.zxidEpoch,
    zxidCounter: position.zxidCounter,
  });
}

/** A whole format 2 snapshot in one array (a node assembles its own from chunks, in steps). */
export function encodeNodeSnapshot(content: NodeSnapshotContent): Uint8Array {
  const { app, ...position } = content;
  const header = nodeSnapshotHeader(position);
  const out = new Uint8Array(header.length + app.length);
  out.set(header, 0);
  out.set(app, header.length);
  return out;
}

/** Decode and check a snapshot (format 2, or 1); throws RangeError naming what is wrong. */
export function decodeNodeSnapshot(bytes: Uint8Array): NodeSnapshotContent {
  const framed = readFramed(bytes, NODE_SNAPSHOT_MAGIC);
  if (framed !== null) return checkNodeSnapshot(framed.header, 2, framed.body);
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (error) {
    throw new RangeError(`snapshot is not MessagePack: ${error instanceof Error ? error.message : String(error)}`);
  }
  return checkNodeSnapshot(value, 1, (value as { app?: unknown } | null)?.app);
}

function checkNodeSnapshot(value: unknown, version: number, app: unknown): NodeSnapshotContent {
  const v = value as Partial<NodeSnapshotContent> & { v?: unknown };
  if (typeof v !== 'object' || v === null) throw new RangeError('snapshot is not a map');
  if (v.v !== version) throw new RangeError(`unknown snapshot version ${String(v.v)}`);
  for (const key of ['slot', 'lastEpoch', 'zxidEpoch', 'zxidCounter'] as const) {
    if (!Number.isSafeInteger(v[key]) || (v[key] as number) < 0) throw new RangeError(`snapshot field ${key} is not a count`);
  }
  if (!(app instanceof Uint8Array)) throw new RangeError('snapshot has no application state');
  return { slot: v.slot!, lastEpoch: v.lastEpoch!, zxidEpoch: v.zxidEpoch!, zxidCounter: v.zxidCounter!, app };
}
