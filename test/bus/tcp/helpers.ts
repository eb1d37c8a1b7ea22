/** Shared helpers of the TCP bus tests: buses on loopback, event waits with deadlines, a raw peer. */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { firstValueFrom, filter, timeout } from 'rxjs';
import type { Observable } from 'rxjs';
import type { Envelope } from '../../../src/bus/types.js';
import type { NodeId } from '../../../src/protocol/ids.js';
import { TcpBus } from '../../../src/bus/tcp/bus.js';
import type { PeerAddress, TcpBusEvent, TcpBusOptions } from '../../../src/bus/tcp/bus.js';
import type { TcpBusLimits } from '../../../src/bus/tcp/limits.js';
import type { TcpBusLogger } from '../../../src/bus/tcp/logger.js';
import { FrameDecoder, encodeFrame } from '../../../src/bus/tcp/frames.js';
import {
  PEER_PROTOCOL_VERSION,
  computeProof,
  decodeChallenge,
  decodeProof,
  encodeHello,
  encodeProof,
  newNonce,
  verifyProof,
} from '../../../src/bus/tcp/handshake.js';

export const HOST = '127.0.0.1';
export const SECRET = 'test cluster secret: correct horse battery staple';
/** Deadline of any single wait in these tests; generous, since two cores are shared. */
export const WAIT_MS = 5_000;

/** Fast failure paths: reconnects within milliseconds, stalled handshakes cut quickly. */
export const FAST_LIMITS: Partial<TcpBusLimits> = Object.freeze({
  handshakeTimeoutMs: 1_000,
  reconnectMinMs: 10,
  reconnectMaxMs: 100,
});

/** Test message type: anything with a string type. */
export interface TestMessage {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn';
  readonly details: Record<string, unknown>;
  readonly message: string;
}

/** A pino-shaped logger that records everything. */
export class RecordingLogger implements TcpBusLogger {
  readonly records: LogRecord[] = [];
  debug(details: Record<string, unknown>, message: string): void {
    this.records.push({ level: 'debug', details, message });
  }
  info(details: Record<string, unknown>, message: string): void {
    this.records.push({ level: 'info', details, message });
  }
  warn(details: Record<string, unknown>, message: string): void {
    this.records.push({ level: 'warn', details, message });
  }
  warnings(): LogRecord[] {
    return this.records.filter((r) => r.level === 'warn');
  }
}

export function newBus<M extends { readonly type: string } = TestMessage>(self: NodeId, extra: Partial<TcpBusOptions> = {}): TcpBus<M> {
  return new TcpBus<M>({
    self,
    listen: { host: HOST, port: 0 },
    peers: new Map(),
    secret: SECRET,
    logger: new RecordingLogger(),
    limits: FAST_LIMITS,
    ...extra,
  });
}

/** Reject if `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The first event matching `predicate`. Subscribe (call this) before causing the event. */
export function nextEvent<E extends TcpBusEvent>(bus: TcpBus<any>, predicate: (e: TcpBusEvent) => e is E, ms?: number): Promise<E>;
export function nextEvent(bus: TcpBus<any>, predicate: (e: TcpBusEvent) => boolean, ms?: number): Promise<TcpBusEvent>;
export function nextEvent(bus: TcpBus<any>, predicate: (e: TcpBusEvent) => boolean, ms = WAIT_MS): Promise<TcpBusEvent> {
  return firstValueFrom((bus.events as Observable<TcpBusEvent>).pipe(filter(predicate), timeout(ms)));
}

/** Resolves once `bus` has an open link to every one of `peers` (checked on every link event). */
export function allConnected(bus: TcpBus<any>, peers: readonly NodeId[], ms = WAIT_MS): Promise<void> {
  const done = (): boolean => {
    const up = new Set(bus.stats().peers.filter((p) => p.connected).map((p) => p.peer));
    return peers.every((p) => up.has(p));
  };
  if (done()) return Promise.resolve();
  return nextEvent(bus, () => done(), ms).then(() => undefined);
}

