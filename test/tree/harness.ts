/** Test helpers: a tree driven by increasing zxids and a controllable clock. */
import { CreateMode, OPEN_ACL_UNSAFE, type Acl, type AclId } from '../../src/protocol/zookeeper.js';
import { DataTree, type ApplyResult, type DataTreeOptions } from '../../src/tree/tree.js';
import type { CreateOp, MultiOp, Requester, TreeTxn } from '../../src/tree/txn.js';

export const S1 = 0x1001n;
export const S2 = 0x2002n;
export const NO_AUTH: readonly AclId[] = [];

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

export interface CreateOptions {
  data?: string;
  acl?: readonly Acl[];
  mode?: CreateMode;
  ttlMs?: number;
  sessionId?: bigint;
  auth?: readonly AclId[];
}

/** A DataTree plus the log position and clock a node would give it. */
export class Harness {
  readonly tree: DataTree;
  zxid = 0n;
  timeMs = 1_000_000;

  constructor(options: DataTreeOptions = {}, sessions: readonly bigint[] = [S1, S2]) {
    this.tree = new DataTree(options);
    for (const sessionId of sessions) this.apply({ type: 'createSession', sessionId, timeoutMs: 30_000 });
  }

  /** Apply at the next zxid, the clock moved forward by `advanceMs`. */
  apply(txn: TreeTxn, advanceMs = 1): ApplyResult {
    this.zxid += 1n;
    this.timeMs += advanceMs;
    return this.tree.apply(txn, { zxid: this.zxid, timeMs: this.timeMs });
  }

  create(path: string, o: CreateOptions = {}): ApplyResult {
    return this.apply({ ...requester(o), ...createOp(path, o) });
  }

  delete(path: string, version = -1, who: Partial<Requester> = {}): ApplyResult {
    return this.apply({ type: 'delete', path, version, ...requester(who) });
  }

  setData(path: string, data: string, version = -1, who: Partial<Requester> = {}): ApplyResult {
    return this.apply({ type: 'setData', path, data: bytes(data), version, ...requester(who) });
  }

  setAcl(path: string, acl: readonly Acl[], version = -1, who: Partial<Requester> = {}): ApplyResult {
    return this.apply({ type: 'setACL', path, acl, version, ...requester(who) });
  }

  check(path: string, version: number, who: Partial<Requester> = {}): ApplyResult {
    return this.apply({ type: 'check', path, version, ...requester(who) });
  }

  multi(ops: readonly MultiOp[], who: Partial<Requester> = {}): ApplyResult {
    return this.apply({ type: 'multi', ops, ...requester(who) });
  }

  closeSession(sessionId: bigint): ApplyResult {
    return this.apply({ type: 'closeSession', sessionId });
  }
}

export function requester(o: Partial<Requester>): Requester {
  return { sessionId: o.sessionId ?? S1, auth: o.auth ?? NO_AUTH };
}

export function createOp(path: string, o: CreateOptions = {}): CreateOp {
  const base = { type: 'create' as const, path, data: bytes(o.data ?? ''), acl: o.acl ?? OPEN_ACL_UNSAFE };
  return { ...base, mode: o.mode ?? CreateMode.PERSISTENT, ...(o.ttlMs === undefined ? {} : { ttlMs: o.ttlMs }) };
}
