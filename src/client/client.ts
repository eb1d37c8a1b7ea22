/**
 * The embedded client: ZooKeeper's client API, promise-based and typed, for a Node.js service that
 * runs an ensemble in its own process (EmbeddedEnsemble). It keeps ZooKeeper's session semantics:
 * a lost connection (state `disconnected`) is not a lost session (state `expired`); the client
 * moves to another server with its session id and password and re-registers its watches. As
 * ZooKeeper's client does, it gives each attempt a connect timeout (the session timeout over the
 * server count) and moves on from a server that dies or stays silent; an attempt it gave up on that
 * completes later is detached (or, for a new session, closed).
 */
import type { SessionGrant, SessionListener, ZkRequest, ZkResponse } from '../node/service.js';
import type { MultiOp } from '../tree/txn.js';
import type { OpResult } from '../tree/index.js';
import { AddWatchMode, CreateMode, ErrorCode, EventType, KeeperState, OPEN_ACL_UNSAFE } from '../protocol/zookeeper.js';
import type { Acl, Stat } from '../protocol/zookeeper.js';
import { ConnectionLossError, keeperError, KeeperError, SessionExpiredError } from './errors.js';
import type { EmbeddedEnsemble, EmbeddedServer } from './ensemble.js';

export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'closed';

export interface WatchedEvent {
  /** ZooKeeper's EventType number (NodeCreated 1, NodeDeleted 2, NodeDataChanged 3, NodeChildrenChanged 4). */
  readonly type: number;
  readonly name: 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged' | 'Other';
  readonly path: string;
}
export type Watcher = (event: WatchedEvent) => void;

export type CreateModeName =
  | 'persistent'
  | 'ephemeral'
  | 'persistentSequential'
  | 'ephemeralSequential'
  | 'container'
  | 'persistentWithTtl'
  | 'persistentSequentialWithTtl';

const MODES: Record<CreateModeName, number> = {
  persistent: CreateMode.PERSISTENT,
  ephemeral: CreateMode.EPHEMERAL,
  persistentSequential: CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeralSequential: CreateMode.EPHEMERAL_SEQUENTIAL,
  container: CreateMode.CONTAINER,
  persistentWithTtl: CreateMode.PERSISTENT_WITH_TTL,
  persistentSequentialWithTtl: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
};

export interface CreateOptions {
  readonly mode?: CreateModeName;
  readonly acl?: readonly Acl[];
  readonly ttlMs?: number;
}

export interface ConnectOptions {
  /** Requested session timeout; the server negotiates it into its bounds. */
  readonly sessionTimeoutMs?: number;
  /** Attach to this server id first (default: a random one). */
  readonly server?: number;
}

/** One operation of a multi, as the builder helpers below make them. */
export type Op = MultiOp;

export const op = {
  create: (path: string, data: Uint8Array | string = '', options: CreateOptions = {}): Op => ({
    type: 'create',
    path,
    data: bytes(data),
    acl: options.acl ?? OPEN_ACL_UNSAFE,
    mode: MODES[options.mode ?? 'persistent'] as never,
    ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
  }),
  delete: (path: string, version = -1): Op => ({ type: 'delete', path, version }),
  setData: (path: string, data: Uint8Array | string, version = -1): Op => ({ type: 'setData', path, data: bytes(data), version }),
  check: (path: string, version: number): Op => ({ type: 'check', path, version }),
};

/** A failed multi: `code` is the failing op's error, `results` ZooKeeper's per-op results. */
export class MultiError extends KeeperError {
  readonly results: readonly OpResult[];
  constructor(code: number, results: readonly OpResult[]) {
    super(code);
    this.results = results;
  }
}

interface InFlight {
  readonly reject: (err: Error) => void;
}

/** Shortest connect timeout: an attempt also waits for a commit, which a busy machine slows. */
const MIN_CONNECT_TIMEOUT_MS = 1000;
/** Pause between connection attempts. */
const RECONNECT_PAUSE_MS = 50;

