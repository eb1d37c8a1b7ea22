/**
 * The ZooKeeper 3.8 client port of one statekeeper server: existing ZooKeeper clients (zkCli,
 * Curator, kazoo, node-zookeeper-client) connect to it unchanged. It listens, limits connections
 * per IP, answers four-letter words, and hands each connection's requests to the coordination
 * service (see connection.ts for the per-connection protocol).
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { CoordinationService } from '../../node/service.js';
import type { FourLetterWord } from '../jute/index.js';
import { ClientConnection } from './connection.js';
import type { ConnectionHost, ZkSaslOptions } from './connection.js';
import { plainAddress } from './format.js';
import { hostname } from 'node:os';
import { canonicalHostName, notWhitelistedReply, parseFourLetterWhitelist, renderFourLetterWord } from './fourletter.js';
import type { FourLetterEnv, StatEntry } from './fourletter.js';
import {
  DEFAULT_CLIENT_PORT,
  DEFAULT_FOUR_LETTER_WORD_WHITELIST,
  DEFAULT_MAX_CLIENT_CNXNS,
  DEFAULT_MAX_OUTSTANDING_REQUESTS,
  DEFAULT_SESSIONLESS_TIMEOUT_MS,
  DEFAULT_ZK_MAX_FRAME_BYTES,
  STATEKEEPER_ZK_VERSION,
} from './limits.js';
import { stderrZkLogger } from './logger.js';
import type { ZkServerLogger } from './logger.js';
import { ServerCounters } from './stats.js';

/** What the four-letter words report about the server beyond its connections and tree. */
export interface ZkStatsProvider {
  /** ServerStats.getServerState: "leader", "follower", "observer" or "standalone". */
  serverState(): string;
  /**
   * False while the server cannot serve (no quorum, shutting down): frames are then refused and
   * most commands answer "This ZooKeeper instance is not currently serving requests". Default true.
   */
  isServing?(): boolean;
  /** QuorumPeer.getDetailedPeerState for mntr's zk_peer_state ("leading - broadcast"). */
  peerState?(): string;
  /** conf lines after the client-port ones (serverId, tickTime, dataDir, …). */
  conf?(): readonly StatEntry[];
  /** mntr values after the built-in ones, keys without the zk_ prefix (followers, synced_followers, …). */
  monitorValues?(): readonly StatEntry[];
}

export interface ZkServerOptions {
  readonly service: CoordinationService;
  /** Address to bind (default 127.0.0.1; ZooKeeper binds every interface, statekeeper only loopback unless told). */
  readonly host?: string;
  /** Port (default 2181); 0 picks a free one, read it back from {@link ZkServer.port} after listen. */
  readonly port?: number;
  /** Connections from one IP address at once (maxClientCnxns, default 60; 0 = no limit). */
  readonly maxClientCnxns?: number;
  /** Largest request frame (jute.maxbuffer, default 0xfffff). */
  readonly maxFrameBytes?: number;
  /** 4lw.commands.whitelist: a comma-separated string or a list; "*" enables all; srvr is always on. */
  readonly fourLetterWords?: string | readonly string[];
  /** Reported by srvr/stat/mntr/envi (default '3.8.0-statekeeper-0.1.0'). */
  readonly version?: string;
  readonly logger?: ZkServerLogger;
  readonly stats?: ZkStatsProvider;
  /** Silence allowed before a session is established (default 10 s). */
  readonly sessionlessTimeoutMs?: number;
  /** Replies one connection may owe before the server stops reading from it (default 1000). */
  readonly maxOutstandingRequests?: number;
  /** Wall clock in ms (default Date.now). */
  readonly now?: () => number;
  /**
   * SASL DIGEST-MD5 users (ZooKeeper's JAAS `Server` section with DigestLoginModule). Undefined:
   * SASL packets are answered as by a ZooKeeper without SASL configured.
   */
  readonly sasl?: ZkSaslOptions;
}

const STANDALONE: ZkStatsProvider = Object.freeze({ serverState: () => 'standalone' });

