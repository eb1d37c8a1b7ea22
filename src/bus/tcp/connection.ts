/**
 * One peer connection: a socket (plain or TLS) that runs the HMAC handshake, then carries framed
 * messages. The bus owns the links between nodes; a connection only reports what happened.
 */
import type { Socket } from 'node:net';
import type { NodeId } from '../../protocol/ids.js';
import { MessageDecoder } from './codec.js';
import { FrameDecoder } from './frames.js';
import { encodeFrame } from './frames.js';
import {
  PEER_PROTOCOL_VERSION,
  computeProof,
  decodeChallenge,
  decodeHello,
  decodeProof,
  encodeChallenge,
  encodeHello,
  encodeProof,
  newNonce,
  verifyProof,
} from './handshake.js';
import type { ProofInput } from './handshake.js';
import { MAX_HANDSHAKE_FRAME_BYTES } from './limits.js';
import type { TcpBusLimits } from './limits.js';

/** Why a connection ended. The first group are the peer's faults (logged as warnings). */
export type DisconnectReason =
  // handshake failures: nothing the peer sent reaches the node
  | 'handshake-timeout'
  | 'bad-handshake'
  | 'bad-version'
  | 'unknown-peer'
  | 'wrong-direction'
  | 'wrong-listener'
  | 'bad-proof'
  | 'too-many-handshakes'
  | 'tls-error'
  // protocol violations on an authenticated link: the offending frame never reaches the node
  | 'frame-too-large'
  | 'malformed-frame'
  | 'not-a-message'
  // ordinary endings
  | 'closed-by-peer'
  | 'socket-error'
  | 'replaced'
  | 'peer-removed'
  | 'bus-closed';

const PEER_FAULTS: ReadonlySet<DisconnectReason> = new Set<DisconnectReason>([
  'handshake-timeout',
  'bad-handshake',
  'bad-version',
  'unknown-peer',
  'wrong-direction',
  'wrong-listener',
  'bad-proof',
  'too-many-handshakes',
  'tls-error',
  'frame-too-large',
  'malformed-frame',
  'not-a-message',
]);

/** Whether `reason` blames the remote side (a warning), rather than being an ordinary ending. */
export function isPeerFault(reason: DisconnectReason): boolean {
  return PEER_FAULTS.has(reason);
}

export type ConnectionRole = 'dialer' | 'listener';
export type ConnectionState = 'connecting' | 'awaitHello' | 'awaitChallenge' | 'awaitProof' | 'open' | 'closed';

/** What a connection tells its bus. */
export interface ConnectionHooks<M extends { readonly type: string }> {
  /** Listener side: may `dialer` connect to this node? */
  admitDialer(dialer: NodeId): 'ok' | 'unknown-peer' | 'wrong-direction';
  onOpen(conn: PeerConnection<M>): void;
  onMessage(conn: PeerConnection<M>, msg: M): void;
  onDrain(conn: PeerConnection<M>): void;
  onClose(conn: PeerConnection<M>, reason: DisconnectReason, detail: string | undefined, wasOpen: boolean): void;
}

export interface ConnectionParams<M extends { readonly type: string }> {
  readonly role: ConnectionRole;
  readonly self: NodeId;
  /** Dialer side: the node it means to reach. */
  readonly expectedPeer?: NodeId;
  readonly secret: Buffer;
  readonly limits: TcpBusLimits;
  readonly hooks: ConnectionHooks<M>;
  /**
   * The socket event after which the handshake may start ('connect', or 'secureConnect' for TLS);
   * null when the socket is already connected (accepted by a server).
   */
  readonly readyEvent: 'connect' | 'secureConnect' | null;
}

export class PeerConnection<M extends { readonly type: string }> {
  readonly role: ConnectionRole;
  /** The peer: the one dialed, or (listener side) the one the dialer claimed to be. */
  peer: NodeId | null;
  state: ConnectionState;
  /** host:port of the other end, for logs. */
  readonly remote: string;
  private readonly socket: Socket;
  private readonly params: ConnectionParams<M>;
  private readonly frames = new FrameDecoder(MAX_HANDSHAKE_FRAME_BYTES);
  private readonly messages = new MessageDecoder<M>();
  private handshakeTimer: NodeJS.Timeout | undefined;
  private dialerNonce: Buffer | undefined;
  private listenerNonce: Buffer | undefined;

