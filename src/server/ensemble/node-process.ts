/**
 * One statekeeper server in its own process: FileStorage on disk, the TCP peer bus on the quorum
 * port, a ConsensusNode with the CoordinationService as its application, structured logs, and the
 * admin HTTP port. Wiring follows src/client/ensemble.ts (the in-process ensemble), with real IO.
 *
 * Crash safety comes from the layers below: every reply that depends on a write leaves only after
 * FileStorage's flush made it durable, so kill -9 at any instant loses nothing acknowledged. A
 * failed fsync or a corrupt file stops the process (exit code 1 or 2): the disk state is then
 * unknown, and only an operator (or `--rejoin` after wiping the directory) may decide.
 */
import { randomInt } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Observable } from 'rxjs';
import type { Bus, Envelope } from '../../bus/types.js';
import { MemoryBus } from '../../bus/memory.js';
import { TcpBus } from '../../bus/tcp/index.js';
import type { PeerAddress } from '../../bus/tcp/index.js';
import { ConsensusNode } from '../../node/node.js';
import type { NodeObserver, SnapshotEncoding } from '../../node/node.js';
import { PauseMonitor } from './pause-monitor.js';
import { FileStorage } from '../../node/file-storage.js';
import { CoordinationService } from '../../node/service.js';
import { DEFAULT_SNAPSHOT_POLICY } from '../../node/snapshot.js';
import { realClock, realtimeNetwork } from '../../node/realtime.js';
import type { Effect } from '../../protocol/effects.js';
import type { NodeId } from '../../protocol/ids.js';
import type { PeerMessage } from '../../protocol/messages.js';
import { SeededRandom } from '../../protocol/random.js';
import { LiveRecorder, serveNodeReport } from '../../inspect/web/live-recorder.js';
import type { LiveServerStatus } from '../../inspect/web/live-recorder.js';
import { isInspectorPath } from '../../inspect/web/routes.js';
import type { LiveInspector } from '../../inspect/web/live.js';
import { adminPortOf, startAdminServer } from './admin.js';
import type { AdminExtension, NodeStatus, PeerStatus } from './admin.js';
import { membership } from './config.js';
import type { ServerConfig } from './config.js';
import { deriveTimings } from './timings.js';
import { ZkServer } from '../zk/index.js';
import type { ZkStatsProvider } from '../zk/index.js';

/** Exit codes of a server process. */
export const EXIT_CODE = Object.freeze({
  /** Stopped on request. */
  ok: 0,
  /** A failure while running (failed fsync, uncaught error): restart it. */
  fatal: 1,
  /** Could not start: bad config, corrupt data, port in use. Needs an operator. */
  startup: 2,
});

/** Directory under dataDir (and dataLogDir) holding statekeeper's files, beside ZooKeeper's `myid`. */
export const STATE_SUBDIRECTORY = 'statekeeper';

/**
 * Longest pause between attempts to dial a peer that is down. The bus default (5 s) suits a WAN;
 * in an ensemble a restarted server should be back in the quorum within about a second.
 */
export const PEER_RECONNECT_MAX_MS = 1000;

/** Buckets of the fsync latency histogram (seconds): 50 µs to 1 s. */
const FSYNC_BUCKETS_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface ServerProcessOptions {
  readonly config: ServerConfig;
  /** This voter lost its disk: rebuild from a majority of the others before voting (ConsensusNode `rejoin`). */
  readonly rejoin?: boolean;
  /** Structured logs (default: pino JSON lines on stdout). */
  readonly logger?: Logger;
  /** The store failed while running; the process must die without touching the disk again. */
  readonly onFatal: (error: unknown) => void;
}

/** A running server: everything one `statekeeper start` owns. */
export class StatekeeperServer {
  readonly id: NodeId;
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly node: ConsensusNode;
  readonly service: CoordinationService;
  readonly storage: FileStorage;
  readonly bus: Bus<PeerMessage>;
  readonly tcpBus: TcpBus<PeerMessage> | undefined;
  readonly registry: Registry;
  /** What the inspector shows of this node; records only while someone watches. */
  readonly recorder: LiveRecorder;
  private admin: Server | undefined;
  /** The inspector on the admin port, loaded on its first request. */
  private inspector: Promise<LiveInspector> | undefined;
  private zk: ZkServer | undefined;
  private readonly isVoter: boolean;
  private recovering: boolean;
  private readonly startedMs = Date.now();
  private stopping: Promise<void> | undefined;
  private lastLogged = { role: '', epoch: -1, leader: null as NodeId | null };
  private readonly knownLeader: KnownLeader;
  private pauses: PauseMonitor | undefined;

