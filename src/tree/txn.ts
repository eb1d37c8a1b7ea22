/**
 * The replicated requests the data tree applies: plain, serializable data (bigint session ids,
 * Uint8Array payloads), a discriminated union on `type`.
 *
 * Unlike ZooKeeper, which validates a request on the leader (PrepRequestProcessor) and logs the
 * resulting transaction, statekeeper logs the request itself and every replica validates it at
 * apply time against the same state. So each write carries what the check needs: the requester's
 * session and the ids it authenticated with (including the super id if it has it).
 */
import type { Acl, AclId, CreateMode } from '../protocol/zookeeper.js';

/** Who issued a client write: the session and its authenticated ids (ip, digest, super, ...). */
export interface Requester {
  readonly sessionId: bigint;
  readonly auth: readonly AclId[];
}

/**
 * create / create2 / createContainer / createTTL. `ttlMs` only with a TTL mode. `data` may be null,
 * as ZooKeeper's (a jute buffer of length -1): it is stored and read back as null.
 */
export interface CreateOp {
  readonly type: 'create';
  readonly path: string;
  readonly data: Uint8Array | null;
  readonly acl: readonly Acl[];
  readonly mode: CreateMode;
  readonly ttlMs?: number;
}

/** delete, conditional on `version` (-1 = any). */
export interface DeleteOp {
  readonly type: 'delete';
  readonly path: string;
  readonly version: number;
}

/** setData, conditional on `version` (-1 = any); null data is kept as null. */
export interface SetDataOp {
  readonly type: 'setData';
  readonly path: string;
  readonly data: Uint8Array | null;
  readonly version: number;
}

/** setACL, conditional on the ACL version `version` (-1 = any). */
export interface SetAclOp {
  readonly type: 'setACL';
  readonly path: string;
  readonly acl: readonly Acl[];
  readonly version: number;
}

/** check: fails with BADVERSION unless the node's data version is `version` (-1 = any). */
export interface CheckOp {
  readonly type: 'check';
  readonly path: string;
  readonly version: number;
}

/** The operations a multi may hold (ZooKeeper's multi takes no setACL). */
export type MultiOp = CreateOp | DeleteOp | SetDataOp | CheckOp;

export type CreateTxn = CreateOp & Requester;
export type DeleteTxn = DeleteOp & Requester;
export type SetDataTxn = SetDataOp & Requester;
export type SetAclTxn = SetAclOp & Requester;
export type CheckTxn = CheckOp & Requester;

/** All-or-nothing batch; every op sees the effects of the ops before it and shares the zxid. */
export interface MultiTxn extends Requester {
  readonly type: 'multi';
  readonly ops: readonly MultiOp[];
}

/** Opens a session in the replicated sessions table. */
export interface CreateSessionTxn {
  readonly type: 'createSession';
  readonly sessionId: bigint;
  readonly timeoutMs: number;
  /** The session password, so any server can validate a reconnect; kept verbatim. */
  readonly passwordHex?: string;
}

/** Closes (or expires) a session: its ephemeral nodes are deleted. */
export interface CloseSessionTxn {
  readonly type: 'closeSession';
  readonly sessionId: bigint;
}

/**
 * Container and TTL cleanup chosen by the leader (from `containerCandidates()` and
 * `expiredTtlNodes(now)`). Each path is deleted only if it is still eligible when applied, since
 * a child may have been added or a TTL node written since the leader looked.
 */
export interface ReapExpiredTxn {
  readonly type: 'reapExpired';
  readonly paths: readonly string[];
}

/**
 * deleteContainer (opcode 20) as ZooKeeper's PrepRequestProcessor handles it: ZooKeeper's
 * ContainerManager issues it; a client may send it too. `path` is the string ZooKeeper reads, which
 * for a client's request is the whole packet (header included) decoded as text, so it holds NUL
 * characters and fails with BADARGUMENTS, as on ZooKeeper 3.8. No session or ACL check.
 */
export interface DeleteContainerTxn {
  readonly type: 'deleteContainer';
  readonly path: string;
}

/** Changes nothing but consumes a zxid (e.g. the entry a new leader commits to open its epoch). */
export interface NoopTxn {
  readonly type: 'noop';
}

/** Every replicated request the tree applies. */
export type TreeTxn =
  | CreateSessionTxn
  | CloseSessionTxn
  | CreateTxn
  | DeleteTxn
  | SetDataTxn
  | SetAclTxn
  | CheckTxn
  | MultiTxn
  | ReapExpiredTxn
  | DeleteContainerTxn
  | NoopTxn;

export type TreeTxnType = TreeTxn['type'];
