/**
 * The write operations, each checking what ZooKeeper 3.8's PrepRequestProcessor checks, in the
 * same order (so the same request fails with the same error), then changing the tree the way
 * DataTree does. They run inside DataTree.apply; a failed op changes nothing.
 */
import { CreateMode, ErrorCode, EventType, Perms, type Acl, type AclId, type Stat } from '../protocol/zookeeper.js';
import { checkAcl, fixupAcl, type AuthProviders } from './acl.js';
import { clientStat, newRecord, patchRecord, type NodeKind, type NodeRecord } from './node.js';
import { isValidPath, QUOTA_PATH, sequenceSuffix, SPECIAL_PATHS, splitPath } from './path.js';
import { initQuotaStats, QUOTA_STAT_NODE, quotaExceeded, quotaRootOf, updateQuotaStat } from './quota.js';
import type { NodeStore, Slot } from './store.js';
import type { CheckOp, CreateOp, DeleteContainerTxn, DeleteOp, MultiOp, Requester, SetAclOp, SetDataOp } from './txn.js';

/** Largest TTL ZooKeeper accepts (EphemeralType.TTL.maxValue(): 40 bits of milliseconds, ~34 years). */
export const MAX_TTL_MS = 0xff_ffff_ffff;

const CREATE_MODES: ReadonlySet<number> = new Set(Object.values(CreateMode));

/**
 * A change a watch may fire on: the path, the event, and the ACL ZooKeeper checks READ against when
 * it delivers the event (the CVE-2024-23944 fix): the node's own ACL for NodeCreated,
 * NodeDataChanged and NodeDeleted, the parent's for NodeChildrenChanged, as they were at the change.
 * The tree always sets it; without one an event is delivered unchecked (ZooKeeper's null ACL).
 */
export interface WatchTrigger {
  readonly path: string;
  readonly type: EventType;
  readonly acl?: readonly Acl[];
}

/** Per-op outcome, as ZooKeeper's OpResult: a typed success or an ErrorResult carrying a code. */
export type OpResult =
  | { readonly type: 'create'; readonly err: 0; readonly path: string; readonly stat: Stat }
  | { readonly type: 'delete'; readonly err: 0 }
  | { readonly type: 'setData'; readonly err: 0; readonly stat: Stat }
  | { readonly type: 'setACL'; readonly err: 0; readonly stat: Stat }
  | { readonly type: 'check'; readonly err: 0 }
  | { readonly type: 'error'; readonly err: ErrorCode };

/** Settings that shape validation (not replicated state: every replica must use the same ones). */
export interface TreeConfig {
  readonly superDigest: string | undefined;
  readonly authProviders: AuthProviders;
  readonly maxDataBytes: number;
  readonly ttlNodesEnabled: boolean;
  readonly enforceQuota: boolean;
}

/** What an op needs besides its arguments: the store, settings, the entry's zxid and time, and where to put triggers. */
export interface OpContext {
  readonly store: NodeStore;
  readonly config: TreeConfig;
  readonly zxid: bigint;
  readonly timeMs: number;
  readonly triggers: WatchTrigger[];
  /**
   * In a multi with quotas enforced: the quota nodes' data as it was before the multi, by path.
   * ZooKeeper checks every op of a multi against the committed tree, not the multi's earlier ops.
   */
  readonly quotaNodesBefore?: ReadonlyMap<string, Uint8Array | null>;
}

/** An ErrorResult with code `err`. */
export function errorResult(err: ErrorCode): OpResult {
  return { type: 'error', err };
}

function allowed(ctx: OpContext, slot: Slot, perm: number, auth: readonly AclId[]): boolean {
  return checkAcl(slot.rec.acl, perm, auth, ctx.config.superDigest, ctx.config.authProviders);
}

function dataLength(data: Uint8Array | null): number {
  return data === null ? 0 : data.length;
}

function versionMatches(current: number, expected: number): boolean {
  return expected === -1 || expected === current;
}

function isTtlMode(mode: number): boolean {
  return mode === CreateMode.PERSISTENT_WITH_TTL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
}

function isSequentialMode(mode: number): boolean {
  return (
    mode === CreateMode.PERSISTENT_SEQUENTIAL ||
    mode === CreateMode.EPHEMERAL_SEQUENTIAL ||
    mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL
  );
}

