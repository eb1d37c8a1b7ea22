/**
 * One client connection on the ZooKeeper port: NIOServerCnxn's life cycle on a Node.js socket.
 *
 * prelude ──4 bytes──► a four-letter word? ──yes──► command: answer, close
 *    │ no
 *    ▼
 * handshake ──ConnectRequest──► opening (openSession in flight; reading paused, frames held)
 *    │                               │ invalid session: ConnectResponse(timeout 0, session 0), close
 *    ▼                               ▼
 *  open: requests in order ──► replies in the same order; watch events as they fire
 *
 * Every failure is contained here: a bad frame, a malformed record, a socket error or a defect in
 * an answer closes this connection only, with a logged reason.
 */
import type { Socket } from 'node:net';
import type { CoordinationService, SessionGrant, SessionListener } from '../../node/service.js';
import { ErrorCode, KeeperState, OpCode } from '../../protocol/zookeeper.js';
import {
  FrameError,
  FrameSplitter,
  JuteDecodeError,
  decodeConnectRequest,
  decodeRequest,
  decodeRequestHeader,
  encodeConnectResponse,
  encodeNotification,
  encodeResponse,
  fourLetterWordOf,
  LENGTH_PREFIX_BYTES,
} from '../jute/index.js';
import type { ConnectRequest, FourLetterWord, ReplyHeader, ResponseBody, ZkRequest as WireRequest } from '../jute/index.js';
import { javaHex, javaSocketAddress, plainAddress } from './format.js';
import type { ConnectionView } from './fourletter.js';
import { CLOSE_LINGER_MS, MAX_PENDING_WRITE_BYTES, SESSION_PASSWORD_BYTES } from './limits.js';
import type { ZkServerLogger } from './logger.js';
import { LAST_OP_NAME, planRequest, replyOf } from './requests.js';
import type { RequestPlan } from './requests.js';
import { ConnectionCounters } from './stats.js';
import type { ServerCounters } from './stats.js';
import { DigestMd5Server, SaslError } from './digest-md5.js';

/** SASL DIGEST-MD5 users, as a ZooKeeper server gets them from the JAAS `Server` section. */
export interface ZkSaslOptions {
  /** user name → password (the section's `user_<name>="<password>"` options). */
  readonly users: ReadonlyMap<string, string>;
  /** zookeeper.superUser: the SASL user that also gets the `super` id. */
  readonly superUser?: string;
  /** Random bytes for DIGEST-MD5 nonces (default node:crypto). */
  readonly randomBytes?: (n: number) => Uint8Array;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly service: CoordinationService;
  readonly counters: ServerCounters;
  readonly logger: ZkServerLogger;
  readonly maxFrameBytes: number;
  /**
   * Largest buffer/ustring field inside a record: jute.maxbuffer plus zookeeper.jute.maxbuffer.extrasize,
   * which defaults to jute.maxbuffer (BinaryInputArchive.checkLength).
   */
  readonly maxFieldBytes: number;
  readonly sessionlessTimeoutMs: number;
  readonly maxOutstandingRequests: number;
  /** SASL users; undefined: no SASL server on the connections (ZooKeeper without a JAAS `Server` section). */
  readonly sasl: ZkSaslOptions | undefined;
  now(): number;
  /** False while the server cannot serve: frames are then refused (NIOServerCnxn.readLength). */
  isServing(): boolean;
  /** The answer to a four-letter word (whitelist applied), or null to close without one. */
  fourLetterWord(word: FourLetterWord): string | null;
  /** This connection now serves the session; any other connection of it on this server is closed. */
  claimSession(sessionId: bigint, connection: ClientConnection): void;
  /** Gives up the session if this connection owns it; true when it did. */
  releaseSession(sessionId: bigint, connection: ClientConnection): boolean;
  /** The connection serving the session on this server, if any. */
  ownerOf(sessionId: bigint): ClientConnection | undefined;
  connectionClosed(connection: ClientConnection): void;
}

type Phase = 'prelude' | 'handshake' | 'opening' | 'open' | 'command';

/** A request's place in the reply order: replies leave strictly in the order requests arrived. */
interface PendingReply {
  readonly xid: number;
  readonly op: string;
  readonly receivedMs: number;
  packet: Buffer | null;
  zxid: bigint;
  closeAfter: string | null;
}

