/**
 * The coordination service on the deterministic simulator: every server is a ConsensusNode plus a
 * CoordinationService (the wiring of src/client/ensemble.ts) on ONE VirtualScheduler and MemoryBus,
 * with the virtual clock for both, session passwords and boot nonces from a SeededRandom, and a fault
 * schedule from a {@link ZkScenario}. Simulated ZooKeeper clients (client.ts) call the services
 * directly, as the embedded client does.
 *
 * The service is promise-based: a write resolves once this server applied it, a session's next
 * request runs in a continuation. Continuations are microtasks, which a synchronous scheduler loop
 * would postpone until the whole run ended. So the run loop is async: after any action that may have
 * resolved a promise (an apply, a client timer), it lets the microtask queue drain before virtual time
 * moves on, and everything those continuations do happens at the virtual instant that caused it.
 * Which actions those are is known exactly (the apply hook and the client timers mark themselves), so
 * the loop only pays for a macrotask turn when it has to. A run stays a pure function of its scenario.
 */
import { MemoryBus } from '../../bus/memory.js';
import { ConsensusNode } from '../../node/node.js';
import type { NodeTimings } from '../../node/node.js';
import { CoordinationService } from '../../node/service.js';
import type { ServiceOptions } from '../../node/service.js';
import { MemoryStorage } from '../../node/storage.js';
import type { NodeId } from '../../protocol/ids.js';
import type { Command, PeerMessage } from '../../protocol/messages.js';
import { SeededRandom } from '../../protocol/random.js';
import type { DataTreeOptions } from '../../tree/index.js';
import type { TreeTxn } from '../../tree/txn.js';
import { SIM_SNAPSHOT_CHUNK_BYTES, SIM_SNAPSHOT_RETAIN_SLOTS, SIM_SNAPSHOT_STEP_MS, SIM_SNAPSHOT_STEP_NODES, SIM_TIMINGS } from '../cluster.js';
import { range } from '../scenario.js';
import type { FaultEvent } from '../scenario.js';
import { VirtualScheduler } from '../scheduler.js';
import type { ZkScenario } from './scenario.js';

/** How often `settle` looks whether the replicas agree. */
const SETTLE_POLL_MS = 20;
/** The longest `settle` waits by default. */
export const DEFAULT_SETTLE_LIMIT_MS = 15_000;

/** Where a command was applied: the log position and time the node gives the application. */
interface ApplyAt {
  readonly slot: number;
  readonly zxidEpoch: number;
  readonly zxidCounter: number;
  readonly timeMs: number;
}

/**
 * The replicated command as CoordinationService writes it into the log (its private
 * ServiceCommand): the transaction, and for a session's request the session (hex), its attachment
 * and write counter.
 */
interface LoggedCommand {
  readonly s?: string;
  readonly a?: string;
  readonly c?: number;
  readonly t: TreeTxn;
}

/** One transaction a server applied to its tree (a retried duplicate the service skipped is left out). */
export interface AppliedTxn {
  readonly zxid: bigint;
  readonly slot: number;
  readonly txn: TreeTxn;
  /** The session that sent it (hex, as the service logs it); undefined for the service's own writes. */
  readonly sessionHex: string | undefined;
  /** The log entry's time: what the tree was given as `timeMs`, so a reference tree can replay it. */
  readonly entryTimeMs: number;
  /** Virtual time of the apply on this server. */
  readonly appliedAtMs: number;
}

/** One server of the simulated ensemble, in its current life. */
export interface ZkServer {
  readonly id: NodeId;
  readonly node: ConsensusNode;
  readonly service: CoordinationService;
  /** 0 for the first boot, then one more per restart. */
  readonly incarnation: number;
  /** Every transaction this life of the server applied, replay of the durable log included, in order. */
  readonly applied: AppliedTxn[];
}

/** What a client of the cluster hears about servers (a TCP connection reset, in real life). */
export interface ServerWatcher {
  serverDown(id: NodeId): void;
}

export interface ZkClusterOptions {
  readonly timings?: NodeTimings;
  readonly tree?: DataTreeOptions;
  /** How long a forwarded write waits before the service sends it again. */
  readonly forwardRetryMs?: number;
  /** Change a service right after it is built (a mutant, see mutants.ts). */
  readonly mutateService?: (service: CoordinationService, server: ZkServer, cluster: ZkSimCluster) => void;
}

