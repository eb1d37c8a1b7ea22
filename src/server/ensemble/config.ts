/**
 * Server configuration in ZooKeeper's zoo.cfg syntax (a Java properties file), plus statekeeper's
 * own keys under `statekeeper.`. A zoo.cfg written for ZooKeeper 3.8 starts a statekeeper node
 * unchanged once a cluster secret is added.
 *
 * | key | meaning | default |
 * | --- | --- | --- |
 * | tickTime | base time unit (ms): session timeouts and election timings derive from it | 3000 (ZooKeeper's) |
 * | initLimit, syncLimit | ticks (validated; syncLimit × tickTime bounds how long a server serves for a leader it no longer hears; see {@link deriveTimings}) | 10, 5 |
 * | dataDir | election metadata, `myid` | required |
 * | dataLogDir | the write-ahead logs | dataDir |
 * | clientPort, clientPortAddress | the ZooKeeper client port (also `server.N=...;[addr:]port`) | none, 0.0.0.0 |
 * | server.N | `host:quorumPort:electionPort[:participant\|:observer][;[clientAddr:]clientPort]` | standalone |
 * | peerType | `observer` or `participant` (must match this server's line) | participant |
 * | 4lw.commands.whitelist | four-letter words allowed on the client port (`*` for all) | srvr |
 * | maxClientCnxns | connections per client IP (0: no limit) | 60 |
 * | jute.maxbuffer | largest client packet in bytes | 1048575 |
 * | minSessionTimeout, maxSessionTimeout | ms | 2 and 20 ticks |
 * | snapCount | applied transactions between snapshots; then the logs are compacted (ZooKeeper's zookeeper.snapCount) | 100000 |
 * | zookeeper.enforceQuota | refuse writes past a quota's hard limit with QUOTAEXCEEDED (ZooKeeper's system property of that name; `enforceQuota` too) | false |
 * | DigestAuthenticationProvider.superDigest | `super:<base64 sha1>` (ZooKeeper's -Dzookeeper.… property; the `zookeeper.` prefixed form and `superDigest` are accepted too) | none |
 * | java.security.auth.login.config | JAAS file with the SASL DIGEST-MD5 users (the JVM property ZooKeeper takes it from): its `Server` section's DigestLoginModule `user_<name>="<password>"` options | no SASL |
 * | zookeeper.sasl.serverconfig | the JAAS section to read (`sasl.serverconfig` accepted too) | Server |
 * | authProvider.N | `org.apache.zookeeper.server.auth.SASLAuthenticationProvider` enables the `sasl` ACL scheme; other providers are reported as ignored | none |
 * | zookeeper.superUser | the SASL user that is also the super user (`superUser` accepted too) | none |
 * | statekeeper.myid | this server's id (else `dataDir/myid`, as ZooKeeper) | — |
 * | statekeeper.secret, statekeeper.secretFile | cluster secret authenticating peers (HMAC) | required with peers |
 * | statekeeper.adminPort, statekeeper.adminAddress | admin HTTP (/health, /metrics, /status, the inspector) | off, 0.0.0.0 |
 * | statekeeper.admin.N | `host:port` of server N's admin port: the inspector on this server's admin port reads the others there | none |
 * | statekeeper.tls.cert, .key, .ca | PEM files: the peer bus runs over mutual TLS | plain TCP |
 * | statekeeper.snapshotRetainSlots | log slots kept behind the newest snapshot, so a slightly lagging peer gets entries, not a snapshot | 10000 |
 * | statekeeper.snapshotStepNodes | tree nodes encoded per event-loop turn while a snapshot is taken (larger: faster snapshots, longer pauses) | 2048 |
 * | statekeeper.peerClients | ids of trusted tools (tests, bench drivers) that hold the secret and submit commands over the peer protocol; each above every server id, as they dial in | none |
 *
 * ZooKeeper keys statekeeper has no use for (forceSync, autopurge.*, admin.*, …) are accepted and
 * reported as ignored; other unknown keys are reported as warnings (ZooKeeper itself turns them into
 * system properties). Unknown `statekeeper.*` keys, bad values and duplicate keys are errors: one
 * {@link ConfigError} naming the file, line and key.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_SNAPSHOT_POLICY } from '../../node/snapshot.js';
import type { NodeId } from '../../protocol/ids.js';
import { SNAPSHOT_STEP_NODES, type AuthProviders } from '../../tree/index.js';
import { DEFAULT_SERVER_SECTION, JaasError, jaasServerUsers, parseJaasConfig } from '../zk/jaas.js';

/** ZooKeeper's defaults (QuorumPeerConfig, ZooKeeperServer, ServerCnxnFactory). */
export const ZK_DEFAULT_TICK_TIME_MS = 3000;
export const ZK_DEFAULT_INIT_LIMIT_TICKS = 10;
export const ZK_DEFAULT_SYNC_LIMIT_TICKS = 5;
export const ZK_DEFAULT_MAX_CLIENT_CNXNS = 60;
/** jute.maxbuffer default: 0xfffff bytes. */
export const ZK_DEFAULT_JUTE_MAX_BUFFER = 0xfffff;
/** ZooKeeper 3.5+ enables only `srvr` unless told otherwise. */
export const ZK_DEFAULT_FOUR_LETTER_WORDS: readonly string[] = Object.freeze(['srvr']);
/** Server ids share a byte of every session id (ZooKeeper's scheme), so they fit in 1..255. */
export const MAX_SERVER_ID = 255;