const EMPTY = Buffer.alloc(0);
/**
 * A four-letter word's answer goes out through a BufferedWriter (8192 characters) over
 * SendBufferWriter, each flush one sendBufferSync: one packet sent per 8192 characters or part.
 */
const FOUR_LETTER_WORD_CHARS_PER_PACKET = 8192;
/** SelectionKey.OP_READ and OP_READ | OP_WRITE, as cons prints them. */
const INTEREST_READ = 1;
const INTEREST_READ_WRITE = 5;

export class ClientConnection implements ConnectionView {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly establishedMs: number;
  readonly counters = new ConnectionCounters();
  /** 0 until a session is established (or while a reconnect is validated). */
  sessionId = 0n;
  sessionTimeoutMs = 0;

  private readonly host: ConnectionHost;
  private readonly socket: Socket;
  private readonly splitter: FrameSplitter;
  private phase: Phase = 'prelude';
  private prelude: Buffer = EMPTY;
  /** Frames received and not yet processed (reading is held while a session opens or a digest auth is added). */
  private backlog: Array<Buffer | FrameError> = [];
  private holds = 0;
  private readonly replies: PendingReply[] = [];
  /** The last request handed to the service: closeSession waits for it (the session's FIFO order). */
  private lastSubmitted: Promise<unknown> = Promise.resolve();
  private isOldClient = false;
  private closeSessionRequested = false;
  /** An auth or SASL failure: ZooKeeper stops reading (disableRecv) and closes after the reply. */
  private authRefused = false;
  /** This connection's DIGEST-MD5 exchange (ZooKeeper: one SaslServer per ServerCnxn), made on the first SASL packet. */
  private saslServer: DigestMd5Server | undefined;
  /** The client closed its side; frames it sent before are still processed (see onPeerEnd). */
  private peerEnded = false;
  private sessionEnded = false;
  private closing = false;
  private closed = false;
  private paused = false;
  private corked = false;
  private lastActivityMs: number;
  /** When the ConnectRequest arrived: session creation counts as a request (lop SESS) in the latency stats. */
  private connectReceivedMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(host: ConnectionHost, socket: Socket, id: number) {
    this.host = host;
    this.socket = socket;
    this.id = id;
    this.remoteAddress = plainAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.establishedMs = host.now();
    this.lastActivityMs = this.establishedMs;
    this.splitter = new FrameSplitter({ maxFrameBytes: host.maxFrameBytes });
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on('drain', () => this.guard(() => this.updateFlow()));
    socket.on('end', () => this.guard(() => this.onPeerEnd()));
    socket.on('error', (err: Error) => this.log('debug', 'socket error', { error: err.message }));
    socket.on('close', () => this.onSocketClosed());
    this.armIdleTimer();
  }

  /** "/127.0.0.1:54321" */
  get remote(): string {
    return javaSocketAddress(this.remoteAddress, this.remotePort);
  }

  get outstanding(): number {
    return this.replies.length;
  }

  /** When this connection will be closed if it stays silent. */
  get deadlineMs(): number {
    return this.lastActivityMs + this.currentTimeoutMs();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** ServerCnxn.dumpConnectionInfo. */
  describe(brief: boolean): string {
    const c = this.counters;
    let text = ` ${this.remote}[${this.interestOps()}](queued=${this.replies.length},recved=${c.packetsReceived},sent=${c.packetsSent}`;
    if (!brief && this.sessionId !== 0n) {
      text += `,sid=0x${javaHex(this.sessionId)},lop=${c.lastOp},est=${this.establishedMs},to=${this.sessionTimeoutMs}`;
      if (c.lastCxid >= 0) text += `,lcxid=0x${javaHex(c.lastCxid)}`;
      text += `,lzxid=0x${javaHex(c.lastZxid)},lresp=${c.lastResponseMs},llat=${c.lastLatencyMs}`;
      text += `,minlat=${c.latency.minMs},avglat=${c.latency.avgMsTruncated},maxlat=${c.latency.maxMs}`;
    }
    return `${text})`;
  }

  resetStats(): void {
    this.counters.reset();
  }

  /** Closes the connection now (server shutdown, session taken over by a newer connection). */
  destroy(reason: string, details: Record<string, unknown> = {}, level: 'debug' | 'info' | 'warn' = 'info'): void {
    if (this.closed) return;
    if (!this.closing) this.log(level, `closing connection: ${reason}`, details);
    this.closing = true;
    this.socket.destroy();
  }

  // ------------------------------------------------------------------ input

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.lastActivityMs = this.host.now();
    let bytes = chunk;
    if (this.phase === 'prelude') {
      // Only the connection's first 4 bytes may be a four-letter word (ZooKeeper checks them
      // while the connection is not initialized, and the first packet initializes it).
      this.prelude = this.prelude.length === 0 ? chunk : Buffer.concat([this.prelude, chunk]);
      if (this.prelude.length < LENGTH_PREFIX_BYTES) return;
      bytes = this.prelude;
      this.prelude = EMPTY;
      const word = fourLetterWordOf(bytes.readInt32BE(0));
      if (word !== null) {
        this.runCommand(word);
        return;
      }
      this.phase = 'handshake';
    }
    const result = this.splitter.push(bytes);
    if (result.kind === 'fourLetterWord') return; // not asked of this splitter: words are checked above
    for (const frame of result.frames) this.backlog.push(frame);
    if (result.kind === 'error') this.backlog.push(result.error);
    this.drainBacklog();
  }