  private constructor(opts: ServerProcessOptions, storage: FileStorage, tcpBus: TcpBus<PeerMessage> | undefined, registry: Registry) {
    const config = opts.config;
    this.config = config;
    this.id = config.myid;
    this.logger = opts.logger ?? serverLogger(config.myid);
    this.storage = storage;
    this.tcpBus = tcpBus;
    this.registry = registry;
    const { voters, members } = membership(config);
    this.knownLeader = new KnownLeader(config.syncLimitTicks * config.tickTimeMs);
    this.isVoter = voters.includes(config.myid);
    this.recovering = opts.rejoin === true && this.isVoter && voters.length > 1;
    this.recorder = new LiveRecorder({ id: config.myid, node: () => this.node, serverRole: () => this.role(), status: () => this.liveStatus() });
    const baseBus: Bus<PeerMessage> = tcpBus ?? new MemoryBus<PeerMessage>(realtimeNetwork, new SeededRandom(randomInt(2 ** 31)));
    const metrics = this.createMetrics();
    this.bus = this.tapBus(baseBus, metrics.peerRequests);
    const timings = deriveTimings(config.tickTimeMs);
    let service: CoordinationService | undefined;
    const observer: NodeObserver = {
      onEffect: (_node, _machine, effect) => {
        this.knownLeader.observe(effect);
        if (effect.type === 'roleChanged') this.logRole(effect.role, effect.epoch, effect.leader);
        else if (effect.type === 'proposerActive') {
          this.logger.info({ event: 'leading', epoch: effect.ballot.epoch, baseSlot: effect.baseSlot, adopted: effect.adopted.length }, `n${this.id} leads epoch ${effect.ballot.epoch}: phase 1 done above slot ${effect.baseSlot}`);
        } else if (effect.type === 'recovered') {
          this.recovering = false;
          // The recovered acceptor state was written just before this effect: once it is durable the rejoin is over.
          storage.flush(() => void removeDurably(join(config.dataDir, STATE_SUBDIRECTORY, REJOIN_MARKER_FILE)).catch((error: unknown) => this.logger.warn({ err: error }, 'could not remove the rejoin marker')));
          this.logger.info({ event: 'recovered', epoch: effect.epoch }, `n${this.id} rebuilt its acceptor state from a majority of the others; it votes again above epoch ${effect.epoch}`);
        }
      },
      onReply: () => metrics.replies.inc(),
      onLeaderObserved: (_node, leader, epoch) => this.logRole('observer', epoch, leader),
      onTransition: () => this.recorder.onTransition(),
    };
    this.node = new ConsensusNode({
      id: config.myid,
      voters,
      members,
      bus: this.bus,
      clock: this.recorder.wrapClock(realClock),
      now: () => Date.now(),
      storage,
      timings,
      seed: randomInt(2 ** 31),
      application: {
        apply: (command, at) => {
          metrics.applied.inc();
          // The node replays its learned log at start(), once the service below exists.
          return service!.apply(command, at);
        },
        snapshot: () => this.measuredSnapshot(service!, metrics.snapshotStepSeconds),
        restore: (state, slot) => {
          service!.restore(state);
          this.logger.info({ event: 'snapshot-restored', slot }, `n${this.id} took a snapshot up to slot ${slot}`);
        },
      },
      snapshots: { everyCommands: config.snapCount, retainSlots: config.snapshotRetainSlots, chunkBytes: DEFAULT_SNAPSHOT_POLICY.chunkBytes },
      onBadSnapshot: (from, reason) => this.logger.warn({ event: 'bad-snapshot', from, reason }, `n${this.id} refused a snapshot from n${from}: ${reason}`),
      observer,
      ...(opts.rejoin === true ? { rejoin: true } : {}),
      onMessage: (env) => service?.onMessage(env),
      // Writes that arrive in one turn of the event loop reach the proposer as one batch.
      batchSubmits: (deliver) => void setImmediate(deliver),
      // A large tree is encoded a slice per turn: clients and peers are served in between.
      snapshotSteps: (next) => void setImmediate(next),
    });
    service = new CoordinationService({
      node: this.node,
      serverId: config.myid,
      clock: realClock,
      now: () => Date.now(),
      tickMs: config.tickTimeMs,
      minSessionTimeoutMs: config.minSessionTimeoutMs,
      maxSessionTimeoutMs: config.maxSessionTimeoutMs,
      tree: { authProviders: config.authProviders, enforceQuota: config.enforceQuota, ...(config.superDigest === undefined ? {} : { superDigest: config.superDigest }) },
      snapshotStepNodes: config.snapshotStepNodes,
    });
    this.service = service;
  }