export class ZkServer {
  readonly service: CoordinationService;
  readonly version: string;
  readonly maxClientCnxns: number;
  readonly maxFrameBytes: number;
  readonly fourLetterWords: ReadonlySet<FourLetterWord>;
  private readonly options: ZkServerOptions;
  private readonly logger: ZkServerLogger;
  private readonly stats: ZkStatsProvider;
  private readonly counters = new ServerCounters();
  private readonly connections = new Set<ClientConnection>();
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly owners = new Map<bigint, ClientConnection>();
  private readonly host: ConnectionHost;
  private readonly now: () => number;
  private server: Server | undefined;
  private nextConnectionId = 1;
  private startedMs: number;
  /** For envi's host.name; the plain host name until the lookup (started by the constructor) answers. */
  private hostName = hostname();
  private closed = false;

  constructor(options: ZkServerOptions) {
    this.options = options;
    this.service = options.service;
    this.version = options.version ?? STATEKEEPER_ZK_VERSION;
    this.maxClientCnxns = options.maxClientCnxns ?? DEFAULT_MAX_CLIENT_CNXNS;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_ZK_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(this.maxClientCnxns) || this.maxClientCnxns < 0) throw new RangeError(`maxClientCnxns must be a non-negative integer, got ${this.maxClientCnxns}`);
    if (!Number.isSafeInteger(this.maxFrameBytes) || this.maxFrameBytes < 0) throw new RangeError(`maxFrameBytes must be a non-negative integer, got ${this.maxFrameBytes}`);
    this.fourLetterWords = parseFourLetterWhitelist(options.fourLetterWords ?? DEFAULT_FOUR_LETTER_WORD_WHITELIST);
    this.logger = options.logger ?? stderrZkLogger;
    this.stats = options.stats ?? STANDALONE;
    this.now = options.now ?? Date.now;
    this.startedMs = this.now();
    void canonicalHostName().then((name) => {
      this.hostName = name;
    });
    const self = this;
    this.host = {
      service: this.service,
      counters: this.counters,
      logger: this.logger,
      maxFrameBytes: this.maxFrameBytes,
      sessionlessTimeoutMs: options.sessionlessTimeoutMs ?? DEFAULT_SESSIONLESS_TIMEOUT_MS,
      maxOutstandingRequests: options.maxOutstandingRequests ?? DEFAULT_MAX_OUTSTANDING_REQUESTS,
      sasl: options.sasl,
      now: () => self.now(),
      isServing: () => self.isServing(),
      maxFieldBytes: 2 * this.maxFrameBytes,
      fourLetterWord: (word) => self.fourLetterWord(word),
      claimSession: (sessionId, connection) => self.claimSession(sessionId, connection),
      releaseSession: (sessionId, connection) => self.releaseSession(sessionId, connection),
      ownerOf: (sessionId) => self.owners.get(sessionId),
      connectionClosed: (connection) => self.connectionClosed(connection),
    };
  }

  /** Starts listening; resolves once bound. */
  listen(): Promise<void> {
    if (this.server !== undefined) return Promise.reject(new Error('ZkServer is already listening'));
    if (this.closed) return Promise.reject(new Error('ZkServer is closed'));
    // Half-open: frames a client sent before its FIN are processed before the connection closes.
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      try {
        this.accept(socket);
      } catch (err) {
        (this.logger.error ?? this.logger.warn).call(this.logger, { error: String(err) }, 'internal error accepting a connection');
        socket.destroy();
      }
    });
    this.server = server;
    this.startedMs = this.now();
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(this.options.port ?? DEFAULT_CLIENT_PORT, this.options.host ?? '127.0.0.1', () => {
        server.off('error', onError);
        server.on('error', (err) => this.logger.warn({ error: err.message }, 'client port error'));
        this.logger.info({ port: this.port }, 'listening for ZooKeeper clients');
        resolve();
      });
    });
  }

  /** The bound port (after {@link listen}). */
  get port(): number {
    const port = this.boundPort();
    if (port < 0) throw new Error('ZkServer is not listening');
    return port;
  }

  private boundPort(): number {
    const address = this.server?.address();
    return address === null || address === undefined || typeof address === 'string' ? -1 : address.port;
  }

  /** Open client connections (four-letter-word connections included while they answer). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The session ids served by a connection of this server. */
  sessionIds(): bigint[] {
    return [...this.owners.keys()];
  }

  /**
   * Stops accepting and closes every connection. Sessions are not closed: their clients reconnect
   * to another server in time (or they expire), as when a ZooKeeper server shuts down.
   */
  close(): Promise<void> {
    this.closed = true;
    const server = this.server;
    for (const connection of [...this.connections]) connection.destroy('server shutting down', {}, 'debug');
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private isServing(): boolean {
    return !this.closed && (this.stats.isServing?.() ?? true);
  }

  /** NIOServerCnxnFactory's accept: the per-IP limit is checked before anything is read. */
  private accept(socket: Socket): void {
    const address = socket.remoteAddress;
    if (this.closed || address === undefined) {
      socket.destroy();
      return;
    }
    const ip = plainAddress(address);
    const count = this.connectionsPerIp.get(ip) ?? 0;
    if (this.maxClientCnxns > 0 && count >= this.maxClientCnxns) {
      this.logger.warn({ ip, maxClientCnxns: this.maxClientCnxns }, `Too many connections from /${ip} - max is ${this.maxClientCnxns}`);
      // fastCloseSock: SO_LINGER 0, the client sees a reset.
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      return;
    }
    this.connectionsPerIp.set(ip, count + 1);
    const connection = new ClientConnection(this.host, socket, this.nextConnectionId++);
    this.connections.add(connection);
  }

  private connectionClosed(connection: ClientConnection): void {
    if (!this.connections.delete(connection)) return;
    const ip = connection.remoteAddress;
    const count = (this.connectionsPerIp.get(ip) ?? 1) - 1;
    if (count <= 0) this.connectionsPerIp.delete(ip);
    else this.connectionsPerIp.set(ip, count);
  }

  /** ZooKeeperServer.processConnectRequest closes any other connection of a reconnecting session. */
  private claimSession(sessionId: bigint, connection: ClientConnection): void {
    const previous = this.owners.get(sessionId);
    this.owners.set(sessionId, connection);
    if (previous !== undefined && previous !== connection) previous.destroy('session reconnected on another connection', { sessionId: `0x${sessionId.toString(16)}` });
  }

  private releaseSession(sessionId: bigint, connection: ClientConnection): boolean {
    if (this.owners.get(sessionId) !== connection) return false;
    this.owners.delete(sessionId);
    return true;
  }

  private fourLetterWord(word: FourLetterWord): string | null {
    if (!this.fourLetterWords.has(word)) return notWhitelistedReply(word);
    return renderFourLetterWord(word, this.fourLetterEnv());
  }

  private fourLetterEnv(): FourLetterEnv {
    const stats = this.stats;
    const service = this.service;
    const conf: StatEntry[] = [
      ['clientPort', this.boundPort()],
      ['secureClientPort', -1],
      ['maxClientCnxns', this.maxClientCnxns],
      ['minSessionTimeout', service.minSessionTimeoutMs],
      ['maxSessionTimeout', service.maxSessionTimeoutMs],
      ['clientPortListenBacklog', -1],
      ...(stats.conf?.() ?? []),
    ];
    return {
      version: this.version,
      service,
      counters: this.counters,
      connections: [...this.connections],
      startedMs: this.startedMs,
      nowMs: this.now(),
      serving: this.isServing(),
      serverState: stats.serverState(),
      peerState: stats.peerState?.(),
      conf,
      monitorExtras: stats.monitorValues?.() ?? [],
      expiryIntervalMs: this.host.sessionlessTimeoutMs,
      canonicalHostName: this.hostName,
    };
  }
}
