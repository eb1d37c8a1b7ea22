/**
 * The znode tree: the deterministic state machine every replica feeds with the same committed
 * transactions in the same order. `apply` reads no clock and no randomness; zxid and time come
 * from the log entry, so all replicas end with the same tree (compare them with `digest()`).
 */
import {
  DEFAULT_MAX_DATA_BYTES,
  ErrorCode,
  Perms,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  type Acl,
  type AclId,
  type Stat,
} from '../protocol/zookeeper.js';
import { BUILTIN_AUTH_PROVIDERS, checkAcl, redactDigests, type AuthProviders } from './acl.js';
import { ByteWriter } from './codec.js';
import { builtinRecord, clientStat, hashHex, nodeHash, type NodeRecord } from './node.js';
import {
  applyCheck,
  applyCreate,
  applyDelete,
  applyDeleteContainer,
  applyMultiOp,
  applySetAcl,
  applySetData,
  deleteNodeAt,
  errorResult,
  type OpContext,
  type OpResult,
  type TreeConfig,
  type WatchTrigger,
} from './ops.js';
import { CONFIG_PATH, QUOTA_PATH, ROOT_PATH, splitPath, ZOOKEEPER_PATH } from './path.js';
import { decodeSnapshot, encodeSnapshot, SnapshotEncoder } from './snapshot.js';
import { quotaNodesNow, quotaRootOfLimitNode } from './quota.js';
import { NodeStore, type Slot } from './store.js';
import type { MultiTxn, ReapExpiredTxn, Requester, TreeTxn } from './txn.js';

export type { OpResult, WatchTrigger } from './ops.js';

/** Settings of a tree. Every replica must use the same ones, since they change what `apply` accepts. */
export interface DataTreeOptions {
  /** "super:base64(sha1(super:password))": a session authenticated with this digest passes every ACL check. */
  readonly superDigest?: string;
  /** Largest znode payload accepted by create and setData (ZooKeeper's jute.maxbuffer). */
  readonly maxDataBytes?: number;
  /** TTL nodes (ZooKeeper's zookeeper.extendedTypesEnabled); when false a TTL create is UNIMPLEMENTED. Default true. */
  readonly ttlNodesEnabled?: boolean;
  /** Authentication providers beyond the built-in ones (`authProvider.N=` in ZooKeeper), e.g. `{ sasl: true }`. */
  readonly authProviders?: AuthProviders;
  /**
   * Refuse creates and setData that would take a quota past its hard limit, with QUOTAEXCEEDED
   * (ZooKeeper's zookeeper.enforceQuota). Default false, as in ZooKeeper.
   */
  readonly enforceQuota?: boolean;
}

/** The log entry's position and time; the only inputs `apply` takes besides the transaction. */
export interface ApplyContext {
  readonly zxid: bigint;
  readonly timeMs: number;
}

/**
 * What applying one transaction did. `err` is the ZooKeeper error code (0 = OK; for a multi, the
 * failing op's code). `triggers` lists, in order, the changes watches may fire on (none if the
 * transaction failed). The other fields are present for the transaction types they belong to.
 */
export interface ApplyResult {
  readonly err: ErrorCode;
  readonly triggers: readonly WatchTrigger[];
  /** create: the path created, with the sequence suffix if any. */
  readonly path?: string;
  /** create, setData, setACL: the node's Stat after the change. */
  readonly stat?: Stat;
  /** multi: one result per op (see {@link DataTree.apply}). */
  readonly results?: readonly OpResult[];
  /** closeSession and reapExpired: the paths deleted, in order. */
  readonly deleted?: readonly string[];
}

/** A read's outcome: the payload with err 0, or just an error code. */
export type ReadResult<T> = ({ readonly err: typeof ErrorCode.OK } & T) | { readonly err: Exclude<ErrorCode, 0> };

