/**
 * A simulated ZooKeeper client on virtual time: one session, attached to one server at a time,
 * calling CoordinationService.submit directly as the embedded client does, with ZooKeeper's
 * client-side connection rules:
 *
 * - pings (service.touch) every sessionTimeout/3;
 * - the connection counts as lost when the server goes down (a TCP reset), stops serving (a
 *   ZooKeeper follower without a leader closes its connections), or leaves a request unanswered for
 *   longer than the read timeout (2/3 of the session timeout: ZooKeeper's ping replies queue behind
 *   requests, so a stuck request starves the pings);
 * - a lost connection fails the outstanding request as unknown (`lost`), and the client moves to
 *   another serving server with its session id and password, re-registering its watches
 *   (SetWatches with the last zxid it saw); the session ends only when a server says it expired.
 *
 * `freeze()` models a paused client process (a long GC): no pings, and notifications wait until
 * `thaw()`, so the process keeps believing what it believed when it stopped.
 */
import { INDETERMINATE_ERRORS } from '../../check/lin/znode-model.js';
import type { SessionGrant, SessionListener, ZkRequest, ZkResponse } from '../../node/service.js';
import type { NodeId } from '../../protocol/ids.js';
import { SeededRandom } from '../../protocol/random.js';
import { ErrorCode, EventType, KeeperState } from '../../protocol/zookeeper.js';
import type { ZkServer, ZkSimCluster } from './cluster.js';
import { SIM_SESSION_TIMEOUT_MS } from './scenario.js';

/** Pause between connection attempts when no server is serving or an attempt failed. */
export const RECONNECT_BACKOFF_MS = 25;
/** Lower bound of the connect timeout (ZooKeeper's is sessionTimeout / number of servers). */
export const MIN_CONNECT_TIMEOUT_MS = 100;

export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'closed';

/**
 * What became of a request: the server's answer (`ok`, any error code included), `lost` (the
 * connection or session ended while it was outstanding: it may or may not take effect), or
 * `expired` (the session was already over, so it was never sent).
 */
export type CallOutcome =
  | { readonly kind: 'ok'; readonly response: ZkResponse; readonly server: NodeId }
  | { readonly kind: 'lost' }
  | { readonly kind: 'expired' };

/** A watch notification as a client process sees it. */
export interface ClientEvent {
  readonly type: number;
  readonly path: string;
  readonly atMs: number;
}

/** The client's view of what happened, in the order it happened (recorded with `journal: true`). */
export type JournalEntry =
  | { readonly kind: 'event'; readonly atMs: number; readonly type: number; readonly path: string; readonly sessionId: bigint }
  | { readonly kind: 'response'; readonly atMs: number; readonly request: ZkRequest; readonly response: ZkResponse; readonly sessionId: bigint; readonly server: NodeId }
  | { readonly kind: 'lost'; readonly atMs: number; readonly request: ZkRequest; readonly sessionId: bigint }
  | { readonly kind: 'state'; readonly atMs: number; readonly state: SessionState; readonly sessionId: bigint; readonly server: NodeId | undefined };

/**
 * A write the ensemble answered with a definite result: it was applied at `response.zxid` (a refused
 * transaction such as NODEEXISTS included; indeterminate answers are not recorded).
 */
export interface AnsweredWrite {
  readonly clientId: number;
  readonly sessionId: bigint;
  readonly request: ZkRequest;
  readonly response: ZkResponse;
  readonly atMs: number;
}

export interface SimClientOptions {
  /** The client's number: its process id in histories. */
  readonly id: number;
  /** Requested session timeout (negotiated by the server into its bounds). */
  readonly sessionTimeoutMs?: number;
  /** Server to try first. */
  readonly server?: NodeId;
  /** Record a journal of events, responses and state changes (for watch checks). */
  readonly journal?: boolean;
}

const WRITE_OPS: ReadonlySet<ZkRequest['op']> = new Set(['create', 'delete', 'setData', 'setACL', 'check', 'multi']);

interface Connection {
  readonly server: ZkServer;
}

interface InFlight {
  readonly token: number;
  readonly request: ZkRequest;
  readonly sentAtMs: number;
  readonly resolve: (outcome: CallOutcome) => void;
}

