/**
 * The TCP peer bus: the real network behind the same {@link Bus} interface as the simulator's
 * in-memory bus, for one local node.
 *
 * Links: one TCP connection per pair of nodes, always dialed by the node with the higher id (the
 * rule of ZooKeeper's QuorumCnxManager), so two nodes never race to build two links. The dialer
 * reconnects with exponential backoff and jitter; the listener keeps queueing until the peer dials
 * in again, and a newly authenticated connection from a peer replaces its old one (the peer
 * restarted). Messages flow both ways over the one link.
 *
 * Every message waits in a bounded per-peer queue (oldest dropped first) until the link is open
 * and the socket is not applying backpressure. Delivery is best effort, as the Bus contract says:
 * a message written to a socket that then dies is lost, and the protocol machines retransmit.
 * There are no heartbeats here; detecting failed nodes is the election's job.
 *
 * The receiver attributes every message to the peer authenticated on that connection: `from` is
 * never read off the wire.
 */
import { readFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, checkServerIdentity } from 'node:tls';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { Subject } from 'rxjs';
import type { Observable } from 'rxjs';
import type { NodeId } from '../../protocol/ids.js';
import type { PeerMessage } from '../../protocol/messages.js';
import type { Bus, Envelope } from '../types.js';
import { encodeMessage, errorText } from './codec.js';
import { PeerConnection, isPeerFault } from './connection.js';
import type { ConnectionHooks, DisconnectReason } from './connection.js';
import { FRAME_HEADER_BYTES, encodeFrame } from './frames.js';
import { secretKey } from './handshake.js';
import { reconnectDelayMs, resolveLimits } from './limits.js';
import type { TcpBusLimits } from './limits.js';
import { stderrTcpBusLogger } from './logger.js';
import type { TcpBusLogger } from './logger.js';
import { FrameQueue } from './queue.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * TLS on the peer port (mutual: both ends present a certificate signed by `ca`). A string is a
 * file path read at `start()`; a Buffer is PEM content.
 */
export interface TcpBusTlsOptions {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  readonly ca: string | Buffer;
  /** Check that a dialed peer's certificate names the host dialed (default true). */
  readonly verifyHostname?: boolean;
}

export interface TcpBusOptions {
  /** The local node. */
  readonly self: NodeId;
  /** Where to listen; port 0 picks a free port (read it back from `start()` or `address`). */
  readonly listen: PeerAddress;
  /**
   * The other nodes and where they listen; null when not known yet (see `setPeers`). An entry for
   * `self` is ignored, so one map of the whole ensemble can be given to every node.
   */
  readonly peers: ReadonlyMap<NodeId, PeerAddress | null>;
  /** The cluster secret every node shares; peers prove they know it. */
  readonly secret: string | Uint8Array;
  readonly logger?: TcpBusLogger;
  readonly limits?: Partial<TcpBusLimits>;
  readonly tls?: TcpBusTlsOptions;
  /** Clock for the times in `stats()` (default Date.now). */
  readonly now?: () => number;
  /** Source in [0, 1) for reconnect jitter (default Math.random). */
  readonly random?: () => number;
}

/** What happened to links, for status views and tests. */
export type TcpBusEvent =
  | { readonly type: 'linkUp'; readonly peer: NodeId; readonly direction: 'outbound' | 'inbound' }
  | { readonly type: 'linkDown'; readonly peer: NodeId; readonly reason: DisconnectReason; readonly detail?: string }
  /** An outbound connection attempt failed before the link opened. */
  | { readonly type: 'dialFailed'; readonly peer: NodeId; readonly reason: DisconnectReason; readonly detail?: string }
  /** An inbound connection was refused before it was authenticated. */
  | { readonly type: 'refused'; readonly peer: NodeId | null; readonly remote: string; readonly reason: DisconnectReason; readonly detail?: string };

