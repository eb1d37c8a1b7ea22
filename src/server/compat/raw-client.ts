/**
 * A small ZooKeeper client that speaks the wire protocol directly through statekeeper's jute codec
 * (src/server/jute): every request type, every reply as decoded records, and a log of everything
 * the server sent on the connection in arrival order (replies and watch notifications), which is
 * what a differential test compares. It does not reconnect or retry: a lost connection ends it.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import {
  FrameSplitter,
  NOTIFICATION_XID,
  SUCCESS_RESPONSE_RECORD,
  decodeConnectResponse,
  decodeReplyHeader,
  decodeResponseBody,
  decodeWatcherEvent,
  encodeConnectRequest,
  encodeRequest,
} from '../jute/index.js';
import type { KnownRequest, ResponseBody, WatcherEvent } from '../jute/index.js';

/** ClientCnxn's reserved xids. */
export const PING_XID = -2;
export const AUTH_XID = -4;
/** Bound on the handshake. */
export const RAW_CONNECT_TIMEOUT_MS = 10_000;
/** Bound on waiting for one reply. */
export const RAW_REPLY_TIMEOUT_MS = 30_000;

/** One reply: the ReplyHeader fields plus the decoded body when the server sent one. */
export interface RawReply {
  readonly xid: number;
  readonly zxid: bigint;
  readonly err: number;
  readonly body?: ResponseBody;
}

/** What arrived on the connection, in order. */
export type RawLogEntry =
  | { readonly kind: 'reply'; readonly op: KnownRequest['op']; readonly reply: RawReply }
  | { readonly kind: 'event'; readonly event: WatcherEvent }
  | { readonly kind: 'closed' };

export interface RawConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Session timeout asked for (default 30 s). Pings go out every third of the negotiated one. */
  readonly sessionTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

interface Pending {
  readonly xid: number;
  readonly op: KnownRequest['op'];
  readonly resolve: (reply: RawReply | null) => void;
}

/** A connected session. Requests may be pipelined; replies come back in order. */
export class RawZkClient {
  readonly sessionId: bigint;
  readonly passwd: Buffer;
  readonly negotiatedTimeoutMs: number;
  /** Everything the server sent after the handshake, pings excepted. */
  readonly log: RawLogEntry[] = [];
  private readonly socket: Socket;
  private readonly splitter: FrameSplitter;
  private readonly pending: Pending[] = [];
  private readonly pingTimer: NodeJS.Timeout;
  private nextXid = 1;
  private closedFlag = false;
  private readonly closedPromise: Promise<void>;

  private constructor(socket: Socket, splitter: FrameSplitter, sessionId: bigint, passwd: Buffer, timeoutMs: number, closed: Promise<void>) {
    this.socket = socket;
    this.splitter = splitter;
    this.sessionId = sessionId;
    this.passwd = passwd;
    this.negotiatedTimeoutMs = timeoutMs;
    this.closedPromise = closed;
    this.pingTimer = setInterval(() => {
      if (!this.closedFlag) this.socket.write(encodeRequest(PING_XID, { op: 'ping' }));
    }, Math.max(100, Math.floor(timeoutMs / 3)));
    this.pingTimer.unref();
  }