  /**
   * Open the data directory (recovering it), bind the quorum and admin ports, start the node.
   * Throws on corrupt data (the store's error names file and offset), a foreign data directory,
   * or a port in use.
   */
  static async start(opts: ServerProcessOptions): Promise<StatekeeperServer> {
    const config = opts.config;
    const logger = opts.logger ?? serverLogger(config.myid);
    const registry = new Registry();
    const fsyncSeconds = new Histogram({ name: 'statekeeper_fsync_seconds', help: 'Group-commit flush latency: write, fdatasync and metadata replace', buckets: FSYNC_BUCKETS_SECONDS, registers: [registry] });
    const storage = await FileStorage.open(join(config.dataDir, STATE_SUBDIRECTORY), {
      nodeId: config.myid,
      logDirectory: join(config.dataLogDir, STATE_SUBDIRECTORY),
      logger: logger.child({ component: 'store' }),
      onFlush: (ms) => fsyncSeconds.observe(ms / 1000),
      onFailure: (error) => {
        logger.fatal({ err: error }, `n${config.myid}: the store failed; stopping without touching the disk again`);
        opts.onFatal(error);
      },
    });
    // A rejoin lasts until the voter's recovered state is durable: a crash before that must not
    // restart it as an ordinary voter with an empty disk, --rejoin or not.
    const rejoinMarker = join(config.dataDir, STATE_SUBDIRECTORY, REJOIN_MARKER_FILE);
    if (opts.rejoin === true) {
      await writeDurably(rejoinMarker, `rejoin started ${new Date().toISOString()}\n`);
    } else if (existsSync(rejoinMarker)) {
      logger.warn({ event: 'rejoin-unfinished', file: rejoinMarker }, `n${config.myid} crashed while rejoining: it recovers from a majority again`);
      opts = { ...opts, rejoin: true };
    }
    if (storage.wasEmpty) {
      logger.info({ event: 'empty-data', rejoin: opts.rejoin === true }, opts.rejoin === true ? `n${config.myid} starts empty and rejoins: it recovers from a majority before voting` : `n${config.myid} starts with an empty data directory (a first start; use --rejoin if this voter lost its disk)`);
    } else if (opts.rejoin === true) {
      logger.warn({ event: 'rejoin-with-data' }, `n${config.myid} was told to rejoin but has data; it still recovers from a majority first`);
    }
    let tcpBus: TcpBus<PeerMessage> | undefined;
    const others = config.servers.filter((s) => s.id !== config.myid);
    if (others.length > 0 || config.peerClients.length > 0) {
      const me = config.servers.find((s) => s.id === config.myid)!;
      const peers = new Map<NodeId, PeerAddress | null>();
      for (const s of others) peers.set(s.id, { host: s.host, port: s.quorumPort });
      for (const c of config.peerClients) peers.set(c, null);
      tcpBus = new TcpBus<PeerMessage>({
        self: config.myid,
        listen: { host: me.host, port: me.quorumPort },
        peers,
        secret: config.secret!,
        logger: logger.child({ component: 'bus' }),
        limits: { reconnectMaxMs: PEER_RECONNECT_MAX_MS },
        ...(config.tls === undefined ? {} : { tls: { key: config.tls.key, cert: config.tls.cert, ca: config.tls.ca } }),
      });
    }
    let server: StatekeeperServer | undefined;
    try {
      await tcpBus?.start();
      server = new StatekeeperServer({ ...opts, logger }, storage, tcpBus, registry);
      server.node.start();
      server.service.start();
      server.pauses = new PauseMonitor(logger);
      if (config.adminPort !== undefined) {
        server.admin = await startAdminServer(config.adminAddress, config.adminPort, { status: () => server!.status(), registry, extension: server.adminExtension() });
      }
      await server.startClientPort();
    } catch (error) {
      if (server !== undefined) await server.stop().catch(() => undefined);
      else {
        tcpBus?.close();
        await storage.close().catch(() => undefined);
      }
      throw error;
    }
    const { voters, members } = membership(config);
    const adminPort = server.admin === undefined ? null : adminPortOf(server.admin);
    logger.info(
      { event: 'started', voters, members, quorumPort: config.servers.find((s) => s.id === config.myid)?.quorumPort, clientPort: config.clientPort ?? null, adminPort, inspector: adminPort === null ? null : server.inspectorUrl(adminPort), learnedSlot: storage.learnedSlot, timings: deriveTimings(config.tickTimeMs) },
      `n${config.myid} started (${server.isVoter ? 'participant' : 'observer'}) with ${storage.learnedSlot} learned slots`,
    );
    return server;
  }