/** Every four-letter word ZooKeeper 3.8 knows (for validating the whitelist). */
export const FOUR_LETTER_WORDS: readonly string[] = Object.freeze([
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'hash', 'isro', 'mntr', 'ruok', 'srst', 'srvr', 'stat', 'stmk', 'wchc', 'wchp', 'wchs',
]);

/** ZooKeeper keys that are valid but mean nothing to statekeeper. */
const IGNORED_ZK_KEYS: ReadonlySet<string> = new Set([
  'forceSync', 'preAllocSize', 'snapSizeLimitInKb', 'txnLogSizeLimitInKb', 'autopurge.snapRetainCount',
  'autopurge.purgeInterval', 'admin.enableServer', 'admin.serverPort', 'admin.serverAddress', 'admin.commandURL',
  'standaloneEnabled', 'reconfigEnabled', 'electionAlg', 'quorumListenOnAllIPs', 'globalOutstandingLimit', 'leaderServes',
  'cnxTimeout', 'syncEnabled', 'metricsProvider.className', 'metricsProvider.httpPort', 'metricsProvider.httpHost',
  'metricsProvider.exportJvmInfo', 'localSessionsEnabled', 'localSessionsUpgradingEnabled', 'clientPortListenBacklog',
  'maxCnxns', 'secureClientPort', 'secureClientPortAddress', 'serverCnxnFactory', 'connectToLearnerMasterLimit',
  'multiAddress.enabled', 'audit.enable', 'skipACL', 'fsync.warningthresholdms', 'sslQuorum', 'portUnification',
]);

const SUPER_DIGEST_KEYS = ['DigestAuthenticationProvider.superDigest', 'zookeeper.DigestAuthenticationProvider.superDigest', 'superDigest'];
/** ZooKeeper's -Dzookeeper.enforceQuota system property, as a config key (both spellings). */
const ENFORCE_QUOTA_KEYS = ['zookeeper.enforceQuota', 'enforceQuota'];
/** Where ZooKeeper servers are told the JAAS file (a JVM system property there, a key here). */
export const JAAS_CONFIG_KEY = 'java.security.auth.login.config';
const SASL_SECTION_KEYS = ['zookeeper.sasl.serverconfig', 'sasl.serverconfig'];
const SUPER_USER_KEYS = ['zookeeper.superUser', 'superUser'];
/** The authProvider.N class that registers the `sasl` ACL scheme. */
export const SASL_AUTH_PROVIDER_CLASS = 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider';