  /** Opens a TCP connection, sends a ConnectRequest for a new session and waits for the answer. */
  static async connect(options: RawConnectOptions): Promise<RawZkClient> {
    const socket = connect({ host: options.host, port: options.port, noDelay: true });
    const splitter = new FrameSplitter();
    let closedResolve: () => void = () => undefined;
    const closed = new Promise<void>((r) => (closedResolve = r));
    socket.on('error', () => undefined);
    socket.on('close', () => closedResolve());
    const early: Buffer[] = [];
    const first = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ConnectResponse from ${options.host}:${options.port} within ${options.connectTimeoutMs ?? RAW_CONNECT_TIMEOUT_MS} ms`)), options.connectTimeoutMs ?? RAW_CONNECT_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        const result = splitter.push(chunk);
        if (result.kind !== 'frames' || result.frames.length === 0) return;
        clearTimeout(timer);
        socket.off('data', onData);
        // Anything after the ConnectResponse in the same chunk is handed to the client below.
        early.push(...result.frames.slice(1));
        resolve(result.frames[0]!);
      };
      socket.on('data', onData);
      void closed.then(() => {
        clearTimeout(timer);
        reject(new Error(`connection to ${options.host}:${options.port} closed during the handshake`));
      });
    });
    socket.write(
      encodeConnectRequest({
        protocolVersion: 0,
        lastZxidSeen: 0n,
        timeoutMs: options.sessionTimeoutMs ?? 30_000,
        sessionId: 0n,
        passwd: Buffer.alloc(16),
        readOnly: false,
      }),
    );
    let frame: Buffer;
    try {
      frame = await first;
    } catch (err) {
      socket.destroy();
      throw err;
    }
    const response = decodeConnectResponse(frame);
    if (response.timeoutMs <= 0) {
      socket.destroy();
      throw new Error('the server refused the session (negotiated timeout 0)');
    }
    const c = new RawZkClient(socket, splitter, response.sessionId, response.passwd ?? Buffer.alloc(0), response.timeoutMs, closed);
    if (early.length > 0) c.onFrames(early);
    socket.on('data', (chunk: Buffer) => {
      const result = c.splitter.push(chunk);
      if (result.kind === 'frames') c.onFrames(result.frames);
    });
    void closed.then(() => c.onClosed());
    return c;
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Sends one request and resolves with its reply, or null when the connection closed first or no
   * reply came within {@link RAW_REPLY_TIMEOUT_MS}. Auth packets use ZooKeeper's reserved xid -4.
   */
  request(request: KnownRequest): Promise<RawReply | null> {
    if (this.closedFlag) return Promise.resolve(null);
    const xid = request.op === 'auth' ? AUTH_XID : this.nextXid++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.pending.findIndex((p) => p.resolve === done);
        if (i >= 0) this.pending.splice(i, 1);
        resolve(null);
      }, RAW_REPLY_TIMEOUT_MS);
      const done = (reply: RawReply | null): void => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.pending.push({ xid, op: request.op, resolve: done });
      this.socket.write(encodeRequest(xid, request));
    });
  }

  /** Sends closeSession, waits for its reply and for the server to close the connection. */
  async close(): Promise<RawReply | null> {
    if (this.closedFlag) return null;
    const reply = await this.request({ op: 'closeSession' });
    await Promise.race([this.closedPromise, new Promise((r) => setTimeout(r, RAW_CONNECT_TIMEOUT_MS).unref())]);
    this.destroy();
    return reply;
  }

  /** Drops the connection without closing the session. */
  destroy(): void {
    clearInterval(this.pingTimer);
    this.socket.destroy();
  }

  private onFrames(frames: readonly Buffer[]): void {
    for (const frame of frames) {
      const { header, body } = decodeReplyHeader(frame);
      if (header.xid === NOTIFICATION_XID) {
        this.log.push({ kind: 'event', event: decodeWatcherEvent(body) });
        continue;
      }
      if (header.xid === PING_XID) continue;
      const i = this.pending.findIndex((p) => p.xid === header.xid);
      if (i < 0) throw new Error(`reply for xid ${header.xid} that was not asked for`);
      const [p] = this.pending.splice(i, 1);
      const record = SUCCESS_RESPONSE_RECORD[p!.op];
      // multi failures travel in a MultiResponse with err 0; other errors are the header alone.
      const decoded = record !== null && header.err === 0 && body.length > 0 ? decodeResponseBody(record, body) : undefined;
      const reply: RawReply = decoded === undefined ? header : { ...header, body: decoded };
      this.log.push({ kind: 'reply', op: p!.op, reply });
      p!.resolve(reply);
    }
  }

  private onClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearInterval(this.pingTimer);
    this.log.push({ kind: 'closed' });
    for (const p of this.pending.splice(0)) p.resolve(null);
  }
}
