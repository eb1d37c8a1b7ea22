/**
 * A real ensemble for tests: every server a child process (node-main.ts through tsx) on loopback
 * ports picked free, a peer-protocol client driving writes, and offline replay of data directories.
 * Every wait is a bounded poll on a condition, never a fixed sleep.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../../src/bus/memory.js';
import { ConsensusNode } from '../../src/node/node.js';
import { FileStorage } from '../../src/node/file-storage.js';
import type { ConsensusStorage } from '../../src/node/storage.js';
import { CoordinationService } from '../../src/node/service.js';
import { realClock, realtimeNetwork } from '../../src/node/realtime.js';
import type { PeerMessage } from '../../src/protocol/messages.js';
import { SeededRandom } from '../../src/protocol/random.js';
import type { NodeStatus } from '../../src/server/ensemble/admin.js';
import { fetchStatus, nodeProcessArgv } from '../../src/server/ensemble/cli.js';
import { formatServerConfig } from '../../src/server/ensemble/config.js';
import type { ServerSpec } from '../../src/server/ensemble/config.js';
import { STATE_SUBDIRECTORY } from '../../src/server/ensemble/node-process.js';
import { PeerClient } from '../../src/server/ensemble/peer-client.js';
import { deriveTimings } from '../../src/server/ensemble/timings.js';
import { silentLogger } from '../../src/store/index.js';
import { ZkConn, zkErrorName } from './zk-client.js';

/** tickTime of test ensembles: heartbeats every 40 ms, elections after 160–320 ms of silence. */
export const TEST_TICK_MS = 1000;
export const PEER_CLIENT_ID = 100;
/** A second client id the servers know, for the wrong-secret test. */
export const SPARE_CLIENT_ID = 101;
/** Upper bound of any single wait in these tests (a busy 2-core machine starts tsx processes slowly). */
export const WAIT_LIMIT_MS = 45_000;
const POLL_MS = 50;
/** Pause of a writer after a failed write (its client is reconnecting). */
const RETRY_PAUSE_MS = 20;
/** A server busy catching up may answer its admin port slowly; a wait retries anyway. */
const STATUS_TIMEOUT_MS = 5000;

/** `count` distinct free TCP ports on 127.0.0.1 (held open together, so no two are the same). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Poll `probe` until it returns a value other than undefined; throws after `limitMs` naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, limitMs = WAIT_LIMIT_MS): Promise<T> {
  const deadline = Date.now() + limitMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export interface ServerHandle {
  readonly id: number;
  readonly configFile: string;
  readonly dataDir: string;
  readonly adminPort: number;
  readonly quorumPort: number;
  child: ChildProcess | undefined;
  /** Every stdout line (pino JSON) and stderr line of every run of this server. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Index in `stdout` where the current (or last) run's lines begin. */
  runStart: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
}

export class TestEnsemble {
  readonly dir: string;
  readonly secret = 'test-secret-0123456789';
  readonly servers: ServerHandle[] = [];
  readonly specs: ServerSpec[];

  private constructor(dir: string, specs: ServerSpec[], adminPorts: number[], tickTimeMs: number, extraConfig: readonly string[]) {
    this.dir = dir;
    this.specs = specs;
    for (const s of specs) {
      const nodeDir = join(dir, `n${s.id}`);
      const dataDir = join(nodeDir, 'data');
      mkdirSync(dataDir, { recursive: true });
      const configFile = join(nodeDir, 'zoo.cfg');
      const adminPort = adminPorts[s.id - 1]!;
      writeFileSync(
        configFile,
        formatServerConfig({ tickTimeMs, dataDir, clientPort: s.clientPort!, clientPortAddress: '127.0.0.1', servers: specs, myid: s.id, secret: { value: this.secret }, adminPort, adminAddress: '127.0.0.1', peerClients: [PEER_CLIENT_ID, SPARE_CLIENT_ID] }) +
          extraConfig.map((line) => `${line}\n`).join(''),
      );
      this.servers.push({ id: s.id, configFile, dataDir, adminPort, quorumPort: s.quorumPort, child: undefined, stdout: [], stderr: [], runStart: 0, exit: undefined });
    }
  }