  /** What `/status` reports. */
  status(): NodeStatus {
    const node = this.node;
    const { voters, members } = membership(this.config);
    return {
      id: this.id,
      role: this.role(),
      epoch: node.epoch,
      leader: node.leader,
      lastZxid: `0x${this.service.lastZxid.toString(16)}`,
      commitSlot: node.appliedSlot,
      sessions: this.service.sessionCount,
      serving: this.isServing(),
      digest: this.service.tree.digest(),
      voters,
      members,
      peers: this.peerStatus(),
      refusedPeerConnections: this.tcpBus?.stats().refusedConnections ?? 0,
      clientPort: this.config.clientPort ?? null,
      pid: process.pid,
      uptimeMs: Date.now() - this.startedMs,
    };
  }

  role(): NodeStatus['role'] {
    if (!this.isVoter) return 'observer';
    if (this.recovering) return 'recovering';
    if (this.node.role === 'leader') return this.node.isActiveLeader ? 'leader' : 'candidate';
    return this.node.role;
  }

  /**
   * The server can take client requests: it leads with phase 1 done, or knows a leader it is linked
   * to. A pre-vote does not stop it (the epoch, and so the leader, has not changed yet): dropping
   * every client each time a late timer fires a pre-vote that the others refuse would turn a busy
   * machine's hiccup into reconnects. Checked for every request frame, so it must stay cheap.
   */
  isServing(): boolean {
    if (this.stopping !== undefined) return false;
    const node = this.node;
    if (node.isActiveLeader) return true;
    if (this.recovering) return false;
    const leader = this.knownLeader.current(node.leader, Date.now());
    if (leader === null || leader === this.id) return false;
    return this.tcpBus?.isLinkUp(leader) === true;
  }

  /** Graceful stop: close the ports, stop the machines, sync and close the store. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info({ event: 'stopping' }, `n${this.id} stopping`);
      this.pauses?.stop();
      await this.stopClientPort();
      this.recorder.close();
      await (await this.inspector?.catch(() => undefined))?.close();
      if (this.admin !== undefined) {
        const admin = this.admin;
        admin.closeAllConnections();
        await new Promise<void>((resolve) => admin.close(() => resolve()));
      }
      this.service.stop();
      this.node.stop();
      this.bus.close();
      await this.tcpBus?.whenClosed();
      await this.storage.close();
      // What the disk now holds, so an offline replay of the data directory can be checked against it.
      this.logger.info({ event: 'stopped', appliedSlot: this.node.appliedSlot, lastZxid: `0x${this.service.lastZxid.toString(16)}`, digest: this.service.tree.digest() }, `n${this.id} stopped`);
    })();
    return this.stopping;
  }

  // ---------------------------------------------------------------- client port

  /** The ZooKeeper client port (src/server/zk), when the config names one. */
  get clientServer(): ZkServer | undefined {
    return this.zk;
  }