export interface PeerLinkStats {
  readonly peer: NodeId;
  readonly address: PeerAddress | null;
  /** This node dials the peer (it has the higher id); otherwise it waits to be dialed. */
  readonly dials: boolean;
  readonly connected: boolean;
  /** Messages waiting to be written to the peer's socket, and their bytes. */
  readonly queued: number;
  readonly queuedBytes: number;
  /** Messages written to a socket (best effort: a socket that dies may still lose them). */
  readonly sent: number;
  readonly received: number;
  /** Messages discarded: queue overflow, too large, or not encodable. */
  readonly dropped: number;
  /** Times the link came up again after having been up. */
  readonly reconnects: number;
  /** When the link last went up or down (per the `now` clock), or null if never. */
  readonly lastChangeMs: number | null;
  readonly lastError: string | null;
}

export interface TcpBusStats {
  readonly self: NodeId;
  readonly listening: PeerAddress | null;
  readonly peers: readonly PeerLinkStats[];
  /** Inbound connections refused before authentication. */
  readonly refusedConnections: number;
  /** Messages addressed to a node that is neither this one nor a peer. */
  readonly unroutable: number;
}

interface Link<M extends { readonly type: string }> {
  readonly peer: NodeId;
  address: PeerAddress | null;
  readonly dials: boolean;
  /** The open connection messages go out on. */
  current: PeerConnection<M> | undefined;
  /** Dialer side: the connection being set up. */
  dialing: PeerConnection<M> | undefined;
  /** The current socket asked us to wait for 'drain'. */
  blocked: boolean;
  readonly queue: FrameQueue;
  flushScheduled: boolean;
  reconnectTimer: NodeJS.Timeout | undefined;
  attempt: number;
  everUp: boolean;
  sent: number;
  received: number;
  dropped: number;
  reconnects: number;
  lastChangeMs: number | null;
  lastError: string | null;
  /** Last dial failure reason, so repeats of the same failure are not logged as warnings again. */
  lastDialFailure: DisconnectReason | null;
}

/**
 * A {@link Bus} over TCP for one local node. Lifecycle: construct, `await start()`, (optionally
 * `setPeers` once every address is known), `send` / `inbox`, `close()`.
 */
export class TcpBus<M extends { readonly type: string } = PeerMessage> implements Bus<M> {
  readonly self: NodeId;
  /** Links going up and down and connections refused; completes on close. */
  readonly events: Observable<TcpBusEvent>;
  private readonly options: TcpBusOptions;
  private readonly limits: TcpBusLimits;
  private readonly secret: Buffer;
  private readonly logger: TcpBusLogger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly inboxSubject = new Subject<Envelope<M>>();
  private readonly eventSubject = new Subject<TcpBusEvent>();
  private readonly links = new Map<NodeId, Link<M>>();
  /** Inbound connections not yet authenticated. */
  private readonly pending = new Set<PeerConnection<M>>();
  private readonly hooks: ConnectionHooks<M>;
  private server: Server | undefined;
  private tlsContext: SecureContextOptions | undefined;
  private listening: PeerAddress | null = null;
  private started = false;
  private closed = false;
  private resolveClosed!: () => void;
  private readonly closedPromise = new Promise<void>((resolve) => (this.resolveClosed = resolve));
  private refusedConnections = 0;
  private unroutable = 0;
  private readonly warnedUnroutable = new Set<NodeId>();
  /** One message broadcast to several peers is encoded once (the cache lives for one tick). */
  private lastEncoded: { msg: M; frame: Buffer } | undefined;

  constructor(options: TcpBusOptions) {
    this.options = options;
    this.self = options.self;
    this.limits = resolveLimits(options.limits);
    this.secret = secretKey(options.secret);
    this.logger = options.logger ?? stderrTcpBusLogger;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.events = this.eventSubject.asObservable();
    this.hooks = {
      admitDialer: (dialer) => this.admitDialer(dialer),
      onOpen: (conn) => this.onOpen(conn),
      onMessage: (conn, msg) => this.onMessage(conn, msg),
      onDrain: (conn) => this.onDrain(conn),
      onClose: (conn, reason, detail, wasOpen) => this.onClose(conn, reason, detail, wasOpen),
    };
    this.applyPeers(options.peers);
  }

