/**
 * One znode as the tree stores it, its client-visible Stat, and its canonical encoding (used by
 * snapshots and by the digest).
 */
import { hash } from 'node:crypto';
import type { Acl, Stat } from '../protocol/zookeeper.js';
import { ByteReader, ByteWriter } from './codec.js';

/**
 * What ZooKeeper encodes in the ephemeralOwner field: a plain node, a session's ephemeral, a
 * container, or a TTL node (EphemeralType VOID / NORMAL / CONTAINER / TTL).
 */
export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

const KIND_CODES: readonly NodeKind[] = ['persistent', 'ephemeral', 'container', 'ttl'];

/**
 * A znode's persisted state (ZooKeeper's StatPersisted plus data and ACL). Immutable: a change
 * replaces the record, which keeps multi rollback and the incremental digest simple.
 *
 * `cversion` is what ZooKeeper stores: the number of child creations. Clients see
 * `2 * cversion - numChildren` (see {@link clientStat}), and the sequential suffix uses the stored value.
 */
export interface NodeRecord {
  /** null when the node was created or set with null data (ZooKeeper keeps the null). */
  readonly data: Uint8Array | null;
  readonly acl: readonly Acl[];
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly pzxid: bigint;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly kind: NodeKind;
  /** The owning session for an ephemeral node, else 0n. */
  readonly ephemeralOwner: bigint;
  /** The time to live of a TTL node, else 0. */
  readonly ttlMs: number;
}

/**
 * A copy of `rec` with `patch` applied. Written out field by field on purpose: object spread is
 * several times slower in V8 and every write goes through here.
 */
export function patchRecord(rec: NodeRecord, patch: Partial<NodeRecord>): NodeRecord {
  return {
    data: patch.data === undefined ? rec.data : patch.data,
    acl: patch.acl ?? rec.acl,
    czxid: patch.czxid ?? rec.czxid,
    mzxid: patch.mzxid ?? rec.mzxid,
    pzxid: patch.pzxid ?? rec.pzxid,
    ctime: patch.ctime ?? rec.ctime,
    mtime: patch.mtime ?? rec.mtime,
    version: patch.version ?? rec.version,
    cversion: patch.cversion ?? rec.cversion,
    aversion: patch.aversion ?? rec.aversion,
    kind: patch.kind ?? rec.kind,
    ephemeralOwner: patch.ephemeralOwner ?? rec.ephemeralOwner,
    ttlMs: patch.ttlMs ?? rec.ttlMs,
  };
}

/** A fresh record as DataTree.createStat makes one: all zxids the creating zxid, versions 0. */
export function newRecord(
  fields: Pick<NodeRecord, 'data' | 'acl' | 'kind' | 'ephemeralOwner' | 'ttlMs'>,
  zxid: bigint,
  timeMs: number,
): NodeRecord {
  return {
    data: fields.data,
    acl: fields.acl,
    czxid: zxid,
    mzxid: zxid,
    pzxid: zxid,
    ctime: timeMs,
    mtime: timeMs,
    version: 0,
    cversion: 0,
    aversion: 0,
    kind: fields.kind,
    ephemeralOwner: fields.ephemeralOwner,
    ttlMs: fields.ttlMs,
  };
}

/** A record for the nodes that exist before any transaction (root and /zookeeper...): all zero. */
export function builtinRecord(acl: readonly Acl[], aversion: number): NodeRecord {
  return patchRecord(newRecord({ data: new Uint8Array(0), acl, kind: 'persistent', ephemeralOwner: 0n, ttlMs: 0 }, 0n, 0), { aversion });
}

/**
 * The Stat a client sees (DataNode.copyStat): cversion translated from creations to changes
 * (every creation but the children still present was followed by a deletion), and
 * ephemeralOwner 0 for containers and TTL nodes.
 */
export function clientStat(rec: NodeRecord, numChildren: number): Stat {
  return {
    czxid: rec.czxid,
    mzxid: rec.mzxid,
    ctime: rec.ctime,
    mtime: rec.mtime,
    version: rec.version,
    cversion: rec.cversion * 2 - numChildren,
    aversion: rec.aversion,
    ephemeralOwner: rec.kind === 'ephemeral' ? rec.ephemeralOwner : 0n,
    dataLength: rec.data === null ? 0 : rec.data.length,
    numChildren,
    pzxid: rec.pzxid,
  };
}

/**
 * Append the canonical encoding of (path, record). Null data is written as length 0xffffffff (jute's
 * -1), so every encoding of a node with data is the same as in snapshot format 1.
 */
export function writeNode(w: ByteWriter, path: string, rec: NodeRecord): void {
  w.string(path).nullableBytes(rec.data).u32(rec.acl.length);
  for (const a of rec.acl) w.i32(a.perms).string(a.id.scheme).string(a.id.id);
  w.i64(rec.czxid).i64(rec.mzxid).i64(rec.pzxid).f64(rec.ctime).f64(rec.mtime);
  w.i32(rec.version).i32(rec.cversion).i32(rec.aversion);
  w.u8(KIND_CODES.indexOf(rec.kind)).i64(rec.ephemeralOwner).f64(rec.ttlMs);
}

function readAcl(r: ByteReader): Acl[] {
  const n = r.u32();
  const acl: Acl[] = [];
  for (let i = 0; i < n; i++) {
    const perms = r.i32();
    const scheme = r.string();
    acl.push(Object.freeze({ perms, id: Object.freeze({ scheme, id: r.string() }) }));
  }
  return acl;
}

function readKind(r: ByteReader): NodeKind {
  const code = r.u8();
  const kind = KIND_CODES[code];
  if (kind === undefined) throw new RangeError(`unknown node kind ${code}`);
  return kind;
}

/** Read what {@link writeNode} wrote. */
export function readNode(r: ByteReader): { path: string; rec: NodeRecord } {
  const path = r.string();
  const data = r.nullableBytes();
  const acl = Object.freeze(readAcl(r));
  const czxid = r.i64();
  const mzxid = r.i64();
  const pzxid = r.i64();
  const ctime = r.f64();
  const mtime = r.f64();
  const version = r.i32();
  const cversion = r.i32();
  const aversion = r.i32();
  const kind = readKind(r);
  const ephemeralOwner = r.i64();
  const ttlMs = r.f64();
  const rec: NodeRecord = { data, acl, czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, kind, ephemeralOwner, ttlMs };
  return { path, rec };
}

/** First 64 bits of SHA-256 over the given bytes. */
export function hash64(bytes: Uint8Array): bigint {
  // crypto.hash (Node 20.12+): one call, no Hash object; about twice as fast for inputs this small.
  return hash('sha256', bytes, 'buffer').readBigUInt64BE(0);
}

/** The first `digits` hex digits of SHA-256 over the given bytes. */
export function hashHex(bytes: Uint8Array, digits: number): string {
  return hash('sha256', bytes, 'hex').slice(0, digits);
}

/** A node's contribution to the tree digest. */
export function nodeHash(path: string, rec: NodeRecord): bigint {
  scratch.reset();
  writeNode(scratch, path, rec);
  return hash64(scratch.view());
}

/** Reused by nodeHash: hashing happens on every change, so it should not allocate a buffer each time. */
const scratch = new ByteWriter();