  constructor(socket: Socket, params: ConnectionParams<M>) {
    this.socket = socket;
    this.params = params;
    this.role = params.role;
    this.peer = params.expectedPeer ?? null;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.state = 'connecting';
    // Covers TCP connect, TLS and the HMAC exchange: a stalled peer holds nothing for long.
    this.handshakeTimer = setTimeout(() => this.close('handshake-timeout', `no handshake within ${params.limits.handshakeTimeoutMs} ms`), params.limits.handshakeTimeoutMs);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, params.limits.keepAliveInitialDelayMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (this.state === 'open') params.hooks.onDrain(this);
    });
    socket.on('error', (err: Error) => this.close('socket-error', err.message));
    socket.on('end', () => this.close('closed-by-peer'));
    socket.on('close', () => this.close('closed-by-peer'));
    if (params.readyEvent === null) this.begin();
    else socket.once(params.readyEvent, () => this.begin());
  }

  /** The transport is up: the dialer speaks first. */
  private begin(): void {
    if (this.state !== 'connecting') return;
    if (this.role === 'dialer') this.sendHello();
    else this.state = 'awaitHello';
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** A method, not a narrowed field read: hooks called in between may close the connection. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Write one encoded frame; false when the socket wants the caller to wait for a drain. */
  write(frame: Buffer): boolean {
    if (this.state !== 'open') return false;
    return this.socket.write(frame);
  }

  /** Batch the writes that follow into as few syscalls as possible. */
  cork(): void {
    this.socket.cork();
  }
  uncork(): void {
    this.socket.uncork();
  }

  /** End the connection (idempotent); the hooks hear about it once. */
  close(reason: DisconnectReason, detail?: string): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.frames.clear();
    this.socket.destroy();
    this.params.hooks.onClose(this, reason, detail, wasOpen);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      this.close('bad-handshake', 'data before the handshake began');
      return;
    }
    const error = this.frames.push(chunk, (body) => {
      this.onFrame(body);
      return !this.isClosed();
    });
    if (error !== undefined) {
      const phase = this.isOpen ? 'after' : 'during';
      this.close('frame-too-large', `length prefix ${error.lengthBytes} exceeds ${error.maxFrameBytes} bytes (${phase} the handshake)`);
    }
  }

  private onFrame(body: Buffer): void {
    switch (this.state) {
      case 'open': {
        const decoded = this.messages.decode(body);
        if (!decoded.ok) {
          this.close(decoded.reason, decoded.detail);
          return;
        }
        this.params.hooks.onMessage(this, decoded.msg);
        return;
      }
      case 'awaitHello':
        this.onHello(body);
        return;
      case 'awaitChallenge':
        this.onChallenge(body);
        return;
      case 'awaitProof':
        this.onProof(body);
        return;
      default:
        this.close('bad-handshake', `unexpected frame in state ${this.state}`);
    }
  }

  private sendHello(): void {
    this.dialerNonce = newNonce();
    this.state = 'awaitChallenge';
    this.sendRaw(encodeHello({ version: PEER_PROTOCOL_VERSION, dialer: this.params.self, listener: this.peer!, nonce: this.dialerNonce }));
  }

  /** Listener: the dialer says who it is and whom it meant to reach. */
  private onHello(body: Buffer): void {
    const hello = decodeHello(body);
    if (typeof hello === 'string') return this.close('bad-handshake', hello);
    this.peer = hello.dialer;
    if (hello.version !== PEER_PROTOCOL_VERSION) return this.close('bad-version', `version ${hello.version}, expected ${PEER_PROTOCOL_VERSION}`);
    if (hello.listener !== this.params.self) return this.close('wrong-listener', `dialer meant to reach node ${hello.listener}`);
    const admitted = this.params.hooks.admitDialer(hello.dialer);
    if (admitted !== 'ok') return this.close(admitted, `dialer claims node id ${hello.dialer}`);
    this.dialerNonce = hello.nonce;
    this.listenerNonce = newNonce();
    this.state = 'awaitProof';
    this.sendRaw(encodeChallenge(this.listenerNonce));
  }

  /** Dialer: prove knowledge of the secret over both nonces. */
  private onChallenge(body: Buffer): void {
    const nonce = decodeChallenge(body);
    if (nonce === undefined) return this.close('bad-handshake', 'expected a Challenge frame');
    this.listenerNonce = nonce;
    this.state = 'awaitProof';
    this.sendRaw(encodeProof(computeProof(this.params.secret, this.proofInput('dialer'))));
  }

  /** Both sides: check the other's proof; the listener answers with its own. */
  private onProof(body: Buffer): void {
    const mac = decodeProof(body);
    if (mac === undefined) return this.close('bad-handshake', 'expected a Proof frame');
    const theirRole = this.role === 'dialer' ? 'listener' : 'dialer';
    if (!verifyProof(this.params.secret, this.proofInput(theirRole), mac)) {
      return this.close('bad-proof', `the ${theirRole} does not know the cluster secret`);
    }
    if (this.role === 'listener') this.sendRaw(encodeProof(computeProof(this.params.secret, this.proofInput('listener'))));
    this.open();
  }

  private proofInput(role: 'dialer' | 'listener'): ProofInput {
    const dialer = this.role === 'dialer' ? this.params.self : this.peer!;
    const listener = this.role === 'dialer' ? this.peer! : this.params.self;
    return { role, dialer, listener, dialerNonce: this.dialerNonce!, listenerNonce: this.listenerNonce! };
  }

  private open(): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.frames.maxFrameBytes = this.params.limits.maxFrameBytes;
    this.state = 'open';
    this.params.hooks.onOpen(this);
  }

  private sendRaw(body: Buffer): void {
    this.socket.write(encodeFrame(body));
  }
}