/** A configuration problem: where it is and what is wrong. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** The config file (or `<config>` for text not read from a file). */
    readonly file: string,
    /** 1-based line of the offending key, or 0 when the problem is a missing key. */
    readonly line: number,
    readonly key: string,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${key}: ${reason}` : `${file}: ${key}: ${reason}`);
  }
}

export type ServerRole = 'participant' | 'observer';

/** One `server.N=` line. */
export interface ServerSpec {
  readonly id: NodeId;
  readonly host: string;
  /** Peer traffic (the TCP bus listens here). */
  readonly quorumPort: number;
  /** Parsed and validated for compatibility; statekeeper's election shares the quorum port's link. */
  readonly electionPort: number;
  readonly role: ServerRole;
  readonly clientAddress?: string;
  readonly clientPort?: number;
}

/** Where a server's admin HTTP port is. */
export interface AdminAddress {
  readonly host: string;
  readonly port: number;
}

export interface TlsPaths {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** A parsed, validated server configuration. */
export interface ServerConfig {
  /** Path of the file read, if any. */
  readonly file?: string;
  readonly tickTimeMs: number;
  readonly initLimitTicks: number;
  readonly syncLimitTicks: number;
  readonly dataDir: string;
  readonly dataLogDir: string;
  /** This server's client port (clientPort, or the `;port` of its server line); undefined: none. */
  readonly clientPort?: number;
  readonly clientPortAddress: string;
  /** Every member; a single server for a standalone configuration. */
  readonly servers: readonly ServerSpec[];
  /** Whether the file had no server.N lines (ZooKeeper's standalone mode). */
  readonly standalone: boolean;
  readonly myid: NodeId;
  /** `['*']` allows every word. */
  readonly fourLetterWords: readonly string[];
  readonly maxClientCnxns: number;
  readonly juteMaxBufferBytes: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** Snapshot after this many applied transactions (snapCount). */
  readonly snapCount: number;
  /** Log slots kept behind the newest snapshot (statekeeper.snapshotRetainSlots). */
  readonly snapshotRetainSlots: number;
  /** Tree nodes per snapshot encoding step (statekeeper.snapshotStepNodes). */
  readonly snapshotStepNodes: number;
  readonly superDigest?: string;
  /** zookeeper.enforceQuota. */
  readonly enforceQuota: boolean;
  /** SASL DIGEST-MD5 users from the JAAS file's server section; undefined: no SASL (as ZooKeeper without one). */
  readonly sasl?: SaslConfig;
  /** Authentication providers from `authProvider.N` (the `sasl` ACL scheme). */
  readonly authProviders: AuthProviders;
  /** Cluster secret; required when there are peers. */
  readonly secret?: string;
  readonly adminPort?: number;
  readonly adminAddress: string;
  /** Admin ports of the servers (`statekeeper.admin.N`), where the inspector reads each one. */
  readonly adminAddresses: ReadonlyMap<NodeId, AdminAddress>;
  readonly tls?: TlsPaths;
  /** Node ids of peer-protocol clients admitted on the quorum port (see `statekeeper.peerClients`). */
  readonly peerClients: readonly NodeId[];
  /** Keys accepted but not acted on, and unknown keys (for the node to log). */
  readonly warnings: readonly string[];
}

/** The SASL part of a configuration. */
export interface SaslConfig {
  /** The JAAS file read (absolute). */
  readonly jaasFile: string;
  /** The section the users came from. */
  readonly section: string;
  /** user name → password. */
  readonly users: ReadonlyMap<string, string>;
  /** zookeeper.superUser, if set. */
  readonly superUser?: string;
}

export interface ParseOptions {
  /** Name used in errors and to resolve relative paths (default `<config>`, paths against cwd). */
  readonly file?: string;
  /** Reads `dataDir/myid` and `statekeeper.secretFile` (default: node:fs). Return undefined if absent. */
  readonly readFile?: (path: string) => string | undefined;
}

interface Property {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/** Java properties syntax as ZooKeeper reads zoo.cfg: `key=value`, `key: value` or `key value`; # and ! comments. */
export function parseProperties(text: string, file = '<config>'): Property[] {
  const out: Property[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    let logical = lines[i]!.replace(/^[ \t\f]+/, '');
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the line.
    while (/(^|[^\\])(\\\\)*\\$/.test(logical) && i + 1 < lines.length) {
      logical = logical.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    const match = /^((?:\\.|[^=:\s\\])+)\s*(?:[=:]\s*|\s+|$)(.*)$/.exec(logical);
    if (match === null) throw new ConfigError(file, startLine, logical.slice(0, 40), 'not a key=value line');
    const key = unescapeProperty(match[1]!);
    const value = unescapeProperty(match[2]!).trim();
    const previous = seen.get(key);
    if (previous !== undefined) throw new ConfigError(file, startLine, key, `set twice (first on line ${previous})`);
    seen.set(key, startLine);
    out.push({ key, value, line: startLine });
  }
  return out;
}

function unescapeProperty(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return e === 't' ? '\t' : e === 'n' ? '\n' : e === 'r' ? '\r' : e === 'f' ? '\f' : e;
  });
}

/** Parse and validate zoo.cfg text. Throws {@link ConfigError}. */
export function parseServerConfig(text: string, options: ParseOptions = {}): ServerConfig {
  const file = options.file ?? '<config>';
  const base = options.file === undefined ? process.cwd() : dirname(resolve(options.file));
  const readFile = options.readFile ?? readOptionalFile;
  const props = parseProperties(text, file);
  const byKey = new Map(props.map((p) => [p.key, p]));
  const warnings: string[] = [];
  const fail = (p: Property | string, reason: string): never => {
    if (typeof p === 'string') throw new ConfigError(file, 0, p, reason);
    throw new ConfigError(file, p.line, p.key, reason);
  };
  const integer = (key: string, fallback: number | undefined, min: number, max: number): number | undefined => {
    const p = byKey.get(key);
    if (p === undefined) return fallback;
    if (!/^-?\d+$/.test(p.value)) fail(p, `must be an integer, got ${JSON.stringify(p.value)}`);
    const n = Number(p.value);
    if (!Number.isSafeInteger(n) || n < min || n > max) fail(p, `must be from ${min} to ${max}, got ${p.value}`);
    return n;
  };
  const path = (p: Property): string => {
    if (p.value === '') fail(p, 'must not be empty');
    return isAbsolute(p.value) ? p.value : join(base, p.value);
  };

  // Classify every key first, so a typo in our namespace fails even if nothing reads it.
  const servers: (ServerSpec & { readonly line: Property })[] = [];
  for (const p of props) {
    const serverMatch = /^server\.(.*)$/.exec(p.key);
    if (serverMatch !== null) {
      servers.push({ ...parseServerLine(p, serverMatch[1]!, fail), line: p });
    } else if (p.key.startsWith('statekeeper.')) {
      if (!STATEKEEPER_KEYS.has(p.key) && !ADMIN_ADDRESS_KEY.test(p.key)) fail(p, `unknown statekeeper key (known: ${[...STATEKEEPER_KEYS].join(', ')}, statekeeper.admin.N)`);
    } else if (p.key === 'dynamicConfigFile') {
      fail(p, 'dynamic reconfiguration files are not supported: put the server.N lines in this file');
    } else if (p.key.startsWith('group.') || p.key.startsWith('weight.')) {
      fail(p, 'hierarchical quorums are not supported: statekeeper uses majorities of the participants');
    } else if (/^(zookeeper\.)?authProvider\./.test(p.key)) {
      if (p.value !== SASL_AUTH_PROVIDER_CLASS) warnings.push(`${file}:${p.line}: ${p.key}: authentication provider ${p.value} is not available in statekeeper; ignored`);
    } else if (IGNORED_ZK_KEYS.has(p.key) || p.key.startsWith('ssl.') || p.key.startsWith('quorum.')) {
      warnings.push(`${file}:${p.line}: ${p.key} is a ZooKeeper setting statekeeper does not use; ignored`);
    } else if (!KNOWN_ZK_KEYS.has(p.key) && !SUPER_DIGEST_KEYS.includes(p.key) && !ENFORCE_QUOTA_KEYS.includes(p.key) && !SASL_SECTION_KEYS.includes(p.key) && !SUPER_USER_KEYS.includes(p.key)) {
      warnings.push(`${file}:${p.line}: unknown key ${p.key}; ignored`);
    }
  }

  const tickTimeMs = integer('tickTime', ZK_DEFAULT_TICK_TIME_MS, 1, 3_600_000)!;
  const initLimitTicks = integer('initLimit', ZK_DEFAULT_INIT_LIMIT_TICKS, 1, 1_000_000)!;
  const syncLimitTicks = integer('syncLimit', ZK_DEFAULT_SYNC_LIMIT_TICKS, 1, 1_000_000)!;
  const dataDirProp = byKey.get('dataDir') ?? fail('dataDir', 'is required (where the node keeps its state)');
  const dataDir = path(dataDirProp);
  const dataLogDirProp = byKey.get('dataLogDir');
  const dataLogDir = dataLogDirProp === undefined ? dataDir : path(dataLogDirProp);
  const maxClientCnxns = integer('maxClientCnxns', ZK_DEFAULT_MAX_CLIENT_CNXNS, 0, 1_000_000)!;
  const juteMaxBufferBytes = integer('jute.maxbuffer', ZK_DEFAULT_JUTE_MAX_BUFFER, 1, 2 ** 31 - 1)!;
  const minSessionTimeoutMs = integer('minSessionTimeout', 2 * tickTimeMs, 1, 2 ** 31 - 1)!;
  const maxSessionTimeoutMs = integer('maxSessionTimeout', 20 * tickTimeMs, 1, 2 ** 31 - 1)!;
  const snapCount = integer('snapCount', DEFAULT_SNAPSHOT_POLICY.everyCommands, 2, 2 ** 31 - 1)!;
  const snapshotRetainSlots = integer('statekeeper.snapshotRetainSlots', DEFAULT_SNAPSHOT_POLICY.retainSlots, 0, 2 ** 31 - 1)!;
  const snapshotStepNodes = integer('statekeeper.snapshotStepNodes', SNAPSHOT_STEP_NODES, 1, 2 ** 31 - 1)!;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    fail(byKey.get('minSessionTimeout') ?? byKey.get('maxSessionTimeout') ?? 'minSessionTimeout', `minSessionTimeout ${minSessionTimeoutMs} exceeds maxSessionTimeout ${maxSessionTimeoutMs}`);
  }
  const clientPortAddressProp = byKey.get('clientPortAddress');
  const clientPortAddress = clientPortAddressProp?.value || '0.0.0.0';

  const fourLetterWords = parseFourLetterWords(byKey.get('4lw.commands.whitelist'), fail);

  let superDigest: string | undefined;
  for (const key of SUPER_DIGEST_KEYS) {
    const p = byKey.get(key);
    if (p === undefined) continue;
    if (superDigest !== undefined) fail(p, 'the super digest is set under two names');
    if (!/^super:[A-Za-z0-9+/]{27}=$/.test(p.value)) fail(p, 'must be super:<base64 of sha1("super:password")> (28 characters)');
    superDigest = p.value;
  }

  let enforceQuota = false;
  for (const key of ENFORCE_QUOTA_KEYS) {
    const p = byKey.get(key);
    if (p === undefined) continue;
    if (p.value !== 'true' && p.value !== 'false') fail(p, 'must be true or false');
    enforceQuota = p.value === 'true';
  }

  const authProviders: AuthProviders = props.some((p) => /^(zookeeper\.)?authProvider\./.test(p.key) && p.value === SASL_AUTH_PROVIDER_CLASS) ? { sasl: true } : {};
  const sasl = parseSaslSettings(byKey, fail, path, readFile, warnings, file);

  // Membership.
  const standalone = servers.length === 0;
  const myidProp = byKey.get('statekeeper.myid');
  let myid: number;
  if (myidProp !== undefined) {
    myid = integer('statekeeper.myid', undefined, 1, MAX_SERVER_ID)!;
  } else {
    const myidPath = join(dataDir, 'myid');
    const text = readFile(myidPath);
    if (text === undefined) {
      if (!standalone) fail('statekeeper.myid', `not set, and ${myidPath} does not exist (write this server's id there, as for ZooKeeper)`);
      myid = 1;
    } else {
      const n = Number(text.trim());
      if (!/^\d+$/.test(text.trim()) || n < 1 || n > MAX_SERVER_ID) fail('statekeeper.myid', `${myidPath} must hold an integer from 1 to ${MAX_SERVER_ID}, got ${JSON.stringify(text.trim())}`);
      myid = n;
    }
  }
  const ids = new Map<number, Property>();
  const endpoints = new Map<string, Property>();
  for (const s of servers) {
    const earlier = ids.get(s.id);
    if (earlier !== undefined) fail(s.line, `server id ${s.id} is also defined on line ${earlier.line}`);
    ids.set(s.id, s.line);
    for (const port of [s.quorumPort, s.electionPort]) {
      const endpoint = `${s.host}:${port}`;
      const other = endpoints.get(endpoint);
      if (other !== undefined) fail(s.line, `${endpoint} is also used on line ${other.line}`);
      endpoints.set(endpoint, s.line);
    }
  }
  let members: ServerSpec[] = servers.map(({ line: _line, ...spec }) => spec);
  const clientPortProp = byKey.get('clientPort');
  let clientPort = integer('clientPort', undefined, 1, 65535);
  if (standalone) {
    if (byKey.get('peerType')?.value === 'observer') fail(byKey.get('peerType')!, 'a standalone server cannot be an observer');
    members = [{ id: myid, host: '127.0.0.1', quorumPort: 0, electionPort: 0, role: 'participant' }];
  } else {
    const me = servers.find((s) => s.id === myid);
    if (me === undefined) fail(myidProp ?? 'statekeeper.myid', `this server's id ${myid} has no server.${myid} line`);
    const peerType = byKey.get('peerType');
    if (peerType !== undefined) {
      if (peerType.value !== 'observer' && peerType.value !== 'participant') fail(peerType, `must be observer or participant, got ${JSON.stringify(peerType.value)}`);
      if (peerType.value !== me!.role) fail(peerType, `says ${peerType.value} but server.${myid} is a ${me!.role}`);
    }
    if (!servers.some((s) => s.role === 'participant')) fail(servers[0]!.line, 'at least one server must be a participant');
    if (me!.clientPort !== undefined) {
      if (clientPort !== undefined && clientPort !== me!.clientPort) {
        fail(clientPortProp!, `is ${clientPort} but server.${myid} says ${me!.clientPort}`);
      }
      clientPort = me!.clientPort;
    }
  }

  let secret: string | undefined;
  const secretProp = byKey.get('statekeeper.secret');
  const secretFileProp = byKey.get('statekeeper.secretFile');
  if (secretProp !== undefined && secretFileProp !== undefined) fail(secretFileProp, 'set only one of statekeeper.secret and statekeeper.secretFile');
  if (secretProp !== undefined) secret = secretProp.value;
  if (secretFileProp !== undefined) {
    const text = readFile(path(secretFileProp));
    if (text === undefined) fail(secretFileProp, `cannot read ${path(secretFileProp)}`);
    secret = text!.trim();
  }
  if (secret === '') fail(secretFileProp ?? secretProp!, 'the cluster secret must not be empty');
  if (!standalone && secret === undefined) fail('statekeeper.secret', 'is required when the ensemble has several servers (it authenticates peers)');

  const adminPort = integer('statekeeper.adminPort', undefined, 1, 65535);
  const adminAddress = byKey.get('statekeeper.adminAddress')?.value || '0.0.0.0';
  const adminAddresses = new Map<NodeId, AdminAddress>();
  for (const p of props) {
    const m = ADMIN_ADDRESS_KEY.exec(p.key);
    if (m === null) continue;
    const id = Number(m[1]);
    if (!members.some((s) => s.id === id)) fail(p, `server ${id} has no server.${id} line`);
    const address = splitHostAndRest(p.value.trim(), p, fail);
    if (address.rest.length !== 1) fail(p, 'must be host:port ([addr]:port for IPv6)');
    adminAddresses.set(id, { host: address.host, port: port(address.rest[0]!, p, 'admin port', fail) });
  }

  let tls: TlsPaths | undefined;
  const tlsProps = ['statekeeper.tls.cert', 'statekeeper.tls.key', 'statekeeper.tls.ca'].map((k) => byKey.get(k));
  if (tlsProps.some((p) => p !== undefined)) {
    const missing = ['cert', 'key', 'ca'].filter((_, i) => tlsProps[i] === undefined);
    if (missing.length > 0) fail(tlsProps.find((p) => p !== undefined)!, `TLS needs statekeeper.tls.cert, .key and .ca together (missing ${missing.join(', ')})`);
    tls = { cert: path(tlsProps[0]!), key: path(tlsProps[1]!), ca: path(tlsProps[2]!) };
  }

  const peerClients: NodeId[] = [];
  const peerClientsProp = byKey.get('statekeeper.peerClients');
  if (peerClientsProp !== undefined) {
    const highestServer = Math.max(...members.map((s) => s.id));
    for (const text of peerClientsProp.value.split(',').map((t) => t.trim()).filter((t) => t !== '')) {
      const id = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(id)) fail(peerClientsProp, `${JSON.stringify(text)} is not a node id`);
      // The TCP bus lets only the higher id of a pair dial, and a client must dial in.
      if (id <= highestServer) fail(peerClientsProp, `client id ${id} must be above every server id (highest ${highestServer})`);
      peerClients.push(id);
    }
  }

  return {
    ...(options.file === undefined ? {} : { file: options.file }),
    tickTimeMs,
    initLimitTicks,
    syncLimitTicks,
    dataDir,
    dataLogDir,
    ...(clientPort === undefined ? {} : { clientPort }),
    clientPortAddress,
    servers: members,
    standalone,
    myid,
    fourLetterWords,
    maxClientCnxns,
    juteMaxBufferBytes,
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    snapCount,
    snapshotRetainSlots,
    snapshotStepNodes,
    ...(superDigest === undefined ? {} : { superDigest }),
    enforceQuota,
    ...(sasl === undefined ? {} : { sasl }),
    authProviders,
    ...(secret === undefined ? {} : { secret }),
    ...(adminPort === undefined ? {} : { adminPort }),
    adminAddress,
    adminAddresses,
    ...(tls === undefined ? {} : { tls }),
    peerClients,
    warnings,
  };
}