  /**
   * Processes received frames in order while reading is not held. ZooKeeper stops reading while a
   * session opens and while an auth packet is handled (disableRecv), so everything after (a refused
   * length included) is looked at only once the hold is over.
   */
  private drainBacklog(): void {
    while (this.backlog.length > 0 && !this.isHeld() && !this.closing) {
      const item = this.backlog.shift()!;
      if (item instanceof FrameError) {
        this.destroy('frame length refused (Len error)', { length: item.length, maxFrameBytes: item.maxFrameBytes }, 'warn');
        return;
      }
      this.onFrame(item);
    }
    if (this.closing) return;
    if (this.peerEnded && !this.isHeld() && this.backlog.length === 0) {
      this.destroy('client closed the connection', {}, 'debug');
      return;
    }
    this.updateFlow();
  }

  private isHeld(): boolean {
    return this.phase === 'opening' || this.holds > 0;
  }

  private onFrame(frame: Buffer): void {
    if (!this.host.isServing()) {
      this.destroy('ZooKeeperServer not running', {}, 'info');
      return;
    }
    if (this.phase === 'handshake') this.onConnectRequest(frame);
    else if (this.phase === 'open') this.onRequestFrame(frame);
  }

  /**
   * End of the client's stream. ZooKeeper reads what the client sent before its FIN (frames held
   * while the session opens stay in the socket until reading resumes), then closes the connection,
   * dropping replies not yet sent. Held frames are therefore processed before the close.
   */
  private onPeerEnd(): void {
    this.peerEnded = true;
    if (this.closing || this.phase === 'command') return;
    this.drainBacklog();
  }

  private runCommand(word: FourLetterWord): void {
    this.phase = 'command';
    this.counters.packetsReceived++;
    this.host.counters.packetsReceived++;
    this.log('info', 'processing four-letter word', { command: word });
    const text = this.host.fourLetterWord(word);
    if (text === null) {
      this.destroy('four-letter word without an answer', { command: word }, 'debug');
      return;
    }
    this.endWith(text, 'four-letter word answered');
    this.countSent(Math.max(1, Math.ceil(text.length / FOUR_LETTER_WORD_CHARS_PER_PACKET)));
  }

  // ------------------------------------------------------------------ handshake

