/**
 * The coordination service of one server: ZooKeeper's data tree, sessions and watches on top of a
 * consensus node. Writes become commands in the replicated log and are applied by every replica in
 * log order; reads are served from this server's tree; each session's requests are answered in the
 * order they were sent (ZooKeeper's FIFO client order); watch events reach a session before any
 * response that reflects the change.
 *
 * Both the embedded client (src/client) and the ZooKeeper wire server (src/server) sit on this API.
 */
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { Envelope } from '../bus/types.js';
import type { NodeId } from '../protocol/ids.js';
import type { Command, PeerMessage } from '../protocol/messages.js';
import { ErrorCode, KeeperState, Perms } from '../protocol/zookeeper.js';
import type { Acl, AclId, Stat } from '../protocol/zookeeper.js';
import { DataTree, WatchManager, digestAuthIds, zooKeeperAuthInfoOrder } from '../tree/index.js';
import type { DataTreeOptions, OpResult, WatchSet } from '../tree/index.js';
import type { MultiOp, TreeTxn } from '../tree/txn.js';
import type { Application, Clock, ConsensusNode, SnapshotEncoding } from './node.js';
import { framedHeader, readFramed } from './snapshot.js';

/** A request as a session sends it (one ZooKeeper operation). Null data is kept as null, as ZooKeeper does. */
export type ZkRequest =
  | { op: 'create'; path: string; data: Uint8Array | null; acl: readonly Acl[]; mode: number; ttlMs?: number }
  | { op: 'delete'; path: string; version: number }
  | { op: 'setData'; path: string; data: Uint8Array | null; version: number }
  | { op: 'setACL'; path: string; acl: readonly Acl[]; version: number }
  | { op: 'check'; path: string; version: number }
  | { op: 'multi'; ops: readonly MultiOp[] }
  | { op: 'sync'; path: string }
  | { op: 'exists'; path: string; watch: boolean; linearizable?: boolean }
  | { op: 'getData'; path: string; watch: boolean; linearizable?: boolean }
  | { op: 'getACL'; path: string }
  | { op: 'getChildren'; path: string; watch: boolean; linearizable?: boolean }
  | { op: 'getAllChildrenNumber'; path: string }
  | { op: 'getEphemerals'; prefix: string }
  | { op: 'multiRead'; ops: readonly ({ op: 'getData'; path: string } | { op: 'getChildren'; path: string })[] }
  | { op: 'addWatch'; path: string; mode: number }
  | { op: 'removeWatches'; path: string; watcherType: number }
  | { op: 'checkWatches'; path: string; watcherType: number }
  | { op: 'setWatches'; relativeZxid: bigint; watches: WatchSet }
  | { op: 'addAuth'; scheme: string; auth: Uint8Array }
  /**
   * Ids the server verified itself (a completed SASL exchange: `sasl:<name>`, and `super` for the
   * configured SASL super user): added to the session as they are, in the session's order.
   */
  | { op: 'addVerifiedIds'; ids: readonly AclId[] }
  /** Opcode 20 from a client: `path` is what ZooKeeper reads (see DeleteContainerTxn). A write. */
  | { op: 'deleteContainer'; path: string }
  | { op: 'whoAmI' };

export type ReadResultItem =
  /** `nullData`: the node's data is null (ZooKeeper's -1 length); `data` is then empty. */
  | { err: 0; data: Uint8Array; stat: Stat; nullData?: true }
  | { err: 0; children: string[] }
  | { err: number };

/** The answer to one request: ZooKeeper's error code, the zxid it reflects, and the op's payload. */
export interface ZkResponse {
  err: number;
  zxid: bigint;
  path?: string;
  stat?: Stat | null;
  data?: Uint8Array;
  /**
   * getData: the node's data is null (created or set with null, as ZooKeeper clients may); `data`
   * is then empty, for callers without a null (the embedded client); the wire answers null.
   */
  nullData?: true;
  children?: string[];
  acl?: Acl[];
  count?: number;
  ephemerals?: string[];
  results?: readonly OpResult[];
  readResults?: ReadResultItem[];
  clientInfo?: AclId[];
}

/** What a session hears besides responses. */
export interface SessionListener {
  /** A watch fired (KeeperState SyncConnected). */
  onWatch(event: { type: number; path: string }): void;
  /** The session ended: expired by the leader or closed (state Expired or Closed). */
  onSessionEnd(state: number): void;
  /**
   * This server dropped the session's connection (the session lives on): its state jumped ahead
   * by a snapshot from a peer, as a ZooKeeper follower's does when it resyncs with its leader. The
   * client reconnects and re-registers its watches, which fire for whatever changed meanwhile.
   */
  onConnectionLost?(): void;
}