/** Read and parse a config file. Throws {@link ConfigError} (a missing file too). */
export function loadServerConfig(file: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, 0, '(file)', `cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseServerConfig(text, { file });
}

/** The one value of a setting that has several accepted names; an error if two of them are set. */
function oneOf(byKey: ReadonlyMap<string, Property>, keys: readonly string[], fail: (p: Property, reason: string) => never): Property | undefined {
  const set = keys.map((k) => byKey.get(k)).filter((p): p is Property => p !== undefined);
  if (set.length > 1) fail(set[1]!, `also set as ${set[0]!.key} (line ${set[0]!.line})`);
  return set[0];
}

/**
 * The JAAS file's DIGEST-MD5 users (ZooKeeper reads the file named by -Djava.security.auth.login.config
 * and, like it, runs without SASL when the file has no server section). An unreadable or malformed
 * file is a ConfigError naming the key, the JAAS file and its line.
 */
function parseSaslSettings(
  byKey: ReadonlyMap<string, Property>,
  fail: (p: Property | string, reason: string) => never,
  path: (p: Property) => string,
  readFile: (path: string) => string | undefined,
  warnings: string[],
  file: string,
): SaslConfig | undefined {
  const jaasProp = byKey.get(JAAS_CONFIG_KEY);
  const sectionProp = oneOf(byKey, SASL_SECTION_KEYS, fail);
  const superUserProp = oneOf(byKey, SUPER_USER_KEYS, fail);
  if (jaasProp === undefined) {
    if (sectionProp !== undefined) fail(sectionProp, `names a JAAS section, but ${JAAS_CONFIG_KEY} (the JAAS file) is not set`);
    if (superUserProp !== undefined) warnings.push(`${file}:${superUserProp.line}: ${superUserProp.key} has no effect without SASL users (${JAAS_CONFIG_KEY})`);
    return undefined;
  }
  const jaasFile = path(jaasProp);
  let text: string | undefined;
  try {
    text = readFile(jaasFile);
  } catch (error) {
    fail(jaasProp, `cannot read the JAAS file ${jaasFile}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (text === undefined) fail(jaasProp, `the JAAS file ${jaasFile} does not exist`);
  const section = sectionProp?.value || DEFAULT_SERVER_SECTION;
  let users: ReturnType<typeof jaasServerUsers>;
  try {
    users = jaasServerUsers(parseJaasConfig(text!), section);
  } catch (error) {
    if (!(error instanceof JaasError)) throw error;
    fail(jaasProp, `${jaasFile}:${error.line}: ${error.reason}`);
  }
  if (users! === null) {
    if (sectionProp !== undefined) fail(sectionProp, `the JAAS file ${jaasFile} has no section ${section}`);
    warnings.push(`${file}:${jaasProp.line}: ${jaasFile} has no ${section} section: SASL is off (as on ZooKeeper)`);
    return undefined;
  }
  const superUser = superUserProp?.value;
  return { jaasFile, section, users: users!.users, ...(superUser === undefined || superUser === '' ? {} : { superUser }) };
}

