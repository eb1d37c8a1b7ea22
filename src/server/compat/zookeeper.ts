/**
 * The reference: a real Apache ZooKeeper 3.8 (Debian's `zookeeper` package) run standalone on
 * 127.0.0.1 for compatibility tests, and its command-line client (zkCli, `ZooKeeperMain`) run
 * non-interactively. Everything is started and stopped by pid, and every wait is bounded.
 *
 * The server is started the way shared/bench/zk-cluster.sh does it: `java -cp zookeeper.jar:
 * slf4j-simple.jar QuorumPeerMain zoo.cfg`, with forceSync on (every transaction-log write is
 * fsynced before the reply), every four-letter word enabled and the AdminServer off. TTL nodes
 * need `zookeeper.extendedTypesEnabled`, which statekeeper has on by default, so it is on here too.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's packages put the jars (zookeeper.jar's manifest Class-Path names its dependencies). */
export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** slf4j binding for the server: logs to stderr, which goes to the server log file. */
export const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';
/** slf4j binding for zkCli: drops the client library's logging so only the shell's output remains. */
export const SLF4J_NOP_JAR = '/usr/share/java/slf4j-nop.jar';
export const DEFAULT_JAVA = '/usr/bin/java';

/** How long a server may take to answer `ruok` and report a serving mode. */
export const ZOOKEEPER_START_TIMEOUT_MS = 60_000;
/** How long a server may take to exit after SIGTERM before it gets SIGKILL. */
export const ZOOKEEPER_STOP_GRACE_MS = 5_000;
/** Bound on one zkCli run (JVM start ≈ 1–2 s on this machine, plus the script). */
export const ZKCLI_TIMEOUT_MS = 60_000;
/** Bound on one four-letter-word exchange. */
export const FOUR_LETTER_WORD_TIMEOUT_MS = 3_000;
/** Pause between readiness probes (a bound on polling frequency, not a synchronization). */
const READINESS_POLL_MS = 100;

/** True when Java and the ZooKeeper jars are installed (Debian: `apt-get install -y zookeeper`). */
export function zooKeeperInstalled(java = DEFAULT_JAVA): boolean {
  return existsSync(java) && existsSync(ZOOKEEPER_JAR) && existsSync(SLF4J_SIMPLE_JAR) && existsSync(SLF4J_NOP_JAR);
}

export interface ZooKeeperOptions {
  /** JVM heap in MB, min and max (default 256: a test server holds little). */
  readonly heapMb?: number;
  /** tickTime (default 2000, ZooKeeper's default: session timeouts are negotiated into [2, 20] ticks). */
  readonly tickTimeMs?: number;
  /** Extra zoo.cfg lines, key → value. */
  readonly config?: Readonly<Record<string, string>>;
  /** Extra JVM system properties, key → value. */
  readonly systemProperties?: Readonly<Record<string, string>>;
  readonly java?: string;
  /** Parent of the temp data dir (default the OS temp dir). */
  readonly baseDir?: string;
  readonly startTimeoutMs?: number;
}

/** A running standalone ZooKeeper started by {@link startZooKeeper}. */
export interface ZooKeeperServer {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:port" */
  readonly connectString: string;
  readonly pid: number;
  /** The temp dir holding zoo.cfg, data/ and server.log; removed by stop(). */
  readonly dir: string;
  /** The server log so far (for failure messages). */
  log(): string;
  /** SIGTERM, then SIGKILL after {@link ZOOKEEPER_STOP_GRACE_MS}; removes the temp dir unless told to keep it. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound and released; the caller binds it right after). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** Sends a four-letter word and returns the whole answer ('' when the server is not there). */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = FOUR_LETTER_WORD_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.write(word, 'latin1'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(exited(child)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Java processes this module started, killed if the parent exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) if (c.pid !== undefined && !exited(c)) process.kill(c.pid, 'SIGKILL');
  });
}

/**
 * Starts a standalone ZooKeeper 3.8 on 127.0.0.1 on a free port with a fresh temp data dir and
 * resolves once it answers `ruok` with `imok` and `srvr` reports mode standalone. Rejects (and
 * kills the process) when it exits or is not ready within `startTimeoutMs`.
 */
