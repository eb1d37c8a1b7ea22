/**
 * The tree's storage: path -> node, children sets, the sessions table and the derived indexes
 * (ephemerals per session, containers, TTL nodes), plus an incremental digest and an undo log.
 *
 * Every mutation goes through the few primitives here, so the digest and the indexes can never
 * drift from the nodes, and a failed multi can be rolled back by replaying the undo log.
 */
import { ByteWriter } from './codec.js';
import { hash64, nodeHash, type NodeRecord } from './node.js';
import { quotaRootOfLimitNode } from './quota.js';

/** A stored node: its current record, that record's digest contribution, and its children's names. */
export interface Slot {
  rec: NodeRecord;
  hash: bigint;
  readonly children: Set<string>;
}

/** A session as the replicated sessions table keeps it. */
export interface SessionRecord {
  readonly timeoutMs: number;
  readonly passwordHex: string | undefined;
}

const U64 = 64;

function sessionHash(sessionId: bigint, s: SessionRecord): bigint {
  const w = new ByteWriter().i64(sessionId).f64(s.timeoutMs).u8(s.passwordHex === undefined ? 0 : 1);
  w.string(s.passwordHex ?? '');
  return hash64(w.finish());
}

/** Storage primitives with digest and index upkeep; see the module comment. */
export class NodeStore {
  readonly nodes = new Map<string, Slot>();
  readonly sessions = new Map<bigint, SessionRecord>();
  /** Ephemeral paths by owner session (DataTree.ephemerals). */
  readonly ephemerals = new Map<bigint, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  /** Paths with a quota: those that have a `/zookeeper/quota<path>/zookeeper_limits` node (quota.ts). */
  readonly quotaRoots = new Set<string>();
  private nodeSum = 0n;
  private sessionSum = 0n;
  private undoLog: Array<() => void> | null = null;
  /**
   * While a snapshot is being encoded a slice at a time: the record each path had when it started,
   * for every path changed since (null: the path did not exist then). See snapshot.ts.
   */
  private frozen: Map<string, NodeRecord | null> | null = null;

  get(path: string): Slot | undefined {
    return this.nodes.get(path);
  }

  /** Sum (mod 2^64) of the hashes of all nodes. */
  get nodeDigest(): bigint {
    return this.nodeSum;
  }

  /** Sum (mod 2^64) of the hashes of all sessions. */
  get sessionDigest(): bigint {
    return this.sessionSum;
  }

  private record(undo: () => void): void {
    this.undoLog?.push(undo);
  }

  private addHash(h: bigint, sign: 1n | -1n, which: 'node' | 'session'): void {
    if (which === 'node') this.nodeSum = BigInt.asUintN(U64, this.nodeSum + sign * h);
    else this.sessionSum = BigInt.asUintN(U64, this.sessionSum + sign * h);
  }

  private index(path: string, rec: NodeRecord, add: boolean): void {
    const quotaRoot = quotaRootOfLimitNode(path);
    if (quotaRoot !== null) toggle(this.quotaRoots, quotaRoot, add);
    if (rec.kind === 'container') toggle(this.containers, path, add);
    else if (rec.kind === 'ttl') toggle(this.ttls, path, add);
    else if (rec.kind === 'ephemeral') this.indexEphemeral(rec.ephemeralOwner, path, add);
  }

  private indexEphemeral(owner: bigint, path: string, add: boolean): void {
    let paths = this.ephemerals.get(owner);
    if (paths === undefined) {
      if (!add) return;
      paths = new Set();
      this.ephemerals.set(owner, paths);
    }
    toggle(paths, path, add);
    if (paths.size === 0) this.ephemerals.delete(owner);
  }

  /** Add a node with no children (the caller links it to its parent). */
  insertNode(path: string, rec: NodeRecord): void {
    this.restoreSlot(path, { rec, hash: nodeHash(path, rec), children: new Set() });
    this.record(() => this.removeNode(path));
  }

