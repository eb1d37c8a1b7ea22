/**
 * Every limit of the TCP peer bus, in one place. The defaults suit a production ensemble; tests
 * shrink the timing ones through {@link TcpBusLimits} so that failure paths run in milliseconds.
 */

/** Largest frame body (one encoded peer message) a node sends or accepts. A larger one disconnects the peer. */
export const MAX_PEER_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * Largest frame accepted before the peer is authenticated. Handshake frames are a few dozen
 * bytes, so an unauthenticated socket can never make a node buffer more than this.
 */
export const MAX_HANDSHAKE_FRAME_BYTES = 64;

/** Messages waiting for one peer beyond this count push out the oldest (the protocol tolerates loss). */
export const MAX_QUEUED_MESSAGES_PER_PEER = 10_000;

/** Bytes waiting for one peer beyond this push out the oldest messages. At least one largest frame fits. */
export const MAX_QUEUED_BYTES_PER_PEER = 128 * 1024 * 1024;

/** Inbound connections being authenticated at once; more are refused until some finish. */
export const MAX_PENDING_HANDSHAKES = 64;

/** A connection that has not finished TCP connect, TLS and the HMAC handshake by then is closed. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;

/** First reconnect delay after a link goes down or a dial fails (before jitter). */
export const RECONNECT_MIN_MS = 100;

/** Reconnect delays double per failed attempt up to this (before jitter). */
export const RECONNECT_MAX_MS = 5_000;

/**
 * Idle time before the kernel starts TCP keepalive probes. Not a heartbeat of ours: it only lets a
 * socket to a vanished host fail eventually, so that the dialing side reconnects.
 */
export const TCP_KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** Limits one bus uses; every field defaults to the constant of the same name. */
export interface TcpBusLimits {
  readonly maxFrameBytes: number;
  readonly maxQueuedMessagesPerPeer: number;
  readonly maxQueuedBytesPerPeer: number;
  readonly maxPendingHandshakes: number;
  readonly handshakeTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly keepAliveInitialDelayMs: number;
}

export const DEFAULT_TCP_BUS_LIMITS: TcpBusLimits = Object.freeze({
  maxFrameBytes: MAX_PEER_FRAME_BYTES,
  maxQueuedMessagesPerPeer: MAX_QUEUED_MESSAGES_PER_PEER,
  maxQueuedBytesPerPeer: MAX_QUEUED_BYTES_PER_PEER,
  maxPendingHandshakes: MAX_PENDING_HANDSHAKES,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
  reconnectMinMs: RECONNECT_MIN_MS,
  reconnectMaxMs: RECONNECT_MAX_MS,
  keepAliveInitialDelayMs: TCP_KEEPALIVE_INITIAL_DELAY_MS,
});

/** The largest value a 4-byte big-endian length prefix can carry. */
export const MAX_LENGTH_PREFIX = 0xffff_ffff;

/**
 * Merge overrides into the defaults and check that the result is coherent; throws a RangeError
 * naming the first inconsistency.
 */
export function resolveLimits(overrides: Partial<TcpBusLimits> = {}): TcpBusLimits {
  const limits: TcpBusLimits = { ...DEFAULT_TCP_BUS_LIMITS, ...overrides };
  const problem = limitsProblem(limits);
  if (problem !== undefined) throw new RangeError(`TcpBus limits: ${problem}`);
  return Object.freeze(limits);
}

/** Why these limits cannot work together, or undefined when they can. */
export function limitsProblem(l: TcpBusLimits): string | undefined {
  for (const [name, value] of Object.entries(l)) {
    if (!Number.isFinite(value) || value <= 0) return `${name} must be a positive finite number, got ${String(value)}`;
  }
  if (!Number.isInteger(l.maxFrameBytes) || l.maxFrameBytes > MAX_LENGTH_PREFIX) return 'maxFrameBytes must be an integer that a 4-byte length prefix can carry';
  if (l.maxFrameBytes < MAX_HANDSHAKE_FRAME_BYTES) return 'maxFrameBytes must be at least MAX_HANDSHAKE_FRAME_BYTES';
  // A message that may be sent must also fit in the queue, or it could never leave.
  if (l.maxQueuedBytesPerPeer < l.maxFrameBytes + 4) return 'maxQueuedBytesPerPeer must hold at least one largest frame';
  if (!Number.isInteger(l.maxQueuedMessagesPerPeer)) return 'maxQueuedMessagesPerPeer must be a positive integer';
  if (!Number.isInteger(l.maxPendingHandshakes)) return 'maxPendingHandshakes must be a positive integer';
  if (l.reconnectMinMs > l.reconnectMaxMs) return 'reconnectMinMs must not exceed reconnectMaxMs';
  return undefined;
}

/**
 * Delay before reconnect attempt number `attempt` (0 for the first): exponential from min to max,
 * with "equal jitter" (a uniform draw in [d/2, d)) so that nodes restarted together do not dial in
 * lockstep, yet never retry faster than half the minimum.
 */
export function reconnectDelayMs(attempt: number, limits: Pick<TcpBusLimits, 'reconnectMinMs' | 'reconnectMaxMs'>, random: () => number): number {
  // Cap the exponent: 2^30 already exceeds any sane max, and keeps the arithmetic exact.
  const base = Math.min(limits.reconnectMaxMs, limits.reconnectMinMs * 2 ** Math.min(attempt, 30));
  return base / 2 + (base / 2) * random();
}