  private async startClientPort(): Promise<void> {
    const config = this.config;
    if (config.clientPort === undefined) return;
    const zk = new ZkServer({
      service: this.service,
      host: config.clientPortAddress,
      port: config.clientPort,
      maxClientCnxns: config.maxClientCnxns,
      maxFrameBytes: config.juteMaxBufferBytes,
      fourLetterWords: config.fourLetterWords,
      ...(config.sasl === undefined ? {} : { sasl: { users: config.sasl.users, ...(config.sasl.superUser === undefined ? {} : { superUser: config.sasl.superUser }) } }),
      logger: this.logger.child({ component: 'zk' }),
      stats: this.zkStats(),
    });
    await zk.listen();
    this.zk = zk;
  }

  private async stopClientPort(): Promise<void> {
    await this.zk?.close();
  }

  /** What the four-letter words (srvr, mntr, conf) say about this server, in ZooKeeper's terms. */
  private zkStats(): ZkStatsProvider {
    const config = this.config;
    const state = (): string => {
      if (config.standalone) return 'standalone';
      const role = this.role();
      return role === 'leader' || role === 'follower' || role === 'observer' ? role : 'looking';
    };
    return {
      serverState: state,
      isServing: () => this.isServing(),
      peerState: () => {
        const s = state();
        return s === 'leader' ? 'leading - broadcast' : s === 'follower' ? 'following - broadcast' : s === 'observer' ? 'observing - broadcast' : s;
      },
      conf: () => [
        ['dataDir', config.dataDir],
        ['dataLogDir', config.dataLogDir],
        ['tickTime', config.tickTimeMs],
        ['maxClientCnxns', config.maxClientCnxns],
        ['minSessionTimeout', config.minSessionTimeoutMs],
        ['maxSessionTimeout', config.maxSessionTimeoutMs],
        ['serverId', config.myid],
        ['initLimit', config.initLimitTicks],
        ['syncLimit', config.syncLimitTicks],
        ['peerType', this.isVoter ? 0 : 1],
      ],
    };
  }

  // ---------------------------------------------------------------- inspector

  /** Where the inspector page of this server is (its admin port). */
  inspectorUrl(adminPort: number): string {
    const host = this.config.adminAddress === '0.0.0.0' || this.config.adminAddress === '::' ? this.config.servers.find((s) => s.id === this.id)?.host ?? '127.0.0.1' : this.config.adminAddress;
    return `http://${host.includes(':') ? `[${host}]` : host}:${adminPort}/`;
  }