const STATEKEEPER_KEYS: ReadonlySet<string> = new Set([
  'statekeeper.myid', 'statekeeper.secret', 'statekeeper.secretFile', 'statekeeper.adminPort', 'statekeeper.adminAddress',
  'statekeeper.tls.cert', 'statekeeper.tls.key', 'statekeeper.tls.ca', 'statekeeper.peerClients',
  'statekeeper.snapshotRetainSlots', 'statekeeper.snapshotStepNodes',
]);

/** `statekeeper.admin.N`: server N's admin address. */
const ADMIN_ADDRESS_KEY = /^statekeeper\.admin\.(\d+)$/;

const KNOWN_ZK_KEYS: ReadonlySet<string> = new Set([
  'tickTime', 'initLimit', 'syncLimit', 'dataDir', 'dataLogDir', 'clientPort', 'clientPortAddress', 'peerType',
  '4lw.commands.whitelist', 'maxClientCnxns', 'jute.maxbuffer', 'minSessionTimeout', 'maxSessionTimeout', 'snapCount', JAAS_CONFIG_KEY,
]);

function parseFourLetterWords(p: Property | undefined, fail: (p: Property, reason: string) => never): readonly string[] {
  if (p === undefined) return ZK_DEFAULT_FOUR_LETTER_WORDS;
  const words = p.value.split(',').map((w) => w.trim()).filter((w) => w !== '');
  if (words.includes('*')) return ['*'];
  for (const w of words) if (!FOUR_LETTER_WORDS.includes(w)) fail(p, `unknown four-letter word ${JSON.stringify(w)}`);
  return [...new Set(words)];
}