function kindOf(mode: number): NodeKind {
  if (mode === CreateMode.EPHEMERAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL) return 'ephemeral';
  if (mode === CreateMode.CONTAINER) return 'container';
  return isTtlMode(mode) ? 'ttl' : 'persistent';
}

/** EphemeralType.validateTTL: a TTL mode needs 0 < ttl <= max; any other mode must not carry ttl >= 0. */
function ttlValid(mode: number, ttlMs: number | undefined): boolean {
  if (!isTtlMode(mode)) return ttlMs === undefined || ttlMs < 0;
  return ttlMs !== undefined && Number.isSafeInteger(ttlMs) && ttlMs > 0 && ttlMs <= MAX_TTL_MS;
}

/** The request-level checks of a create, before the tree is consulted. */
function createRequestError(ctx: OpContext, req: Requester, op: CreateOp): ErrorCode | null {
  if (dataLength(op.data) > ctx.config.maxDataBytes) return ErrorCode.BADARGUMENTS;
  if (!CREATE_MODES.has(op.mode)) return ErrorCode.BADARGUMENTS;
  if (isTtlMode(op.mode) && !ctx.config.ttlNodesEnabled) return ErrorCode.UNIMPLEMENTED;
  if (!ttlValid(op.mode, op.ttlMs)) return ErrorCode.BADARGUMENTS;
  if (!ctx.store.sessions.has(req.sessionId)) return ErrorCode.SESSIONEXPIRED;
  return null;
}

/** create: see PrepRequestProcessor.pRequest2TxnCreate for the order of checks. */
export function applyCreate(ctx: OpContext, req: Requester, op: CreateOp): OpResult {
  const requestErr = createRequestError(ctx, req, op);
  if (requestErr !== null) return errorResult(requestErr);
  const split = splitPath(op.path);
  if (split === null) return errorResult(ErrorCode.BADARGUMENTS);
  const fixed = fixupAcl(op.acl, req.auth, ctx.config.authProviders);
  if (fixed.err !== ErrorCode.OK) return errorResult(fixed.err);
  const parent = ctx.store.get(split.parent);
  if (parent === undefined) return errorResult(ErrorCode.NONODE);
  if (!allowed(ctx, parent, Perms.CREATE, req.auth)) return errorResult(ErrorCode.NOAUTH);
  const path = isSequentialMode(op.mode) ? op.path + sequenceSuffix(parent.rec.cversion) : op.path;
  if (!isValidPath(path)) return errorResult(ErrorCode.BADARGUMENTS);
  if (ctx.store.get(path) !== undefined) return errorResult(ErrorCode.NODEEXISTS);
  if (parent.rec.kind === 'ephemeral') return errorResult(ErrorCode.NOCHILDRENFOREPHEMERALS);
  if (ctx.config.enforceQuota && quotaExceeded(ctx.store, path, dataLength(op.data), 1, ctx.quotaNodesBefore)) return errorResult(ErrorCode.QUOTAEXCEEDED);
  const kind = kindOf(op.mode);
  const fields = {
    data: op.data === null ? null : op.data.slice(),
    acl: fixed.acl,
    kind,
    ephemeralOwner: kind === 'ephemeral' ? req.sessionId : 0n,
    ttlMs: kind === 'ttl' ? (op.ttlMs ?? 0) : 0,
  };
  const rec = newRecord(fields, ctx.zxid, ctx.timeMs);
  insertNodeAt(ctx, split.parent, path, rec);
  return { type: 'create', err: ErrorCode.OK, path, stat: clientStat(rec, 0) };
}

/** Link a new node under its parent: parent cversion + 1 and pzxid (DataTree.createNode). */
function insertNodeAt(ctx: OpContext, parentPath: string, path: string, rec: NodeRecord): void {
  const { store } = ctx;
  const parent = store.get(parentPath);
  if (parent === undefined) throw new Error(`parent ${parentPath} vanished`);
  const name = path.slice(path.lastIndexOf('/') + 1);
  store.insertNode(path, rec);
  store.addChild(parentPath, name);
  store.replaceRecord(parentPath, patchRecord(parent.rec, { cversion: parent.rec.cversion + 1, pzxid: ctx.zxid }));
  if (name === QUOTA_STAT_NODE && parentPath.startsWith(QUOTA_PATH)) initQuotaStats(store, parentPath.slice(QUOTA_PATH.length));
  const quotaRoot = quotaRootOf(store, path);
  if (quotaRoot !== null) updateQuotaStat(store, quotaRoot, dataLength(rec.data), 1);
  ctx.triggers.push({ path, type: EventType.NodeCreated, acl: rec.acl }, { path: parentPath, type: EventType.NodeChildrenChanged, acl: parent.rec.acl });
}