/** A session in the replicated sessions table. */
export interface SessionInfo {
  readonly sessionId: bigint;
  readonly timeoutMs: number;
  readonly passwordHex: string | undefined;
  /** The session's ephemeral nodes, sorted. */
  readonly ephemerals: readonly string[];
}

const NO_TRIGGERS: readonly WatchTrigger[] = Object.freeze([]);
/** Length of `digest()`: 128 bits. */
const DIGEST_HEX_DIGITS = 32;

function sortedPaths(paths: Iterable<string>): string[] {
  return [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The nodes ZooKeeper 3.8 starts with: "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config". */
function seedBuiltins(store: NodeStore): void {
  store.insertNode(ROOT_PATH, builtinRecord(OPEN_ACL_UNSAFE, 0));
  store.insertNode(ZOOKEEPER_PATH, builtinRecord(OPEN_ACL_UNSAFE, 0));
  store.insertNode(QUOTA_PATH, builtinRecord(OPEN_ACL_UNSAFE, 0));
  // DataTree.addConfigNode sets READ_ACL_UNSAFE through setACL(path, acl, -1), which leaves aversion -1.
  store.insertNode(CONFIG_PATH, builtinRecord(READ_ACL_UNSAFE, -1));
  store.addChild(ROOT_PATH, 'zookeeper');
  store.addChild(ZOOKEEPER_PATH, 'quota');
  store.addChild(ZOOKEEPER_PATH, 'config');
}

/**
 * ZooKeeper 3.8's DataTree, sessions table included. Writes go through {@link DataTree.apply};
 * reads take the reader's authenticated ids and check ACLs as ZooKeeper's FinalRequestProcessor.
 * Watches are not kept here (they are per server): see WatchManager, fed with `triggers`.
 */
export class DataTree {
  private store = new NodeStore();
  private appliedZxid = 0n;
  private readonly config: TreeConfig;

  constructor(options: DataTreeOptions = {}) {
    this.config = {
      superDigest: options.superDigest,
      authProviders: options.authProviders ?? BUILTIN_AUTH_PROVIDERS,
      maxDataBytes: options.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES,
      ttlNodesEnabled: options.ttlNodesEnabled ?? true,
      enforceQuota: options.enforceQuota ?? false,
    };
    seedBuiltins(this.store);
  }

  /** The zxid of the last transaction applied (0 for a new tree). */
  get lastZxid(): bigint {
    return this.appliedZxid;
  }

  /** Number of znodes, the root and the /zookeeper nodes included. */
  get nodeCount(): number {
    return this.store.nodes.size;
  }

  /**
   * Apply one committed transaction. `ctx.zxid` must exceed `lastZxid` (entries are applied once,
   * in order); a failed transaction still consumes its zxid, as in ZooKeeper.
   *
   * A multi is all or nothing: if op k fails, nothing changes, no triggers are returned, and the
   * results are ZooKeeper's: ErrorResult(0) for the ops before k (rolled back), ErrorResult(err)
   * for op k, ErrorResult(RUNTIMEINCONSISTENCY) for the ops after it (never evaluated).
   */
  apply(txn: TreeTxn, ctx: ApplyContext): ApplyResult {
    if (ctx.zxid <= this.appliedZxid) {
      throw new RangeError(`zxid 0x${ctx.zxid.toString(16)} applied after 0x${this.appliedZxid.toString(16)}`);
    }
    const opCtx: OpContext = { store: this.store, config: this.config, zxid: ctx.zxid, timeMs: ctx.timeMs, triggers: [] };
    const result = this.dispatch(txn, opCtx);
    this.appliedZxid = ctx.zxid;
    return result;
  }

  private dispatch(txn: TreeTxn, ctx: OpContext): ApplyResult {
    switch (txn.type) {
      case 'createSession':
        return this.createSession(txn.sessionId, txn.timeoutMs, txn.passwordHex);
      case 'closeSession':
        return this.closeSession(ctx, txn.sessionId);
      case 'create':
        return fromOp(applyCreate(ctx, txn, txn), ctx);
      case 'delete':
        return fromOp(applyDelete(ctx, txn, txn), ctx);
      case 'setData':
        return fromOp(applySetData(ctx, txn, txn), ctx);
      case 'setACL':
        return fromOp(applySetAcl(ctx, txn, txn), ctx);
      case 'check':
        return fromOp(applyCheck(ctx, txn, txn), ctx);
      case 'multi':
        return this.multi(ctx, txn);
      case 'reapExpired':
        return this.reap(ctx, txn);
      case 'deleteContainer':
        return fromOp(applyDeleteContainer(ctx, txn), ctx);
      case 'noop':
        return { err: ErrorCode.OK, triggers: NO_TRIGGERS };
      default:
        return { err: ErrorCode.UNIMPLEMENTED, triggers: NO_TRIGGERS };
    }
  }

  private createSession(sessionId: bigint, timeoutMs: number, passwordHex: string | undefined): ApplyResult {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) return { err: ErrorCode.BADARGUMENTS, triggers: NO_TRIGGERS };
    this.store.putSession(sessionId, { timeoutMs, passwordHex });
    return { err: ErrorCode.OK, triggers: NO_TRIGGERS };
  }

  /** DataTree.killSession: delete the session's ephemerals (in path order), then forget it. */
  private closeSession(ctx: OpContext, sessionId: bigint): ApplyResult {
    const paths = sortedPaths(this.store.ephemerals.get(sessionId) ?? []);
    for (const path of paths) deleteNodeAt(ctx, path);
    this.store.removeSession(sessionId);
    return { err: ErrorCode.OK, triggers: ctx.triggers, deleted: paths };
  }

  private multi(outer: OpContext, txn: MultiTxn): ApplyResult {
    const requester: Requester = txn;
    const results: OpResult[] = [];
    const ctx: OpContext =
      this.config.enforceQuota && this.store.quotaRoots.size > 0 ? { ...outer, quotaNodesBefore: quotaNodesNow(this.store) } : outer;
    this.store.begin();
    for (const op of txn.ops) {
      const result = applyMultiOp(ctx, requester, op);
      if (result.err !== ErrorCode.OK) {
        this.store.rollback();
        return { err: result.err, triggers: NO_TRIGGERS, results: failedMultiResults(txn.ops.length, results.length, result.err) };
      }
      results.push(result);
    }
    this.store.commit();
    return { err: ErrorCode.OK, triggers: ctx.triggers, results };
  }

  private reap(ctx: OpContext, txn: ReapExpiredTxn): ApplyResult {
    const deleted: string[] = [];
    for (const path of txn.paths) {
      const slot = this.store.get(path);
      if (slot !== undefined && isReapable(slot, ctx.timeMs)) {
        deleteNodeAt(ctx, path);
        deleted.push(path);
      }
    }
    return { err: ErrorCode.OK, triggers: ctx.triggers, deleted };
  }

  /**
   * ZooKeeperServer.checkACL with this tree's super digest and authentication providers: whether
   * `auth` holds any bit of `perm` on a node with ACL `acl`.
   */
  permits(acl: readonly Acl[], perm: number, auth: readonly AclId[]): boolean {
    return checkAcl(acl, perm, auth, this.config.superDigest, this.config.authProviders);
  }

  private readable(path: string, perm: number, auth: readonly AclId[]): Slot | Exclude<ErrorCode, 0> {
    const slot = this.store.get(path);
    if (slot === undefined) return ErrorCode.NONODE;
    return this.permits(slot.rec.acl, perm, auth) ? slot : ErrorCode.NOAUTH;
  }

  /**
   * getData: READ on the node. The data returned is a copy; null data (a node created or set with
   * null, as ZooKeeper clients may) is returned as null.
   */
  readData(path: string, auth: readonly AclId[]): ReadResult<{ data: Uint8Array | null; stat: Stat }> {
    const slot = this.readable(path, Perms.READ, auth);
    if (typeof slot === 'number') return { err: slot };
    return { err: ErrorCode.OK, data: slot.rec.data === null ? null : slot.rec.data.slice(), stat: statOf(slot) };
  }

  /** {@link DataTree.readData} for callers whose API has no null data: null reads as an empty array. */
  getData(path: string, auth: readonly AclId[]): ReadResult<{ data: Uint8Array; stat: Stat }> {
    const res = this.readData(path, auth);
    return res.err !== ErrorCode.OK ? res : { err: ErrorCode.OK, data: res.data ?? new Uint8Array(0), stat: res.stat };
  }

  /** exists: the Stat or null. ZooKeeper checks no ACL for exists, so neither does this. */
  exists(path: string): Stat | null {
    const slot = this.store.get(path);
    return slot === undefined ? null : statOf(slot);
  }

  /**
   * getChildren: READ on the node. Children are returned sorted; ZooKeeper returns them in hash
   * set order, which clients must not rely on (recipes sort them), so sorted is a valid order.
   */
  getChildren(path: string, auth: readonly AclId[]): ReadResult<{ children: string[] }> {
    const slot = this.readable(path, Perms.READ, auth);
    if (typeof slot === 'number') return { err: slot };
    return { err: ErrorCode.OK, children: sortedPaths(slot.children) };
  }

  /** getChildren2: getChildren plus the node's Stat. */
  getChildren2(path: string, auth: readonly AclId[]): ReadResult<{ children: string[]; stat: Stat }> {
    const slot = this.readable(path, Perms.READ, auth);
    if (typeof slot === 'number') return { err: slot };
    return { err: ErrorCode.OK, children: sortedPaths(slot.children), stat: statOf(slot) };
  }

  /** getACL: READ or ADMIN on the node; without ADMIN, digest hashes are shown as "x". */
  getACL(path: string, auth: readonly AclId[]): ReadResult<{ acl: Acl[]; stat: Stat }> {
    const slot = this.readable(path, Perms.READ | Perms.ADMIN, auth);
    if (typeof slot === 'number') return { err: slot };
    const admin = this.permits(slot.rec.acl, Perms.ADMIN, auth);
    const acl = admin ? [...slot.rec.acl] : redactDigests(slot.rec.acl);
    return { err: ErrorCode.OK, acl, stat: statOf(slot) };
  }

  /** getAllChildrenNumber: READ on the node; the number of its descendants at every depth. */
  getAllChildrenNumber(path: string, auth: readonly AclId[]): ReadResult<{ count: number }> {
    const slot = this.readable(path, Perms.READ, auth);
    if (typeof slot === 'number') return { err: slot };
    return { err: ErrorCode.OK, count: this.countDescendants(path, slot) };
  }

  private countDescendants(path: string, slot: Slot): number {
    let count = 0;
    const stack: Array<[string, Slot]> = [[path, slot]];
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      const [p, s] = top;
      for (const name of s.children) {
        const childPath = p === ROOT_PATH ? `/${name}` : `${p}/${name}`;
        const child = this.store.get(childPath);
        count++;
        if (child !== undefined) stack.push([childPath, child]);
      }
    }
    return count;
  }

  /**
   * getEphemerals: the session's ephemeral paths starting with `prefix` (all of them for an empty
   * prefix or "/"), sorted. No ACL check, as in ZooKeeper.
   */
  getEphemerals(sessionId: bigint, prefix = ''): string[] {
    const all = this.store.ephemerals.get(sessionId) ?? new Set<string>();
    const trimmed = prefix.trim();
    const everything = trimmed === '' || trimmed === ROOT_PATH;
    return sortedPaths([...all].filter((p) => everything || p.startsWith(prefix)));
  }

  /** Containers the leader should remove: ones that have had a child (cversion > 0) and have none left. */
  containerCandidates(): string[] {
    return sortedPaths([...this.store.containers].filter((p) => {
      const slot = this.store.get(p);
      return slot !== undefined && isReapable(slot, 0);
    }));
  }

  /** TTL nodes without children not modified for longer than their TTL at `nowMs`. */
  expiredTtlNodes(nowMs: number): string[] {
    return sortedPaths([...this.store.ttls].filter((p) => {
      const slot = this.store.get(p);
      return slot !== undefined && isReapable(slot, nowMs);
    }));
  }

  /** A session of the replicated sessions table, or undefined if it is not open. */
  getSession(sessionId: bigint): SessionInfo | undefined {
    const s = this.store.sessions.get(sessionId);
    if (s === undefined) return undefined;
    return { sessionId, timeoutMs: s.timeoutMs, passwordHex: s.passwordHex, ephemerals: this.getEphemerals(sessionId) };
  }

  /** Ids of all open sessions, ascending. */
  sessionIds(): bigint[] {
    return [...this.store.sessions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * A fingerprint of the replicated state (every node with its data, ACL and stat, the sessions
   * table and lastZxid), 32 hex digits. Two replicas that applied the same entries agree; any
   * difference in state changes it (up to hash collisions). Kept incrementally: O(1).
   */
  digest(): string {
    const w = new ByteWriter().i64(BigInt.asIntN(64, this.store.nodeDigest));
    w.i64(BigInt.asIntN(64, this.store.sessionDigest)).i64(this.appliedZxid);
    return hashHex(w.finish(), DIGEST_HEX_DIGITS);
  }

  /** A snapshot of the replicated state (see snapshot.ts for the format). Same state, same bytes. */
  serialize(): Uint8Array {
    return encodeSnapshot(this.store, this.appliedZxid);
  }

  /**
   * {@link serialize} a slice at a time (see SnapshotEncoder): the bytes describe the tree as it is
   * now, however it changes between steps. Starting another ends this one.
   */
  beginSnapshot(): SnapshotEncoder {
    return new SnapshotEncoder(this.store, this.appliedZxid);
  }

  /**
   * Replace this tree's whole state with {@link DataTree.serialize} output (a replica installing a
   * peer's snapshot); throws RangeError, leaving the tree as it was, on a malformed or corrupt one.
   */
  restore(bytes: Uint8Array): void {
    const { store, lastZxid } = decodeSnapshot(bytes);
    const previous = { store: this.store, appliedZxid: this.appliedZxid };
    this.store = store;
    this.appliedZxid = lastZxid;
    try {
      this.checkStructure();
    } catch (error) {
      this.store = previous.store;
      this.appliedZxid = previous.appliedZxid;
      throw error;
    }
  }

  /** Rebuild a tree from {@link DataTree.serialize} output; throws RangeError on a malformed or corrupt snapshot. */
  static deserialize(bytes: Uint8Array, options: DataTreeOptions = {}): DataTree {
    const tree = new DataTree(options);
    const { store, lastZxid } = decodeSnapshot(bytes);
    tree.store = store;
    tree.appliedZxid = lastZxid;
    // decodeSnapshot already matched the recomputed digest against the stored one.
    tree.checkStructure();
    return tree;
  }

  /**
   * Throws if the internal structures disagree: parent/child links, the ephemeral, container and
   * TTL indexes, ephemeral owners without a session, children under an ephemeral, or the
   * incremental digest. Meant for tests and for asserting after loading a snapshot.
   */
  checkInvariants(): void {
    let nodeSum = 0n;
    for (const [path, slot] of this.store.nodes) nodeSum = BigInt.asUintN(64, nodeSum + nodeHash(path, slot.rec));
    const digestProblem = nodeSum === this.store.nodeDigest ? [] : ['incremental node digest differs from a full recomputation'];
    this.checkStructure(digestProblem);
  }

  /** checkInvariants without recomputing the digest. */
  private checkStructure(problems: string[] = []): void {
    for (const [path, slot] of this.store.nodes) problems.push(...this.nodeProblems(path, slot));
    if (this.store.get(ROOT_PATH) === undefined) problems.push('no root');
    problems.push(...this.indexProblems());
    if (problems.length > 0) throw new Error(`data tree invariants violated:\n${problems.join('\n')}`);
  }

  private nodeProblems(path: string, slot: Slot): string[] {
    const problems: string[] = [];
    const split = path === ROOT_PATH ? null : splitPath(path);
    if (split !== null && !this.store.get(split.parent)?.children.has(split.name)) problems.push(`${path} not linked from its parent`);
    for (const name of slot.children) {
      if (this.store.get(path === ROOT_PATH ? `/${name}` : `${path}/${name}`) === undefined) problems.push(`${path} lists missing child ${name}`);
    }
    if (slot.rec.kind === 'ephemeral' && slot.children.size > 0) problems.push(`ephemeral ${path} has children`);
    if (slot.rec.kind === 'ephemeral' && !this.store.sessions.has(slot.rec.ephemeralOwner)) problems.push(`ephemeral ${path} outlived its session`);
    return problems;
  }

  private indexProblems(): string[] {
    const problems: string[] = [];
    const expect = (kind: NodeRecord['kind'], actual: Set<string>, label: string): void => {
      const want = [...this.store.nodes].filter(([, s]) => s.rec.kind === kind).map(([p]) => p);
      if (want.length !== actual.size || want.some((p) => !actual.has(p))) problems.push(`${label} index is stale`);
    };
    expect('container', this.store.containers, 'container');
    expect('ttl', this.store.ttls, 'ttl');
    const indexed = new Set([...this.store.ephemerals.values()].flatMap((s) => [...s]));
    expect('ephemeral', indexed, 'ephemeral');
    for (const [owner, paths] of this.store.ephemerals) {
      for (const p of paths) if (this.store.get(p)?.rec.ephemeralOwner !== owner) problems.push(`ephemeral ${p} indexed under the wrong session`);
    }
    const quotaRoots = [...this.store.nodes.keys()].map(quotaRootOfLimitNode).filter((r): r is string => r !== null);
    if (quotaRoots.length !== this.store.quotaRoots.size || quotaRoots.some((r) => !this.store.quotaRoots.has(r))) problems.push('quota index is stale');
    return problems;
  }
}

function statOf(slot: Slot): Stat {
  return clientStat(slot.rec, slot.children.size);
}

function fromOp(result: OpResult, ctx: OpContext): ApplyResult {
  switch (result.type) {
    case 'error':
      return { err: result.err, triggers: NO_TRIGGERS };
    case 'create':
      return { err: ErrorCode.OK, triggers: ctx.triggers, path: result.path, stat: result.stat };
    case 'setData':
    case 'setACL':
      return { err: ErrorCode.OK, triggers: ctx.triggers, stat: result.stat };
    default:
      return { err: ErrorCode.OK, triggers: ctx.triggers };
  }
}

/** ZooKeeper's multi error results when op `failedAt` of `count` fails with `err`. */
function failedMultiResults(count: number, failedAt: number, err: ErrorCode): OpResult[] {
  return Array.from({ length: count }, (_, i) =>
    errorResult(i < failedAt ? ErrorCode.OK : i === failedAt ? err : ErrorCode.RUNTIMEINCONSISTENCY),
  );
}

/**
 * Eligible for removal by the leader (ContainerManager.getCandidates): no children, and either a
 * container that has had a child, or a TTL node whose mtime is more than its TTL before `nowMs`.
 */
function isReapable(slot: Slot, nowMs: number): boolean {
  if (slot.children.size > 0) return false;
  if (slot.rec.kind === 'container') return slot.rec.cversion > 0;
  return slot.rec.kind === 'ttl' && nowMs - slot.rec.mtime > slot.rec.ttlMs;
}