/** `host:quorumPort:electionPort[:participant|:observer][;[clientAddr:]clientPort]`, host may be [IPv6]. */
function parseServerLine(p: Property, idText: string, fail: (p: Property, reason: string) => never): ServerSpec {
  if (!/^\d+$/.test(idText)) fail(p, 'the server id after "server." must be an integer');
  const id = Number(idText);
  if (id < 1 || id > MAX_SERVER_ID) fail(p, `server id must be from 1 to ${MAX_SERVER_ID}`);
  const [peerPart, clientPart, ...extra] = p.value.split(';');
  if (extra.length > 0) fail(p, 'more than one ";" in the server line');
  if (peerPart!.includes('|')) fail(p, 'several addresses per server (multiAddress) are not supported');
  const peer = splitHostAndRest(peerPart!.trim(), p, fail);
  const fields = peer.rest;
  if (fields.length < 2 || fields.length > 3) fail(p, 'expected host:quorumPort:electionPort[:participant|:observer]');
  const quorumPort = port(fields[0]!, p, 'quorum port', fail);
  const electionPort = port(fields[1]!, p, 'election port', fail);
  if (quorumPort === electionPort) fail(p, 'quorum and election ports must differ');
  const roleText = fields[2] ?? 'participant';
  if (roleText !== 'participant' && roleText !== 'observer') fail(p, `role must be participant or observer, got ${JSON.stringify(roleText)}`);
  let clientAddress: string | undefined;
  let clientPort: number | undefined;
  if (clientPart !== undefined) {
    const text = clientPart.trim();
    if (/^\d+$/.test(text)) {
      clientPort = port(text, p, 'client port', fail);
    } else {
      const client = splitHostAndRest(text, p, fail);
      if (client.rest.length !== 1) fail(p, 'the client part must be port or address:port');
      clientAddress = client.host;
      clientPort = port(client.rest[0]!, p, 'client port', fail);
    }
  }
  return {
    id,
    host: peer.host,
    quorumPort,
    electionPort,
    role: roleText as ServerRole,
    ...(clientAddress === undefined ? {} : { clientAddress }),
    ...(clientPort === undefined ? {} : { clientPort }),
  };
}