/**
 * Remove a childless node (DataTree.deleteNode): the parent's pzxid moves forward, its cversion
 * does not (the client-visible cversion still grows, through the 2C - N translation).
 */
export function deleteNodeAt(ctx: OpContext, path: string): void {
  const { store } = ctx;
  const split = splitPath(path);
  const parent = split === null ? undefined : store.get(split.parent);
  const node = store.get(path);
  if (split === null || parent === undefined || node === undefined) throw new Error(`cannot unlink ${path}`);
  store.removeChild(split.parent, split.name);
  if (ctx.zxid > parent.rec.pzxid) store.replaceRecord(split.parent, patchRecord(parent.rec, { pzxid: ctx.zxid }));
  store.removeNode(path);
  const quotaRoot = quotaRootOf(store, path);
  if (quotaRoot !== null) updateQuotaStat(store, quotaRoot, -dataLength(node.rec.data), -1);
  ctx.triggers.push({ path, type: EventType.NodeDeleted, acl: node.rec.acl }, { path: split.parent, type: EventType.NodeChildrenChanged, acl: parent.rec.acl });
}

/** delete: DELETE permission on the parent; the root and /zookeeper nodes are off limits. */
export function applyDelete(ctx: OpContext, req: Requester, op: DeleteOp): OpResult {
  if (!ctx.store.sessions.has(req.sessionId)) return errorResult(ErrorCode.SESSIONEXPIRED);
  const split = splitPath(op.path);
  if (split === null || SPECIAL_PATHS.has(op.path)) return errorResult(ErrorCode.BADARGUMENTS);
  const parent = ctx.store.get(split.parent);
  if (parent === undefined) return errorResult(ErrorCode.NONODE);
  if (!allowed(ctx, parent, Perms.DELETE, req.auth)) return errorResult(ErrorCode.NOAUTH);
  const node = ctx.store.get(op.path);
  if (node === undefined) return errorResult(ErrorCode.NONODE);
  if (!versionMatches(node.rec.version, op.version)) return errorResult(ErrorCode.BADVERSION);
  if (node.children.size > 0) return errorResult(ErrorCode.NOTEMPTY);
  deleteNodeAt(ctx, op.path);
  return { type: 'delete', err: ErrorCode.OK };
}

/** Session, path, existence and permission checks shared by setData, setACL and check. */
function lookupForUpdate(ctx: OpContext, req: Requester, path: string, perm: number): Slot | ErrorCode {
  if (!ctx.store.sessions.has(req.sessionId)) return ErrorCode.SESSIONEXPIRED;
  if (!isValidPath(path)) return ErrorCode.BADARGUMENTS;
  const node = ctx.store.get(path);
  if (node === undefined) return ErrorCode.NONODE;
  return allowed(ctx, node, perm, req.auth) ? node : ErrorCode.NOAUTH;
}

/** setData: WRITE on the node; version + 1, new mtime and mzxid. */
export function applySetData(ctx: OpContext, req: Requester, op: SetDataOp): OpResult {
  if (dataLength(op.data) > ctx.config.maxDataBytes) return errorResult(ErrorCode.BADARGUMENTS);
  const node = lookupForUpdate(ctx, req, op.path, Perms.WRITE);
  if (typeof node === 'number') return errorResult(node);
  // Before the version check, as PrepRequestProcessor does.
  if (ctx.config.enforceQuota && quotaExceeded(ctx.store, op.path, dataLength(op.data) - dataLength(node.rec.data), 0, ctx.quotaNodesBefore)) {
    return errorResult(ErrorCode.QUOTAEXCEEDED);
  }
  if (!versionMatches(node.rec.version, op.version)) return errorResult(ErrorCode.BADVERSION);
  const previousLength = dataLength(node.rec.data);
  const rec = patchRecord(node.rec, { data: op.data === null ? null : op.data.slice(), version: node.rec.version + 1, mtime: ctx.timeMs, mzxid: ctx.zxid });
  ctx.store.replaceRecord(op.path, rec);
  const quotaRoot = quotaRootOf(ctx.store, op.path);
  if (quotaRoot !== null) updateQuotaStat(ctx.store, quotaRoot, dataLength(rec.data) - previousLength, 0);
  ctx.triggers.push({ path: op.path, type: EventType.NodeDataChanged, acl: rec.acl });
  return { type: 'setData', err: ErrorCode.OK, stat: clientStat(rec, node.children.size) };
}