  private onConnectRequest(frame: Buffer): void {
    this.counters.packetsReceived++;
    this.host.counters.packetsReceived++;
    this.connectReceivedMs = this.host.now();
    let request: ConnectRequest;
    try {
      request = decodeConnectRequest(frame, { maxFieldBytes: this.host.maxFieldBytes });
    } catch (err) {
      if (!(err instanceof JuteDecodeError)) throw err;
      this.destroy('malformed ConnectRequest', { error: err.message }, 'warn');
      return;
    }
    const service = this.host.service;
    if (request.lastZxidSeen > service.lastZxid) {
      // The client has seen a newer state than this server has applied: it must try another server.
      this.destroy('refusing session request: client has seen a newer zxid, it must try another server', {
        clientZxid: `0x${javaHex(request.lastZxidSeen)}`,
        serverZxid: `0x${javaHex(service.lastZxid)}`,
      });
      return;
    }
    this.isOldClient = request.readOnly === undefined;
    this.phase = 'opening';
    this.sessionTimeoutMs = Math.min(service.maxSessionTimeoutMs, Math.max(service.minSessionTimeoutMs, request.timeoutMs));
    if (request.sessionId !== 0n) {
      this.sessionId = request.sessionId;
      this.host.claimSession(request.sessionId, this);
    }
    const listener: SessionListener = {
      onWatch: (event) => this.guard(() => this.onWatch(event)),
      onSessionEnd: (state) => this.guard(() => this.onSessionEnd(state)),
      // The server resynchronized from a peer's snapshot: the client reconnects, as it would to a
      // ZooKeeper follower that resynced with its leader, and re-registers its watches.
      onConnectionLost: () => this.guard(() => this.destroy('server state replaced by a snapshot from a peer', { sessionId: `0x${javaHex(this.sessionId)}` })),
    };
    // A null password must not skip the check: ZooKeeper compares it with the session's and fails.
    const passwordHex = (request.passwd ?? EMPTY).toString('hex');
    service
      .openSession(
        { sessionId: request.sessionId, passwordHex, timeoutMs: this.sessionTimeoutMs, auth: [{ scheme: 'ip', id: this.remoteAddress }] },
        listener,
      )
      .then(
        (grant) => this.guard(() => this.onSessionOpened(request, grant)),
        (err: unknown) => this.guard(() => this.destroy('openSession failed', { error: String(err) }, 'warn')),
      );
  }

  private onSessionOpened(request: ConnectRequest, grant: SessionGrant | { err: number }): void {
    const service = this.host.service;
    if ('err' in grant) {
      const requested = request.sessionId;
      if (requested !== 0n && this.host.releaseSession(requested, this)) service.detach(requested);
      this.sessionId = 0n;
      if (this.closing) return;
      // finishSessionInit(cnxn, false): timeout 0, session 0 and an empty password, then close.
      // The client reads the zero timeout as an expired session (a wrong password reads the same).
      this.log('info', 'invalid session, probably expired', { sessionId: `0x${javaHex(requested)}`, err: grant.err, client: this.remote });
      this.socket.write(
        encodeConnectResponse({ protocolVersion: 0, timeoutMs: 0, sessionId: 0n, passwd: Buffer.alloc(SESSION_PASSWORD_BYTES), readOnly: this.isOldClient ? undefined : false }),
      );
      this.countSent(1);
      this.endAfterFlush('invalid session');
      return;
    }
    const sessionId = grant.sessionId;
    if (this.closed || this.closing) {
      // The client went away while its session opened: nobody serves it here any more.
      if (this.host.ownerOf(sessionId) === undefined || this.host.releaseSession(sessionId, this)) service.detach(sessionId);
      return;
    }
    if (request.sessionId === 0n) this.host.claimSession(sessionId, this);
    this.sessionId = sessionId;
    this.sessionTimeoutMs = grant.timeoutMs;
    this.socket.write(
      encodeConnectResponse({
        protocolVersion: 0,
        timeoutMs: grant.timeoutMs,
        sessionId,
        passwd: Buffer.from(grant.passwordHex, 'hex'),
        readOnly: this.isOldClient ? undefined : false,
      }),
    );
    this.countSent(1); // ZooKeeper counts the ConnectResponse as a packet sent
    if (request.sessionId === 0n) {
      // A new session goes through ZooKeeper's request pipeline as createSession (cxid 0), whose
      // FinalRequestProcessor updates the latency statistics with last operation SESS; a reconnect does not.
      const now = this.host.now();
      this.counters.recordResponse(0, service.lastZxid, 'SESS', this.connectReceivedMs, now);
      this.host.counters.latency.add(now - this.connectReceivedMs);
    }
    this.phase = 'open';
    this.log('info', 'session established', { sessionId: `0x${javaHex(sessionId)}`, timeoutMs: grant.timeoutMs, client: this.remote });
    this.armIdleTimer();
    this.drainBacklog();
  }

  // ------------------------------------------------------------------ requests

