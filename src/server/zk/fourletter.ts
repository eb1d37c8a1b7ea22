/**
 * ZooKeeper 3.8's four-letter words on the client port: the whitelist (4lw.commands.whitelist)
 * and the text each command prints (org.apache.zookeeper.server.command.*), rendered from a
 * snapshot of the server so the formats can be tested without sockets.
 */
import { arch, endianness, homedir, hostname, release, tmpdir, type, userInfo } from 'node:os';
import { readdirSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import type { CoordinationService } from '../../node/service.js';
import { FOUR_LETTER_WORDS } from '../jute/index.js';
import type { FourLetterWord } from '../jute/index.js';
import { javaDate, javaDouble, javaHex } from './format.js';
import type { ServerCounters } from './stats.js';

/** AbstractFourLetterCommand.ZK_NOT_SERVING */
export const ZK_NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

/** A `key=value` line of conf, or a `zk_key<TAB>value` line of mntr (key without the zk_ prefix). */
export type StatEntry = readonly [key: string, value: string | number | bigint];

/** What the commands need to know of one connection. */
export interface ConnectionView {
  /** ServerCnxn.dumpConnectionInfo: " /ip:port[ops](queued=…,recved=…,sent=…[,sid=…])". */
  describe(brief: boolean): string;
  /** The client's address as Java prints an InetSocketAddress: "/127.0.0.1:54321". */
  readonly remote: string;
  /** 0 until a session is established. */
  readonly sessionId: bigint;
  /** When the connection will be closed for silence (epoch ms). */
  readonly deadlineMs: number;
  /** Requests of the connection awaiting their reply. */
  readonly outstanding: number;
  /** crst: ServerCnxn.resetStats. */
  resetStats(): void;
}

/** A snapshot of the server for one command. */
export interface FourLetterEnv {
  readonly version: string;
  readonly service: CoordinationService;
  readonly counters: ServerCounters;
  readonly connections: readonly ConnectionView[];
  readonly startedMs: number;
  readonly nowMs: number;
  readonly serving: boolean;
  /** ServerStats.getServerState: leader, follower, observer, standalone. */
  readonly serverState: string;
  /** QuorumPeer.getDetailedPeerState for mntr ("leading - broadcast"); omitted when undefined. */
  readonly peerState: string | undefined;
  readonly conf: readonly StatEntry[];
  readonly monitorExtras: readonly StatEntry[];
  /** The rounding interval of the connection expiry queue (NIOServerCnxnFactory's sessionless timeout). */
  readonly expiryIntervalMs: number;
  /** InetAddress.getLocalHost().getCanonicalHostName(), resolved at start ('<NA>' if the host name does not resolve). */
  readonly canonicalHostName: string;
}

/**
 * The enabled commands for a 4lw.commands.whitelist value, parsed as FourLetterCommands.isEnabled
 * does: comma-separated, trimmed, "*" enables every known command, and srvr is always enabled
 * (zkServer.sh depends on it).
 */
export function parseFourLetterWhitelist(whitelist: string | readonly string[]): ReadonlySet<FourLetterWord> {
  const items = typeof whitelist === 'string' ? whitelist.split(',') : whitelist;
  const known = new Set<string>([...FOUR_LETTER_WORDS, 'telnet close']);
  const enabled = new Set<FourLetterWord>();
  for (const raw of items) {
    const item = raw.trim();
    if (item === '*') {
      for (const word of known) enabled.add(word as FourLetterWord);
      break;
    }
    if (known.has(item)) enabled.add(item as FourLetterWord);
  }
  enabled.add('srvr');
  return enabled;
}

/** NopCommand's answer to a command outside the whitelist. */
export function notWhitelistedReply(word: FourLetterWord): string {
  return `${word} is not executed because it is not in the whitelist.\n`;
}

/** The commands statekeeper answers; the others (gtmk, stmk, dirs, hash, telnet close) just close. */
export const IMPLEMENTED_FOUR_LETTER_WORDS: ReadonlySet<FourLetterWord> = new Set<FourLetterWord>([
  'ruok',
  'srvr',
  'stat',
  'mntr',
  'cons',
  'conf',
  'envi',
  'wchs',
  'wchc',
  'wchp',
  'dump',
  'isro',
  'crst',
  'srst',
]);

/**
 * The text a whitelisted command prints, or null when statekeeper does not implement it (the
 * connection is then closed without output, as ZooKeeper does for "telnet close").
 */
export function renderFourLetterWord(word: FourLetterWord, env: FourLetterEnv): string | null {
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return env.serving ? 'rw' : 'null';
    case 'envi':
      return renderEnvironment(env);
    case 'srvr':
    case 'stat':
      return env.serving ? renderStat(env, word === 'stat') : `${ZK_NOT_SERVING}\n`;
    case 'mntr':
      return env.serving ? renderMonitor(env) : `${ZK_NOT_SERVING}\n`;
    case 'cons':
      return env.serving ? `${env.connections.map((c) => `${c.describe(false)}\n`).join('')}\n` : `${ZK_NOT_SERVING}\n`;
    case 'conf':
      return env.serving ? env.conf.map(([k, v]) => `${k}=${String(v)}\n`).join('') : `${ZK_NOT_SERVING}\n`;
    case 'wchs':
    case 'wchc':
    case 'wchp':
      return env.serving ? `${renderWatches(env.service, word)}\n` : `${ZK_NOT_SERVING}\n`;
    case 'dump':
      return env.serving ? renderDump(env) : `${ZK_NOT_SERVING}\n`;
    case 'crst':
      if (!env.serving) return `${ZK_NOT_SERVING}\n`;
      for (const c of env.connections) c.resetStats();
      return 'Connection stats reset.\n';
    case 'srst':
      if (!env.serving) return `${ZK_NOT_SERVING}\n`;
      env.counters.reset();
      return 'Server stats reset.\n';
    default:
      return null;
  }
}