  /** The admin port's inspector paths: `/inspect/node` for the other nodes, the page for people. */
  private adminExtension(): AdminExtension {
    return {
      handleRequest: async (req: IncomingMessage, res: ServerResponse) => {
        if (serveNodeReport(this.recorder, req, res)) return true;
        if (!isInspectorPath(new URL(req.url ?? '/', 'http://localhost').pathname)) return false;
        return (await this.liveInspector()).handleRequest(req, res);
      },
      handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.liveInspector().then(
          (inspector) => inspector.handleUpgrade(req, socket, head),
          () => socket.destroy(),
        );
      },
    };
  }

  private liveInspector(): Promise<LiveInspector> {
    if (this.stopping !== undefined && this.inspector === undefined) return Promise.reject(new Error('the server is stopping'));
    this.inspector ??= (async () => {
      const { createLiveInspector } = await import('../../inspect/web/live.js');
      const config = this.config;
      const me = config.servers.find((s) => s.id === this.id);
      const hosts = [config.adminAddress, me?.host, config.adminAddresses.get(this.id)?.host, hostname()].filter(
        (h): h is string => h !== undefined && h !== '0.0.0.0' && h !== '::',
      );
      const peers = new Map([...config.adminAddresses].filter(([id]) => id !== this.id));
      return createLiveInspector({ recorder: this.recorder, members: membership(config).members, peers, port: adminPortOf(this.admin!), hosts });
    })();
    return this.inspector;
  }

  /** What the inspector reports about this server beyond the consensus node. */
  private liveStatus(): LiveServerStatus {
    const servers = new Set(this.config.servers.map((s) => s.id));
    return {
      lastZxid: `0x${this.service.lastZxid.toString(16)}`,
      sessions: this.service.sessionCount,
      serving: this.isServing(),
      peers: (this.tcpBus?.stats().peers ?? []).filter((p) => servers.has(p.peer)).map((p) => ({ id: p.peer, connected: p.connected })),
    };
  }

  // ---------------------------------------------------------------- internals

  private logRole(role: string, epoch: number, leader: NodeId | null): void {
    const last = this.lastLogged;
    if (last.role === role && last.epoch === epoch && last.leader === leader) return;
    this.lastLogged = { role, epoch, leader };
    const following = leader !== null && leader !== this.id ? ` (leader n${leader})` : '';
    this.logger.info({ event: 'role', role, epoch, leader }, `n${this.id} became ${role} at epoch ${epoch}${following}`);
  }

  /**
   * The bus as the node sees it, plus taps: counting client requests, and the inspector's recorder
   * (one boolean test per message while nobody watches).
   */
  private tapBus(bus: Bus<PeerMessage>, peerRequests: Counter): Bus<PeerMessage> {
    const observe = (env: Envelope<PeerMessage>): void => {
      const msg = env.msg;
      this.knownLeader.heard(env.from, Date.now());
      if (msg.type === 'ClientRequest') peerRequests.inc();
    };
    const recorder = this.recorder;
    return {
      send: (env) => {
        recorder.onSend(env);
        bus.send(env);
      },
      inbox: (node): Observable<Envelope<PeerMessage>> =>
        new Observable<Envelope<PeerMessage>>((subscriber) =>
          bus.inbox(node).subscribe({
            next: (env) => {
              observe(env);
              // The recorder names this message as the cause of whatever the node does with it.
              recorder.deliver(env, () => subscriber.next(env));
            },
            error: (error: unknown) => subscriber.error(error),
            complete: () => subscriber.complete(),
          }),
        ),
      close: () => bus.close(),
    };
  }

  private peerStatus(): PeerStatus[] {
    const kinds = new Map<NodeId, PeerStatus['kind']>();
    for (const s of this.config.servers) kinds.set(s.id, s.role);
    for (const c of this.config.peerClients) kinds.set(c, 'client');
    return (this.tcpBus?.stats().peers ?? []).map((p) => ({
      id: p.peer,
      kind: kinds.get(p.peer) ?? 'participant',
      connected: p.connected,
      queued: p.queued,
      dropped: p.dropped,
      reconnects: p.reconnects,
      lastError: p.lastError,
    }));
  }

  private createMetrics(): { peerRequests: Counter; applied: Counter; replies: Counter; snapshotStepSeconds: Histogram } {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const roles: NodeStatus['role'][] = ['leader', 'follower', 'candidate', 'observer', 'recovering'];
    const role = (): NodeStatus['role'] => this.role();
    new Gauge({
      name: 'statekeeper_role',
      help: 'Current role of this server (1 for the current one, 0 for the others)',
      labelNames: ['role'],
      registers,
      collect() {
        const current = role();
        for (const r of roles) this.set({ role: r }, r === current ? 1 : 0);
      },
    });
    const gauge = (name: string, help: string, value: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    };
    gauge('statekeeper_epoch', 'Election epoch this server is in', () => this.node.epoch);
    gauge('statekeeper_last_zxid', 'Last zxid applied to this server tree', () => Number(this.service.lastZxid));
    gauge('statekeeper_commit_slot', 'Every log slot up to here is chosen and applied here', () => this.node.appliedSlot);
    gauge('statekeeper_sessions', 'Client sessions attached to this server', () => this.service.sessionCount);
    gauge('statekeeper_client_connections', 'Open connections on the ZooKeeper client port', () => this.zk?.connectionCount ?? 0);
    gauge('statekeeper_peers_connected', 'Peer links that are up', () => this.tcpBus?.stats().peers.filter((p) => p.connected).length ?? 0);
    gauge('statekeeper_serving', '1 when the server can take client requests', () => (this.isServing() ? 1 : 0));
    gauge('statekeeper_uptime_seconds', 'Seconds since this server started', () => (Date.now() - this.startedMs) / 1000);
    return {
      peerRequests: new Counter({ name: 'statekeeper_peer_client_requests_total', help: 'Client commands received over the peer protocol', registers }),
      applied: new Counter({ name: 'statekeeper_commands_applied_total', help: 'Commands applied to the tree', registers }),
      replies: new Counter({ name: 'statekeeper_client_replies_total', help: 'Commands this server answered as committed', registers }),
      snapshotStepSeconds: new Histogram({
        name: 'statekeeper_snapshot_step_seconds',
        help: 'Time of one snapshot encoding step (the event loop serves nothing else meanwhile)',
        buckets: SNAPSHOT_STEP_BUCKETS_SECONDS,
        registers,
      }),
    };
  }

  /** The service's snapshot, with each step timed and the whole encoding logged when it ends. */
  private measuredSnapshot(service: CoordinationService, stepSeconds: Histogram): SnapshotEncoding {
    const encoding = service.snapshot();
    const startedMs = performance.now();
    let steps = 0;
    let longestMs = 0;
    return {
      step: () => {
        const t = performance.now();
        const chunks = encoding.step();
        const ms = performance.now() - t;
        stepSeconds.observe(ms / 1000);
        steps++;
        if (ms > longestMs) longestMs = ms;
        if (chunks !== null) {
          let bytes = 0;
          for (const c of chunks) bytes += c.length;
          const totalMs = Math.round(performance.now() - startedMs);
          this.logger.info(
            { event: 'snapshot-encoded', bytes, steps, longestStepMs: Math.round(longestMs * 10) / 10, totalMs },
            `n${this.id} encoded a snapshot of ${bytes} bytes in ${steps} steps over ${totalMs} ms (longest step ${longestMs.toFixed(1)} ms)`,
          );
        }
        return chunks;
      },
      cancel: () => encoding.cancel(),
    };
  }
}

