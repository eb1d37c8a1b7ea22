/**
 * The ensemble commands of the `statekeeper` CLI, as plain functions (src/cli/ensemble-commands.ts
 * registers them on commander):
 *
 * - `statekeeper start --config FILE [--rejoin]`: run one server in this process.
 * - `statekeeper ensemble [--nodes 3] [--dir ./data] [--base-port 2181]`: write the configs of a local
 *   ensemble and run each server as a child process over real TCP on 127.0.0.1; prints the
 *   inspector's address (every admin port serves the page for the whole ensemble).
 * - `statekeeper status --server HOST:ADMINPORT`: a server's role, epoch, last zxid, commit point,
 *   sessions and peers, from its admin port.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CorruptLogError, CorruptMetaError } from '../../store/index.js';
import { CorruptRecordError, ForeignDataDirectoryError } from '../../node/file-storage.js';
import type { NodeStatus } from './admin.js';
import { ConfigError, formatServerConfig, loadServerConfig } from './config.js';
import type { ServerSpec } from './config.js';
import { EXIT_CODE, STATE_SUBDIRECTORY, StatekeeperServer, serverLogger } from './node-process.js';

/** Where `ensemble` puts things under --dir: n<i>/zoo.cfg, n<i>/data, n<i>/server.log, secret. */
export const ENSEMBLE_SECRET_FILE = 'secret';
/** Port layout of `ensemble` from --base-port P: client P+i-1, quorum P+100+i-1, election P+200+i-1, admin P+300+i-1. */
export const ENSEMBLE_PORT_STRIDE = 100;
export const DEFAULT_ENSEMBLE_BASE_PORT = 2181;
export const DEFAULT_ENSEMBLE_NODES = 3;
/** ZooKeeper's sample tickTime (its built-in default is 3000). */
export const DEFAULT_ENSEMBLE_TICK_MS = 2000;
export const MAX_ENSEMBLE_NODES = 9;
/** How long a stopping child gets after SIGTERM before SIGKILL. */
export const CHILD_STOP_GRACE_MS = 10_000;
/** Bound on the status request. */
export const STATUS_TIMEOUT_MS = 5_000;

/** The server entry point child processes run (through tsx). */
export const NODE_MAIN_PATH = fileURLToPath(new URL('./node-main.ts', import.meta.url));

/** `node --import tsx node-main.ts ...`: argv for a child server process. */
export function nodeProcessArgv(configFile: string, rejoin: boolean): string[] {
  return ['--import', import.meta.resolve('tsx'), NODE_MAIN_PATH, '--config', configFile, ...(rejoin ? ['--rejoin'] : [])];
}

// ------------------------------------------------------------------ start

export interface StartCommandOptions {
  readonly config: string;
  readonly rejoin?: boolean;
}

/**
 * Run one server in this process until SIGTERM/SIGINT (graceful stop, exit 0). Startup failures
 * print one clear line and exit 2; a store failure while running exits 1 at once.
 */
export async function startCommand(opts: StartCommandOptions): Promise<StatekeeperServer> {
  let config;
  try {
    config = loadServerConfig(opts.config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`statekeeper: ${error.message}\n`);
      process.exit(EXIT_CODE.startup);
    }
    throw error;
  }
  const logger = serverLogger(config.myid);
  for (const w of config.warnings) logger.warn({ event: 'config' }, w);
  const die = (code: number): never => {
    // The logger writes synchronously (stdout is a file or a pipe), so nothing logged is lost here.
    process.exit(code);
  };
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, `n${config.myid}: uncaught exception`);
    die(EXIT_CODE.fatal);
  });
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, `n${config.myid}: unhandled rejection`);
    die(EXIT_CODE.fatal);
  });
  let server: StatekeeperServer | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    // Before the server is up there is nothing to stop gracefully: exiting is a crash, which is safe.
    if (++signals > 1 || server === undefined) die(signals > 1 ? EXIT_CODE.fatal : EXIT_CODE.ok);
    logger.info({ event: 'signal', signal }, `n${config.myid}: ${signal}, stopping`);
    server!.stop().then(
      () => die(EXIT_CODE.ok),
      (error: unknown) => {
        logger.error({ err: error }, `n${config.myid}: error while stopping`);
        die(EXIT_CODE.fatal);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    server = await StatekeeperServer.start({ config, rejoin: opts.rejoin === true, logger, onFatal: () => die(EXIT_CODE.fatal) });
  } catch (error) {
    const where = error instanceof CorruptLogError ? { file: error.file, offset: error.offset } : error instanceof CorruptMetaError ? { file: error.file } : {};
    const kind = error instanceof CorruptLogError || error instanceof CorruptMetaError || error instanceof CorruptRecordError ? 'corrupt data' : error instanceof ForeignDataDirectoryError ? 'wrong data directory' : 'startup failed';
    logger.fatal({ err: error, ...where }, `n${config.myid}: ${kind}: ${error instanceof Error ? error.message : String(error)}`);
    process.stderr.write(`statekeeper: n${config.myid}: ${kind}: ${error instanceof Error ? error.message : String(error)}\n`);
    return die(EXIT_CODE.startup);
  }
  return server;
}

