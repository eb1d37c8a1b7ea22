/**
 * A client that speaks the peer protocol: it joins the TCP bus as a node of its own (an id listed in
 * every server's `statekeeper.peerClients`, authenticated with the cluster secret), sends
 * `ClientRequest` commands and waits for `ClientReply ok` — the answer a leader gives once the
 * command is chosen and applied. It is a tool for trusted operators, tests and bench drivers, not a
 * ZooKeeper client: its commands are tree transactions exactly as the service logs them, with the
 * ACL identities the sender claims (anyone holding the secret may act as any peer anyway).
 *
 * It finds the leader itself: a server that does not lead answers `ok: false` with a hint, and a
 * server that does not answer in time is skipped for the next one.
 */
import { randomBytes } from 'node:crypto';
import type { Subscription } from 'rxjs';
import { TcpBus, silentTcpBusLogger } from '../../bus/tcp/index.js';
import type { PeerAddress, TcpBusLogger } from '../../bus/tcp/index.js';
import { initialSessionId } from '../../node/service.js';
import type { NodeId } from '../../protocol/ids.js';
import type { ClientReply, Command, PeerMessage } from '../../protocol/messages.js';
import { CreateMode, OPEN_ACL_UNSAFE } from '../../protocol/zookeeper.js';
import type { TreeTxn } from '../../tree/txn.js';

/** Resend a command to the next server when the current one has not answered by then. */
export const DEFAULT_PEER_CLIENT_RETRY_MS = 250;
/** Wait before resending after a "not the leader" answer without a usable hint (no leader yet). */
export const DEFAULT_NO_LEADER_BACKOFF_MS = 20;
/** Give up on a command after this long. */
export const DEFAULT_PEER_CLIENT_TIMEOUT_MS = 30_000;
/** Timeout of the session `openSession` creates (writes need a live session, as in ZooKeeper). */
export const DEFAULT_PEER_SESSION_TIMEOUT_MS = 20_000;
/** Session keepalives per session timeout (ZooKeeper clients ping at a third of it, too). */
const TOUCHES_PER_TIMEOUT = 3;
/** Commands waiting for an answer at once; more are refused rather than queued without bound. */
export const MAX_PENDING_PEER_COMMANDS = 10_000;

export interface PeerClientOptions {
  /** This client's node id: above every server id, and listed in their `statekeeper.peerClients`. */
  readonly id: NodeId;
  /** Every server and its quorum port. */
  readonly servers: ReadonlyMap<NodeId, PeerAddress>;
  readonly secret: string;
  readonly logger?: TcpBusLogger;
  readonly retryMs?: number;
  readonly noLeaderBackoffMs?: number;
}

/** What a committed command came back with. */
export interface SubmitResult {
  readonly commandId: string;
  /** Log slot the command was chosen in. */
  readonly slot: number;
  /** The server that answered (the leader of the moment). */
  readonly server: NodeId;
}

export class PeerClientError extends Error {
  override readonly name = 'PeerClientError';
}

interface PendingCommand {
  readonly command: Command;
  readonly deadlineMs: number;
  target: NodeId;
  timer: NodeJS.Timeout | undefined;
  readonly resolve: (r: SubmitResult) => void;
  readonly reject: (e: Error) => void;
}

export class PeerClient {
  readonly id: NodeId;
  private readonly bus: TcpBus<PeerMessage>;
  private readonly serverIds: NodeId[];
  private readonly pending = new Map<string, PendingCommand>();
  private readonly prefix = `c${randomBytes(6).toString('hex')}`;
  private counter = 0;
  private leaderGuess: NodeId;
  private subscription: Subscription | undefined;
  private closed = false;
  private session: { readonly id: bigint; readonly timer: NodeJS.Timeout } | undefined;

  private constructor(private readonly opts: PeerClientOptions) {
    this.id = opts.id;
    this.serverIds = [...opts.servers.keys()].sort((a, b) => a - b);
    if (this.serverIds.length === 0) throw new RangeError('PeerClient needs at least one server');
    if (this.serverIds.some((s) => s >= opts.id)) throw new RangeError(`PeerClient id ${opts.id} must be above every server id (it dials in)`);
    this.leaderGuess = this.serverIds[0]!;
    this.bus = new TcpBus<PeerMessage>({
      self: opts.id,
      // The client dials every server (its id is the higher one) and is never dialed, but the bus
      // still wants a port of its own: an ephemeral one on loopback.
      listen: { host: '127.0.0.1', port: 0 },
      peers: new Map(opts.servers),
      secret: opts.secret,
      logger: opts.logger ?? silentTcpBusLogger,
    });
  }

  /** Connect (links come up in the background; commands wait in the bus queues meanwhile). */
  static async start(opts: PeerClientOptions): Promise<PeerClient> {
    const client = new PeerClient(opts);
    await client.bus.start();
    client.subscription = client.bus.inbox(opts.id).subscribe((env) => {
      if (env.msg.type === 'ClientReply') client.onReply(env.from, env.msg);
    });
    return client;
  }

  /** Servers whose link is up. */
  connectedServers(): NodeId[] {
    return this.bus.stats().peers.filter((p) => p.connected).map((p) => p.peer);
  }

