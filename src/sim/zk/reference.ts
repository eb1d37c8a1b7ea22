/**
 * The reference for differential tests: one ZooKeeper server with no replication at all — a plain
 * DataTree and WatchManager applying one session's requests single-threaded, with ZooKeeper 3.8's
 * request rules (FinalRequestProcessor) written out here independently of CoordinationService.
 *
 * Answers are compared after {@link normalizeResponse}: the zxids a replicated run assigns differ from
 * the reference's 1, 2, 3… (sessions, leader no-ops and epochs take numbers too), so each zxid is
 * translated through the pairing of the two runs' write answers; times (ctime, mtime) are left out.
 */
import type { ZkRequest, ZkResponse } from '../../node/service.js';
import { ErrorCode } from '../../protocol/zookeeper.js';
import type { Stat } from '../../protocol/zookeeper.js';
import { DataTree, WatchManager } from '../../tree/index.js';
import type { OpResult } from '../../tree/index.js';
import type { TreeTxn } from '../../tree/txn.js';

/** A notification the reference delivered: (type, path) in order. */
export interface ReferenceEvent {
  readonly type: number;
  readonly path: string;
}

/** Entry time the reference gives every transaction (only TTL nodes would care). */
const REFERENCE_TIME_MS = 1_000_000;

/** A single, unreplicated ZooKeeper server serving one session. */
export class ReferenceServer {
  readonly tree = new DataTree();
  readonly watches = new WatchManager();
  readonly sessionId: bigint;
  private zxid = 0n;
  private readonly onEvent: (event: ReferenceEvent) => void;

  constructor(sessionId: bigint, timeoutMs: number, onEvent: (event: ReferenceEvent) => void) {
    this.sessionId = sessionId;
    this.onEvent = onEvent;
    this.apply({ type: 'createSession', sessionId, timeoutMs });
  }

  get lastZxid(): bigint {
    return this.zxid;
  }

  /** Answer one request of the session (every write applied at the next zxid, its watch events first). */
  answer(request: ZkRequest): ZkResponse {
    const sessionId = this.sessionId;
    const auth: never[] = [];
    const tree = this.tree;
    switch (request.op) {
      case 'create': {
        const txn: TreeTxn = { type: 'create', sessionId, auth, path: request.path, data: request.data, acl: request.acl, mode: request.mode as never, ...(request.ttlMs === undefined ? {} : { ttlMs: request.ttlMs }) };
        const r = this.apply(txn);
        return { err: r.err, zxid: this.zxid, ...(r.path === undefined ? {} : { path: r.path }), ...(r.stat === undefined ? {} : { stat: r.stat }) };
      }
      case 'delete':
      case 'check':
        return { err: this.apply({ type: request.op, sessionId, auth, path: request.path, version: request.version }).err, zxid: this.zxid };
      case 'setData': {
        const r = this.apply({ type: 'setData', sessionId, auth, path: request.path, data: request.data, version: request.version });
        return { err: r.err, zxid: this.zxid, ...(r.stat === undefined ? {} : { stat: r.stat }) };
      }
      case 'setACL': {
        const r = this.apply({ type: 'setACL', sessionId, auth, path: request.path, acl: request.acl, version: request.version });
        return { err: r.err, zxid: this.zxid, ...(r.stat === undefined ? {} : { stat: r.stat }) };
      }
      case 'multi': {
        const r = this.apply({ type: 'multi', sessionId, auth, ops: request.ops });
        return { err: r.err, zxid: this.zxid, results: r.results ?? [] };
      }
      case 'sync':
        this.apply({ type: 'noop' });
        return { err: ErrorCode.OK, zxid: this.zxid, path: request.path };
      case 'exists': {
        if (request.linearizable) this.apply({ type: 'noop' });
        const stat = tree.exists(request.path);
        // ZooKeeper registers an exists watch whether or not the node is there.
        if (request.watch) this.watches.addExistsWatch(sessionId, request.path);
        return stat === null ? { err: ErrorCode.NONODE, zxid: this.zxid } : { err: ErrorCode.OK, zxid: this.zxid, stat };
      }
      case 'getData': {
        if (request.linearizable) this.apply({ type: 'noop' });
        const r = tree.getData(request.path, auth);
        if (r.err !== ErrorCode.OK) return { err: r.err, zxid: this.zxid };
        if (request.watch) this.watches.addDataWatch(sessionId, request.path);
        return { err: ErrorCode.OK, zxid: this.zxid, data: r.data, stat: r.stat };
      }
      case 'getChildren': {
        if (request.linearizable) this.apply({ type: 'noop' });
        const r = tree.getChildren2(request.path, auth);
        if (r.err !== ErrorCode.OK) return { err: r.err, zxid: this.zxid };
        if (request.watch) this.watches.addChildWatch(sessionId, request.path);
        return { err: ErrorCode.OK, zxid: this.zxid, children: r.children, stat: r.stat };
      }
      case 'getACL': {
        const r = tree.getACL(request.path, auth);
        return r.err !== ErrorCode.OK ? { err: r.err, zxid: this.zxid } : { err: ErrorCode.OK, zxid: this.zxid, acl: r.acl, stat: r.stat };
      }
      case 'getAllChildrenNumber': {
        const r = tree.getAllChildrenNumber(request.path, auth);
        return r.err !== ErrorCode.OK ? { err: r.err, zxid: this.zxid } : { err: ErrorCode.OK, zxid: this.zxid, count: r.count };
      }
      case 'getEphemerals':
        return { err: ErrorCode.OK, zxid: this.zxid, ephemerals: tree.getEphemerals(sessionId, request.prefix) };
      case 'addWatch':
        return { err: this.watches.addWatch(sessionId, request.path, request.mode), zxid: this.zxid };
      case 'removeWatches':
        return { err: this.watches.removeWatches(sessionId, request.path, request.watcherType), zxid: this.zxid };
      default:
        throw new Error(`the reference does not model ${request.op}`);
    }
  }

