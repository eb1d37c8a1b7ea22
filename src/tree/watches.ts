/**
 * Watches, per server (not replicated): ZooKeeper's two watch tables (data and child), one-shot,
 * persistent and persistent-recursive modes, and the rules that turn the tree's triggers into
 * notifications.
 *
 * Modes follow ZooKeeper 3.9's WatchManager (ZOOKEEPER-4466), where one session may hold a
 * one-shot and a persistent watch on the same path at once. In 3.8 a later registration replaced
 * the mode of an earlier one on the same path (a getData watch silently turned a persistent watch
 * into a one-shot one), which was a bug; everything else is 3.8's behaviour.
 */
import { AddWatchMode, ErrorCode, EventType, WatcherType, type Acl } from '../protocol/zookeeper.js';
import type { WatchTrigger } from './ops.js';
import { ancestorsOf } from './path.js';

/**
 * A watch event to deliver to a session (KeeperState SyncConnected). `acl` is the trigger's: the
 * server delivers the event only if the session may READ under it (ZooKeeper 3.8.4's
 * CVE-2024-23944 fix, in Debian's 3.8.0-11+deb12u2); the watch is consumed either way.
 */
export interface WatchNotification {
  readonly sessionId: bigint;
  readonly type: EventType;
  readonly path: string;
  readonly acl?: readonly Acl[];
}

/** The watches a client re-registers after reconnecting (SetWatches2). */
export interface WatchSet {
  readonly data?: readonly string[];
  readonly exist?: readonly string[];
  readonly child?: readonly string[];
  readonly persistent?: readonly string[];
  readonly persistentRecursive?: readonly string[];
}

/** What setWatches needs to know of a node: its Stat fields, or null if it does not exist. */
export type NodeLookup = (path: string) => { readonly mzxid: bigint; readonly pzxid: bigint } | null;

const STANDARD = 1;
const PERSISTENT = 2;
const RECURSIVE = 4;
const ALL_MODES = STANDARD | PERSISTENT | RECURSIVE;

/** One watch table: path -> session -> mode bits, with a reverse index for session removal. */
class WatchTable {
  private readonly byPath = new Map<string, Map<bigint, number>>();
  private readonly bySession = new Map<bigint, Set<string>>();
  private recursiveCount = 0;

  add(path: string, sessionId: bigint, mode: number): void {
    let sessions = this.byPath.get(path);
    if (sessions === undefined) this.byPath.set(path, (sessions = new Map()));
    this.setBits(path, sessions, sessionId, (sessions.get(sessionId) ?? 0) | mode);
  }

  has(path: string, sessionId: bigint): boolean {
    return this.byPath.get(path)?.has(sessionId) ?? false;
  }

  /** Clear the `mask` bits of the session's watch on `path`; true if any were set. */
  clear(path: string, sessionId: bigint, mask: number): boolean {
    const sessions = this.byPath.get(path);
    const bits = sessions?.get(sessionId) ?? 0;
    if (sessions === undefined || (bits & mask) === 0) return false;
    this.setBits(path, sessions, sessionId, bits & ~mask);
    return true;
  }

  private setBits(path: string, sessions: Map<bigint, number>, sessionId: bigint, bits: number): void {
    const before = sessions.get(sessionId) ?? 0;
    this.recursiveCount += ((bits & RECURSIVE) !== 0 ? 1 : 0) - ((before & RECURSIVE) !== 0 ? 1 : 0);
    if (bits === 0) {
      sessions.delete(sessionId);
      if (sessions.size === 0) this.byPath.delete(path);
      this.unindex(sessionId, path);
    } else {
      sessions.set(sessionId, bits);
      let paths = this.bySession.get(sessionId);
      if (paths === undefined) this.bySession.set(sessionId, (paths = new Set()));
      paths.add(path);
    }
  }

  private unindex(sessionId: bigint, path: string): void {
    const paths = this.bySession.get(sessionId);
    paths?.delete(path);
    if (paths?.size === 0) this.bySession.delete(sessionId);
  }

  /**
   * The sessions an event on `path` fires for (WatchManager.triggerWatch): every watch on the path
   * itself (one-shot ones are consumed), and recursive watches on its ancestors.
   */
  fire(path: string): Set<bigint> {
    const fired = new Set<bigint>();
    const exact = this.byPath.get(path);
    for (const [sessionId, bits] of exact ?? []) {
      fired.add(sessionId);
      if ((bits & STANDARD) !== 0 && exact !== undefined) this.setBits(path, exact, sessionId, bits & ~STANDARD);
    }
    if (this.recursiveCount === 0) return fired;
    for (const ancestor of ancestorsOf(path)) {
      for (const [sessionId, bits] of this.byPath.get(ancestor) ?? []) {
        if ((bits & RECURSIVE) !== 0) fired.add(sessionId);
      }
    }
    return fired;
  }

