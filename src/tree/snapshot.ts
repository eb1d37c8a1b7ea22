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
import { readNode, writeNode } from './node.js';
import { splitPath } from './path.js';
import { NodeStore } from './store.js';

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
  const w = new ByteWriter().raw(MAGIC).u16(SNAPSHOT_FORMAT_VERSION).i64(lastZxid);
  const sessionIds = [...store.sessions.keys()].sort(compareBigInt);
  w.u32(sessionIds.length);
  for (const id of sessionIds) {
    const s = store.sessions.get(id);
    if (s === undefined) continue;
    w.i64(id).f64(s.timeoutMs).u8(s.passwordHex === undefined ? 0 : 1).string(s.passwordHex ?? '');
  }
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