  /**
   * Configs for `voters` participants and `observers` observers (ids after the voters) on free
   * loopback ports in a fresh temp directory; nothing is started.
   */
  static async create(voters = 3, options: { tickTimeMs?: number; observers?: number; extraConfig?: readonly string[] } = {}): Promise<TestEnsemble> {
    const dir = mkdtempSync(join(tmpdir(), 'sk-ensemble-'));
    const nodes = voters + (options.observers ?? 0);
    const ports = await freePorts(4 * nodes);
    const specs: ServerSpec[] = [];
    for (let i = 0; i < nodes; i++) {
      const role = i < voters ? 'participant' : 'observer';
      specs.push({ id: i + 1, host: '127.0.0.1', quorumPort: ports[i]!, electionPort: ports[nodes + i]!, role, clientPort: ports[2 * nodes + i]! });
    }
    return new TestEnsemble(dir, specs, ports.slice(3 * nodes), options.tickTimeMs ?? TEST_TICK_MS, options.extraConfig ?? []);
  }

  /** Ids of the participants (voters). */
  get voterIds(): number[] {
    return this.specs.filter((s) => s.role === 'participant').map((s) => s.id);
  }

  server(id: number): ServerHandle {
    const s = this.servers.find((x) => x.id === id);
    if (s === undefined) throw new Error(`no server ${id}`);
    return s;
  }

  /** Start server `id` as a child process (it must not be running). */
  start(id: number, options: { rejoin?: boolean } = {}): ServerHandle {
    const s = this.server(id);
    if (s.child !== undefined && s.child.exitCode === null && s.child.signalCode === null) throw new Error(`n${id} is running`);
    const child = spawn(process.execPath, nodeProcessArgv(s.configFile, options.rejoin === true), { stdio: ['ignore', 'pipe', 'pipe'] });
    s.child = child;
    s.runStart = s.stdout.length;
    const split = (into: string[]) => {
      let partial = '';
      return (chunk: Buffer) => {
        const text = partial + chunk.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line !== '') into.push(line);
      };
    };
    child.stdout!.on('data', split(s.stdout));
    child.stderr!.on('data', split(s.stderr));
    s.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    return s;
  }

  startAll(): void {
    for (const s of this.servers) this.start(s.id);
  }

  isRunning(id: number): boolean {
    const c = this.server(id).child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** SIGKILL (or another signal) and wait for the exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const s = this.server(id);
    if (!this.isRunning(id)) return (await s.exit) ?? { code: null, signal: null };
    s.child!.kill(signal);
    return s.exit!;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.servers.map((s) => this.kill(s.id, 'SIGTERM')));
  }

  /** Kill anything still running and remove the directory. */
  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((s) => this.kill(s.id, 'SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  status(id: number): Promise<NodeStatus> {
    return fetchStatus(`127.0.0.1:${this.server(id).adminPort}`, STATUS_TIMEOUT_MS);
  }

  /** Statuses of the running servers (a server that does not answer is left out). */
  async statuses(): Promise<NodeStatus[]> {
    const running = this.servers.filter((s) => this.isRunning(s.id));
    const results = await Promise.allSettled(running.map((s) => this.status(s.id)));
    return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /** The id of the leader (phase 1 done), once every running server serves. */
  waitForLeader(except?: number): Promise<number> {
    return waitFor(`a leader${except === undefined ? '' : ` other than n${except}`}`, async () => {
      const all = await this.statuses();
      const running = this.servers.filter((s) => this.isRunning(s.id)).length;
      const leaders = all.filter((s) => s.role === 'leader' && s.id !== except);
      if (all.length < running || leaders.length !== 1 || !all.every((s) => s.serving)) return undefined;
      return leaders[0]!.id;
    });
  }

  /** Resolves once server `id` has applied every slot the leader `leader` had applied when asked. */
  async waitForCatchUp(id: number, leader: number): Promise<number> {
    const target = await waitFor(`n${leader}'s commit slot`, async () => (await this.status(leader)).commitSlot);
    return waitFor(`n${id} to catch up to slot ${target}`, async () => {
      const slot = (await this.status(id)).commitSlot;
      return slot >= target ? slot : undefined;
    });
  }

  /** Every running server at the same commit slot (at least `minSlot`) with the same tree digest. */
  waitForConvergence(minSlot = 0): Promise<NodeStatus[]> {
    return waitFor('every server at the same commit slot and tree digest', async () => {
      const all = await this.statuses();
      const running = this.servers.filter((s) => this.isRunning(s.id)).length;
      if (all.length < running || all.length === 0) return undefined;
      const first = all[0]!;
      if (first.commitSlot < minSlot) return undefined;
      return all.every((s) => s.commitSlot === first.commitSlot && s.digest === first.digest && s.serving) ? all : undefined;
    });
  }

  /** Log lines of the current run of server `id` that parse as JSON and match `event`. */
  events(id: number, event: string): Record<string, unknown>[] {
    const s = this.server(id);
    return s.stdout
      .slice(s.runStart)
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.event === event);
  }

  /** host:port,... of every server's ZooKeeper client port. */
  get connectString(): string {
    return this.specs.map((s) => `127.0.0.1:${s.clientPort!}`).join(',');
  }

  peerClient(id = PEER_CLIENT_ID, secret = this.secret): Promise<PeerClient> {
    return PeerClient.start({ id, secret, servers: new Map(this.specs.map((s) => [s.id, { host: s.host, port: s.quorumPort }])) });
  }
}