export class SimZkClient {
  readonly id: number;
  /** Every write the ensemble answered to this client, in answer order. */
  readonly answeredWrites: AnsweredWrite[] = [];
  /** Protocol answers a ZooKeeper client would not expect (the session still ends as it must). */
  readonly anomalies: string[] = [];
  /** With `journal: true`: events, responses, lost requests and state changes, in order. */
  readonly journal: JournalEntry[] | undefined;
  private readonly cluster: ZkSimCluster;
  private readonly requestedTimeoutMs: number;
  private readonly preferredServer: NodeId | undefined;
  private readonly random: SeededRandom;
  private stateValue: SessionState = 'connecting';
  private connection: Connection | undefined;
  private session: SessionGrant | undefined;
  private inFlight: InFlight | undefined;
  private callSeq = 0;
  private lastZxidSeenValue = 0n;
  private frozen = false;
  private readonly deferred: (() => void)[] = [];
  private readonly stateWaiters: (() => void)[] = [];
  private readonly eventListeners = new Set<(event: ClientEvent) => void>();
  private pingTimer: unknown;
  private reconnecting = false;
  private closing = false;
  private unansweredAttempts = 0;
  // Watches the client holds, by path, re-registered after a move (ZooKeeper's ZKWatchManager).
  private readonly dataWatches = new Set<string>();
  private readonly existWatches = new Set<string>();
  private readonly childWatches = new Set<string>();
  private readonly persistentWatches = new Set<string>();
  private readonly recursiveWatches = new Set<string>();

  constructor(cluster: ZkSimCluster, options: SimClientOptions) {
    this.cluster = cluster;
    this.id = options.id;
    this.requestedTimeoutMs = options.sessionTimeoutMs ?? SIM_SESSION_TIMEOUT_MS;
    this.preferredServer = options.server;
    this.random = new SeededRandom((cluster.scenario.seed ^ Math.imul(options.id + 1, 0x9e3779b1)) | 0);
    this.journal = options.journal === true ? [] : undefined;
    cluster.addWatcher(this);
  }

  get state(): SessionState {
    return this.stateValue;
  }
  /** The current session (0 before the first one is granted). */
  get sessionId(): bigint {
    return this.session?.sessionId ?? 0n;
  }
  /** The negotiated session timeout (the requested one before a grant). */
  get sessionTimeoutMs(): number {
    return this.session?.timeoutMs ?? this.requestedTimeoutMs;
  }
  /** The server the client is attached to. */
  get serverId(): NodeId | undefined {
    return this.connection?.server.id;
  }
  get lastZxidSeen(): bigint {
    return this.lastZxidSeenValue;
  }
  get isFrozen(): boolean {
    return this.frozen;
  }
  /** Whether a request is outstanding. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }
  /**
   * openSession calls not answered yet, abandoned ones included: the service cannot cancel one, so
   * an attempt the client gave up on may still complete later (and counts as session activity then).
   */
  get pendingAttempts(): number {
    return this.unansweredAttempts;
  }