/** Buckets of statekeeper_snapshot_step_seconds: 1 ms to 1 s. */
const SNAPSHOT_STEP_BUCKETS_SECONDS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/**
 * The leader a server still serves for. A pre-vote keeps the epoch: it asks whether the leader is
 * gone without deposing it, and usually ends with the same leader (a follower whose timer fired
 * late on a loaded machine). So while the node names no leader, the last one stands until the
 * election moves past its epoch (a campaign, or a later epoch adopted), and only as long as it was
 * heard from within `maxSilenceMs`: ZooKeeper's follower likewise serves until it has not heard
 * from its leader for syncLimit ticks.
 */
export class KnownLeader {
  private last: { readonly id: NodeId; readonly epoch: number } | null = null;
  private lastHeardMs = -Infinity;

  constructor(private readonly maxSilenceMs: number) {}

  /** Feed every effect of the node's machines. */
  observe(effect: Effect): void {
    if (effect.type === 'roleChanged') {
      if (effect.leader !== null) this.last = { id: effect.leader, epoch: effect.epoch };
    } else if (effect.type === 'persistElection' && this.last !== null && effect.epoch > this.last.epoch) {
      this.last = null;
    }
  }

  /** Feed every message received, with its sender. */
  heard(from: NodeId, nowMs: number): void {
    if (from === this.last?.id) this.lastHeardMs = nowMs;
  }

  /** The node's leader if it names one, else the last one while its epoch lasts and it is not silent. */
  current(nodeLeader: NodeId | null, nowMs: number): NodeId | null {
    if (nodeLeader !== null) return nodeLeader;
    if (this.last === null || nowMs - this.lastHeardMs > this.maxSilenceMs) return null;
    return this.last.id;
  }
}

/**
 * pino JSON lines on stdout, written through process.stdout (synchronous for files and pipes on
 * Linux). If whoever reads stdout goes away (EPIPE), log lines are dropped: the server keeps
 * serving rather than fail inside a logging call.
 */
export function serverLogger(id: NodeId): Logger {
  if (process.stdout.listenerCount('error') === 0) process.stdout.on('error', () => undefined);
  return pino({ base: { node: id } }, { write: (line: string) => void process.stdout.write(line) });
}

/** Present in a voter's state directory from the start of a rejoin until its recovered state is durable. */
export const REJOIN_MARKER_FILE = 'REJOINING';

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeDurably(file: string, text: string): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncDirectory(dirname(file));
}

async function removeDurably(file: string): Promise<void> {
  await rm(file, { force: true });
  await syncDirectory(dirname(file));
}