function splitHostAndRest(text: string, p: Property, fail: (p: Property, reason: string) => never): { host: string; rest: string[] } {
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') fail(p, 'an IPv6 address must be written [addr]:port');
    return { host: text.slice(1, end), rest: text.slice(end + 2).split(':') };
  }
  const [host, ...rest] = text.split(':');
  if (host === undefined || host === '') fail(p, 'missing host');
  return { host: host!, rest };
}

function port(text: string, p: Property, what: string, fail: (p: Property, reason: string) => never): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) fail(p, `${what} must be from 1 to 65535, got ${JSON.stringify(text)}`);
  return n;
}

function readOptionalFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The participants (voters) and every member, as the consensus node wants them. */
export function membership(config: ServerConfig): { voters: NodeId[]; members: NodeId[] } {
  const members = config.servers.map((s) => s.id).sort((a, b) => a - b);
  const voters = config.servers.filter((s) => s.role === 'participant').map((s) => s.id).sort((a, b) => a - b);
  return { voters, members };
}

/** What {@link formatServerConfig} writes: the subset of keys the `ensemble` command sets. */
export interface ServerConfigText {
  readonly tickTimeMs: number;
  readonly initLimitTicks?: number;
  readonly syncLimitTicks?: number;
  readonly dataDir: string;
  readonly clientPort: number;
  readonly clientPortAddress: string;
  readonly servers: readonly ServerSpec[];
  readonly myid: NodeId;
  /** The secret inline, or (better: it stays out of the config) a file holding it. */
  readonly secret: { readonly value: string } | { readonly file: string };
  readonly adminPort: number;
  readonly adminAddress: string;
  /** Admin addresses of the servers (this one's too), written as `statekeeper.admin.N`. */
  readonly adminAddresses?: ReadonlyMap<NodeId, AdminAddress>;
  readonly fourLetterWords?: readonly string[];
  readonly peerClients?: readonly NodeId[];
  /** More keys for this server, written after the others (e.g. snapCount). */
  readonly extra?: Readonly<Record<string, string | number>>;
}