/** Start buses for `ids`, give each the others' addresses, and wait until every link is up. */
export async function startCluster<M extends { readonly type: string } = TestMessage>(
  ids: readonly NodeId[],
  extra: (id: NodeId) => Partial<TcpBusOptions> = () => ({}),
): Promise<Map<NodeId, TcpBus<M>>> {
  const buses = new Map(ids.map((id) => [id, newBus<M>(id, extra(id))] as const));
  const addresses = new Map<NodeId, PeerAddress>();
  for (const [id, bus] of buses) addresses.set(id, await bus.start());
  const ready = [...buses].map(([id, bus]) => allConnected(bus, ids.filter((p) => p !== id)));
  for (const bus of buses.values()) bus.setPeers(addresses);
  await within(Promise.all(ready), WAIT_MS, 'all links up');
  return buses;
}

export async function closeAll(buses: Iterable<TcpBus<any>>): Promise<void> {
  const list = [...buses];
  for (const bus of list) bus.close();
  await Promise.all(list.map((b) => b.whenClosed()));
}

/** Records what arrives in an inbox and lets a test wait for a count. */
export class InboxRecorder<M extends { readonly type: string }> {
  readonly received: Envelope<M>[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(inbox: Observable<Envelope<M>>) {
    inbox.subscribe((env) => {
      this.received.push(env);
      this.waiters = this.waiters.filter((w) => {
        if (this.received.length < w.count) return true;
        w.resolve();
        return false;
      });
    });
  }

  /** Resolves once at least `count` envelopes have arrived in total. */
  until(count: number, ms = WAIT_MS): Promise<Envelope<M>[]> {
    const reached = this.received.length >= count ? Promise.resolve() : new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return within(reached, ms, `${count} messages (have ${this.received.length})`).then(() => this.received);
  }
}

// ---- a raw peer speaking the wire protocol by hand ----

export interface RawPeer {
  readonly socket: Socket;
  /** Resolves when the socket has closed (for whatever reason). */
  readonly closed: Promise<void>;
  /** Frames received, as bodies. */
  nextFrame(ms?: number): Promise<Buffer>;
}

export function rawConnect(port: number): Promise<RawPeer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    const decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
    const frames: Buffer[] = [];
    let wake: (() => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (body) => {
        frames.push(body);
        wake?.();
        return true;
      });
    });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((res) => socket.once('close', () => res()));
    const peer: RawPeer = {
      socket,
      closed,
      nextFrame: (ms = WAIT_MS) => {
        const ready = (): Promise<Buffer> => {
          const f = frames.shift();
          if (f !== undefined) return Promise.resolve(f);
          return new Promise<void>((r) => (wake = r)).then(ready);
        };
        return within(Promise.race([ready(), closed.then(() => Promise.reject(new Error('socket closed')))]), ms, 'a frame');
      },
    };
    socket.once('connect', () => resolve(peer));
    socket.once('error', reject);
  });
}

/** Run the dialer's side of the handshake by hand, as node `self` reaching node `listener`. */
export async function rawHandshake(peer: RawPeer, self: NodeId, listener: NodeId, secret: string = SECRET): Promise<void> {
  const key = Buffer.from(secret, 'utf8');
  const dialerNonce = newNonce();
  peer.socket.write(encodeFrame(encodeHello({ version: PEER_PROTOCOL_VERSION, dialer: self, listener, nonce: dialerNonce })));
  const listenerNonce = decodeChallenge(await peer.nextFrame());
  if (listenerNonce === undefined) throw new Error('expected a challenge');
  const input = { dialer: self, listener, dialerNonce, listenerNonce };
  peer.socket.write(encodeFrame(encodeProof(computeProof(key, { role: 'dialer', ...input }))));
  const mac = decodeProof(await peer.nextFrame());
  if (mac === undefined || !verifyProof(key, { role: 'listener', ...input }, mac)) throw new Error('listener proof did not verify');
}