export interface SessionGrant {
  readonly sessionId: bigint;
  readonly passwordHex: string;
  readonly timeoutMs: number;
}

export interface ServiceOptions {
  readonly node: ConsensusNode;
  readonly serverId: NodeId;
  readonly clock: Clock;
  /** Wall-clock milliseconds, for session ids (ZooKeeper's scheme) and deadlines. */
  readonly now: () => number;
  /** ZooKeeper's tickTime: session timeouts are negotiated into [2, 20] ticks by default. */
  readonly tickMs: number;
  readonly minSessionTimeoutMs?: number;
  readonly maxSessionTimeoutMs?: number;
  readonly tree?: DataTreeOptions;
  /** How long a forwarded write waits before it is sent again (to the leader of the moment). */
  readonly forwardRetryMs?: number;
  /** Session passwords; defaults to node:crypto (the simulator injects a seeded source). */
  readonly randomBytes?: (n: number) => Uint8Array;
  /** Tree nodes per step of a snapshot encoding (the simulator makes it small to interleave steps). */
  readonly snapshotStepNodes?: number;
}

/** The replicated command: the tree transaction plus the session order it belongs to. */
interface ServiceCommand {
  /** Session (hex), which attachment of it to a server sent this, and that attachment's write counter. */
  readonly s?: string;
  readonly a?: string;
  readonly c?: number;
  /** This attachment takes the session over (a new session, or a client that moved servers). */
  readonly own?: true;
  readonly t: TreeTxn;
}

interface QueuedRequest {
  readonly request: ZkRequest;
  readonly resolve: (r: ZkResponse) => void;
}

interface LocalSession {
  readonly id: bigint;
  readonly hex: string;
  readonly passwordHex: string;
  readonly timeoutMs: number;
  listener: SessionListener;
  readonly queue: QueuedRequest[];
  busy: boolean;
  auth: AclId[];
  /** This attachment of the session to this server (a client that moves, or loses a write, gets a new one). */
  attachment: string;
  /** Writes this attachment has sent through the log, one at a time, so the counter orders them. */
  writeCount: number;
  touched: boolean;
  closed: boolean;
}

interface PendingWrite {
  readonly command: Command;
  readonly done: (result: ServiceApplyResult) => void;
  timer: unknown;
  /** A leader's own decision (session expiry, reaping): dropped, not retried, once it stops leading. */
  readonly leaderOnly?: boolean;
}

type ServiceApplyResult = { err: number; zxid: bigint; path?: string; stat?: Stat; results?: readonly OpResult[] };

export const DEFAULT_FORWARD_RETRY_MS = 500;

/**
 * The service's snapshot format (the tree's own format is versioned inside). Version 2: `"SKSV" · u32
 * n · n bytes of MessagePack { v: 2, order } · the tree's snapshot`, the tree never copied through
 * MessagePack. Version 1, still read: MessagePack `{ v: 1, tree, order }`.
 */
const SERVICE_SNAPSHOT_VERSION = 2;
const SERVICE_SNAPSHOT_MAGIC = new TextEncoder().encode('SKSV');
const snapshotPackr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true });
/** Writes one session may have in flight at once (ZooKeeper pipelines a session's requests too). */
export const MAX_PIPELINED_WRITES = 64;

const WRITE_OPS: ReadonlySet<ZkRequest['op']> = new Set(['create', 'delete', 'setData', 'setACL', 'check', 'multi', 'sync', 'deleteContainer']);
const EMPTY_DATA = new Uint8Array(0);
function isWrite(r: ZkRequest): boolean {
  return WRITE_OPS.has(r.op);
}

export class CoordinationService implements Application {
  readonly tree: DataTree;
  readonly watches = new WatchManager();
  private readonly opts: ServiceOptions;
  private readonly sessions = new Map<bigint, LocalSession>();
  /**
   * Replicated: per session, the attachment that owns it and the last write counter applied from it.
   * Writes from any other attachment are refused (SESSIONMOVED), retried forwards are dropped.
   */
  private readonly lastApplied = new Map<string, { readonly attachment: string; count: number }>();
  private readonly bootNonce: string;
  private attachCounter = 0;
  private readonly pending = new Map<string, PendingWrite>();
  private commandCounter = 0;
  private nextSessionId: bigint;
  private lastZxidValue = 0n;
  private tickTimer: unknown;
  private stopped = false;
  // leader-only
  private readonly deadlines = new Map<string, number>();
  private readonly expiring = new Set<string>();
  private reaping = false;