export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  const java = options.java ?? DEFAULT_JAVA;
  if (!zooKeeperInstalled(java)) {
    throw new Error(`Apache ZooKeeper is not installed (need ${java}, ${ZOOKEEPER_JAR}, ${SLF4J_SIMPLE_JAR}, ${SLF4J_NOP_JAR}): apt-get install -y zookeeper`);
  }
  const host = '127.0.0.1';
  const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'zk-ref-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const port = await freePort(host);
  const config: Record<string, string> = {
    tickTime: String(options.tickTimeMs ?? 2000),
    dataDir,
    clientPort: String(port),
    clientPortAddress: host,
    maxClientCnxns: '0',
    forceSync: 'yes',
    '4lw.commands.whitelist': '*',
    'admin.enableServer': 'false',
    ...options.config,
  };
  const cfgPath = join(dir, 'zoo.cfg');
  writeFileSync(cfgPath, Object.entries(config).map(([k, v]) => `${k}=${v}\n`).join(''));
  const logPath = join(dir, 'server.log');
  const logFd = openSync(logPath, 'a');
  const heap = options.heapMb ?? 256;
  const properties: Record<string, string> = {
    'java.net.preferIPv4Stack': 'true',
    'zookeeper.extendedTypesEnabled': 'true',
    'org.slf4j.simpleLogger.defaultLogLevel': 'warn',
    'zookeeper.log.dir': dir,
    ...options.systemProperties,
  };
  const args = [
    `-Xms${heap}m`,
    `-Xmx${heap}m`,
    '-XX:+UseG1GC',
    ...Object.entries(properties).map(([k, v]) => `-D${k}=${v}`),
    '-cp',
    `${ZOOKEEPER_JAR}:${SLF4J_SIMPLE_JAR}`,
    'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    cfgPath,
  ];
  // detached: its own process group, so a Ctrl-C meant for the test runner is handled by our stop().
  const child = spawn(java, args, { stdio: ['ignore', logFd, logFd], detached: true });
  closeSync(logFd);
  track(child);
  child.unref();
  const pid = child.pid;
  const log = (): string => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const stop = async (stopOptions: { keepDir?: boolean } = {}): Promise<void> => {
    if (!exited(child) && pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(child, ZOOKEEPER_STOP_GRACE_MS)) && !exited(child)) {
        process.kill(pid, 'SIGKILL');
        await waitForExit(child, ZOOKEEPER_STOP_GRACE_MS);
      }
    }
    if (stopOptions.keepDir !== true) rmSync(dir, { recursive: true, force: true });
  };
  if (pid === undefined) {
    await stop({ keepDir: true });
    throw new Error(`could not start ${java}; see ${logPath}`);
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? ZOOKEEPER_START_TIMEOUT_MS);
  for (;;) {
    if (exited(child)) {
      const tail = log().split('\n').slice(-15).join('\n');
      throw new Error(`ZooKeeper (pid ${pid}) exited with ${child.exitCode ?? child.signalCode} before serving; ${logPath}:\n${tail}`);
    }
    // imok from our port while our process lives: if another process held the port, ours would
    // have failed to bind and exited (caught above on a later probe).
    if ((await fourLetterWord(host, port, 'ruok')) === 'imok') {
      const mode = /^Mode: (\S+)/m.exec(await fourLetterWord(host, port, 'srvr'))?.[1];
      if (mode === 'standalone' && !exited(child)) break;
    }
    if (Date.now() > deadline) {
      await stop({ keepDir: true });
      throw new Error(`ZooKeeper (pid ${pid}) was not serving on ${host}:${port} within ${options.startTimeoutMs ?? ZOOKEEPER_START_TIMEOUT_MS} ms; see ${logPath}`);
    }
    await new Promise((r) => setTimeout(r, READINESS_POLL_MS));
  }
  return { host, port, connectString: `${host}:${port}`, pid, dir, log, stop };
}

export interface ZkCliOptions {
  readonly java?: string;
  readonly timeoutMs?: number;
  /** Session timeout the shell asks for (-timeout, default 30000). */
  readonly sessionTimeoutMs?: number;
  /**
   * JVM system properties for the shell, as zkCli.sh takes them from CLIENT_JVMFLAGS (e.g.
   * `java.security.auth.login.config` naming a JAAS file with a `Client` section for SASL).
   */
  readonly systemProperties?: Readonly<Record<string, string>>;
}

/** What one zkCli run printed. */
export interface ZkCliResult {
  /** stdout and stderr in the order they were written (one file behind both). */
  readonly output: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
}

/**
 * Runs Debian's zkCli (org.apache.zookeeper.ZooKeeperMain) against `connectString` with the given
 * commands on stdin: one shell session, one ZooKeeper session, commands run in order. Without jline
 * on the class path (Debian ships none) the shell reads stdin line by line and prints no prompts.
 * A final `quit` closes the session. stdout and stderr share one file so their order is kept.
 * Note: a single command can also be given as arguments (`-server host:port ls /`), but only stdin
 * keeps one session across commands, which ephemerals, addauth and watches need.
 */
export async function runZkCli(connectString: string, commands: readonly string[], options: ZkCliOptions = {}): Promise<ZkCliResult> {
  const java = options.java ?? DEFAULT_JAVA;
  if (!zooKeeperInstalled(java)) throw new Error('zkCli needs Debian\'s zookeeper package: apt-get install -y zookeeper');
  const dir = mkdtempSync(join(tmpdir(), 'zkcli-'));
  const outPath = join(dir, 'out.txt');
  const outFd = openSync(outPath, 'w');
  const args = [
    '-Xmx128m',
    '-Djava.net.preferIPv4Stack=true',
    ...Object.entries(options.systemProperties ?? {}).map(([k, v]) => `-D${k}=${v}`),
    '-cp',
    `${ZOOKEEPER_JAR}:${SLF4J_NOP_JAR}`,
    'org.apache.zookeeper.ZooKeeperMain',
    '-server',
    connectString,
    '-timeout',
    String(options.sessionTimeoutMs ?? 30_000),
  ];
  const child = spawn(java, args, { stdio: ['pipe', outFd, outFd] });
  closeSync(outFd);
  track(child);
  const script = [...commands, 'quit'].join('\n') + '\n';
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(script);
  const timeoutMs = options.timeoutMs ?? ZKCLI_TIMEOUT_MS;
  const finished = await waitForExit(child, timeoutMs);
  if (!finished && child.pid !== undefined) {
    process.kill(child.pid, 'SIGKILL');
    await waitForExit(child, ZOOKEEPER_STOP_GRACE_MS);
  }
  const output = readFileSync(outPath, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return { output, exitCode: child.exitCode, timedOut: !finished };
}