// ------------------------------------------------------------------ ensemble

export interface EnsembleCommandOptions {
  readonly nodes?: number;
  readonly dir?: string;
  readonly basePort?: number;
  readonly tickTimeMs?: number;
  /** Where progress lines go (default stdout). */
  readonly out?: (line: string) => void;
  /** Install SIGINT/SIGTERM handlers that stop every node (default true). */
  readonly handleSignals?: boolean;
  /**
   * Start every server in a session of its own (setsid), as ZooKeeper's scripts start theirs, so
   * the scheduler treats each as a separate daemon rather than as part of this command's session
   * (bench/zk.ts: the ZooKeeper servers it compares against run that way). Default false: an
   * interactive ensemble's servers go down with its terminal.
   */
  readonly detached?: boolean;
  /** More zoo.cfg keys for every server (e.g. `{ snapCount: 20000 }`). */
  readonly config?: Readonly<Record<string, string | number>>;
}

export interface EnsembleNode {
  readonly id: number;
  readonly configFile: string;
  readonly dataDir: string;
  readonly clientPort: number;
  readonly adminPort: number;
  child: ChildProcess | undefined;
  role: string;
}

/** A running local ensemble (child processes). */
export interface RunningEnsemble {
  readonly connectString: string;
  readonly nodes: readonly EnsembleNode[];
  /** SIGTERM every node, SIGKILL after CHILD_STOP_GRACE_MS; resolves once all have exited. */
  stop(): Promise<void>;
  /** Resolves when every child has exited (for whatever reason). */
  readonly exited: Promise<void>;
}

/**
 * Write (or rewrite) the configs of an N-node ensemble under `dir` and start every server as a
 * child process. Data stays in `dir`, so running the command again resumes the same ensemble; a
 * node whose data is gone while others have some is started with `--rejoin`.
 */