  constructor(opts: ServiceOptions) {
    this.opts = opts;
    this.tree = new DataTree(opts.tree);
    this.nextSessionId = initialSessionId(opts.serverId, opts.now());
    this.bootNonce = Buffer.from((opts.randomBytes ?? randomBytes)(4)).toString('hex');
  }

  get minSessionTimeoutMs(): number {
    return this.opts.minSessionTimeoutMs ?? 2 * this.opts.tickMs;
  }
  get maxSessionTimeoutMs(): number {
    return this.opts.maxSessionTimeoutMs ?? 20 * this.opts.tickMs;
  }
  /** The zxid of the last transaction this server applied. */
  get lastZxid(): bigint {
    return this.lastZxidValue;
  }
  get sessionCount(): number {
    return this.sessions.size;
  }
  /** ZooKeeper's tickTime (session deadlines are rounded up to it, as SessionTrackerImpl's expiry queue). */
  get tickMs(): number {
    return this.opts.tickMs;
  }
  /**
   * Every open session's expiry deadline (wall ms) as the leader tracks it, for the dump command;
   * null on a server that is not the active leader (only the leader expires sessions). A session
   * the leader has not noted yet gets a full timeout from now, as a new leader gives it.
   */
  sessionDeadlines(): ReadonlyMap<bigint, number> | null {
    if (!this.opts.node.isActiveLeader) return null;
    const now = this.opts.now();
    const out = new Map<bigint, number>();
    for (const id of this.tree.sessionIds()) out.set(id, this.deadlines.get(id.toString(16)) ?? now + (this.tree.getSession(id)?.timeoutMs ?? 0));
    return out;
  }
  localSessions(): { sessionId: bigint; timeoutMs: number; queued: number }[] {
    return [...this.sessions.values()].map((s) => ({ sessionId: s.id, timeoutMs: s.timeoutMs, queued: s.queue.length }));
  }

  start(): void {
    this.scheduleTick();
  }