function outstandingOf(env: FourLetterEnv): number {
  return env.connections.reduce((sum, c) => sum + c.outstanding, 0);
}

/** StatCommand: srvr, and stat with the Clients section; ServerStats.toString in the middle. */
function renderStat(env: FourLetterEnv, withClients: boolean): string {
  let out = `Zookeeper version: ${env.version}\n`;
  // StatCommand prints each connection with a newline after it, then one more newline.
  if (withClients) out += `Clients:\n${env.connections.map((c) => `${c.describe(true)}\n`).join('')}\n`;
  return out + renderServerStats(env);
}

function renderServerStats(env: FourLetterEnv): string {
  const latency = env.counters.latency;
  return (
    `Latency min/avg/max: ${latency.minMs}/${javaDouble(latency.avgMs)}/${latency.maxMs}\n` +
    `Received: ${env.counters.packetsReceived}\n` +
    `Sent: ${env.counters.packetsSent}\n` +
    `Connections: ${env.connections.length}\n` +
    `Outstanding: ${outstandingOf(env)}\n` +
    `Zxid: 0x${javaHex(env.service.lastZxid)}\n` +
    `Mode: ${env.serverState}\n` +
    `Node count: ${zooKeeperNodeCount(env.service)}\n`
  );
}

/**
 * DataTree.getNodeCount: ZooKeeper's node map holds the root twice (under "" and "/"), so a fresh
 * server reports 5 nodes for its 4 (/, /zookeeper, /zookeeper/quota, /zookeeper/config).
 */
export function zooKeeperNodeCount(service: CoordinationService): number {
  return service.tree.nodeCount + 1;
}

function ephemeralsBySession(service: CoordinationService): Map<bigint, readonly string[]> {
  const out = new Map<bigint, readonly string[]>();
  for (const id of service.tree.sessionIds()) {
    const ephemerals = service.tree.getSession(id)?.ephemerals ?? [];
    if (ephemerals.length > 0) out.set(id, ephemerals);
  }
  return out;
}

function openFileDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined; // not Linux: ZooKeeper also omits it where the OS bean cannot tell
  }
}