export async function ensembleCommand(opts: EnsembleCommandOptions = {}): Promise<RunningEnsemble> {
  const n = opts.nodes ?? DEFAULT_ENSEMBLE_NODES;
  if (!Number.isInteger(n) || n < 1 || n > MAX_ENSEMBLE_NODES) throw new RangeError(`--nodes must be an integer from 1 to ${MAX_ENSEMBLE_NODES}`);
  const basePort = opts.basePort ?? DEFAULT_ENSEMBLE_BASE_PORT;
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + 3 * ENSEMBLE_PORT_STRIDE + n > 65535) throw new RangeError('--base-port leaves no room for the port layout');
  const dir = resolve(opts.dir ?? './data');
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    const m = /^n(\d+)$/.exec(name);
    if (m !== null && Number(m[1]) > n) throw new RangeError(`${dir} holds node ${m[1]}, more than --nodes ${n}: shrinking an ensemble is not supported`);
  }
  const secretFile = join(dir, ENSEMBLE_SECRET_FILE);
  if (!existsSync(secretFile)) writeFileSync(secretFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const host = '127.0.0.1';
  const servers: ServerSpec[] = [];
  for (let i = 1; i <= n; i++) {
    servers.push({
      id: i,
      host,
      quorumPort: basePort + ENSEMBLE_PORT_STRIDE + i - 1,
      electionPort: basePort + 2 * ENSEMBLE_PORT_STRIDE + i - 1,
      role: 'participant',
      clientPort: basePort + i - 1,
    });
  }
  const nodes: EnsembleNode[] = [];
  const adminPortOf = (id: number): number => basePort + 3 * ENSEMBLE_PORT_STRIDE + id - 1;
  // Every node knows every admin port: the inspector on any one of them shows the whole ensemble.
  const adminAddresses = new Map(servers.map((s) => [s.id, { host, port: adminPortOf(s.id) }]));
  for (const s of servers) {
    const nodeDir = join(dir, `n${s.id}`);
    const dataDir = join(nodeDir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const configFile = join(nodeDir, 'zoo.cfg');
    const adminPort = adminPortOf(s.id);
    writeFileSync(
      configFile,
      formatServerConfig({ tickTimeMs: opts.tickTimeMs ?? DEFAULT_ENSEMBLE_TICK_MS, dataDir, clientPort: s.clientPort!, clientPortAddress: host, servers, myid: s.id, secret: { file: secretFile }, adminPort, adminAddress: host, adminAddresses, ...(opts.config === undefined ? {} : { extra: opts.config }) }),
    );
    writeFileSync(join(dataDir, 'myid'), `${s.id}\n`);
    nodes.push({ id: s.id, configFile, dataDir, clientPort: s.clientPort!, adminPort, child: undefined, role: 'starting' });
  }
  const withState = nodes.filter((node) => hasNodeState(node.dataDir));
  const connectString = nodes.map((node) => `${host}:${node.clientPort}`).join(',');
  out(`statekeeper ensemble: ${n} node${n === 1 ? '' : 's'} in ${dir}`);
  out(`connect string: ${connectString}`);
  out(`admin: ${nodes.map((node) => `http://${host}:${node.adminPort}/status`).join(' ')}`);
  out(`inspector: open http://${host}:${nodes[0]!.adminPort}/ in a browser (every node's admin port shows the whole ensemble)`);

  let stopping = false;
  const exits: Promise<void>[] = [];
  for (const node of nodes) {
    const rejoin = withState.length > 0 && !withState.includes(node) && n > 1;
    if (rejoin) out(`n${node.id}: no data while the others have some: starting it with --rejoin`);
    const child = spawn(process.execPath, nodeProcessArgv(node.configFile, rejoin), { stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached === true });
    node.child = child;
    const log = createWriteStream(join(dir, `n${node.id}`, 'server.log'), { flags: 'a' });
    child.stderr!.pipe(log, { end: false });
    child.stderr!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') out(`n${node.id} stderr: ${line}`);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      const event = parseLogLine(line);
      if (event === undefined) return;
      if (event.event === 'role' || event.event === 'leading' || event.event === 'recovered') {
        if (typeof event.role === 'string') node.role = event.role;
        if (event.event === 'leading') node.role = 'leader';
        out(event.msg);
      } else if (event.event === 'started' || (typeof event.level === 'number' && event.level >= 50)) {
        out(event.msg);
      }
    });
    exits.push(
      new Promise<void>((resolveExit) => {
        // 'close', not 'exit': the log may be ended only once the child's output is all read.
        child.on('close', (code, signal) => {
          node.role = 'exited';
          if (!stopping) out(`n${node.id} exited (${signal ?? `code ${code}`}); see ${join(dir, `n${node.id}`, 'server.log')}`);
          log.end();
          resolveExit();
        });
      }),
    );
  }
  const exited = Promise.all(exits).then(() => undefined);
  const stop = async (): Promise<void> => {
    if (!stopping) {
      stopping = true;
      out('stopping the ensemble');
      for (const node of nodes) if (node.child?.exitCode === null) node.child.kill('SIGTERM');
      const grace = setTimeout(() => {
        for (const node of nodes) if (node.child?.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
      }, CHILD_STOP_GRACE_MS);
      grace.unref();
      await exited;
      clearTimeout(grace);
      out('ensemble stopped');
    }
    await exited;
  };
  if (opts.handleSignals !== false) {
    const onSignal = (): void => void stop().then(() => process.exit(0));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return { connectString, nodes, stop, exited };
}

/** Whether a server's data directory holds any statekeeper state. */
export function hasNodeState(dataDir: string): boolean {
  const stateDir = join(dataDir, STATE_SUBDIRECTORY);
  if (existsSync(join(stateDir, 'election.meta'))) return true;
  for (const sub of ['acceptor', 'learned']) {
    const d = join(stateDir, sub);
    if (existsSync(d) && readdirSync(d).some((f) => f.startsWith('log.'))) return true;
  }
  return false;
}

interface LogLine {
  readonly event?: string;
  readonly role?: unknown;
  readonly level?: number;
  readonly msg: string;
}

function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as Partial<LogLine>;
    return typeof value.msg === 'string' ? (value as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ status

export interface StatusCommandOptions {
  /** HOST:ADMINPORT */
  readonly server: string;
  /** Print the raw JSON instead of the summary. */
  readonly json?: boolean;
  readonly out?: (line: string) => void;
}

/** Fetch a server's /status. */
export function fetchStatus(server: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<NodeStatus> {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(server);
  if (m === null) return Promise.reject(new RangeError(`--server must be HOST:ADMINPORT, got ${JSON.stringify(server)}`));
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return new Promise((resolveStatus, reject) => {
    const req = httpGet({ host, port: Number(m[2]), path: '/status', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`${server}/status answered ${res.statusCode}: ${body.trim()}`));
        try {
          resolveStatus(JSON.parse(body) as NodeStatus);
        } catch (error) {
          reject(new Error(`${server}/status is not JSON: ${(error as Error).message}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${server} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Print a server's status; resolves with the exit code (0, or 1 if it cannot be reached). */
export async function statusCommand(opts: StatusCommandOptions): Promise<number> {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  let s: NodeStatus;
  try {
    s = await fetchStatus(opts.server);
  } catch (error) {
    out(`statekeeper status: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (opts.json === true) {
    out(JSON.stringify(s, null, 2));
    return 0;
  }
  out(`server:      n${s.id} (pid ${s.pid}, up ${Math.round(s.uptimeMs / 1000)} s)`);
  out(`role:        ${s.role}${s.serving ? '' : ' (not serving)'}`);
  out(`epoch:       ${s.epoch}`);
  out(`leader:      ${s.leader === null ? 'unknown' : `n${s.leader}`}`);
  out(`last zxid:   ${s.lastZxid}`);
  out(`commit slot: ${s.commitSlot}`);
  out(`sessions:    ${s.sessions}`);
  out(`digest:      ${s.digest}`);
  out(`peers:       ${s.peers.map((p) => `n${p.id}${p.kind === 'participant' ? '' : `(${p.kind})`} ${p.connected ? 'up' : 'down'}`).join(', ') || 'none'}`);
  return 0;
}