  removeSession(sessionId: bigint): void {
    for (const path of [...(this.bySession.get(sessionId) ?? [])]) this.clear(path, sessionId, ALL_MODES);
  }

  /** Number of (session, path) watches. */
  get size(): number {
    let n = 0;
    for (const sessions of this.byPath.values()) n += sessions.size;
    return n;
  }

  /** The (session, path) pairs holding a recursive watch. */
  recursiveEntries(): Array<[bigint, string]> {
    const out: Array<[bigint, string]> = [];
    if (this.recursiveCount === 0) return out;
    for (const [path, sessions] of this.byPath) for (const [id, bits] of sessions) if ((bits & RECURSIVE) !== 0) out.push([id, path]);
    return out;
  }

  pathsOf(sessionId: bigint): string[] {
    return [...(this.bySession.get(sessionId) ?? [])];
  }

  sessionsOn(path: string): bigint[] {
    return [...(this.byPath.get(path)?.keys() ?? [])];
  }

  get paths(): string[] {
    return [...this.byPath.keys()];
  }
}

function notify(sessions: Iterable<bigint>, trigger: WatchTrigger, out: WatchNotification[]): void {
  const { type, path, acl } = trigger;
  for (const sessionId of sessions) out.push(acl === undefined ? { sessionId, type, path } : { sessionId, type, path, acl });
}

function byBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The watch manager of one server. getData and exists watches go in the data table, getChildren
 * watches in the child table; addWatch(PERSISTENT) goes in both, addWatch(PERSISTENT_RECURSIVE)
 * in the data table only, so recursive watches never see NodeChildrenChanged.
 *
 * Register a watch only when the read succeeds: getData and getChildren after a NONODE or NOAUTH
 * register nothing, while exists registers whether or not the node exists (ZooKeeper does the same).
 */
export class WatchManager {
  private readonly dataWatches = new WatchTable();
  private readonly childWatches = new WatchTable();

  /** A one-shot data watch (getData with watch). */
  addDataWatch(sessionId: bigint, path: string): void {
    this.dataWatches.add(path, sessionId, STANDARD);
  }

  /** A one-shot exists watch: the same table as data watches, so it fires on NodeCreated too. */
  addExistsWatch(sessionId: bigint, path: string): void {
    this.dataWatches.add(path, sessionId, STANDARD);
  }

  /** A one-shot child watch (getChildren with watch). */
  addChildWatch(sessionId: bigint, path: string): void {
    this.childWatches.add(path, sessionId, STANDARD);
  }

  /** addWatch: a persistent watch, recursive or not (AddWatchMode). */
  addWatch(sessionId: bigint, path: string, mode: number): ErrorCode {
    if (mode === AddWatchMode.PERSISTENT) {
      this.dataWatches.add(path, sessionId, PERSISTENT);
      this.childWatches.add(path, sessionId, PERSISTENT);
    } else if (mode === AddWatchMode.PERSISTENT_RECURSIVE) {
      this.dataWatches.add(path, sessionId, RECURSIVE);
    } else {
      return ErrorCode.BADARGUMENTS;
    }
    return ErrorCode.OK;
  }

  private tablesFor(watcherType: number): WatchTable[] | null {
    if (watcherType === WatcherType.Children) return [this.childWatches];
    if (watcherType === WatcherType.Data) return [this.dataWatches];
    if (watcherType === WatcherType.Any) return [this.childWatches, this.dataWatches];
    return null;
  }

  /**
   * removeWatches: drop the session's watches of that type on exactly `path`, whatever their mode
   * (Data: the data table, Children: the child table, Any: both). NOWATCHER if there were none.
   */
  removeWatches(sessionId: bigint, path: string, watcherType: number): ErrorCode {
    const tables = this.tablesFor(watcherType);
    if (tables === null) return ErrorCode.BADARGUMENTS;
    let removed = false;
    for (const table of tables) removed = table.clear(path, sessionId, ALL_MODES) || removed;
    return removed ? ErrorCode.OK : ErrorCode.NOWATCHER;
  }

  /** checkWatches: OK if the session has a watch of that type on exactly `path`, else NOWATCHER. */
  checkWatches(sessionId: bigint, path: string, watcherType: number): ErrorCode {
    const tables = this.tablesFor(watcherType);
    if (tables === null) return ErrorCode.BADARGUMENTS;
    return tables.some((t) => t.has(path, sessionId)) ? ErrorCode.OK : ErrorCode.NOWATCHER;
  }