/** MonitorCommand: dumpMonitorValues (version, server_state, peer_state), then the metrics. */
function renderMonitor(env: FourLetterEnv): string {
  const c = env.counters;
  const service = env.service;
  let ephemerals = 0;
  for (const paths of ephemeralsBySession(service).values()) ephemerals += paths.length;
  const entries: StatEntry[] = [
    ['version', env.version],
    ['server_state', env.serverState],
    ...(env.peerState === undefined ? [] : [['peer_state', env.peerState] as const]),
    ['avg_latency', javaDouble(c.latency.avgMs)],
    ['max_latency', c.latency.maxMs],
    ['min_latency', c.latency.minMs],
    ['packets_received', c.packetsReceived],
    ['packets_sent', c.packetsSent],
    ['num_alive_connections', env.connections.length],
    ['outstanding_requests', outstandingOf(env)],
    ['uptime', Math.max(0, env.nowMs - env.startedMs)],
    ['znode_count', zooKeeperNodeCount(service)],
    ['watch_count', service.watches.zooKeeper38WatchCount],
    ['ephemerals_count', ephemerals],
    ['global_sessions', service.tree.sessionIds().length],
    ['local_sessions', service.sessionCount],
    ['last_client_response_size', c.responseSizes.last],
    ['max_client_response_size', c.responseSizes.max],
    ['min_client_response_size', c.responseSizes.min],
    ['auth_failed_count', c.authFailed],
  ];
  const fds = openFileDescriptors();
  if (fds !== undefined) entries.push(['open_file_descriptor_count', fds]);
  entries.push(...env.monitorExtras);
  return entries.map(([k, v]) => `zk_${k}\t${String(v)}\n`).join('');
}

/** Java's os.arch names for Node's (the JDK reports x86-64 as amd64). */
function javaOsArch(): string {
  const a = arch();
  if (a === 'x64') return 'amd64';
  if (a === 'arm64') return 'aarch64';
  if (a === 'ia32') return 'x86';
  if (a === 'ppc64' && endianness() === 'LE') return 'ppc64le';
  return a;
}

/** Java's os.name: uname's system name, except macOS. */
function javaOsName(): string {
  const t = type();
  return t === 'Darwin' ? 'Mac OS X' : t;
}

const BYTES_PER_MB = 1024 * 1024;

/**
 * Environment.list (EnvCommand), in its order and format. The JVM's lines (java.version, java.vendor,
 * java.home, java.class.path, java.library.path, java.io.tmpdir, java.compiler) are replaced by their
 * Node.js equivalents in the same place: node.version, node.execPath, os.tmpdir. The os.* and user.*
 * values are given the way the JDK gives them (os.name "Linux", os.arch "amd64"), and os.memory.* is
 * this process's heap as Runtime reports the JVM's: free (allocated but unused), max (the limit) and
 * total (allocated), in whole MB.
 */
function renderEnvironment(env: FourLetterEnv): string {
  const heap = process.memoryUsage();
  const entries: StatEntry[] = [
    ['zookeeper.version', env.version],
    ['host.name', env.canonicalHostName],
    ['node.version', process.version],
    ['node.execPath', process.execPath],
    ['os.tmpdir', safe(() => tmpdir())],
    ['os.name', javaOsName()],
    ['os.arch', javaOsArch()],
    ['os.version', release()],
    ['user.name', safe(() => userInfo().username)],
    ['user.home', safe(() => homedir())],
    ['user.dir', process.cwd()],
    ['os.memory.free', `${Math.floor((heap.heapTotal - heap.heapUsed) / BYTES_PER_MB)}MB`],
    ['os.memory.max', `${Math.floor(getHeapStatistics().heap_size_limit / BYTES_PER_MB)}MB`],
    ['os.memory.total', `${Math.floor(heap.heapTotal / BYTES_PER_MB)}MB`],
  ];
  return `Environment:\n${entries.map(([k, v]) => `${k}=${String(v)}\n`).join('')}`;
}

/** The host name Java's InetAddress.getLocalHost().getCanonicalHostName() gives, or '<NA>' as Environment.list. */
export async function canonicalHostName(): Promise<string> {
  const { lookup, lookupService } = await import('node:dns/promises');
  let address: string;
  try {
    address = (await lookup(hostname())).address;
  } catch {
    return '<NA>';
  }
  try {
    return (await lookupService(address, 0)).hostname;
  } catch {
    return address;
  }
}

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return '<NA>';
  }
}