  /** Propose `payload` as one command; resolves once the leader has applied it. */
  submit(payload: unknown, options: { timeoutMs?: number } = {}): Promise<SubmitResult> {
    if (this.closed) return Promise.reject(new PeerClientError('PeerClient is closed'));
    if (this.pending.size >= MAX_PENDING_PEER_COMMANDS) return Promise.reject(new PeerClientError(`more than ${MAX_PENDING_PEER_COMMANDS} commands pending`));
    const command: Command = { id: `${this.prefix}.${++this.counter}`, payload };
    return new Promise((resolve, reject) => {
      const p: PendingCommand = {
        command,
        deadlineMs: Date.now() + (options.timeoutMs ?? DEFAULT_PEER_CLIENT_TIMEOUT_MS),
        target: this.leaderGuess,
        timer: undefined,
        resolve,
        reject,
      };
      this.pending.set(command.id, p);
      this.send(p);
    });
  }

  /**
   * Create a session in the replicated sessions table (writes of the tree need one, exactly as a
   * ZooKeeper client's do) and keep it alive by touching it at the leader. Resolves with its id.
   */
  async openSession(timeoutMs = DEFAULT_PEER_SESSION_TIMEOUT_MS): Promise<bigint> {
    if (this.session !== undefined) return this.session.id;
    // ZooKeeper's scheme with this client's id in the top byte: unique beside the servers' sessions.
    const sessionId = initialSessionId(this.id, Date.now());
    await this.submitTxn({ type: 'createSession', sessionId, timeoutMs, passwordHex: randomBytes(16).toString('hex') });
    const hex = sessionId.toString(16);
    const timer = setInterval(() => {
      this.bus.send({ from: this.id, to: this.leaderGuess, msg: { type: 'SessionTouch', sessions: [hex] } });
    }, Math.max(1, Math.floor(timeoutMs / TOUCHES_PER_TIMEOUT)));
    timer.unref();
    this.session = { id: sessionId, timer };
    return sessionId;
  }

  /** The session `openSession` created (0n before that). */
  get sessionId(): bigint {
    return this.session?.id ?? 0n;
  }

  /** Propose a tree transaction, shaped as the coordination service logs it. */
  submitTxn(txn: TreeTxn, options: { timeoutMs?: number } = {}): Promise<SubmitResult> {
    return this.submit(serviceCommand(txn), options);
  }

  /** Close the links; pending commands fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The session is left to expire at the leader (like a client that vanished).
    clearInterval(this.session?.timer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new PeerClientError('PeerClient closed'));
    }
    this.pending.clear();
    this.subscription?.unsubscribe();
    this.bus.close();
  }

  private send(p: PendingCommand): void {
    if (this.closed || !this.pending.has(p.command.id)) return;
    if (Date.now() > p.deadlineMs) {
      this.pending.delete(p.command.id);
      p.reject(new PeerClientError(`command ${p.command.id} not committed in time`));
      return;
    }
    this.bus.send({ from: this.id, to: p.target, msg: { type: 'ClientRequest', command: p.command } });
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      // No answer: that server is down or cut off; try the next one.
      if (p.target === this.leaderGuess) this.leaderGuess = this.next(p.target);
      p.target = this.leaderGuess;
      this.send(p);
    }, this.opts.retryMs ?? DEFAULT_PEER_CLIENT_RETRY_MS);
  }

  private onReply(from: NodeId, reply: ClientReply): void {
    const p = this.pending.get(reply.commandId);
    if (p === undefined) return;
    if (reply.ok) {
      this.pending.delete(reply.commandId);
      clearTimeout(p.timer);
      this.leaderGuess = from;
      p.resolve({ commandId: reply.commandId, slot: reply.slot ?? 0, server: from });
      return;
    }
    const hint = reply.leaderHint ?? null;
    const usable = hint !== null && hint !== from && this.opts.servers.has(hint);
    if (usable) {
      this.leaderGuess = hint;
      p.target = hint;
      this.send(p);
      return;
    }
    // No leader known there (an election is running): try the next server after a short pause.
    if (p.target === this.leaderGuess) this.leaderGuess = this.next(from);
    p.target = this.leaderGuess;
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.send(p), this.opts.noLeaderBackoffMs ?? DEFAULT_NO_LEADER_BACKOFF_MS);
  }

  private next(after: NodeId): NodeId {
    const i = this.serverIds.indexOf(after);
    return this.serverIds[(i + 1) % this.serverIds.length]!;
  }
}

/** A command payload as CoordinationService logs it: `{ t: TreeTxn }` (no session order to dedup). */
export function serviceCommand(txn: TreeTxn): { t: TreeTxn } {
  return { t: txn };
}

/** A persistent create with an open ACL by session `sessionId` (without authenticated ids). */
export function createTxn(sessionId: bigint, path: string, data: Uint8Array): TreeTxn {
  return { type: 'create', sessionId, auth: [], path, data, acl: OPEN_ACL_UNSAFE, mode: CreateMode.PERSISTENT };
}

/** An unconditional setData by session `sessionId` (without authenticated ids). */
export function setDataTxn(sessionId: bigint, path: string, data: Uint8Array): TreeTxn {
  return { type: 'setData', sessionId, auth: [], path, data, version: -1 };
}