  stop(): void {
    this.stopped = true;
    this.opts.clock.clearTimeout(this.tickTimer);
    // Nothing this server started can be answered any more: settle it as ZooKeeper's client sees a
    // dead server (the outcome unknown), so no caller waits forever.
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      this.opts.clock.clearTimeout(p.timer);
      p.done({ err: ErrorCode.CONNECTIONLOSS, zxid: this.lastZxidValue });
    }
  }

  /** Messages the consensus node passes on (wire it to NodeOptions.onMessage). */
  onMessage(env: Envelope<PeerMessage>): void {
    const msg = env.msg;
    if (msg.type === 'SessionTouch') {
      for (const hex of msg.sessions) this.noteActivity(hex);
    } else if (msg.type === 'ClientReply' && !msg.ok) {
      const p = this.pending.get(msg.commandId);
      if (p !== undefined) this.forward(p, msg.leaderHint ?? null);
    }
  }

  // ---------------------------------------------------------------- sessions

  /**
   * Open a new session (sessionId 0) or attach to an existing one (reconnect to any server with
   * the session's password). Resolves with the grant, or an error code: SESSIONEXPIRED for an
   * unknown session, AUTHFAILED for a wrong password.
   */
  async openSession(
    req: { sessionId: bigint; passwordHex?: string; timeoutMs: number; auth?: readonly AclId[]; lastZxidSeen?: bigint },
    listener: SessionListener,
  ): Promise<SessionGrant | { err: number }> {
    if (req.sessionId === 0n) {
      const timeoutMs = Math.min(this.maxSessionTimeoutMs, Math.max(this.minSessionTimeoutMs, req.timeoutMs));
      const sessionId = this.nextSessionId++;
      const passwordHex = Buffer.from((this.opts.randomBytes ?? randomBytes)(16)).toString('hex');
      const s = this.newSession(sessionId, passwordHex, timeoutMs, listener, req.auth);
      const result = await this.write({ type: 'createSession', sessionId, timeoutMs, passwordHex }, s, true);
      if (result.err !== ErrorCode.OK) return { err: result.err };
      this.sessions.set(sessionId, s);
      return { sessionId, passwordHex, timeoutMs };
    }
    if (req.lastZxidSeen !== undefined && req.lastZxidSeen > this.lastZxidValue) {
      // ZooKeeper refuses a client that has seen more than this server: catch up first.
      await this.write({ type: 'noop' }, undefined);
      if (req.lastZxidSeen > this.lastZxidValue) return { err: ErrorCode.CONNECTIONLOSS };
    }
    let info = this.tree.getSession(req.sessionId);
    if (info === undefined) {
      // This server may not have applied the session's creation yet: catch up once, then look again.
      await this.write({ type: 'noop' }, undefined);
      info = this.tree.getSession(req.sessionId);
    }
    if (info === undefined) return { err: ErrorCode.SESSIONEXPIRED };
    if (req.passwordHex !== undefined && info.passwordHex !== undefined && req.passwordHex !== info.passwordHex) {
      return { err: ErrorCode.AUTHFAILED };
    }
    this.detach(req.sessionId);
    // A new attachment takes the session over through the log, so writes still in flight from the
    // server it left can never be applied after its own (they get SESSIONMOVED instead).
    const s = this.newSession(req.sessionId, info.passwordHex ?? '', info.timeoutMs, listener, req.auth);
    const claimed = await this.write({ type: 'noop' }, s, true);
    if (claimed.err !== ErrorCode.OK) return { err: claimed.err };
    if (this.tree.getSession(req.sessionId) === undefined) return { err: ErrorCode.SESSIONEXPIRED };
    this.sessions.set(req.sessionId, s);
    return { sessionId: req.sessionId, passwordHex: info.passwordHex ?? '', timeoutMs: info.timeoutMs };
  }

  /** The client is gone from this server (its connection closed); the session lives on until it expires. */
  detach(sessionId: bigint): void {
    const s = this.sessions.get(sessionId);
    if (s === undefined) return;
    s.closed = true;
    this.sessions.delete(sessionId);
    this.watches.removeSession(sessionId);
    // Stop retrying its forwarded writes: whatever is not applied yet is the client's to resend.
    for (const [id, p] of this.pending) {
      if ((p.command.payload as ServiceCommand).a !== s.attachment) continue;
      this.pending.delete(id);
      this.opts.clock.clearTimeout(p.timer);
      p.done({ err: ErrorCode.CONNECTIONLOSS, zxid: this.lastZxidValue });
    }
  }

  /** A ping: the session is alive. */
  touch(sessionId: bigint): boolean {
    const s = this.sessions.get(sessionId);
    if (s === undefined) return false;
    s.touched = true;
    return true;
  }

  /** closeSession: ends the session everywhere (its ephemerals go, its watches go). */
  async closeSession(sessionId: bigint): Promise<ZkResponse> {
    const s = this.sessions.get(sessionId);
    if (s === undefined) return { err: ErrorCode.SESSIONEXPIRED, zxid: this.lastZxidValue };
    const result = await this.write({ type: 'closeSession', sessionId }, s);
    return { err: result.err, zxid: result.zxid };
  }

  /** Submit one request of a session; responses come back in the order requests were submitted. */
  submit(sessionId: bigint, request: ZkRequest): Promise<ZkResponse> {
    const s = this.sessions.get(sessionId);
    if (s === undefined || s.closed) return Promise.resolve({ err: ErrorCode.SESSIONEXPIRED, zxid: this.lastZxidValue });
    s.touched = true;
    return new Promise((resolve) => {
      s.queue.push({ request, resolve });
      if (!s.busy) void this.drain(s);
    });
  }

  private newSession(sessionId: bigint, passwordHex: string, timeoutMs: number, listener: SessionListener, auth?: readonly AclId[]): LocalSession {
    return {
      id: sessionId,
      hex: sessionId.toString(16),
      passwordHex,
      timeoutMs,
      listener,
      queue: [],
      busy: false,
      auth: zooKeeperAuthInfoOrder(auth ?? []),
      attachment: `${this.opts.serverId}.${this.bootNonce}.${++this.attachCounter}`,
      writeCount: 0,
      touched: true,
      closed: false,
    };
  }

  /**
   * Runs a session's requests in order. Writes are pipelined (up to MAX_PIPELINED_WRITES in flight,
   * sent in order, applied in order); a read waits for every earlier request, so it sees the
   * session's own writes and nothing that came after it; responses resolve in request order.
   */
  private async drain(s: LocalSession): Promise<void> {
    s.busy = true;
    let tail: Promise<void> = Promise.resolve();
    let inFlight = 0;
    for (;;) {
      while (s.queue.length > 0 && !s.closed) {
        const item = s.queue.shift()!;
        if (!isWrite(item.request) || inFlight >= MAX_PIPELINED_WRITES) {
          await tail;
          if (s.closed) {
            item.resolve({ err: ErrorCode.SESSIONEXPIRED, zxid: this.lastZxidValue });
            break;
          }
        }
        const response = this.execute(s, item.request).catch(() => ({ err: ErrorCode.SYSTEMERROR, zxid: this.lastZxidValue }));
        if (isWrite(item.request)) {
          inFlight++;
          tail = tail.then(() => response).then((r) => {
            inFlight--;
            item.resolve(r);
          });
        } else {
          item.resolve(await response);
        }
      }
      await tail;
      if (s.queue.length === 0 || s.closed) break;
    }
    for (const item of s.queue.splice(0)) item.resolve({ err: ErrorCode.SESSIONEXPIRED, zxid: this.lastZxidValue });
    s.busy = false;
  }

  // ---------------------------------------------------------------- requests

  private async execute(s: LocalSession, r: ZkRequest): Promise<ZkResponse> {
    const tree = this.tree;
    const auth = s.auth;
    switch (r.op) {
      case 'create': {
        const txn: TreeTxn = { type: 'create', sessionId: s.id, auth, path: r.path, data: r.data, acl: r.acl, mode: r.mode as never, ...(r.ttlMs === undefined ? {} : { ttlMs: r.ttlMs }) };
        const res = await this.write(txn, s);
        const response: ZkResponse = { err: res.err, zxid: res.zxid };
        if (res.path !== undefined) response.path = res.path;
        if (res.stat !== undefined) response.stat = res.stat;
        return response;
      }
      case 'delete':
      case 'check': {
        const res = await this.write({ type: r.op, sessionId: s.id, auth, path: r.path, version: r.version }, s);
        return { err: res.err, zxid: res.zxid };
      }
      case 'setData': {
        const res = await this.write({ type: 'setData', sessionId: s.id, auth, path: r.path, data: r.data, version: r.version }, s);
        const response: ZkResponse = { err: res.err, zxid: res.zxid };
        if (res.stat !== undefined) response.stat = res.stat;
        return response;
      }
      case 'setACL': {
        const res = await this.write({ type: 'setACL', sessionId: s.id, auth, path: r.path, acl: r.acl, version: r.version }, s);
        return { err: res.err, zxid: res.zxid, ...(res.stat === undefined ? {} : { stat: res.stat }) };
      }
      case 'multi': {
        const res = await this.write({ type: 'multi', sessionId: s.id, auth, ops: r.ops }, s);
        return { err: res.err, zxid: res.zxid, results: res.results ?? [] };
      }
      case 'sync': {
        const res = await this.write({ type: 'noop' }, s);
        return { err: res.err, zxid: res.zxid, path: r.path };
      }
      case 'exists': {
        if (r.linearizable) await this.write({ type: 'noop' }, s);
        const stat = tree.exists(r.path);
        if (r.watch) this.watches.addExistsWatch(s.id, r.path);
        return stat === null ? { err: ErrorCode.NONODE, zxid: this.lastZxidValue } : { err: 0, zxid: this.lastZxidValue, stat };
      }
      case 'getData': {
        if (r.linearizable) await this.write({ type: 'noop' }, s);
        const res = tree.readData(r.path, auth);
        if (res.err !== 0) return { err: res.err, zxid: this.lastZxidValue };
        if (r.watch) this.watches.addDataWatch(s.id, r.path);
        return res.data === null
          ? { err: 0, zxid: this.lastZxidValue, data: EMPTY_DATA, nullData: true, stat: res.stat }
          : { err: 0, zxid: this.lastZxidValue, data: res.data, stat: res.stat };
      }
      case 'getChildren': {
        if (r.linearizable) await this.write({ type: 'noop' }, s);
        const res = tree.getChildren2(r.path, auth);
        if (res.err !== 0) return { err: res.err, zxid: this.lastZxidValue };
        if (r.watch) this.watches.addChildWatch(s.id, r.path);
        return { err: 0, zxid: this.lastZxidValue, children: res.children, stat: res.stat };
      }
      case 'getACL': {
        const res = tree.getACL(r.path, auth);
        return res.err !== 0 ? { err: res.err, zxid: this.lastZxidValue } : { err: 0, zxid: this.lastZxidValue, acl: res.acl, stat: res.stat };
      }
      case 'getAllChildrenNumber': {
        const res = tree.getAllChildrenNumber(r.path, auth);
        return res.err !== 0 ? { err: res.err, zxid: this.lastZxidValue } : { err: 0, zxid: this.lastZxidValue, count: res.count };
      }
      case 'getEphemerals':
        return { err: 0, zxid: this.lastZxidValue, ephemerals: tree.getEphemerals(s.id, r.prefix) };
      case 'multiRead': {
        const readResults: ReadResultItem[] = r.ops.map((op) => {
          if (op.op === 'getData') {
            const res = tree.readData(op.path, auth);
            if (res.err !== 0) return { err: res.err };
            return res.data === null ? { err: 0, data: EMPTY_DATA, nullData: true, stat: res.stat } : { err: 0, data: res.data, stat: res.stat };
          }
          const res = tree.getChildren(op.path, auth);
          return res.err !== 0 ? { err: res.err } : { err: 0, children: res.children };
        });
        return { err: 0, zxid: this.lastZxidValue, readResults };
      }
      case 'addWatch':
        // ZooKeeper 3.8 adds the watch whatever the node's ACL (FinalRequestProcessor checks none);
        // the READ check happens when an event fires (see apply).
        return { err: this.watches.addWatch(s.id, r.path, r.mode), zxid: this.lastZxidValue };
      case 'removeWatches':
        return { err: this.watches.removeWatches(s.id, r.path, r.watcherType), zxid: this.lastZxidValue };
      case 'checkWatches':
        return { err: this.watches.checkWatches(s.id, r.path, r.watcherType), zxid: this.lastZxidValue };
      case 'setWatches': {
        const fired = this.watches.setWatches(s.id, r.relativeZxid, r.watches, (path) => {
          const stat = tree.exists(path);
          return stat === null ? null : { mzxid: stat.mzxid, pzxid: stat.pzxid };
        });
        for (const n of fired) s.listener.onWatch({ type: n.type, path: n.path });
        return { err: 0, zxid: this.lastZxidValue };
      }
      case 'addAuth': {
        if (r.scheme !== 'digest') return { err: ErrorCode.AUTHFAILED, zxid: this.lastZxidValue };
        const credentials = Buffer.from(r.auth).toString('utf8');
        // As ZooKeeper's DigestAuthenticationProvider: the id is everything before the first ':' (all of it without one).
        this.addIds(s, digestAuthIds(credentials, this.opts.tree?.superDigest));
        return { err: 0, zxid: this.lastZxidValue };
      }
      case 'addVerifiedIds':
        this.addIds(s, r.ids);
        return { err: 0, zxid: this.lastZxidValue };
      case 'deleteContainer': {
        const res = await this.write({ type: 'deleteContainer', path: r.path }, s);
        return { err: res.err, zxid: res.zxid };
      }
      case 'whoAmI':
        return { err: 0, zxid: this.lastZxidValue, clientInfo: [...s.auth] };
    }
  }

  /** ServerCnxn.addAuthInfo: a set, iterated in ZooKeeper's order (whoAmI, `auth` ACL expansion follow it). */
  private addIds(s: LocalSession, ids: readonly AclId[]): void {
    const fresh = ids.filter((id) => !s.auth.some((a) => a.scheme === id.scheme && a.id === id.id));
    if (fresh.length > 0) s.auth = zooKeeperAuthInfoOrder([...s.auth, ...fresh]);
  }

  // ---------------------------------------------------------------- writes through the log

  /** Propose a transaction and resolve once this server has applied it. */
  private write(txn: TreeTxn, s: LocalSession | undefined, own = false, leaderOnly = false): Promise<ServiceApplyResult> {
    // A stopped server answers nothing: a caller still getting here (a handshake under way) moves on.
    if (this.stopped) return Promise.resolve({ err: ErrorCode.CONNECTIONLOSS, zxid: this.lastZxidValue });
    // Unique across lives of this server: a command of an earlier life may still commit after a restart.
    const id = `${this.opts.serverId}.${this.bootNonce}.${++this.commandCounter}`;
    const payload: ServiceCommand =
      s === undefined ? { t: txn } : { s: s.hex, a: s.attachment, c: ++s.writeCount, ...(own ? { own: true as const } : {}), t: txn };
    const command: Command = { id, payload };
    return new Promise((resolve) => {
      const p: PendingWrite = {
        command,
        done: (result) => {
          if (s !== undefined && (result.err === ErrorCode.SESSIONMOVED || result.err === ErrorCode.CONNECTIONLOSS)) {
            // A write of this session was lost before it was chosen, so later ones were refused to keep
            // the session's order: start a fresh attachment, as a client would after a connection loss.
            if (payload.a === s.attachment && !s.closed && this.sessions.get(s.id) === s) this.reattach(s);
            resolve({ ...result, err: ErrorCode.CONNECTIONLOSS });
            return;
          }
          resolve(result);
        },
        timer: undefined,
        leaderOnly,
      };
      this.pending.set(id, p);
      this.forward(p, null);
    });
  }

  private reattach(s: LocalSession): void {
    s.attachment = `${this.opts.serverId}.${this.bootNonce}.${++this.attachCounter}`;
    s.writeCount = 0;
    void this.write({ type: 'noop' }, s, true);
  }

  /** To the leader (this server's own proposer when it leads); retried until applied here. */
  private forward(p: PendingWrite, hint: NodeId | null): void {
    if (this.stopped || !this.pending.has(p.command.id)) return;
    this.opts.clock.clearTimeout(p.timer);
    const node = this.opts.node;
    if (p.leaderOnly === true && !node.isActiveLeader) {
      this.dropLeaderDecisions();
      return;
    }
    if (!node.submit([p.command], node.id)) {
      const leader = hint ?? node.leader;
      if (leader !== null && leader !== node.id) node.sendTo(leader, { type: 'ClientRequest', command: p.command });
    }
    p.timer = this.opts.clock.setTimeout(() => this.forward(p, null), this.opts.forwardRetryMs ?? DEFAULT_FORWARD_RETRY_MS);
  }

  /** Application.apply: every replica, every command, in log order. */
  apply(command: Command, at: { slot: number; zxidEpoch: number; zxidCounter: number; timeMs: number }): unknown {
    const zxid = (BigInt(at.zxidEpoch) << 32n) | BigInt(at.zxidCounter);
    const c = command.payload as ServiceCommand;
    let result: ServiceApplyResult;
    const owner = c.s === undefined ? undefined : this.lastApplied.get(c.s);
    if (owner !== undefined && c.own !== true && owner.attachment !== c.a) {
      result = { err: ErrorCode.SESSIONMOVED, zxid }; // from a server the session has left
    } else if (owner !== undefined && owner.attachment === c.a && c.c !== undefined && c.c <= owner.count) {
      result = { err: ErrorCode.OK, zxid }; // a retried forward already applied: the first one answered
    } else if (owner !== undefined && c.own !== true && c.c !== undefined && c.c > owner.count + 1) {
      result = { err: ErrorCode.CONNECTIONLOSS, zxid }; // an earlier write of the session is missing: keep FIFO order
    } else {
      if (c.s !== undefined && c.a !== undefined && c.c !== undefined) {
        if (owner !== undefined && owner.attachment === c.a) owner.count = c.c;
        else this.lastApplied.set(c.s, { attachment: c.a, count: c.c });
      }
      const applied = this.tree.apply(c.t, { zxid, timeMs: at.timeMs });
      this.lastZxidValue = zxid;
      // Built field by field: this runs for every write on every replica.
      result = { err: applied.err, zxid };
      if (applied.path !== undefined) result.path = applied.path;
      if (applied.stat !== undefined) result.stat = applied.stat;
      if (applied.results !== undefined) result.results = applied.results;
      // Watch events first: a client must see the event before any response reflecting the change.
      if (applied.triggers.length > 0) {
        for (const n of this.watches.trigger(applied.triggers)) {
          const session = this.sessions.get(n.sessionId);
          // The watch is consumed, but the event reaches only a session that may READ the node
          // (the parent, for NodeChildrenChanged) as it was at the change: ZooKeeper 3.8.4's
          // CVE-2024-23944 fix, which Debian's 3.8.0-11+deb12u2 carries.
          if (session === undefined || (n.acl !== undefined && !this.tree.permits(n.acl, Perms.READ, session.auth))) continue;
          session.listener.onWatch({ type: n.type, path: n.path });
        }
      }
      if (c.t.type === 'closeSession') this.endSession(c.t.sessionId, c.s !== undefined);
    }
    const p = this.pending.get(command.id);
    if (p !== undefined) {
      this.pending.delete(command.id);
      this.opts.clock.clearTimeout(p.timer);
      p.done(result);
    }
    return undefined;
  }

  /**
   * Application.snapshot: the tree (sessions included) and the per-session write order as they are
   * now, the tree encoded a slice per step while commands go on being applied.
   */
  snapshot(): SnapshotEncoding {
    const order: [string, string, number][] = [];
    for (const [hex, o] of this.lastApplied) order.push([hex, o.attachment, o.count]);
    const tree = this.tree.beginSnapshot();
    const budget = this.opts.snapshotStepNodes;
    return {
      step: () => {
        const chunks = tree.step(budget);
        return chunks === null ? null : [framedHeader(SERVICE_SNAPSHOT_MAGIC, { v: SERVICE_SNAPSHOT_VERSION, order }), ...chunks];
      },
      cancel: () => tree.cancel(),
    };
  }

  /** Application.restore: take a snapshot's state (at start, or from a peer when far behind). */
  restore(state: Uint8Array): void {
    const framed = readFramed(state, SERVICE_SNAPSHOT_MAGIC);
    const decoded = (framed === null ? snapshotPackr.unpack(state) : { ...(framed.header as object), tree: framed.body }) as { v?: unknown; tree?: unknown; order?: unknown };
    if (decoded?.v !== (framed === null ? 1 : SERVICE_SNAPSHOT_VERSION)) throw new RangeError(`unknown service snapshot version ${String(decoded?.v)}`);
    if (!(decoded.tree instanceof Uint8Array) || !Array.isArray(decoded.order)) throw new RangeError('malformed service snapshot');
    const order = decoded.order as unknown[];
    for (const o of order) {
      if (!Array.isArray(o) || typeof o[0] !== 'string' || typeof o[1] !== 'string' || !Number.isSafeInteger(o[2])) throw new RangeError('malformed session order in snapshot');
    }
    this.tree.restore(decoded.tree);
    this.lastApplied.clear();
    for (const [hex, attachment, count] of order as [string, string, number][]) this.lastApplied.set(hex, { attachment, count });
    this.lastZxidValue = this.tree.lastZxid;
    // The tree jumped past changes the sessions attached here never saw: drop their connections
    // (failing what they have in flight), as a ZooKeeper follower does when it resyncs.
    for (const s of [...this.sessions.values()]) {
      this.detach(s.id);
      s.listener.onConnectionLost?.();
    }
  }

  private endSession(sessionId: bigint, closedByClient: boolean): void {
    const hex = sessionId.toString(16);
    this.lastApplied.delete(hex);
    this.deadlines.delete(hex);
    this.expiring.delete(hex);
    const s = this.sessions.get(sessionId);
    if (s === undefined) return;
    // Closed by its own closeSession request (answered normally), or expired by the leader.
    s.closed = true;
    this.sessions.delete(sessionId);
    this.watches.removeSession(sessionId);
    s.listener.onSessionEnd(closedByClient ? KeeperState.Closed : KeeperState.Expired);
  }

  // ---------------------------------------------------------------- session liveness (leader)

  private scheduleTick(): void {
    if (this.stopped) return;
    this.tickTimer = this.opts.clock.setTimeout(() => {
      this.tick();
      this.scheduleTick();
    }, this.opts.tickMs / 2);
  }

  private tick(): void {
    const node = this.opts.node;
    const touched: string[] = [];
    for (const s of this.sessions.values()) {
      if (s.touched) touched.push(s.hex);
      s.touched = false;
    }
    if (node.isActiveLeader) {
      for (const hex of touched) this.noteActivity(hex);
      this.expireSessions();
      this.reapNodes();
    } else {
      this.deadlines.clear();
      this.expiring.clear();
      this.dropLeaderDecisions();
      if (touched.length > 0 && node.leader !== null && node.leader !== node.id) node.sendTo(node.leader, { type: 'SessionTouch', sessions: touched });
    }
  }

  /**
   * A deposed leader must not push its expiries through the next leader: the sessions it saw as
   * silent may have been pinging the other side of a partition all along.
   */
  private dropLeaderDecisions(): void {
    for (const [id, p] of this.pending) {
      if (p.leaderOnly !== true) continue;
      this.pending.delete(id);
      this.opts.clock.clearTimeout(p.timer);
      p.done({ err: ErrorCode.CONNECTIONLOSS, zxid: this.lastZxidValue });
    }
    this.reaping = false;
  }

  private noteActivity(hex: string): void {
    const info = this.tree.getSession(BigInt(`0x${hex}`));
    if (info !== undefined) this.deadlines.set(hex, this.opts.now() + info.timeoutMs);
  }

  /** The leader closes sessions that stopped pinging; a new leader gives every session a full timeout first. */
  private expireSessions(): void {
    const now = this.opts.now();
    for (const sessionId of this.tree.sessionIds()) {
      const hex = sessionId.toString(16);
      const deadline = this.deadlines.get(hex);
      if (deadline === undefined) {
        this.deadlines.set(hex, now + (this.tree.getSession(sessionId)?.timeoutMs ?? 0));
      } else if (deadline < now && !this.expiring.has(hex)) {
        this.expiring.add(hex);
        void this.write({ type: 'closeSession', sessionId }, undefined, false, true);
      }
    }
  }

  /** Containers left empty and TTL nodes past their time are removed by the leader, through the log. */
  private reapNodes(): void {
    if (this.reaping) return;
    const paths = [...this.tree.containerCandidates(), ...this.tree.expiredTtlNodes(this.opts.now())];
    if (paths.length === 0) return;
    this.reaping = true;
    void this.write({ type: 'reapExpired', paths }, undefined, false, true).then(() => {
      this.reaping = false;
    });
  }
}

/** ZooKeeper's SessionTrackerImpl.initializeNextSession: server id in the top byte, time below. */
export function initialSessionId(serverId: number, nowMs: number): bigint {
  const time = (BigInt(Math.floor(nowMs)) << 24n) & 0x00ffffffffffffffn;
  return (BigInt(serverId & 0xff) << 56n) | (time >> 8n);
}