export class ZooKeeperClient {
  private readonly ensemble: EmbeddedEnsemble;
  private server: EmbeddedServer | undefined;
  private grant: SessionGrant | undefined;
  private stateValue: SessionState = 'connecting';
  private readonly stateListeners = new Set<(s: SessionState) => void>();
  private readonly inFlight = new Set<InFlight>();
  private readonly dataWatchers = new Map<string, Set<Watcher>>();
  private readonly existWatchers = new Map<string, Set<Watcher>>();
  private readonly childWatchers = new Map<string, Set<Watcher>>();
  private readonly persistentWatchers = new Map<string, Set<Watcher>>();
  private readonly recursiveWatchers = new Map<string, Set<Watcher>>();
  private readonly auths: { scheme: string; auth: Uint8Array }[] = [];
  private lastZxidSeen = 0n;
  private reconnecting: Promise<void> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(ensemble: EmbeddedEnsemble) {
    this.ensemble = ensemble;
  }

  /** Open a session on the ensemble. */
  static async connect(ensemble: EmbeddedEnsemble, options: ConnectOptions = {}): Promise<ZooKeeperClient> {
    const client = new ZooKeeperClient(ensemble);
    await client.open(options.sessionTimeoutMs ?? 10_000, options.server);
    return client;
  }

  get state(): SessionState {
    return this.stateValue;
  }
  get sessionId(): bigint {
    return this.grant?.sessionId ?? 0n;
  }
  get sessionTimeoutMs(): number {
    return this.grant?.timeoutMs ?? 0;
  }
  /** The server this client is attached to. */
  get serverId(): number | undefined {
    return this.server?.id;
  }

  /** Listen to session state changes; returns the unsubscribe function. */
  onStateChange(listener: (state: SessionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  async create(path: string, data: Uint8Array | string = '', options: CreateOptions = {}): Promise<string> {
    return (await this.create2(path, data, options)).path;
  }

  /** create, returning the created path (with its sequence suffix) and the new node's Stat. */
  async create2(path: string, data: Uint8Array | string = '', options: CreateOptions = {}): Promise<{ path: string; stat: Stat }> {
    const o = op.create(path, data, options) as Extract<Op, { type: 'create' }>;
    const r = await this.call({ op: 'create', path, data: o.data, acl: o.acl, mode: o.mode, ...(o.ttlMs === undefined ? {} : { ttlMs: o.ttlMs }) }, path);
    return { path: r.path!, stat: r.stat! };
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.call({ op: 'delete', path, version }, path);
  }

  /** The node's Stat, or null. A watcher fires once on NodeCreated, NodeDeleted or NodeDataChanged. */
  async exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    const r = await this.call({ op: 'exists', path, watch: watcher !== undefined }, path, [ErrorCode.NONODE]);
    if (watcher) register(r.err === 0 ? this.dataWatchers : this.existWatchers, path, watcher);
    return r.err === 0 ? r.stat! : null;
  }

  async getData(path: string, watcher?: Watcher): Promise<{ data: Uint8Array; stat: Stat }> {
    const r = await this.call({ op: 'getData', path, watch: watcher !== undefined }, path);
    if (watcher) register(this.dataWatchers, path, watcher);
    return { data: r.data!, stat: r.stat! };
  }

  /** getData confirmed with a quorum (a sync first): linearizable, at the cost of one log write. */
  async getDataLinearizable(path: string): Promise<{ data: Uint8Array; stat: Stat }> {
    const r = await this.call({ op: 'getData', path, watch: false, linearizable: true }, path);
    return { data: r.data!, stat: r.stat! };
  }

  async setData(path: string, data: Uint8Array | string, version = -1): Promise<Stat> {
    return (await this.call({ op: 'setData', path, data: bytes(data), version }, path)).stat!;
  }

  async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return (await this.getChildren2(path, watcher)).children;
  }

  async getChildren2(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: Stat }> {
    const r = await this.call({ op: 'getChildren', path, watch: watcher !== undefined }, path);
    if (watcher) register(this.childWatchers, path, watcher);
    return { children: r.children!, stat: r.stat! };
  }

  async getACL(path: string): Promise<{ acl: Acl[]; stat: Stat }> {
    const r = await this.call({ op: 'getACL', path }, path);
    return { acl: r.acl!, stat: r.stat! };
  }

  async setACL(path: string, acl: readonly Acl[], version = -1): Promise<Stat> {
    return (await this.call({ op: 'setACL', path, acl, version }, path)).stat!;
  }

  async getAllChildrenNumber(path: string): Promise<number> {
    return (await this.call({ op: 'getAllChildrenNumber', path }, path)).count!;
  }

  async getEphemerals(prefix = '/'): Promise<string[]> {
    return (await this.call({ op: 'getEphemerals', prefix })).ephemerals!;
  }