  private onRequestFrame(frame: Buffer): void {
    this.counters.packetsReceived++;
    this.host.counters.packetsReceived++;
    // Nothing after closeSession, or after a refused auth, is read: the connection closes.
    if (this.closeSessionRequested || this.authRefused) return;
    let header: { xid: number; type: number };
    let body: Buffer;
    try {
      ({ header, body } = decodeRequestHeader(frame));
    } catch (err) {
      if (!(err instanceof JuteDecodeError)) throw err;
      this.destroy('malformed request header', { error: err.message }, 'warn');
      return;
    }
    let request: WireRequest;
    try {
      request = decodeRequest(header, body, { maxFieldBytes: this.host.maxFieldBytes });
    } catch (err) {
      if (!(err instanceof JuteDecodeError)) throw err;
      if (header.type === OpCode.auth || header.type === OpCode.sasl) {
        // processPacket decodes these inline; the IOException closes the connection.
        this.destroy('malformed auth packet', { type: header.type, error: err.message }, 'warn');
        return;
      }
      this.log('debug', 'malformed request body', { type: header.type, error: err.message });
      this.settle(this.enqueue(header.xid, 'NA'), { xid: header.xid, zxid: this.host.service.lastZxid, err: ErrorCode.MARSHALLINGERROR });
      return;
    }
    this.dispatch(header.xid, request);
  }

  private dispatch(xid: number, request: WireRequest): void {
    const plan: RequestPlan = planRequest(request, xid);
    const entry = this.enqueue(xid, LAST_OP_NAME[request.op]);
    const service = this.host.service;
    const sessionId = this.sessionId;
    switch (plan.kind) {
      case 'ping':
        service.touch(sessionId);
        this.settle(entry, { xid, zxid: service.lastZxid, err: ErrorCode.OK });
        return;
      case 'reply':
        if (plan.close) this.log('warn', plan.reason, { xid });
        this.settle(entry, { xid, zxid: plan.zxid === 'none' ? -1n : service.lastZxid, err: plan.err }, undefined, plan.close ? plan.reason : null);
        return;
      case 'sasl':
        this.sasl(entry, plan.token);
        return;
      case 'auth':
        this.authenticate(entry, plan.scheme, plan.auth);
        return;
      case 'closeSession': {
        this.closeSessionRequested = true;
        const closing = this.lastSubmitted.then(() => service.closeSession(sessionId));
        this.lastSubmitted = closing;
        closing.then(
          (response) => this.guard(() => this.settle(entry, { xid, zxid: response.zxid, err: response.err }, undefined, 'session closed by the client')),
          (err: unknown) => this.guard(() => this.destroy('closeSession failed', { error: String(err) }, 'warn')),
        );
        return;
      }
      case 'service': {
        const answer = service.submit(sessionId, plan.request);
        this.lastSubmitted = answer;
        answer.then(
          (response) =>
            this.guard(() => {
              const reply = replyOf(plan, response);
              this.settle(entry, { xid, zxid: response.zxid, err: reply.err }, reply.body);
            }),
          (err: unknown) => this.guard(() => this.destroy('request failed in the service', { error: String(err) }, 'warn')),
        );
        return;
      }
    }
  }

  /**
   * ZooKeeper's auth providers: "digest" adds the digest id (the service does it, in the session's
   * order), "ip" adds the ip id the connection already carries, any other scheme has no provider:
   * AUTHFAILED, then the connection closes. Auth replies carry zxid 0.
   */
  private authenticate(entry: PendingReply, scheme: string, auth: Buffer): void {
    const xid = entry.xid;
    const fail = (): void => {
      this.host.counters.authFailed++;
      this.authRefused = true;
      this.log('warn', 'authentication failed', { scheme, client: this.remote });
      this.settle(entry, { xid, zxid: 0n, err: ErrorCode.AUTHFAILED }, undefined, 'authentication failed');
    };
    if (scheme === 'ip') {
      this.settle(entry, { xid, zxid: 0n, err: ErrorCode.OK });
      return;
    }
    if (scheme !== 'digest') {
      fail();
      return;
    }
    // ZooKeeper adds the id before it reads the next packet: hold later frames until it is in.
    this.holds++;
    this.updateFlow();
    const answer = this.host.service.submit(this.sessionId, { op: 'addAuth', scheme, auth });
    this.lastSubmitted = answer;
    answer.then(
      (response) =>
        this.guard(() => {
          this.holds--;
          if (response.err === ErrorCode.OK) this.settle(entry, { xid, zxid: 0n, err: ErrorCode.OK });
          else fail();
          if (!this.closing) this.drainBacklog();
        }),
      (err: unknown) => this.guard(() => this.destroy('auth failed in the service', { error: String(err) }, 'warn')),
    );
  }

