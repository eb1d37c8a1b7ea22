/**
 * Named limits and defaults of the ZooKeeper client port, with the ZooKeeper 3.8 setting each one
 * mirrors. One place, so that a test can check they are consistent with each other.
 */
import { DEFAULT_MAX_FRAME_BYTES } from '../jute/index.js';

/** The version reported by srvr/stat/mntr/envi. Tools read the part before the first '-'. */
export const STATEKEEPER_ZK_VERSION = '3.8.0-statekeeper-0.1.0';

/** ZooKeeper's default client port. */
export const DEFAULT_CLIENT_PORT = 2181;

/** maxClientCnxns: concurrent connections from one IP address (0 = no limit). ZooKeeper's default is 60. */
export const DEFAULT_MAX_CLIENT_CNXNS = 60;

/**
 * Largest request frame (jute.maxbuffer, 0xfffff). NIOServerCnxn.readLength compares the frame
 * length with BinaryInputArchive.maxBuffer itself; zookeeper.jute.maxbuffer.extrasize only widens
 * the limit on single fields inside a record, which the codec's reader applies.
 */
export const DEFAULT_ZK_MAX_FRAME_BYTES = DEFAULT_MAX_FRAME_BYTES;

/**
 * How long a connection may stay silent before its session is established
 * (zookeeper.nio.sessionlessCnxnTimeout, 10 s). Once established, the negotiated session timeout applies.
 */
export const DEFAULT_SESSIONLESS_TIMEOUT_MS = 10_000;

/**
 * Requests of one connection awaiting their reply before the server stops reading from it
 * (ZooKeeper throttles reading once zookeeper.globalOutstandingLimit, 1000, requests are in flight).
 */
export const DEFAULT_MAX_OUTSTANDING_REQUESTS = 1000;

/**
 * Reply bytes queued on a socket the client does not drain before the server stops reading from
 * it (ZooKeeper stops reading while a connection's outgoing queue is not empty; we allow some slack
 * so that pipelined reads of large nodes do not stall on every reply).
 */
export const MAX_PENDING_WRITE_BYTES = 4 * 1024 * 1024;

/** How long a connection being closed may take to flush its last bytes before it is destroyed. */
export const CLOSE_LINGER_MS = 2_000;

/** Four-letter words enabled when no whitelist is given (4lw.commands.whitelist; srvr is always on). */
export const DEFAULT_FOUR_LETTER_WORD_WHITELIST: readonly string[] = Object.freeze(['srvr']);

/** The password length ZooKeeper's clients and servers use (ZooKeeperServer.generatePasswd). */
export const SESSION_PASSWORD_BYTES = 16;