  /** All or nothing. On failure throws MultiError with the failing code and per-op results. */
  async multi(ops: readonly Op[]): Promise<readonly OpResult[]> {
    const r = await this.call({ op: 'multi', ops }, undefined, 'any');
    if (r.err !== 0) throw new MultiError(r.err, r.results ?? []);
    return r.results ?? [];
  }

  /** Bring the attached server up to date with the leader (reads after it see every earlier write). */
  async sync(path = '/'): Promise<void> {
    await this.call({ op: 'sync', path }, path);
  }

  /** A persistent (optionally recursive) watch; returns a function that removes it. */
  async addWatch(path: string, watcher: Watcher, options: { recursive?: boolean } = {}): Promise<() => Promise<void>> {
    const mode = options.recursive ? AddWatchMode.PERSISTENT_RECURSIVE : AddWatchMode.PERSISTENT;
    await this.call({ op: 'addWatch', path, mode }, path);
    const table = options.recursive ? this.recursiveWatchers : this.persistentWatchers;
    register(table, path, watcher);
    return async () => {
      const set = table.get(path);
      set?.delete(watcher);
      if (set !== undefined && set.size === 0) {
        table.delete(path);
        await this.call({ op: 'removeWatches', path, watcherType: 3 }, path, [ErrorCode.NOWATCHER]);
      }
    };
  }

  /** addAuth('digest', 'user:password'): remembered and re-sent when the client moves servers. */
  async addAuth(scheme: string, credentials: string | Uint8Array): Promise<void> {
    const auth = bytes(credentials);
    await this.call({ op: 'addAuth', scheme, auth });
    this.auths.push({ scheme, auth });
  }

  /** End the session: its ephemerals are deleted at once. */
  async close(): Promise<void> {
    if (this.stateValue === 'closed' || this.stateValue === 'expired') return;
    const server = this.server;
    if (server !== undefined && server.up && this.grant !== undefined) {
      await server.service.closeSession(this.grant.sessionId);
    }
    this.setState('closed');
    for (const f of this.inFlight) f.reject(new KeeperError(ErrorCode.SESSIONEXPIRED));
    this.inFlight.clear();
    this.detachFrom(server);
  }

  // ------------------------------------------------------------------ plumbing