/**
 * Closed-loop ZooKeeper clients (node-zookeeper-client on the client ports, every server in each
 * connect string): each creates /w/<writer>-<n>-<random> one after another. A path counts as
 * acknowledged only once the create's callback reported success.
 */
export class WriteLoad {
  readonly acked: string[] = [];
  readonly failures = new Map<string, number>();
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly conns: ZkConn[];

  constructor(
    private readonly connectString: string,
    writers = 6,
  ) {
    const endpoints = connectString.split(',');
    this.conns = Array.from({ length: writers }, (_, i) => new ZkConn([...endpoints.slice(i % endpoints.length), ...endpoints.slice(0, i % endpoints.length)].join(',')));
  }

  /** Connect every writer and create /w. */
  async start(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.connect(WAIT_LIMIT_MS)));
    await this.conns[0]!.createIfAbsent('/w', Buffer.alloc(0));
    this.running = true;
    this.loops = this.conns.map((c, w) => this.loop(c, w));
  }

  private async loop(conn: ZkConn, writer: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const path = `/w/${writer}-${n}-${Math.random().toString(36).slice(2, 8)}`;
      try {
        await conn.create(path, Buffer.from(path));
        this.acked.push(path);
      } catch (error) {
        const name = zkErrorName(error);
        this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
        // Back off while the client reconnects rather than spin on CONNECTION_LOSS.
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  }

  /** Resolves once `count` more writes than now have been acknowledged. */
  waitForMore(count: number, what: string): Promise<number> {
    const target = this.acked.length + count;
    return waitFor(`${count} more acknowledged writes ${what} (have ${this.acked.length}; failures ${JSON.stringify([...this.failures])})`, () => (this.acked.length >= target ? this.acked.length : undefined));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    await Promise.all(this.conns.map((c) => c.close()));
  }
}

/**
 * Rebuild a stopped server's tree from its data directory exactly as a restart would: recover its
 * FileStorage, and let a ConsensusNode replay the learned log into a CoordinationService at start.
 * The node sees a read-only copy of the recovered state, so the directory is left as it was.
 */
export async function replayDataDir(dataDir: string, id: number, voters: readonly number[], members: readonly number[] = voters): Promise<CoordinationService> {
  const storage = await FileStorage.open(join(dataDir, STATE_SUBDIRECTORY), { nodeId: id, logger: silentLogger });
  const durable = storage.load();
  await storage.close();
  const readOnly: ConsensusStorage = {
    load: () => durable,
    saveElection: () => undefined,
    savePromise: () => undefined,
    saveAccepted: () => undefined,
    appendLearned: () => undefined,
    saveCompacted: () => undefined,
    saveSnapshot: () => undefined,
    compactLearned: () => undefined,
    installSnapshot: () => undefined,
    flush: (done) => done(),
    dirty: false,
  };
  let service: CoordinationService | undefined;
  const node = new ConsensusNode({
    id,
    voters,
    members,
    bus: new MemoryBus<PeerMessage>(realtimeNetwork, new SeededRandom(1)),
    clock: realClock,
    now: () => Date.now(),
    storage: readOnly,
    timings: deriveTimings(TEST_TICK_MS),
    seed: 1,
    application: { apply: (command, at) => service!.apply(command, at), restore: (state) => service!.restore(state) },
  });
  service = new CoordinationService({ node, serverId: id, clock: realClock, now: () => Date.now(), tickMs: TEST_TICK_MS });
  node.start();
  node.stop();
  return service;
}
