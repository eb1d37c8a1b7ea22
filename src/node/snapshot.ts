/**
 * A node's snapshot: the application's state plus the log position it was taken at, so a node can
 * start from it (or install it from a peer) and continue exactly where the log left off.
 *
 * Encoded with MessagePack (msgpackr): `{ v, slot, lastEpoch, zxidEpoch, zxidCounter, app }`.
 */
import { Packr } from 'msgpackr';
import type { Slot } from '../protocol/ids.js';

/** Format version written into every snapshot; a node refuses one it does not know. */
export const NODE_SNAPSHOT_VERSION = 1;

/** When a node snapshots its application, and how much log it keeps behind a snapshot. */
export interface SnapshotPolicy {
  /**
   * Take a snapshot after this many commands were applied since the last one (ZooKeeper's
   * snapCount counts transactions the same way).
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

export function encodeNodeSnapshot(content: NodeSnapshotContent): Uint8Array {
  return packr.pack({ v: NODE_SNAPSHOT_VERSION, ...content });
}

/** Decode and check a snapshot; throws RangeError naming what is wrong. */
export function decodeNodeSnapshot(bytes: Uint8Array): NodeSnapshotContent {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (error) {
    throw new RangeError(`snapshot is not MessagePack: ${error instanceof Error ? error.message : String(error)}`);
  }
  const v = value as Partial<NodeSnapshotContent> & { v?: unknown };
  if (typeof v !== 'object' || v === null) throw new RangeError('snapshot is not a map');
  if (v.v !== NODE_SNAPSHOT_VERSION) throw new RangeError(`unknown snapshot version ${String(v.v)}`);
  for (const key of ['slot', 'lastEpoch', 'zxidEpoch', 'zxidCounter'] as const) {
    if (!Number.isSafeInteger(v[key]) || (v[key] as number) < 0) throw new RangeError(`snapshot field ${key} is not a count`);
  }
  if (!(v.app instanceof Uint8Array)) throw new RangeError('snapshot has no application state');
  return { slot: v.slot!, lastEpoch: v.lastEpoch!, zxidEpoch: v.zxidEpoch!, zxidCounter: v.zxidCounter!, app: v.app };
}