  private apply(txn: TreeTxn): ReturnType<DataTree['apply']> {
    this.zxid += 1n;
    const result = this.tree.apply(txn, { zxid: this.zxid, timeMs: REFERENCE_TIME_MS });
    for (const n of this.watches.trigger(result.triggers)) this.onEvent({ type: n.type, path: n.path });
    return result;
  }
}

/** The parts of a Stat that do not depend on time, zxids translated by `zxid`. */
function normalizeStat(stat: Stat | null | undefined, zxid: (z: bigint) => string): unknown {
  if (stat === undefined) return undefined;
  if (stat === null) return null;
  return {
    czxid: zxid(stat.czxid),
    mzxid: zxid(stat.mzxid),
    pzxid: zxid(stat.pzxid),
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: stat.ephemeralOwner.toString(16),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

function normalizeOpResult(r: OpResult, zxid: (z: bigint) => string): unknown {
  return { ...r, ...('stat' in r ? { stat: normalizeStat(r.stat, zxid) } : {}) };
}

/**
 * A comparable rendering of a response: error, zxid, path, data (hex), stat without times, children,
 * ACL, counts, ephemerals and multi results, with every zxid passed through `zxid`.
 */
export function normalizeResponse(response: ZkResponse, zxid: (z: bigint) => string): unknown {
  return {
    err: response.err,
    zxid: zxid(response.zxid),
    path: response.path,
    data: response.data === undefined ? undefined : Buffer.from(response.data).toString('hex'),
    stat: normalizeStat(response.stat, zxid),
    children: response.children,
    acl: response.acl,
    count: response.count,
    ephemerals: response.ephemerals,
    results: response.results?.map((r) => normalizeOpResult(r, zxid)),
  };
}

/**
 * Pairs the zxids of two runs of the same requests: `pair(a, b)` after each write, then `a(z)` and
 * `b(z)` name a zxid of either run by the same label (0 stays 0; an unpaired zxid keeps its number
 * with a marker, so a mismatch shows).
 */
export class ZxidPairing {
  private readonly labelsA = new Map<bigint, string>([[0n, '0']]);
  private readonly labelsB = new Map<bigint, string>([[0n, '0']]);
  private next = 1;

  pair(a: bigint, b: bigint): void {
    if (this.labelsA.has(a) || this.labelsB.has(b)) return;
    const label = `w${this.next++}`;
    this.labelsA.set(a, label);
    this.labelsB.set(b, label);
  }

  readonly a = (z: bigint): string => this.labelsA.get(z) ?? `a?0x${z.toString(16)}`;
  readonly b = (z: bigint): string => this.labelsB.get(z) ?? `b?0x${z.toString(16)}`;
}