/**
 * WatchCommand: ZooKeeper reports the data-watch table (DataTree.getWatchesSummary, getWatches,
 * getWatchesByPath read dataWatches): getData, exists and addWatch watches, not getChildren ones.
 * Sessions and paths are sorted (ZooKeeper prints them in hash order).
 */
function renderWatches(service: CoordinationService, word: 'wchs' | 'wchc' | 'wchp'): string {
  if (word === 'wchs') {
    const bySession = service.watches.watchesBySession('data');
    const byPath = service.watches.watchesByPath('data');
    return `${bySession.size} connections watching ${byPath.size} paths\nTotal watches:${service.watches.dataWatchCount}`;
  }
  if (word === 'wchc') {
    let out = '';
    for (const [id, paths] of service.watches.watchesBySession('data')) {
      out += `0x${javaHex(id)}\n${paths.map((p) => `\t${p}\n`).join('')}`;
    }
    return out;
  }
  let out = '';
  for (const [path, ids] of service.watches.watchesByPath('data')) {
    out += `${path}\n${ids.map((id) => `\t0x${javaHex(id)}\n`).join('')}`;
  }
  return out;
}

/**
 * ExpiryQueue.dump: "Sets (buckets)/(elements):", then per bucket in time order "N expire at <date>:"
 * and a tab-indented line per element. Deadlines are rounded up to the next multiple of the interval
 * (ExpiryQueue.roundToNextInterval).
 */
function renderExpiryQueue<T>(items: ReadonlyArray<readonly [T, number]>, intervalMs: number, line: (item: T) => string): string {
  const interval = Math.max(1, intervalMs);
  const buckets = new Map<number, T[]>();
  for (const [item, deadlineMs] of items) {
    const at = (Math.floor(deadlineMs / interval) + 1) * interval;
    const list = buckets.get(at);
    if (list === undefined) buckets.set(at, [item]);
    else list.push(item);
  }
  let out = `Sets (${buckets.size})/(${items.length}):\n`;
  for (const at of [...buckets.keys()].sort((a, b) => a - b)) {
    const list = buckets.get(at) ?? [];
    out += `${list.length} expire at ${javaDate(at)}:\n${list.map((item) => `\t${line(item)}\n`).join('')}`;
  }
  return out;
}

/**
 * DumpCommand: the session tracker, DataTree.dumpEphemerals, NIOServerCnxnFactory.dumpConnections.
 * The leader (and a standalone server) prints SessionTrackerImpl's expiry queue ("Session Sets …",
 * deadlines in tickTime buckets); other servers print LearnerSessionTracker's "Global Sessions(n):"
 * with each session's timeout. Connections print as NIOServerCnxn.toString: "ip: /addr:port sessionId: 0x…".
 */
function renderDump(env: FourLetterEnv): string {
  const service = env.service;
  const tree = service.tree;
  let out = 'SessionTracker dump:\n';
  const deadlines = service.sessionDeadlines();
  if (deadlines !== null) {
    out += `Session ${renderExpiryQueue([...deadlines], service.tickMs, (id) => `0x${javaHex(id)}`)}`;
  } else {
    const sessions = [...tree.sessionIds()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    out += `Global Sessions(${sessions.length}):\n`;
    for (const id of sessions) out += `0x${javaHex(id)}\t${tree.getSession(id)?.timeoutMs ?? 0}ms\n`;
  }
  out += 'ephemeral nodes dump:\n';
  const ephemerals = ephemeralsBySession(service);
  out += `Sessions with Ephemerals (${ephemerals.size}):\n`;
  for (const [id, paths] of ephemerals) out += `0x${javaHex(id)}:\n${paths.map((p) => `\t${p}\n`).join('')}`;
  out += 'Connections dump:\n';
  const connections = env.connections.map((c) => [c, c.deadlineMs] as const);
  out += `Connections ${renderExpiryQueue(connections, env.expiryIntervalMs, (c) => `ip: ${c.remote} sessionId: 0x${javaHex(c.sessionId)}`)}`;
  return out;
}
