/**
 * ZooKeeper 3.8's four-letter words on the client port: the whitelist (4lw.commands.whitelist)
 * and the text each command prints (org.apache.zookeeper.server.command.*), rendered from a
 * snapshot of the server so the formats can be tested without sockets.
 */
import { hostname, platform, arch, release, userInfo, homedir, freemem, totalmem } from 'node:os';
import { readdirSync } from 'node:fs';
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
    `Node count: ${env.service.tree.nodeCount}\n`
  );
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
    ['znode_count', service.tree.nodeCount],
    ['watch_count', service.watches.watchCount],
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

/** Environment.list, with Node.js in place of the JVM's properties. */
function renderEnvironment(env: FourLetterEnv): string {
  const entries: StatEntry[] = [
    ['zookeeper.version', env.version],
    ['host.name', safe(() => hostname())],
    ['node.version', process.version],
    ['node.execPath', process.execPath],
    ['os.name', platform()],
    ['os.arch', arch()],
    ['os.version', release()],
    ['user.name', safe(() => userInfo().username)],
    ['user.home', safe(() => homedir())],
    ['user.dir', process.cwd()],
    ['os.memory.free', `${Math.floor(freemem() / 1048576)}MB`],
    ['os.memory.total', `${Math.floor(totalmem() / 1048576)}MB`],
  ];
  return `Environment:\n${entries.map(([k, v]) => `${k}=${String(v)}\n`).join('')}`;
}

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return '<NA>';
  }
}

/**
 * WatchCommand. ZooKeeper counts the data-watch table here; statekeeper's watch manager exposes the
 * data and child tables together, so these counts include child watches.
 */
function renderWatches(service: CoordinationService, word: 'wchs' | 'wchc' | 'wchp'): string {
  if (word === 'wchs') {
    const bySession = service.watches.watchesBySession();
    const byPath = service.watches.watchesByPath();
    return `${bySession.size} connections watching ${byPath.size} paths\nTotal watches:${service.watches.watchCount}`;
  }
  if (word === 'wchc') {
    let out = '';
    for (const [id, paths] of service.watches.watchesBySession()) {
      out += `0x${javaHex(id)}\n${paths.map((p) => `\t${p}\n`).join('')}`;
    }
    return out;
  }
  let out = '';
  for (const [path, ids] of service.watches.watchesByPath()) {
    out += `${path}\n${ids.map((id) => `\t0x${javaHex(id)}\n`).join('')}`;
  }
  return out;
}

/**
 * DumpCommand: sessions (as LearnerSessionTracker prints its global sessions: the service keeps
 * expiry deadlines on the leader only, privately), ephemerals (DataTree.dumpEphemerals) and the
 * connection expiry queue (NIOServerCnxnFactory.dumpConnections, ExpiryQueue.dump).
 */
function renderDump(env: FourLetterEnv): string {
  const tree = env.service.tree;
  const sessions = [...tree.sessionIds()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let out = 'SessionTracker dump:\n';
  out += `Global Sessions(${sessions.length}):\n`;
  for (const id of sessions) out += `0x${javaHex(id)}\t${tree.getSession(id)?.timeoutMs ?? 0}ms\n`;
  out += 'ephemeral nodes dump:\n';
  const ephemerals = ephemeralsBySession(env.service);
  out += `Sessions with Ephemerals (${ephemerals.size}):\n`;
  for (const [id, paths] of ephemerals) out += `0x${javaHex(id)}:\n${paths.map((p) => `\t${p}\n`).join('')}`;
  out += 'Connections dump:\n';
  const interval = Math.max(1, env.expiryIntervalMs);
  const buckets = new Map<number, ConnectionView[]>();
  for (const c of env.connections) {
    const at = (Math.floor(c.deadlineMs / interval) + 1) * interval;
    const list = buckets.get(at);
    if (list === undefined) buckets.set(at, [c]);
    else list.push(c);
  }
  out += `Connections Sets (${buckets.size})/(${env.connections.length}):\n`;
  for (const at of [...buckets.keys()].sort((a, b) => a - b)) {
    const list = buckets.get(at) ?? [];
    out += `${list.length} expire at ${javaDate(at)}:\n${list.map((c) => `\t${c.describe(false)}\n`).join('')}`;
  }
  return out;
}