  /**
   * ZooKeeperServer.processSasl. Without SASL users the connection has no SASL server: ZooKeeper
   * catches the NullPointerException and answers OK with a null token. With them, each token goes
   * through this connection's DIGEST-MD5 exchange; when it completes, `sasl:<user>` (and `super` for
   * zookeeper.superUser) joins the session's ids before the final token (rspauth) is sent. A refused
   * token is answered AUTHFAILED with a null token (the Java client reads the token whatever the
   * error), then ZooKeeper stops reading and closes the connection; the session lives on.
   * SASL replies carry zxid 0. A null token closes the connection (ZooKeeper reads its length first).
   */
  private sasl(entry: PendingReply, token: Buffer | null): void {
    const xid = entry.xid;
    if (token === null) {
      this.destroy('SASL packet without a token', {}, 'warn');
      return;
    }
    const config = this.host.sasl;
    if (config === undefined) {
      this.settle(entry, { xid, zxid: 0n, err: ErrorCode.OK }, { record: 'SetSASLResponse', token: null });
      return;
    }
    this.saslServer ??= new DigestMd5Server({
      passwordOf: (user) => config.users.get(user),
      ...(config.randomBytes === undefined ? {} : { randomBytes: config.randomBytes }),
    });
    let step: ReturnType<DigestMd5Server['evaluate']>;
    try {
      step = this.saslServer.evaluate(token);
    } catch (err) {
      if (!(err instanceof SaslError)) throw err;
      this.authRefused = true;
      this.log('warn', 'client failed to SASL authenticate; closing the connection', { error: err.message });
      this.settle(entry, { xid, zxid: 0n, err: ErrorCode.AUTHFAILED }, { record: 'SetSASLResponse', token: null }, 'SASL authentication failed');
      return;
    }
    if (!step.complete) {
      this.settle(entry, { xid, zxid: 0n, err: ErrorCode.OK }, { record: 'SetSASLResponse', token: step.challenge });
      return;
    }
    const ids = [{ scheme: 'sasl', id: step.username }];
    if (config.superUser !== undefined && step.username === config.superUser) ids.push({ scheme: 'super', id: '' });
    this.log('info', 'adding SASL authorization', { authorizationId: step.username, sessionId: `0x${javaHex(this.sessionId)}` });
    // The ids are in before the next packet is read, as processSasl adds them inline.
    this.holds++;
    this.updateFlow();
    const answer = this.host.service.submit(this.sessionId, { op: 'addVerifiedIds', ids });
    this.lastSubmitted = answer;
    answer.then(
      (response) =>
        this.guard(() => {
          this.holds--;
          if (response.err === ErrorCode.OK) this.settle(entry, { xid, zxid: 0n, err: ErrorCode.OK }, { record: 'SetSASLResponse', token: step.challenge });
          else this.destroy('the session ended during SASL', { err: response.err }, 'info');
          if (!this.closing) this.drainBacklog();
        }),
      (err: unknown) => this.guard(() => this.destroy('SASL failed in the service', { error: String(err) }, 'warn')),
    );
  }

  // ------------------------------------------------------------------ output

  private enqueue(xid: number, op: string): PendingReply {
    const entry: PendingReply = { xid, op, receivedMs: this.host.now(), packet: null, zxid: -1n, closeAfter: null };
    this.replies.push(entry);
    return entry;
  }

  private settle(entry: PendingReply, header: ReplyHeader, body?: ResponseBody, closeAfter: string | null = null): void {
    if (this.closed) return;
    entry.packet = encodeResponse(header, body);
    entry.zxid = header.zxid;
    entry.closeAfter = closeAfter;
    this.flush();
  }

  private flush(): void {
    while (this.replies.length > 0 && this.replies[0]!.packet !== null) {
      const entry = this.replies.shift()!;
      if (this.closing) continue;
      const packet = entry.packet!;
      this.corkUntilNextTurn();
      this.socket.write(packet);
      const now = this.host.now();
      this.counters.packetsSent++;
      this.counters.recordResponse(entry.xid, entry.zxid, entry.op, entry.receivedMs, now);
      const server = this.host.counters;
      server.packetsSent++;
      server.responseSizes.record(packet.length);
      server.latency.add(now - entry.receivedMs);
      if (entry.closeAfter !== null) {
        this.replies.length = 0;
        this.endAfterFlush(entry.closeAfter);
        return;
      }
    }
    this.updateFlow();
  }