  private async call(request: ZkRequest, path?: string, allowed: readonly number[] | 'any' = []): Promise<ZkResponse> {
    if (this.reconnecting) await this.reconnecting;
    if (this.stateValue === 'expired') throw new SessionExpiredError(ErrorCode.SESSIONEXPIRED, path);
    if (this.stateValue === 'closed') throw new KeeperError(ErrorCode.SESSIONEXPIRED, path);
    const server = this.server;
    if (server === undefined || !server.up || this.grant === undefined) throw new ConnectionLossError(ErrorCode.CONNECTIONLOSS, path);
    const response = await new Promise<ZkResponse>((resolve, reject) => {
      const entry: InFlight = { reject };
      this.inFlight.add(entry);
      server.service.submit(this.grant!.sessionId, request).then(
        (r) => {
          this.inFlight.delete(entry);
          resolve(r);
        },
        (e: unknown) => {
          this.inFlight.delete(entry);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
    if (response.zxid > this.lastZxidSeen) this.lastZxidSeen = response.zxid;
    if (response.err !== 0 && allowed !== 'any' && !allowed.includes(response.err)) throw keeperError(response.err, path);
    return response;
  }

  /**
   * Create the session on some server, moving on from one that goes down or does not answer within
   * a connect timeout (as ZooKeeper's client does), until twice the session timeout has passed.
   */
  private async open(timeoutMs: number, preferred?: number): Promise<void> {
    const deadline = Date.now() + 2 * timeoutMs;
    let server = this.pickServer(preferred);
    for (;;) {
      const attempt = server.service.openSession({ sessionId: 0n, timeoutMs }, this.listener(server));
      const grant = await this.unlessAbandoned(server, attempt, this.connectTimeoutMs(timeoutMs));
      if (grant !== undefined && 'err' in grant && grant.err !== ErrorCode.CONNECTIONLOSS) throw keeperError(grant.err);
      if (grant !== undefined && !('err' in grant) && server.up) {
        this.grant = grant;
        this.attachTo(server);
        this.setState('connected');
        return;
      }
      if (grant === undefined) {
        // A session created after we gave up on it would linger until it expired: close it.
        const abandoned = server;
        void attempt.then((late) => {
          if (!('err' in late) && abandoned.up) void abandoned.service.closeSession(late.sessionId).catch(() => undefined);
        }, () => undefined);
      }
      if (Date.now() > deadline) throw new ConnectionLossError(ErrorCode.CONNECTIONLOSS);
      await new Promise((r) => setTimeout(r, RECONNECT_PAUSE_MS));
      server = this.pickServer();
    }
  }

  /** ZooKeeper's client gives each connection attempt the session timeout over the server count. */
  private connectTimeoutMs(sessionTimeoutMs: number): number {
    return Math.max(MIN_CONNECT_TIMEOUT_MS, Math.floor(sessionTimeoutMs / Math.max(1, this.ensemble.servers.length)));
  }

  /**
   * `work`'s result, or undefined if `server` goes down or `timeoutMs` passes first (or `work`
   * fails): a handshake with a server that died or hangs must not hold the client.
   */
  private async unlessAbandoned<T>(server: EmbeddedServer, work: Promise<T>, timeoutMs: number): Promise<T | undefined> {
    if (!server.up) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let watcher: { serverDown(id: number): void } | undefined;
    const abandoned = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      watcher = { serverDown: () => resolve(undefined) };
      this.ensemble.watchServer(server.id, watcher);
    });
    try {
      return await Promise.race([work.catch(() => undefined), abandoned]);
    } finally {
      clearTimeout(timer);
      this.ensemble.unwatchServer(server.id, watcher!);
    }
  }

  private listener(server: EmbeddedServer): SessionListener {
    return {
      onWatch: (event) => {
        if (this.server === server) this.dispatch(event.type, event.path);
      },
      onSessionEnd: (state) => {
        if (this.server !== server) return;
        if (state === KeeperState.Expired) this.expire();
      },
      onConnectionLost: () => {
        if (this.server === server) this.serverDown(server.id);
      },
    };
  }

  private attachTo(server: EmbeddedServer): void {
    this.server = server;
    this.ensemble.watchServer(server.id, this);
  }

  private detachFrom(server: EmbeddedServer | undefined): void {
    if (server === undefined) return;
    this.ensemble.unwatchServer(server.id, this);
    if (server.up && this.grant !== undefined) server.service.detach(this.grant.sessionId);
    if (this.server === server) this.server = undefined;
  }

  /** Called by the ensemble when the attached server goes down: move to another server. */
  serverDown(id: number): void {
    if (this.server?.id !== id || this.stateValue !== 'connected') return;
    this.server = undefined;
    this.setState('disconnected');
    for (const f of this.inFlight) f.reject(new ConnectionLossError(ErrorCode.CONNECTIONLOSS));
    this.inFlight.clear();
    this.reconnecting = this.reconnect().finally(() => {
      this.reconnecting = undefined;
    });
  }

  private async reconnect(): Promise<void> {
    const deadline = Date.now() + (this.grant?.timeoutMs ?? 10_000) * 2;
    while (this.stateValue === 'disconnected') {
      const candidates = this.ensemble.servers.filter((s) => s.up);
      const server = candidates[Math.floor(Math.random() * candidates.length)];
      if (server !== undefined && this.grant !== undefined) {
        const outcome = await this.moveTo(server, this.grant);
        if (outcome === 'moved' && server.up) {
          this.setState('connected');
          return;
        }
        if (outcome === 'moved') this.detachFrom(server);
        if (outcome === 'expired') {
          this.expire();
          return;
        }
      }
      if (Date.now() > deadline) {
        this.expire();
        return;
      }
      await new Promise((r) => setTimeout(r, RECONNECT_PAUSE_MS));
    }
  }

  /**
   * Reattach the session to `server`: reopen it there, then re-send auth and watches. 'retry' when
   * the server went down, did not answer within the connect timeout, or lost the connection on the
   * way (the client then tries another); 'expired' when the session is gone.
   */
  private async moveTo(server: EmbeddedServer, grant: SessionGrant): Promise<'moved' | 'retry' | 'expired'> {
    const timeoutMs = this.connectTimeoutMs(grant.timeoutMs);
    const attempt = server.service.openSession(
      { sessionId: grant.sessionId, passwordHex: grant.passwordHex, timeoutMs: grant.timeoutMs, lastZxidSeen: this.lastZxidSeen },
      this.listener(server),
    );
    const reopened = await this.unlessAbandoned(server, attempt, timeoutMs);
    if (reopened === undefined) {
      // Attached there after we gave up: let go, unless the client came back to that server since.
      void attempt.then((late) => {
        if (!('err' in late) && server.up && this.server !== server) server.service.detach(late.sessionId);
      }, () => undefined);
      return 'retry';
    }
    if ('err' in reopened) return reopened.err === ErrorCode.SESSIONEXPIRED || reopened.err === ErrorCode.AUTHFAILED ? 'expired' : 'retry';
    this.attachTo(server);
    const handshake = [
      ...this.auths.map((a) => ({ op: 'addAuth' as const, scheme: a.scheme, auth: a.auth })),
      {
        op: 'setWatches' as const,
        relativeZxid: this.lastZxidSeen,
        watches: {
          data: [...this.dataWatchers.keys()],
          exist: [...this.existWatchers.keys()],
          child: [...this.childWatchers.keys()],
          persistent: [...this.persistentWatchers.keys()],
          persistentRecursive: [...this.recursiveWatchers.keys()],
        },
      },
    ];
    for (const request of handshake) {
      const reply = await this.unlessAbandoned(server, server.service.submit(reopened.sessionId, request), timeoutMs);
      if (reply === undefined || reply.err === ErrorCode.CONNECTIONLOSS || !server.up) {
        this.detachFrom(server);
        return 'retry';
      }
      if (reply.err === ErrorCode.SESSIONEXPIRED) return 'expired';
    }
    return 'moved';
  }

  private expire(): void {
    if (this.stateValue === 'expired' || this.stateValue === 'closed') return;
    for (const f of this.inFlight) f.reject(new SessionExpiredError(ErrorCode.SESSIONEXPIRED));
    this.inFlight.clear();
    this.detachFrom(this.server);
    this.setState('expired');
  }

  private setState(state: SessionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    // An idle session stays alive by pinging its server every third of the timeout, as ZooKeeper clients do.
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    if (state === 'connected' && this.grant !== undefined) {
      this.pingTimer = setInterval(() => {
        if (this.grant !== undefined && this.server?.up) this.server.service.touch(this.grant.sessionId);
      }, Math.max(10, Math.floor(this.grant.timeoutMs / 3)));
      this.pingTimer.unref?.();
    }
    for (const l of this.stateListeners) l(state);
  }

  /** ZooKeeper's client-side watch rules (ZKWatchManager.materialize). */
  private dispatch(type: number, path: string): void {
    const fire = new Set<Watcher>();
    const take = (table: Map<string, Set<Watcher>>) => {
      const set = table.get(path);
      if (set === undefined) return;
      for (const w of set) fire.add(w);
      table.delete(path);
    };
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        take(this.dataWatchers);
        take(this.existWatchers);
        break;
      case EventType.NodeChildrenChanged:
        take(this.childWatchers);
        break;
      case EventType.NodeDeleted:
        take(this.dataWatchers);
        take(this.existWatchers);
        take(this.childWatchers);
        break;
    }
    for (const w of this.persistentWatchers.get(path) ?? []) fire.add(w);
    if (type !== EventType.NodeChildrenChanged) {
      for (let p: string | null = path; p !== null; p = parentOf(p)) for (const w of this.recursiveWatchers.get(p) ?? []) fire.add(w);
    }
    const event: WatchedEvent = { type, name: eventName(type), path };
    for (const w of fire) {
      try {
        w(event);
      } catch {
        // a watcher's own failure must not stop the others
      }
    }
  }

  private pickServer(preferred?: number): EmbeddedServer {
    const up = this.ensemble.servers.filter((s) => s.up);
    const chosen = up.find((s) => s.id === preferred) ?? up[Math.floor(Math.random() * up.length)];
    if (chosen === undefined) throw new ConnectionLossError(ErrorCode.CONNECTIONLOSS);
    return chosen;
  }
}

function register(table: Map<string, Set<Watcher>>, path: string, watcher: Watcher): void {
  let set = table.get(path);
  if (set === undefined) {
    set = new Set();
    table.set(path, set);
  }
  set.add(watcher);
}

function parentOf(path: string): string | null {
  if (path === '/') return null;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function eventName(type: number): WatchedEvent['name'] {
  switch (type) {
    case EventType.NodeCreated:
      return 'NodeCreated';
    case EventType.NodeDeleted:
      return 'NodeDeleted';
    case EventType.NodeDataChanged:
      return 'NodeDataChanged';
    case EventType.NodeChildrenChanged:
      return 'NodeChildrenChanged';
    default:
      return 'Other';
  }
}

function bytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}
