/**
 * Identifiers shared by every layer: node ids, epochs, ballots and zxids.
 *
 * A ballot is (epoch, nodeId), ordered by epoch then node id, so two proposers never share one.
 * A zxid is ZooKeeper's 64-bit transaction id: high 32 bits the epoch, low 32 bits a counter.
 */

export type NodeId = number;
export type Epoch = number;
/** Position in the replicated log, starting at 1. Slot 0 means "nothing". */
export type Slot = number;

export interface Ballot {
  readonly epoch: Epoch;
  readonly nodeId: NodeId;
}

export const ZERO_BALLOT: Ballot = Object.freeze({ epoch: 0, nodeId: 0 });

export function compareBallots(a: Ballot, b: Ballot): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.nodeId - b.nodeId;
}

export function ballotsEqual(a: Ballot, b: Ballot): boolean {
  return a.epoch === b.epoch && a.nodeId === b.nodeId;
}

export function formatBallot(b: Ballot): string {
  return `${b.epoch}.${b.nodeId}`;
}

/** A zxid as the pair ZooKeeper packs into one 64-bit number. */
export interface Zxid {
  readonly epoch: Epoch;
  readonly counter: number;
}

export const ZERO_ZXID: Zxid = Object.freeze({ epoch: 0, counter: 0 });

export function compareZxids(a: Zxid, b: Zxid): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.counter - b.counter;
}

/** The 64-bit form clients see (as a bigint, since it exceeds 2^53). */
export function zxidToBigInt(z: Zxid): bigint {
  return (BigInt(z.epoch) << 32n) | BigInt(z.counter >>> 0);
}

export function zxidFromBigInt(v: bigint): Zxid {
  return { epoch: Number(v >> 32n), counter: Number(v & 0xffffffffn) };
}

export function formatZxid(z: Zxid): string {
  return `0x${zxidToBigInt(z).toString(16)}`;
}

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}