  /**
   * Replies resolved in one turn of the event loop (a committed batch answers many requests at
   * once) leave in one writev instead of one syscall each.
   */
  private corkUntilNextTurn(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private onWatch(event: { type: number; path: string }): void {
    if (this.closing || this.phase !== 'open') return;
    this.socket.write(encodeNotification({ type: event.type, state: KeeperState.SyncConnected, path: event.path }));
    this.countSent(1);
  }

  /** ServerCnxn.packetSent: the connection's and the server's counters. */
  private countSent(packets: number): void {
    this.counters.packetsSent += packets;
    this.host.counters.packetsSent += packets;
  }

  private onSessionEnd(state: number): void {
    this.sessionEnded = true;
    if (this.closing) return;
    if (state === KeeperState.Closed && this.closeSessionRequested) return; // our closeSession reply closes
    // ZooKeeper closes the connection of an expired session without a word; the client learns of
    // the expiry when it reconnects and the handshake answers with a zero timeout.
    this.destroy(state === KeeperState.Expired ? 'session expired' : 'session closed', { sessionId: `0x${javaHex(this.sessionId)}` });
  }

  // ------------------------------------------------------------------ flow, timers, closing

  private interestOps(): number {
    if (this.phase === 'command' || this.closing || this.paused) return 0;
    return this.socket.writableLength > 0 ? INTEREST_READ_WRITE : INTEREST_READ;
  }

  /** Stop reading while held, while too many replies are owed, or while the client does not drain its replies. */
  private updateFlow(): void {
    if (this.closing || this.closed) return;
    const pause =
      this.phase === 'opening' ||
      this.holds > 0 ||
      this.replies.length >= this.host.maxOutstandingRequests ||
      this.socket.writableLength > MAX_PENDING_WRITE_BYTES;
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  private currentTimeoutMs(): number {
    return this.sessionTimeoutMs > 0 ? this.sessionTimeoutMs : this.host.sessionlessTimeoutMs;
  }

  private armIdleTimer(): void {
    if (this.closed) return;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    const delayMs = Math.max(1, this.deadlineMs - this.host.now());
    this.idleTimer = setTimeout(() => this.guard(() => this.onIdleTimer()), delayMs);
    this.idleTimer.unref();
  }

  /** ZooKeeper's connection expirer: a connection silent for its session timeout is closed. */
  private onIdleTimer(): void {
    this.idleTimer = undefined;
    if (this.closing) return;
    if (this.host.now() >= this.deadlineMs) {
      this.destroy('connection silent for its timeout', { timeoutMs: this.currentTimeoutMs(), sessionId: `0x${javaHex(this.sessionId)}` });
      return;
    }
    this.armIdleTimer();
  }

  /** Sends what is queued, then closes (ServerCnxnFactory.closeConn); destroyed if the client does not drain. */
  private endAfterFlush(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.log('debug', `closing connection: ${reason}`, { sessionId: `0x${javaHex(this.sessionId)}` });
    this.socket.end();
    this.armLinger();
  }

  private endWith(text: string, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.log('debug', `closing connection: ${reason}`, {});
    this.socket.end(text);
    this.armLinger();
  }

  private armLinger(): void {
    this.lingerTimer = setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS);
    this.lingerTimer.unref();
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.replies.length = 0;
    this.backlog = [];
    const sessionId = this.sessionId;
    // A connection gone is not a session gone: the session lives until it expires or the client
    // reconnects (here or elsewhere) in time.
    if (sessionId !== 0n && this.host.releaseSession(sessionId, this) && !this.sessionEnded) this.host.service.detach(sessionId);
    this.host.connectionClosed(this);
  }

  /** Runs a handler so that no defect in it can escape to the process: the connection closes instead. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log('error', 'internal error, closing the connection', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      this.closing = true;
      this.socket.destroy();
    }
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, details: Record<string, unknown>): void {
    const logger = this.host.logger;
    const entry = { connection: this.id, client: this.remote, ...details };
    if (level === 'debug') logger.debug?.(entry, message);
    else if (level === 'error') (logger.error ?? logger.warn).call(logger, entry, message);
    else logger[level](entry, message);
  }
}