  /** Where this bus listens; throws before `start()` has resolved. */
  get address(): PeerAddress {
    if (this.listening === null) throw new Error(`TcpBus of node ${this.self} is not listening yet`);
    return this.listening;
  }

  /** Listen, then dial every known peer this node dials. Resolves with the bound address. */
  async start(): Promise<PeerAddress> {
    if (this.started) throw new Error(`TcpBus of node ${this.self} was already started`);
    if (this.closed) throw new Error(`TcpBus of node ${this.self} is closed`);
    this.started = true;
    const tls = this.options.tls;
    if (tls !== undefined) {
      try {
        const [key, cert, ca] = await Promise.all([pem(tls.key), pem(tls.cert), pem(tls.ca)]);
        this.tlsContext = { key, cert, ca, minVersion: 'TLSv1.2' };
      } catch (err) {
        if (this.closed) this.resolveClosed();
        throw err;
      }
    }
    if (this.closed) {
      this.resolveClosed();
      throw new Error(`TcpBus of node ${this.self} was closed before it could listen`);
    }
    const server = this.tlsContext === undefined ? createServer((socket) => this.accept(socket)) : this.createTlsServer(this.tlsContext);
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.listen.port, this.options.listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      if (this.closed) this.resolveClosed();
      throw err;
    }
    server.on('error', (err) => this.logger.warn({ peer: null, reason: 'server-error', detail: errorText(err) }, 'peer port error'));
    const bound = server.address() as AddressInfo;
    this.listening = { host: this.options.listen.host, port: bound.port };
    if (this.closed) {
      // close() ran while we were binding (or loading TLS files).
      server.close(() => this.resolveClosed());
      return this.listening;
    }
    for (const link of this.links.values()) this.dial(link);
    return this.listening;
  }

  /**
   * Replace the set of peers and their addresses. New peers get links, removed ones lose theirs
   * (queued messages are dropped), and a changed address is dialed at once if the link is down.
   */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress | null>): void {
    if (this.closed) return;
    for (const [peer, link] of this.links) {
      if (peers.has(peer)) continue;
      this.links.delete(peer);
      clearTimeout(link.reconnectTimer);
      link.queue.clear();
      link.current?.close('peer-removed');
      link.dialing?.close('peer-removed');
    }
    this.applyPeers(peers);
  }

  send(env: Envelope<M>): void {
    if (env.from !== this.self) throw new Error(`TcpBus of node ${this.self} cannot send as node ${env.from}`);
    if (this.closed) return;
    if (env.to === this.self) {
      // Never reentrant: the sender finishes its step before it hears from itself.
      queueMicrotask(() => {
        if (!this.closed) this.inboxSubject.next(env);
      });
      return;
    }
    const link = this.links.get(env.to);
    if (link === undefined) {
      this.unroutable++;
      if (!this.warnedUnroutable.has(env.to)) {
        this.warnedUnroutable.add(env.to);
        this.logger.warn({ peer: env.to, reason: 'unknown-destination', type: env.msg.type }, 'dropping messages to a node that is not a peer');
      }
      return;
    }
    let frame: Buffer;
    try {
      frame = this.frameOf(env.msg);
    } catch (err) {
      link.dropped++;
      this.logger.warn({ peer: env.to, reason: 'encode-failed', type: env.msg.type, detail: errorText(err) }, 'dropping a message that cannot be encoded');
      return;
    }
    if (frame.length - FRAME_HEADER_BYTES > this.limits.maxFrameBytes) {
      link.dropped++;
      this.logger.warn({ peer: env.to, reason: 'message-too-large', type: env.msg.type, bytes: frame.length - FRAME_HEADER_BYTES }, 'dropping a message larger than the frame limit');
      return;
    }
    link.queue.push(frame);
    while (link.queue.length > this.limits.maxQueuedMessagesPerPeer || link.queue.bytes > this.limits.maxQueuedBytesPerPeer) {
      link.queue.shift();
      link.dropped++;
    }
    this.scheduleFlush(link);
  }

  inbox(node: NodeId): Observable<Envelope<M>> {
    if (node !== this.self) throw new Error(`TcpBus of node ${this.self} has no inbox for node ${node}: only the local node's exists`);
    return this.inboxSubject.asObservable();
  }

  /** Whether the link to `peer` is open (cheap: for per-request checks, where `stats()` is not). */
  isLinkUp(peer: NodeId): boolean {
    return this.links.get(peer)?.current !== undefined;
  }

  stats(): TcpBusStats {
    const peers: PeerLinkStats[] = [];
    for (const link of this.links.values()) {
      peers.push({
        peer: link.peer,
        address: link.address,
        dials: link.dials,
        connected: link.current !== undefined,
        queued: link.queue.length,
        queuedBytes: link.queue.bytes,
        sent: link.sent,
        received: link.received,
        dropped: link.dropped,
        reconnects: link.reconnects,
        lastChangeMs: link.lastChangeMs,
        lastError: link.lastError,
      });
    }
    peers.sort((a, b) => a.peer - b.peer);
    return { self: this.self, listening: this.listening, peers, refusedConnections: this.refusedConnections, unroutable: this.unroutable };
  }

  /** Close every socket, timer and stream. Idempotent; `whenClosed()` waits for the port to be released. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) {
      clearTimeout(link.reconnectTimer);
      link.reconnectTimer = undefined;
      link.queue.clear();
      link.current?.close('bus-closed');
      link.dialing?.close('bus-closed');
    }
    for (const conn of [...this.pending]) conn.close('bus-closed');
    const server = this.server;
    if (!this.started) this.resolveClosed();
    else if (server !== undefined && server.listening) server.close(() => this.resolveClosed());
    // else start() is still loading or binding: it releases the port and resolves.
    this.inboxSubject.complete();
    this.eventSubject.complete();
  }

  /** Resolves once `close()` has run and the listening port is released. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  // ---- links ----

  private applyPeers(peers: ReadonlyMap<NodeId, PeerAddress | null>): void {
    for (const [peer, address] of peers) {
      if (peer === this.self) continue;
      const existing = this.links.get(peer);
      if (existing === undefined) {
        const link = newLink<M>(peer, address, this.self > peer);
        this.links.set(peer, link);
        if (this.started) this.dial(link);
        continue;
      }
      if (sameAddress(existing.address, address)) continue;
      existing.address = address;
      if (existing.dials && existing.current === undefined) {
        // A stale attempt at the old address must not delay the new one.
        clearTimeout(existing.reconnectTimer);
        existing.reconnectTimer = undefined;
        const stale = existing.dialing;
        existing.dialing = undefined; // so its close schedules no retry of its own
        stale?.close('replaced');
        existing.attempt = 0;
        if (this.started) this.dial(existing);
      }
    }
  }

  private dial(link: Link<M>): void {
    if (!link.dials || this.closed || this.listening === null || link.address === null) return;
    if (link.current !== undefined || link.dialing !== undefined || link.reconnectTimer !== undefined) return;
    const { host, port } = link.address;
    let socket: Socket;
    let readyEvent: 'connect' | 'secureConnect';
    if (this.tlsContext === undefined) {
      socket = netConnect({ host, port });
      readyEvent = 'connect';
    } else {
      const verify = this.options.tls?.verifyHostname !== false;
      socket = tlsConnect({ host, port, ...this.tlsContext, checkServerIdentity: verify ? checkServerIdentity : () => undefined });
      readyEvent = 'secureConnect';
    }
    link.dialing = new PeerConnection<M>(socket, {
      role: 'dialer',
      self: this.self,
      expectedPeer: link.peer,
      secret: this.secret,
      limits: this.limits,
      hooks: this.hooks,
      readyEvent,
    });
  }

  private scheduleReconnect(link: Link<M>): void {
    if (this.closed || !link.dials || link.reconnectTimer !== undefined || this.links.get(link.peer) !== link) return;
    const delayMs = reconnectDelayMs(link.attempt, this.limits, this.random);
    link.attempt++;
    link.reconnectTimer = setTimeout(() => {
      link.reconnectTimer = undefined;
      this.dial(link);
    }, delayMs);
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.pending.size >= this.limits.maxPendingHandshakes) {
      this.refusedConnections++;
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      socket.destroy();
      this.logger.warn({ peer: null, remote, reason: 'too-many-handshakes' }, 'peer connection refused');
      this.eventSubject.next({ type: 'refused', peer: null, remote, reason: 'too-many-handshakes' });
      return;
    }
    const conn = new PeerConnection<M>(socket, { role: 'listener', self: this.self, secret: this.secret, limits: this.limits, hooks: this.hooks, readyEvent: null });
    if (conn.state !== 'closed') this.pending.add(conn);
  }

  private createTlsServer(context: SecureContextOptions): Server {
    const server = createTlsServer({
      ...context,
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: this.limits.handshakeTimeoutMs,
    });
    server.on('secureConnection', (socket: TLSSocket) => this.accept(socket));
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      if (this.closed) return;
      this.refusedConnections++;
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      this.logger.warn({ peer: null, remote, reason: 'tls-error', detail: err.message }, 'peer connection refused');
      this.eventSubject.next({ type: 'refused', peer: null, remote, reason: 'tls-error', detail: err.message });
    });
    return server;
  }

  // ---- connection hooks ----

  private admitDialer(dialer: NodeId): 'ok' | 'unknown-peer' | 'wrong-direction' {
    if (dialer === this.self || !this.links.has(dialer)) return 'unknown-peer';
    // Only the higher id dials; a lower one dialing means a misconfigured or foreign node.
    if (dialer < this.self) return 'wrong-direction';
    return 'ok';
  }

  private onOpen(conn: PeerConnection<M>): void {
    this.pending.delete(conn);
    const peer = conn.peer!;
    const link = this.links.get(peer);
    if (link === undefined || this.closed) {
      conn.close('peer-removed');
      return;
    }
    if (conn.role === 'dialer') {
      if (link.dialing !== conn) {
        conn.close('replaced');
        return;
      }
      link.dialing = undefined;
    }
    const previous = link.current;
    link.current = conn;
    link.blocked = false;
    previous?.close('replaced');
    link.attempt = 0;
    link.lastDialFailure = null;
    if (link.everUp) link.reconnects++;
    link.everUp = true;
    link.lastChangeMs = this.now();
    const direction = conn.role === 'dialer' ? 'outbound' : 'inbound';
    this.logger.info({ peer, direction, remote: conn.remote }, 'peer link up');
    this.eventSubject.next({ type: 'linkUp', peer, direction });
    this.scheduleFlush(link);
  }

  private onMessage(conn: PeerConnection<M>, msg: M): void {
    const peer = conn.peer!;
    const link = this.links.get(peer);
    if (link === undefined || link.current !== conn || this.closed) return;
    link.received++;
    this.inboxSubject.next({ from: peer, to: this.self, msg });
  }

  private onDrain(conn: PeerConnection<M>): void {
    const link = this.links.get(conn.peer!);
    if (link === undefined || link.current !== conn) return;
    link.blocked = false;
    this.flush(link);
  }

  private onClose(conn: PeerConnection<M>, reason: DisconnectReason, detail: string | undefined, wasOpen: boolean): void {
    this.pending.delete(conn);
    if (this.closed) return;
    const link = conn.peer === null ? undefined : this.links.get(conn.peer);
    const details = { peer: conn.peer, remote: conn.remote, reason, ...(detail === undefined ? {} : { detail }) };
    if (wasOpen) {
      if (link === undefined || link.current !== conn) return; // replaced or removed: the link lives on
      link.current = undefined;
      link.blocked = false;
      link.lastChangeMs = this.now();
      link.lastError = detail === undefined ? reason : `${reason}: ${detail}`;
      if (isPeerFault(reason)) this.logger.warn(details, 'peer disconnected: protocol violation');
      else this.logger.info(details, 'peer link down');
      this.eventSubject.next({ type: 'linkDown', peer: link.peer, reason, ...(detail === undefined ? {} : { detail }) });
      this.scheduleReconnect(link);
      return;
    }
    if (conn.role === 'dialer') {
      if (link === undefined || link.dialing !== conn) return;
      link.dialing = undefined;
      link.lastError = detail === undefined ? reason : `${reason}: ${detail}`;
      // A peer that is down fails every attempt the same way: warn once per new kind of failure.
      const quiet = reason === link.lastDialFailure || (reason === 'socket-error' && !link.everUp);
      link.lastDialFailure = reason;
      if (quiet) this.logger.debug?.(details, 'dial failed');
      else this.logger.warn(details, 'dial failed');
      this.eventSubject.next({ type: 'dialFailed', peer: link.peer, reason, ...(detail === undefined ? {} : { detail }) });
      this.scheduleReconnect(link);
      return;
    }
    this.refusedConnections++;
    if (isPeerFault(reason)) this.logger.warn(details, 'peer connection refused');
    else this.logger.info(details, 'peer connection closed during the handshake');
    this.eventSubject.next({ type: 'refused', peer: conn.peer, remote: conn.remote, reason, ...(detail === undefined ? {} : { detail }) });
  }

  // ---- outgoing ----

  private frameOf(msg: M): Buffer {
    const cached = this.lastEncoded;
    if (cached !== undefined && cached.msg === msg) return cached.frame;
    const frame = encodeFrame(encodeMessage(msg));
    if (cached === undefined) queueMicrotask(() => (this.lastEncoded = undefined));
    this.lastEncoded = { msg, frame };
    return frame;
  }

  /**
   * Sends made while the event loop works through one round of input (every message that arrived
   * together, and the steps they caused) go out together, in one write per peer, after it.
   */
  private scheduleFlush(link: Link<M>): void {
    if (link.flushScheduled || link.current === undefined || link.blocked) return;
    link.flushScheduled = true;
    setImmediate(() => {
      link.flushScheduled = false;
      this.flush(link);
    });
  }

  private flush(link: Link<M>): void {
    const conn = link.current;
    if (this.closed || conn === undefined || !conn.isOpen || link.blocked || link.queue.length === 0) return;
    conn.cork();
    try {
      for (let frame = link.queue.shift(); frame !== undefined; frame = link.queue.shift()) {
        link.sent++;
        if (!conn.write(frame)) {
          link.blocked = true;
          break;
        }
      }
    } finally {
      conn.uncork();
    }
  }
}

function newLink<M extends { readonly type: string }>(peer: NodeId, address: PeerAddress | null, dials: boolean): Link<M> {
  return {
    peer,
    address,
    dials,
    current: undefined,
    dialing: undefined,
    blocked: false,
    queue: new FrameQueue(),
    flushScheduled: false,
    reconnectTimer: undefined,
    attempt: 0,
    everUp: false,
    sent: 0,
    received: 0,
    dropped: 0,
    reconnects: 0,
    lastChangeMs: null,
    lastError: null,
    lastDialFailure: null,
  };
}

function sameAddress(a: PeerAddress | null, b: PeerAddress | null): boolean {
  return a === b || (a !== null && b !== null && a.host === b.host && a.port === b.port);
}

async function pem(source: string | Buffer): Promise<Buffer> {
  return typeof source === 'string' ? readFile(source) : source;
}