  private restoreSlot(path: string, slot: Slot): void {
    if (this.nodes.has(path)) throw new Error(`node ${path} already stored`);
    this.keepFrozen(path, null);
    this.nodes.set(path, slot);
    this.addHash(slot.hash, 1n, 'node');
    this.index(path, slot.rec, true);
  }

  /** Replace a node's record (data, stat or ACL change). */
  replaceRecord(path: string, rec: NodeRecord): void {
    const slot = this.mustGet(path);
    const old = slot.rec;
    this.keepFrozen(path, old);
    this.index(path, old, false);
    this.addHash(slot.hash, -1n, 'node');
    slot.rec = rec;
    slot.hash = nodeHash(path, rec);
    this.addHash(slot.hash, 1n, 'node');
    this.index(path, rec, true);
    this.record(() => this.replaceRecord(path, old));
  }

  /** Remove a childless node (the caller unlinks it from its parent). */
  removeNode(path: string): void {
    const slot = this.mustGet(path);
    if (slot.children.size > 0) throw new Error(`node ${path} still has children`);
    this.keepFrozen(path, slot.rec);
    this.nodes.delete(path);
    this.addHash(slot.hash, -1n, 'node');
    this.index(path, slot.rec, false);
    this.record(() => this.restoreSlot(path, slot));
  }

  addChild(parent: string, name: string): void {
    this.mustGet(parent).children.add(name);
    this.record(() => this.removeChild(parent, name));
  }

  removeChild(parent: string, name: string): void {
    this.mustGet(parent).children.delete(name);
    this.record(() => this.addChild(parent, name));
  }

  putSession(sessionId: bigint, session: SessionRecord): void {
    const old = this.sessions.get(sessionId);
    if (old !== undefined) this.addHash(sessionHash(sessionId, old), -1n, 'session');
    this.sessions.set(sessionId, session);
    this.addHash(sessionHash(sessionId, session), 1n, 'session');
    this.record(() => (old === undefined ? this.removeSession(sessionId) : this.putSession(sessionId, old)));
  }

  removeSession(sessionId: bigint): void {
    const old = this.sessions.get(sessionId);
    if (old === undefined) return;
    this.sessions.delete(sessionId);
    this.addHash(sessionHash(sessionId, old), -1n, 'session');
    this.record(() => this.putSession(sessionId, old));
  }

  /**
   * From now on, keep the record every path has now, at its first change (a snapshot encoded a
   * slice at a time reads through it). One freeze at a time: a new one ends the previous.
   */
  freeze(): ReadonlyMap<string, NodeRecord | null> {
    this.frozen = new Map();
    return this.frozen;
  }

  /** Stop keeping records for `frozen` (if it is still the current freeze). */
  thaw(frozen: ReadonlyMap<string, NodeRecord | null>): void {
    if (this.frozen === frozen) this.frozen = null;
  }

  /** Whether `frozen` is still kept up to date. */
  isFrozen(frozen: ReadonlyMap<string, NodeRecord | null>): boolean {
    return this.frozen === frozen;
  }

  private keepFrozen(path: string, before: NodeRecord | null): void {
    if (this.frozen !== null && !this.frozen.has(path)) this.frozen.set(path, before);
  }

  /** Start recording undo steps (for a multi). */
  begin(): void {
    if (this.undoLog !== null) throw new Error('nested store transaction');
    this.undoLog = [];
  }

  /** Keep the changes made since begin(). */
  commit(): void {
    this.undoLog = null;
  }

  /** Undo every change made since begin(), newest first. */
  rollback(): void {
    const log = this.undoLog ?? [];
    this.undoLog = null;
    for (let i = log.length - 1; i >= 0; i--) log[i]?.();
  }

  private mustGet(path: string): Slot {
    const slot = this.nodes.get(path);
    if (slot === undefined) throw new Error(`no stored node ${path}`);
    return slot;
  }
}

function toggle<T>(set: Set<T>, value: T, add: boolean): void {
  if (add) set.add(value);
  else set.delete(value);
}