  /** Listen to watch notifications; returns the unsubscribe function. */
  onEvent(listener: (event: ClientEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Resolves at the next session state change. */
  nextStateChange(): Promise<void> {
    return new Promise((resolve) => this.stateWaiters.push(resolve));
  }

  /**
   * Open a new session (after an expiry too: the client gets a new session id and no watches).
   * Resolves true once connected; false if the client was closed.
   */
  async connect(): Promise<boolean> {
    if (this.hasSession()) return true;
    if (this.stateValue === 'closed') return false;
    this.session = undefined;
    this.lastZxidSeenValue = 0n;
    this.clearWatches();
    this.setState('connecting');
    let first = true;
    while (this.stateValue === 'connecting') {
      const server = this.pickServer(first ? this.preferredServer : undefined);
      first = false;
      if (server === undefined) {
        await this.cluster.sleep(RECONNECT_BACKOFF_MS);
        continue;
      }
      const result = await this.tryOpen(server, undefined);
      if (this.stateValue !== 'connecting') break;
      if (result === undefined || 'err' in result.grant) {
        await this.cluster.sleep(RECONNECT_BACKOFF_MS);
        continue;
      }
      this.attach(result.connection, result.grant);
    }
    return this.hasSession();
  }

  /** Connected, or between servers with a session not known to be over. */
  hasSession(): boolean {
    return this.stateValue === 'connected' || this.stateValue === 'disconnected';
  }

  /**
   * Send one request (one at a time, as a history's process) and wait for its outcome. While the
   * client is between servers the request waits for the reconnection, as ZooKeeper's client queues it.
   */
  async call(request: ZkRequest): Promise<CallOutcome> {
    if (this.inFlight !== undefined) throw new Error(`client ${this.id}: a request is already outstanding`);
    for (;;) {
      if (this.stateValue === 'expired' || this.stateValue === 'closed') return { kind: 'expired' };
      if (this.stateValue === 'connected' && !this.frozen) break;
      await this.nextStateChange();
    }
    const connection = this.connection!;
    const sessionId = this.sessionId;
    const token = ++this.callSeq;
    return new Promise<CallOutcome>((resolve) => {
      this.inFlight = { token, request, sentAtMs: this.cluster.now(), resolve };
      void connection.server.service.submit(sessionId, request).then((response) => {
        if (this.inFlight?.token !== token) return; // the connection was lost meanwhile: already `lost`
        this.inFlight = undefined;
        if (response.zxid > this.lastZxidSeenValue) this.lastZxidSeenValue = response.zxid;
        if (response.err === ErrorCode.SESSIONEXPIRED) {
          // The server ended the session while the request waited: it never ran, but ZooKeeper
          // clients treat it as unknown, and so do we.
          this.record({ kind: 'lost', atMs: this.cluster.now(), request, sessionId });
          resolve({ kind: 'lost' });
          this.expire();
          return;
        }
        this.noteResponse(request, response, sessionId, connection.server.id);
        resolve({ kind: 'ok', response, server: connection.server.id });
        // Another attachment owns the session now (a late connection attempt elsewhere claimed it):
        // reconnect, which claims it back, as a ZooKeeper client does after SESSIONMOVED.
        if (response.err === ErrorCode.SESSIONMOVED && this.connection?.server === connection.server) this.connectionLost();
      });
    });
  }

  /** Stop the process: no pings, notifications held back until `thaw`. */
  freeze(): void {
    this.frozen = true;
  }

  /** Resume the process: held notifications are delivered, and the connection is checked at once. */
  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    for (const fn of this.deferred.splice(0)) fn();
    this.ping();
    this.notifyState();
  }

  /** closeSession, then stop. Gives up waiting after one session timeout (the session then expires). */
  async close(): Promise<void> {
    if (this.stateValue === 'closed' || this.stateValue === 'expired') {
      this.setState('closed');
      return;
    }
    const connection = this.connection;
    const sessionId = this.sessionId;
    this.closing = true;
    if (this.stateValue === 'connected' && connection !== undefined && !this.frozen) {
      await Promise.race([connection.server.service.closeSession(sessionId), this.cluster.sleep(this.sessionTimeoutMs)]);
    }
    this.dropConnection();
    this.setState('closed');
    this.cluster.removeWatcher(this);
  }

  /** ServerWatcher: the attached server crashed (its TCP connections reset). */
  serverDown(id: NodeId): void {
    if (this.connection?.server.id === id) this.connectionLost();
  }

  // ------------------------------------------------------------------ connection

  private pickServer(preferred?: NodeId): ZkServer | undefined {
    const serving = this.cluster.serverIds.filter((id) => this.cluster.isServing(id));
    if (serving.length === 0) return undefined;
    const id = preferred !== undefined && serving.includes(preferred) ? preferred : this.random.pick(serving);
    return this.cluster.server(id);
  }

  private get connectTimeoutMs(): number {
    return Math.max(MIN_CONNECT_TIMEOUT_MS, this.sessionTimeoutMs / this.cluster.serverIds.length);
  }

  /** One openSession attempt, abandoned after the connect timeout (a late grant is detached). */
  private tryOpen(server: ZkServer, session: SessionGrant | undefined): Promise<{ connection: Connection; grant: SessionGrant | { err: number } } | undefined> {
    const connection: Connection = { server };
    return new Promise((resolve) => {
      let settled = false;
      const timer = this.cluster.schedule(this.connectTimeoutMs, () => {
        if (settled) return;
        settled = true;
        resolve(undefined);
      });
      // Like ZooKeeper's ConnectRequest, a reconnect says the last zxid the client saw, so that a
      // server behind it can refuse (or catch up) instead of showing it older state.
      const request =
        session === undefined
          ? { sessionId: 0n, timeoutMs: this.requestedTimeoutMs }
          : { sessionId: session.sessionId, passwordHex: session.passwordHex, timeoutMs: session.timeoutMs, lastZxidSeen: this.lastZxidSeenValue };
      this.unansweredAttempts++;
      void server.service.openSession(request, this.listener(connection)).then((grant) => {
        this.unansweredAttempts--;
        if (!settled) {
          settled = true;
          this.cluster.cancel(timer);
          resolve({ connection, grant });
          return;
        }
        // Too late: this client gave up on the attempt. Close the connection it would have used,
        // unless the client got attached to that server with that session in the meantime: then the
        // server now talks to this attempt's listener, so this attempt's connection is the live one.
        if ('err' in grant || this.cluster.server(server.id) !== server) return;
        const attachedThere = this.connection?.server === server && this.sessionId === grant.sessionId;
        if (attachedThere) this.connection = connection;
        else server.service.detach(grant.sessionId);
      });
    });
  }

  private listener(connection: Connection): SessionListener {
    const deliver = (fn: () => void) => {
      if (this.connection !== connection) return;
      if (this.frozen) this.deferred.push(() => this.connection === connection && fn());
      else fn();
    };
    return {
      onWatch: (event) => deliver(() => this.dispatch(event.type, event.path)),
      onConnectionLost: () => {
        if (this.connection === connection) this.connectionLost();
      },
      onSessionEnd: (state) =>
        deliver(() => {
          if (state === KeeperState.Closed && this.closing) {
            this.setState('closed');
            return;
          }
          if (state !== KeeperState.Expired) {
            this.anomalies.push(`session 0x${this.sessionId.toString(16)} ended as ${state === KeeperState.Closed ? 'Closed' : state} at ${this.cluster.now().toFixed(1)} ms though this client never closed it (on n${connection.server.id})`);
          }
          this.expire();
        }),
    };
  }

  private attach(connection: Connection, grant: SessionGrant): void {
    const moved = this.session !== undefined;
    this.connection = connection;
    this.session = grant;
    this.setState('connected');
    if (moved) this.reRegisterWatches(connection, grant.sessionId);
    this.schedulePing();
  }

  private reRegisterWatches(connection: Connection, sessionId: bigint): void {
    const watches = {
      data: [...this.dataWatches],
      exist: [...this.existWatches],
      child: [...this.childWatches],
      persistent: [...this.persistentWatches],
      persistentRecursive: [...this.recursiveWatches],
    };
    const none = Object.values(watches).every((paths) => paths.length === 0);
    // Queued first on the session, so it runs before any request the client sends after the move.
    if (!none) void connection.server.service.submit(sessionId, { op: 'setWatches', relativeZxid: this.lastZxidSeenValue, watches });
  }

  private schedulePing(): void {
    this.cluster.cancel(this.pingTimer);
    this.pingTimer = this.cluster.schedule(this.sessionTimeoutMs / 3, () => {
      this.ping();
      if (this.stateValue === 'connected' || this.stateValue === 'disconnected') this.schedulePing();
    });
  }

  private ping(): void {
    if (this.frozen || this.stateValue !== 'connected') return;
    const connection = this.connection!;
    const server = connection.server;
    const readTimeoutMs = (this.sessionTimeoutMs * 2) / 3;
    const stuck = this.inFlight !== undefined && this.cluster.now() - this.inFlight.sentAtMs > readTimeoutMs;
    if (this.cluster.server(server.id) !== server || !this.cluster.isServing(server.id) || stuck) {
      this.connectionLost();
      return;
    }
    if (!server.service.touch(this.sessionId)) this.connectionLost();
  }

  /** Forget the attached server, closing the connection on its side. */
  private dropConnection(): void {
    const connection = this.connection;
    this.connection = undefined;
    this.cluster.cancel(this.pingTimer);
    if (connection !== undefined && this.cluster.server(connection.server.id) === connection.server && this.session !== undefined) {
      connection.server.service.detach(this.session.sessionId);
    }
  }

  private failInFlight(): void {
    const inFlight = this.inFlight;
    if (inFlight === undefined) return;
    this.inFlight = undefined;
    this.record({ kind: 'lost', atMs: this.cluster.now(), request: inFlight.request, sessionId: this.sessionId });
    inFlight.resolve({ kind: 'lost' });
  }

  private connectionLost(): void {
    if (this.stateValue !== 'connected') return;
    this.dropConnection();
    this.setState('disconnected');
    this.failInFlight();
    if (!this.reconnecting) {
      this.reconnecting = true;
      void this.reconnect().finally(() => {
        this.reconnecting = false;
      });
    }
  }

  private async reconnect(): Promise<void> {
    while (this.stateValue === 'disconnected') {
      if (this.frozen) {
        await this.nextStateChange();
        continue;
      }
      const server = this.pickServer();
      const result = server === undefined ? undefined : await this.tryOpen(server, this.session);
      if (this.stateValue !== 'disconnected') return;
      if (result !== undefined && !('err' in result.grant)) {
        this.attach(result.connection, result.grant);
        return;
      }
      if (result !== undefined && 'err' in result.grant && (result.grant.err === ErrorCode.SESSIONEXPIRED || result.grant.err === ErrorCode.AUTHFAILED)) {
        this.expire();
        return;
      }
      await this.cluster.sleep(RECONNECT_BACKOFF_MS);
    }
  }

  private expire(): void {
    if (this.stateValue === 'expired' || this.stateValue === 'closed') return;
    this.dropConnection();
    this.setState('expired');
    this.failInFlight();
  }

  private setState(state: SessionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.record({ kind: 'state', atMs: this.cluster.now(), state, sessionId: this.sessionId, server: this.serverId });
    this.notifyState();
  }

  private notifyState(): void {
    for (const wake of this.stateWaiters.splice(0)) wake();
  }

  private record(entry: JournalEntry): void {
    this.journal?.push(entry);
  }

  // ------------------------------------------------------------------ watches

  private clearWatches(): void {
    for (const table of [this.dataWatches, this.existWatches, this.childWatches, this.persistentWatches, this.recursiveWatches]) table.clear();
  }

  private noteResponse(request: ZkRequest, response: ZkResponse, sessionId: bigint, server: NodeId): void {
    this.record({ kind: 'response', atMs: this.cluster.now(), request, response, sessionId, server });
    if (WRITE_OPS.has(request.op)) {
      // An indeterminate answer (CONNECTIONLOSS, SESSIONMOVED, ...) acknowledges nothing.
      if (INDETERMINATE_ERRORS.has(response.err)) return;
      this.answeredWrites.push({ clientId: this.id, sessionId, request, response, atMs: this.cluster.now() });
      return;
    }
    // ZooKeeper's client registers a watcher only for the answers that registered one on the server.
    switch (request.op) {
      case 'exists':
        if (!request.watch) break;
        if (response.err === ErrorCode.OK) this.dataWatches.add(request.path);
        else if (response.err === ErrorCode.NONODE) this.existWatches.add(request.path);
        break;
      case 'getData':
        if (request.watch && response.err === ErrorCode.OK) this.dataWatches.add(request.path);
        break;
      case 'getChildren':
        if (request.watch && response.err === ErrorCode.OK) this.childWatches.add(request.path);
        break;
      case 'addWatch':
        if (response.err === ErrorCode.OK) (request.mode === 1 ? this.recursiveWatches : this.persistentWatches).add(request.path);
        break;
      default:
        break;
    }
  }

  /** ZooKeeper's client-side watch rules (ZKWatchManager.materialize): one-shot watches go when they fire. */
  private dispatch(type: number, path: string): void {
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        this.dataWatches.delete(path);
        this.existWatches.delete(path);
        break;
      case EventType.NodeChildrenChanged:
        this.childWatches.delete(path);
        break;
      case EventType.NodeDeleted:
        this.dataWatches.delete(path);
        this.existWatches.delete(path);
        this.childWatches.delete(path);
        break;
    }
    const atMs = this.cluster.now();
    this.record({ kind: 'event', atMs, type, path, sessionId: this.sessionId });
    for (const listener of [...this.eventListeners]) listener({ type, path, atMs });
  }
}