  /**
   * The notifications the tree's triggers cause, in trigger order, consuming one-shot watches
   * (each carries its trigger's ACL: the caller drops those the session may not read).
   * NodeCreated and NodeDataChanged fire the data table; NodeChildrenChanged the child table;
   * NodeDeleted both, with a session that has both kinds notified once (DataTree.deleteNode).
   */
  trigger(triggers: readonly WatchTrigger[]): WatchNotification[] {
    const out: WatchNotification[] = [];
    for (const trigger of triggers) {
      const { path, type } = trigger;
      if (type === EventType.NodeChildrenChanged) {
        notify(this.childWatches.fire(path), trigger, out);
      } else if (type === EventType.NodeDeleted) {
        const fired = this.dataWatches.fire(path);
        for (const sessionId of this.childWatches.fire(path)) fired.add(sessionId);
        notify(fired, trigger, out);
      } else {
        notify(this.dataWatches.fire(path), trigger, out);
      }
    }
    return out;
  }

  /**
   * SetWatches after a reconnect (DataTree.setWatches): watches whose event already happened since
   * `relativeZxid` (the last zxid the client saw) are answered at once, the others registered.
   */
  setWatches(sessionId: bigint, relativeZxid: bigint, watches: WatchSet, lookup: NodeLookup): WatchNotification[] {
    const out: WatchNotification[] = [];
    for (const path of watches.data ?? []) {
      const node = lookup(path);
      if (node === null) out.push({ sessionId, type: EventType.NodeDeleted, path });
      else if (node.mzxid > relativeZxid) out.push({ sessionId, type: EventType.NodeDataChanged, path });
      else this.addDataWatch(sessionId, path);
    }
    for (const path of watches.exist ?? []) {
      if (lookup(path) !== null) out.push({ sessionId, type: EventType.NodeCreated, path });
      else this.addExistsWatch(sessionId, path);
    }
    for (const path of watches.child ?? []) {
      const node = lookup(path);
      if (node === null) out.push({ sessionId, type: EventType.NodeDeleted, path });
      else if (node.pzxid > relativeZxid) out.push({ sessionId, type: EventType.NodeChildrenChanged, path });
      else this.addChildWatch(sessionId, path);
    }
    for (const path of watches.persistent ?? []) this.addWatch(sessionId, path, AddWatchMode.PERSISTENT);
    for (const path of watches.persistentRecursive ?? []) this.addWatch(sessionId, path, AddWatchMode.PERSISTENT_RECURSIVE);
    return out;
  }

  /** Forget every watch of a session (closed, expired or moved away). */
  removeSession(sessionId: bigint): void {
    this.dataWatches.removeSession(sessionId);
    this.childWatches.removeSession(sessionId);
  }

  /** Total number of watches (data table plus child table), as ZooKeeper's watch count. */
  get watchCount(): number {
    return this.dataWatches.size + this.childWatches.size;
  }

  /**
   * The watch count ZooKeeper 3.8 reports (mntr's zk_watch_count): 3.8.0's DataTree.addWatch puts a
   * recursive watch in the child table too, so it counts there as well (once per session and path).
   */
  get zooKeeper38WatchCount(): number {
    let extra = 0;
    for (const [id, path] of this.dataWatches.recursiveEntries()) if (!this.childWatches.has(path, id)) extra++;
    return this.watchCount + extra;
  }

  /**
   * Paths each session watches (for the wchc command), sessions ascending, paths sorted. `table`
   * 'data' is the data-watch table alone (getData, exists and addWatch watches), which is what
   * ZooKeeper's wchs/wchc/wchp print; 'all' adds the child table.
   */
  watchesBySession(table: 'data' | 'all' = 'all'): Map<bigint, string[]> {
    const tables = table === 'data' ? [this.dataWatches] : [this.dataWatches, this.childWatches];
    const ids = new Set<bigint>();
    for (const t of tables) {
      for (const path of t.paths) for (const id of t.sessionsOn(path)) ids.add(id);
    }
    const out = new Map<bigint, string[]>();
    for (const id of [...ids].sort(byBigInt)) out.set(id, [...new Set(tables.flatMap((t) => t.pathsOf(id)))].sort());
    return out;
  }

  /** Sessions watching each path (for the wchp command), paths sorted, sessions ascending; `table` as for watchesBySession. */
  watchesByPath(table: 'data' | 'all' = 'all'): Map<string, bigint[]> {
    const tables = table === 'data' ? [this.dataWatches] : [this.dataWatches, this.childWatches];
    const paths = [...new Set(tables.flatMap((t) => t.paths))].sort();
    const out = new Map<string, bigint[]>();
    for (const path of paths) out.set(path, [...new Set(tables.flatMap((t) => t.sessionsOn(path)))].sort(byBigInt));
    return out;
  }

  /** Number of (session, path) watches in the data-watch table (wchs's "Total watches"). */
  get dataWatchCount(): number {
    return this.dataWatches.size;
  }
}