/** A zoo.cfg a statekeeper node (and, for its ZooKeeper keys, ZooKeeper) reads. */
export function formatServerConfig(c: ServerConfigText): string {
  const lines = [
    '# statekeeper server configuration (ZooKeeper zoo.cfg syntax)',
    `tickTime=${c.tickTimeMs}`,
    `initLimit=${c.initLimitTicks ?? ZK_DEFAULT_INIT_LIMIT_TICKS}`,
    `syncLimit=${c.syncLimitTicks ?? ZK_DEFAULT_SYNC_LIMIT_TICKS}`,
    `dataDir=${c.dataDir}`,
    `clientPort=${c.clientPort}`,
    `clientPortAddress=${c.clientPortAddress}`,
    `4lw.commands.whitelist=${(c.fourLetterWords ?? ['*']).join(',')}`,
    `statekeeper.myid=${c.myid}`,
    'value' in c.secret ? `statekeeper.secret=${c.secret.value}` : `statekeeper.secretFile=${c.secret.file}`,
    `statekeeper.adminPort=${c.adminPort}`,
    `statekeeper.adminAddress=${c.adminAddress}`,
  ];
  if (c.peerClients !== undefined && c.peerClients.length > 0) lines.push(`statekeeper.peerClients=${c.peerClients.join(',')}`);
  for (const [key, value] of Object.entries(c.extra ?? {})) lines.push(`${key}=${value}`);
  for (const [id, a] of [...(c.adminAddresses ?? new Map<NodeId, AdminAddress>())].sort(([x], [y]) => x - y)) {
    lines.push(`statekeeper.admin.${id}=${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`);
  }
  for (const s of c.servers) {
    const host = s.host.includes(':') ? `[${s.host}]` : s.host;
    const role = s.role === 'observer' ? ':observer' : '';
    const client = s.clientPort === undefined ? '' : `;${s.clientAddress === undefined ? '' : `${s.clientAddress}:`}${s.clientPort}`;
    lines.push(`server.${s.id}=${host}:${s.quorumPort}:${s.electionPort}${role}${client}`);
  }
  return `${lines.join('\n')}\n`;
}