/** Settles every microtask queued so far: a macrotask turn runs only after the microtask queue is empty. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class ZkSimCluster {
  readonly scenario: ZkScenario;
  readonly scheduler = new VirtualScheduler();
  readonly bus: MemoryBus<PeerMessage>;
  readonly serverIds: readonly NodeId[];
  /** First time any server applied each transaction (by zxid): when it became visible anywhere. */
  readonly firstApplied = new Map<bigint, { readonly atMs: number; readonly txn: TreeTxn }>();
  /** Per log slot, the transactions applied there, recorded by the first server that applied it. */
  private readonly chosenTxns = new Map<number, { readonly by: CoordinationService; readonly txns: AppliedTxn[] }>();
  private readonly options: ZkClusterOptions;
  private readonly random: SeededRandom;
  private readonly servers = new Map<NodeId, ZkServer | undefined>();
  private readonly storages = new Map<NodeId, MemoryStorage>();
  private readonly incarnations = new Map<NodeId, number>();
  private readonly watchers = new Set<ServerWatcher>();
  /** Set by any action that may have resolved a promise: the run loop drains microtasks before moving on. */
  private microtasksMayBePending = false;
  /** When `startFaults` ran: fault times count from here. */
  faultsStartedAtMs: number | undefined;
  /** Virtual time of the heal (undefined before it). */
  healedAtMs: number | undefined;
  /** Fault actions applied so far, for failure messages. */
  readonly faultLog: string[] = [];

  constructor(scenario: ZkScenario, options: ZkClusterOptions = {}) {
    this.scenario = scenario;
    this.options = options;
    this.random = new SeededRandom(scenario.seed);
    // Loss and duplication start with the faults; delays (and so reordering) apply throughout.
    this.bus = new MemoryBus(this.scheduler, this.random.fork(), { ...scenario.network, dropRate: 0, duplicateRate: 0 });
    this.serverIds = range(scenario.nodes);
    for (const id of this.serverIds) {
      this.storages.set(id, new MemoryStorage(this.scheduler.clock, scenario.fsyncMs));
      this.incarnations.set(id, 0);
      this.boot(id);
    }
  }

  // ------------------------------------------------------------------ time

  now(): number {
    return this.scheduler.now();
  }

  /**
   * Tell the run loop that the action running now may have resolved a promise, so continuations
   * must run before virtual time moves on. Every timer a simulated client sets calls this.
   */
  markAsync(): void {
    this.microtasksMayBePending = true;
  }

  /** Run `fn` after `delayMs` of virtual time, as an action whose promise continuations run at that instant. */
  schedule(delayMs: number, fn: () => void): unknown {
    return this.scheduler.schedule(delayMs, () => {
      this.microtasksMayBePending = true;
      fn();
    });
  }

  cancel(handle: unknown): void {
    this.scheduler.cancel(handle);
  }

  /** A promise that resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(ms, resolve));
  }

  /**
   * Advance virtual time to `untilMs`, running every action due and, after each one that may have
   * resolved promises, their continuations. Returns early (false) once `stop` holds.
   */
  async runUntil(untilMs: number, stop?: () => boolean): Promise<boolean> {
    const halt = () => this.microtasksMayBePending || (stop?.() ?? false);
    for (;;) {
      if (this.microtasksMayBePending) {
        this.microtasksMayBePending = false;
        await drainMicrotasks();
        if (stop?.()) return false;
        continue;
      }
      const completed = this.scheduler.runUntil(untilMs, halt);
      if (this.microtasksMayBePending) continue;
      if (completed) return true;
      if (stop?.()) return false;
    }
  }

  /** Advance virtual time by `ms`. */
  async runFor(ms: number): Promise<void> {
    await this.runUntil(this.now() + ms);
  }

  /**
   * Run until `work` settles or virtual time reaches `limitMs`. Returns the settled value, or
   * `{ timedOut: true }` when the limit came first; rethrows if `work` failed.
   */
  async runUntilDone<T>(work: Promise<T>, limitMs: number): Promise<{ timedOut: false; value: T } | { timedOut: true }> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    work.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    this.microtasksMayBePending = true;
    await this.runUntil(limitMs, () => outcome !== undefined);
    if (outcome === undefined) return { timedOut: true };
    if (!outcome.ok) throw outcome.error;
    return { timedOut: false, value: outcome.value };
  }

  // ------------------------------------------------------------------ servers

  server(id: NodeId): ZkServer | undefined {
    return this.servers.get(id);
  }

  /** Servers currently up. */
  upServers(): ZkServer[] {
    return this.serverIds.map((id) => this.servers.get(id)).filter((s): s is ZkServer => s !== undefined);
  }

  isUp(id: NodeId): boolean {
    return this.servers.get(id) !== undefined;
  }

  /**
   * Whether a ZooKeeper server in this state would keep client connections: it leads (phase 1 done)
   * or follows a leader it hears from. (A ZooKeeper follower that loses its leader closes its client
   * connections; here the client sees that through this predicate, the way it sees a TCP reset.)
   */
  isServing(id: NodeId): boolean {
    const s = this.servers.get(id);
    if (s === undefined) return false;
    if (s.node.isActiveLeader) return true;
    const election = s.node.snapshots().election as { context?: { leader?: NodeId | null } } | undefined;
    const leader = election?.context?.leader;
    return leader !== undefined && leader !== null && leader !== id;
  }

  /** The active leader with the highest epoch, if any. */
  leader(): ZkServer | undefined {
    let best: ZkServer | undefined;
    for (const s of this.upServers()) if (s.node.isActiveLeader && (best === undefined || s.node.epoch > best.node.epoch)) best = s;
    return best;
  }

  /** Clients register here to hear when a server goes down. */
  addWatcher(watcher: ServerWatcher): void {
    this.watchers.add(watcher);
  }

  removeWatcher(watcher: ServerWatcher): void {
    this.watchers.delete(watcher);
  }

  /** Stop a server as a crash would: only what its store had synced survives; its clients lose their connection. */
  crash(id: NodeId): void {
    const s = this.servers.get(id);
    if (s === undefined) return;
    s.service.stop();
    s.node.stop();
    this.storages.get(id)!.crash();
    this.servers.set(id, undefined);
    this.markAsync();
    for (const w of [...this.watchers]) w.serverDown(id);
  }

  restart(id: NodeId): void {
    if (this.isUp(id)) return;
    this.incarnations.set(id, this.incarnations.get(id)! + 1);
    this.boot(id);
  }

  /** The server loses its disk and starts empty, recovering from the others. */
  wipe(id: NodeId): void {
    this.crash(id);
    this.storages.get(id)!.wipe();
    this.restart(id);
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.bus.partition(groups);
  }

  /**
   * Schedule the scenario's faults and the heal, their times counted from now (so a test can set up
   * its znodes on a calm cluster first). Call once.
   */
  startFaults(): void {
    if (this.faultsStartedAtMs !== undefined) throw new Error('faults already started');
    this.faultsStartedAtMs = this.now();
    this.bus.faults = { ...this.scenario.network };
    for (const fault of this.scenario.faults) this.scheduler.schedule(fault.atMs, () => this.applyFault(fault));
    this.scheduler.schedule(this.scenario.healAtMs, () => this.healAll());
  }

  /** Heal the network, stop message loss and restart every crashed server. */
  healAll(): void {
    this.faultLog.push(`${Math.round(this.now())}: heal all`);
    this.bus.heal();
    this.bus.faults = { ...this.bus.faults, dropRate: 0, duplicateRate: 0 };
    for (const id of this.serverIds) this.restart(id);
    this.healedAtMs = this.now();
    this.markAsync();
  }

  private applyFault(fault: FaultEvent): void {
    this.faultLog.push(`${Math.round(this.now())}: ${JSON.stringify(fault)}`);
    switch (fault.kind) {
      case 'crash':
        this.crash(fault.node);
        break;
      case 'restart':
        this.restart(fault.node);
        break;
      case 'wipe':
        this.wipe(fault.node);
        break;
      case 'partition':
        this.bus.partition(fault.groups);
        break;
      case 'heal':
        this.bus.heal();
        break;
    }
    this.markAsync();
  }

  /**
   * Wait (in virtual time, at most `limitMs`) until every server is up, has learned the same log and
   * holds the same tree (equal digests). Returns whether they converged.
   */
  async settle(limitMs = DEFAULT_SETTLE_LIMIT_MS): Promise<boolean> {
    const deadline = this.now() + limitMs;
    while (this.now() < deadline) {
      if (this.replicasAgree()) return true;
      await this.runUntil(Math.min(deadline, this.now() + SETTLE_POLL_MS));
    }
    return this.replicasAgree();
  }

  /** Every server up, same applied slot, same tree digest. */
  replicasAgree(): boolean {
    const up = this.upServers();
    if (up.length !== this.serverIds.length) return false;
    const first = up[0]!;
    return up.every((s) => s.node.appliedSlot === first.node.appliedSlot && s.service.tree.digest() === first.service.tree.digest());
  }

  // ------------------------------------------------------------------ wiring

  private boot(id: NodeId): void {
    const random = this.random.fork();
    const incarnation = this.incarnations.get(id)!;
    const applied: AppliedTxn[] = [];
    let service: CoordinationService | undefined;
    const node = new ConsensusNode({
      id,
      voters: this.serverIds,
      members: this.serverIds,
      bus: this.bus,
      clock: this.scheduler.clock,
      now: () => this.scheduler.now(),
      storage: this.storages.get(id)!,
      timings: this.options.timings ?? SIM_TIMINGS,
      seed: (this.scenario.seed * 31 + id * 7919 + incarnation * 104729) | 0,
      rejoin: this.storages.get(id)!.lostDisk,
      application: {
        // The node replays its durable log from start(), so the service exists by then.
        apply: (command, at) => {
          this.microtasksMayBePending = true;
          return this.applyAndRecord(service!, applied, command, at);
        },
        snapshot: () => service!.snapshot(),
        restore: (state, slot) => {
          this.microtasksMayBePending = true;
          service!.restore(state);
          // The history the snapshot stands for, as the servers that applied it recorded it.
          const history: AppliedTxn[] = [];
          for (let s = 1; s <= slot; s++) history.push(...(this.chosenTxns.get(s)?.txns ?? []));
          applied.splice(0, applied.length, ...history);
        },
      },
      ...(this.scenario.snapshotEveryCommands === undefined
        ? {}
        : { snapshots: { everyCommands: this.scenario.snapshotEveryCommands, retainSlots: SIM_SNAPSHOT_RETAIN_SLOTS, chunkBytes: SIM_SNAPSHOT_CHUNK_BYTES } }),
      onMessage: (env) => service?.onMessage(env),
      // Each encoding step is its own scheduler event: deliveries and applies interleave with it.
      snapshotSteps: (next) => void this.scheduler.clock.setTimeout(next, SIM_SNAPSHOT_STEP_MS),
    });
    const serviceOptions: ServiceOptions = {
      node,
      serverId: id,
      clock: this.scheduler.clock,
      now: () => this.scheduler.now(),
      tickMs: this.scenario.tickMs,
      randomBytes: (n) => {
        const bytes = new Uint8Array(n);
        for (let i = 0; i < n; i++) bytes[i] = random.int(0, 255);
        return bytes;
      },
      ...(this.options.tree === undefined ? {} : { tree: this.options.tree }),
      ...(this.options.forwardRetryMs === undefined ? {} : { forwardRetryMs: this.options.forwardRetryMs }),
      snapshotStepNodes: SIM_SNAPSHOT_STEP_NODES,
    };
    service = new CoordinationService(serviceOptions);
    const server: ZkServer = { id, node, service, incarnation, applied };
    this.options.mutateService?.(service, server, this);
    this.servers.set(id, server);
    node.start();
    service.start();
    this.markAsync();
  }

  private applyAndRecord(service: CoordinationService, applied: AppliedTxn[], command: Command, at: ApplyAt): unknown {
    const before = service.lastZxid;
    const result = service.apply(command, at);
    const zxid = (BigInt(at.zxidEpoch) << 32n) | BigInt(at.zxidCounter);
    // The service moves lastZxid only when it applied the transaction (not for a retried duplicate).
    if (service.lastZxid === zxid && before !== zxid) {
      const logged = command.payload as LoggedCommand;
      const nowMs = this.scheduler.now();
      const txn: AppliedTxn = { zxid, slot: at.slot, txn: logged.t, sessionHex: logged.s, entryTimeMs: at.timeMs, appliedAtMs: nowMs };
      applied.push(txn);
      // Every slot's transactions, as the first server to apply it recorded them (all agree).
      let chosen = this.chosenTxns.get(at.slot);
      if (chosen === undefined) {
        chosen = { by: service, txns: [] };
        this.chosenTxns.set(at.slot, chosen);
      }
      if (chosen.by === service) chosen.txns.push(txn);
      if (!this.firstApplied.has(zxid)) this.firstApplied.set(zxid, { atMs: nowMs, txn: logged.t });
    }
    return result;
  }
}
