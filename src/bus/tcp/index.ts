/** The TCP peer bus: statekeeper nodes in separate processes, behind the same Bus interface as the simulator. */
export { TcpBus } from './bus.js';
export type { PeerAddress, PeerLinkStats, TcpBusEvent, TcpBusOptions, TcpBusStats, TcpBusTlsOptions } from './bus.js';
export type { DisconnectReason } from './connection.js';
export { isPeerFault } from './connection.js';
export {
  DEFAULT_TCP_BUS_LIMITS,
  HANDSHAKE_TIMEOUT_MS,
  MAX_HANDSHAKE_FRAME_BYTES,
  MAX_PEER_FRAME_BYTES,
  MAX_PENDING_HANDSHAKES,
  MAX_QUEUED_BYTES_PER_PEER,
  MAX_QUEUED_MESSAGES_PER_PEER,
  RECONNECT_MAX_MS,
  RECONNECT_MIN_MS,
  TCP_KEEPALIVE_INITIAL_DELAY_MS,
  reconnectDelayMs,
  resolveLimits,
} from './limits.js';
export type { TcpBusLimits } from './limits.js';
export { silentTcpBusLogger, stderrTcpBusLogger } from './logger.js';
export type { TcpBusLogger } from './logger.js';