/** setACL: ADMIN on the node; the ACL is validated before the node is looked up, as in ZooKeeper. */
export function applySetAcl(ctx: OpContext, req: Requester, op: SetAclOp): OpResult {
  if (!ctx.store.sessions.has(req.sessionId)) return errorResult(ErrorCode.SESSIONEXPIRED);
  if (!isValidPath(op.path)) return errorResult(ErrorCode.BADARGUMENTS);
  const fixed = fixupAcl(op.acl, req.auth, ctx.config.authProviders);
  if (fixed.err !== ErrorCode.OK) return errorResult(fixed.err);
  const node = lookupForUpdate(ctx, req, op.path, Perms.ADMIN);
  if (typeof node === 'number') return errorResult(node);
  if (!versionMatches(node.rec.aversion, op.version)) return errorResult(ErrorCode.BADVERSION);
  const rec = patchRecord(node.rec, { acl: fixed.acl, aversion: node.rec.aversion + 1 });
  ctx.store.replaceRecord(op.path, rec);
  return { type: 'setACL', err: ErrorCode.OK, stat: clientStat(rec, node.children.size) };
}

/** check: READ on the node and a matching data version. */
export function applyCheck(ctx: OpContext, req: Requester, op: CheckOp): OpResult {
  const node = lookupForUpdate(ctx, req, op.path, Perms.READ);
  if (typeof node === 'number') return errorResult(node);
  if (!versionMatches(node.rec.version, op.version)) return errorResult(ErrorCode.BADVERSION);
  return { type: 'check', err: ErrorCode.OK };
}

/**
 * deleteContainer, PrepRequestProcessor's checks in order: the path must have a '/', no NUL and not be
 * a special path (BADARGUMENTS), exist (NONODE), have no children (NOTEMPTY) and not be a session's
 * ephemeral (BADVERSION); then it is deleted, with no ACL check (ZooKeeper's own ContainerManager
 * sends it). A client's request always carries its header's NUL bytes, hence BADARGUMENTS.
 */
export function applyDeleteContainer(ctx: OpContext, txn: DeleteContainerTxn): OpResult {
  const path = txn.path;
  const lastSlash = path.lastIndexOf('/');
  if (lastSlash === -1 || path.includes('\u0000') || SPECIAL_PATHS.has(path)) return errorResult(ErrorCode.BADARGUMENTS);
  const parentPath = lastSlash === 0 ? '/' : path.slice(0, lastSlash);
  const node = ctx.store.get(path);
  if (node === undefined) return errorResult(ErrorCode.NONODE);
  if (node.children.size > 0) return errorResult(ErrorCode.NOTEMPTY);
  if (node.rec.kind === 'ephemeral') return errorResult(ErrorCode.BADVERSION);
  if (ctx.store.get(parentPath) === undefined) return errorResult(ErrorCode.NONODE);
  deleteNodeAt(ctx, path);
  return { type: 'delete', err: ErrorCode.OK };
}

/** One op of a multi. */
export function applyMultiOp(ctx: OpContext, req: Requester, op: MultiOp): OpResult {
  switch (op.type) {
    case 'create':
      return applyCreate(ctx, req, op);
    case 'delete':
      return applyDelete(ctx, req, op);
    case 'setData':
      return applySetData(ctx, req, op);
    case 'check':
      return applyCheck(ctx, req, op);
    default:
      // A malformed entry must fail the same way on every replica rather than throw.
      return errorResult(ErrorCode.BADARGUMENTS);
  }
}
