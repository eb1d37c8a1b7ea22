/**
 * A whole cluster on virtual time from one scenario: nodes on the in-memory bus, simulated
 * clients, the fault schedule, then a heal and a liveness window. Everything random comes from
 * the scenario's seed, so the same scenario always gives the same run.
 */
import { MemoryBus } from '../bus/memory.js';
import type { Envelope } from '../bus/types.js';
import { ConsensusNode } from '../node/node.js';
import type { NodeObserver, NodeTimings } from '../node/node.js';
import { defaultMachines } from '../node/machines.js';
import type { MachineSet } from '../node/machines.js';
import { MemoryStorage } from '../node/storage.js';
import type { Effect } from '../protocol/effects.js';
import type { NodeId } from '../protocol/ids.js';
import { formatBallot, quorumSize } from '../protocol/ids.js';
import type { Ballot } from '../protocol/ids.js';
import type { Command, Entry, PeerMessage } from '../protocol/messages.js';
import { entryKey } from '../protocol/messages.js';
import { SeededRandom } from '../protocol/random.js';
import { summarizeMessage } from '../protocol/summary.js';
import { EntryLogApplication } from './log-application.js';
import type { EntryLogFactory } from './log-application.js';
import { emptyRecord, recordAcceptance } from './record.js';
import type { RunRecord } from './record.js';
import { range } from './scenario.js';
import type { FaultEvent, Scenario } from './scenario.js';
import { VirtualScheduler } from './scheduler.js';
import type { TraceEvent } from './trace.js';

interface AcceptRequestEvent {
  readonly type: string;
  readonly ballot: Ballot;
  readonly fromSlot: number;
  readonly entries: readonly Entry[];
}

export const SIM_TIMINGS: NodeTimings = Object.freeze({
  electionTimeoutMinMs: 150,
  electionTimeoutMaxMs: 300,
  heartbeatIntervalMs: 50,
  retransmitMs: 60,
  maxInflightEntries: 8,
  maxBatchCommands: 64,
  learnRetryMs: 60,
  maxLearnBatchEntries: 256,
});

/** Snapshot knobs of simulated nodes (how often comes from the scenario): small, to exercise chunking. */
export const SIM_SNAPSHOT_RETAIN_SLOTS = 2;
export const SIM_SNAPSHOT_CHUNK_BYTES = 256;
/** Tree nodes per snapshot encoding step: small, so that commands are applied between the steps. */
export const SIM_SNAPSHOT_STEP_NODES = 4;
/** Virtual time between snapshot encoding steps: messages are delivered and applied in between. */
export const SIM_SNAPSHOT_STEP_MS = 1;

/** Simulated clients get node ids from here up, so they never collide with servers. */
export const FIRST_CLIENT_ID = 1001;
const CLIENT_RETRY_MS = 200;
const CLIENT_REDIRECT_MS = 10;
const LIVENESS_POLL_MS = 10;

export interface ClusterOptions {
  readonly machines?: MachineSet;
  /** The replicated application of every node (default EntryLogApplication; mutants replace it). */
  readonly application?: EntryLogFactory;
  /** Record a full trace (messages, state transitions, client traffic) for files and replay. */
  readonly trace?: boolean;
  readonly timings?: NodeTimings;
  /** Called after every fault-schedule action and client step, for live views. */
  readonly onStep?: (cluster: SimCluster) => void;
}

interface ClientState {
  readonly id: NodeId;
  target: NodeId;
  readonly unacked: Map<string, Command>;
}

export class SimCluster {
  readonly scenario: Scenario;
  readonly scheduler = new VirtualScheduler();
  readonly bus: MemoryBus<PeerMessage>;
  readonly record: RunRecord;
  readonly trace: TraceEvent[] | undefined;
  readonly nodeIds: readonly NodeId[];
  private readonly nodes = new Map<NodeId, ConsensusNode | undefined>();
  private readonly storages = new Map<NodeId, MemoryStorage>();
  private readonly applications = new Map<NodeId, EntryLogApplication>();
  private readonly incarnation = new Map<NodeId, number>();
  private readonly clients: ClientState[] = [];
  private readonly machines: MachineSet;
  private readonly newApplication: EntryLogFactory;
  private readonly timings: NodeTimings;
  private readonly random: SeededRandom;
  private readonly observer: NodeObserver;
  /** The slot each node's current life recovered up to. */
  private readonly startAfter = new Map<NodeId, number>();
  /** The highest slot any acknowledgement named (checked after every step, so kept, not recomputed). */
  private highestAckedSlot = 0;

  constructor(scenario: Scenario, options: ClusterOptions = {}) {
    this.scenario = scenario;
    this.random = new SeededRandom(scenario.seed);
    this.bus = new MemoryBus(this.scheduler, this.random.fork(), scenario.network);
    this.machines = options.machines ?? defaultMachines;
    this.newApplication = options.application ?? ((onRestore) => new EntryLogApplication(onRestore));
    this.timings = options.timings ?? SIM_TIMINGS;
    this.nodeIds = range(scenario.nodes);
    this.record = emptyRecord(scenario.nodes, quorumSize(scenario.nodes), scenario.sabotage);
    this.record.leaderBoundMs = scenario.leaderBoundMs;
    this.record.commitBoundMs = scenario.commitBoundMs;
    this.trace = options.trace ? [] : undefined;
    this.observer = this.makeObserver();
    if (this.trace) this.traceNetwork();
    for (const id of this.nodeIds) {
      this.storages.set(id, new MemoryStorage(this.scheduler.clock, scenario.fsyncMs));
      this.incarnation.set(id, 0);
      this.startNode(id);
    }
  }

  /** Run the whole scenario: load and faults, heal, then the liveness window. */
  run(): RunRecord {
    this.scheduleLoad();
    for (const fault of this.scenario.faults) this.scheduler.schedule(fault.atMs, () => this.applyFault(fault));
    this.scheduler.schedule(this.scenario.healAtMs, () => this.heal());
    const end = this.scenario.healAtMs + Math.max(this.scenario.leaderBoundMs, this.scenario.commitBoundMs);
    this.scheduler.runUntil(end, () => this.isSettled());
    return this.finish();
  }

  node(id: NodeId): ConsensusNode | undefined {
    return this.nodes.get(id);
  }

  isUp(id: NodeId): boolean {
    return this.nodes.get(id) !== undefined;
  }

  /** Stop a node; only what its store had synced survives. */
  crash(id: NodeId): void {
    const node = this.nodes.get(id);
    if (node === undefined) return;
    node.stop();
    this.storages.get(id)!.crash();
    this.nodes.set(id, undefined);
  }

  restart(id: NodeId): void {
    if (this.isUp(id)) return;
    this.incarnation.set(id, this.incarnation.get(id)! + 1);
    this.startNode(id);
  }

  /** The node loses its disk; it rejoins by recovering from the others. */
  wipe(id: NodeId): void {
    this.crash(id);
    this.storages.get(id)!.wipe();
  }

  /** Submit one client command through the simulated client `client` (0-based). */
  submit(client: number, command: Command): void {
    const c = this.clients[client];
    if (c === undefined) throw new Error(`no client ${client}`);
    this.record.submitted.set(command.id, command);
    c.unacked.set(command.id, command);
    this.traceEvent({ t: this.scheduler.now(), kind: 'request', client: c.id, to: c.target, id: command.id });
    this.bus.send({ from: c.id, to: c.target, msg: { type: 'ClientRequest', command } });
  }

  private startNode(id: NodeId): void {
    let live = false;
    const application = this.newApplication((slot, keys) => {
      // Restoring its own snapshot at start is not news; installing a peer's is.
      if (!live) return;
      this.record.applies.get(id)!.push({
        slot,
        key: `snapshot@${slot}`,
        atMs: this.scheduler.now(),
        incarnation: this.incarnation.get(id)!,
        startAfter: this.startAfter.get(id) ?? 0,
        snapshotKeys: keys.slice(),
      });
      this.traceEvent({ t: this.scheduler.now(), kind: 'install', node: id, slot });
    });
    this.applications.set(id, application);
    const every = this.scenario.snapshotEveryCommands;
    const node = new ConsensusNode({
      id,
      voters: this.nodeIds,
      members: this.nodeIds,
      bus: this.bus,
      clock: this.scheduler.clock,
      now: () => this.scheduler.now(),
      storage: this.storages.get(id)!,
      timings: this.timings,
      seed: (this.scenario.seed * 31 + id * 7919 + this.incarnation.get(id)! * 104729) | 0,
      machines: this.machines,
      observer: this.observer,
      rejoin: this.storages.get(id)!.lostDisk,
      application,
      ...(every === undefined ? {} : { snapshots: { everyCommands: every, retainSlots: SIM_SNAPSHOT_RETAIN_SLOTS, chunkBytes: SIM_SNAPSHOT_CHUNK_BYTES } }),
      // Each encoding step is its own scheduler event: deliveries and applies interleave with it.
      snapshotSteps: (next) => void this.scheduler.clock.setTimeout(next, SIM_SNAPSHOT_STEP_MS),
    });
    this.nodes.set(id, node);
    this.startAfter.set(id, node.appliedSlot);
    const applies = this.record.applies.get(id);
    if (applies === undefined) this.record.applies.set(id, []);
    node.start();
    live = true;
    this.traceEvent({ t: this.scheduler.now(), kind: 'start', node: id, applied: node.appliedSlot });
  }

  private makeObserver(): NodeObserver {
    const record = this.record;
    const now = () => this.scheduler.now();
    const observer: NodeObserver = {
      onEffect: (node: NodeId, machine, effect: Effect, cause: unknown) => {
        switch (effect.type) {
          case 'roleChanged':
            if (effect.role === 'leader') record.leaders.push({ epoch: effect.epoch, node, atMs: now() });
            break;
          case 'proposerActive':
            record.activations.push({ node, ballot: effect.ballot, baseSlot: effect.baseSlot, adoptedKeys: effect.adopted.map(entryKey), atMs: now() });
            break;
          case 'apply': {
            const key = entryKey(effect.entry);
            record.entries.set(key, effect.entry);
            record.applies.get(node)!.push({
              slot: effect.slot,
              key,
              atMs: now(),
              incarnation: this.incarnation.get(node)!,
              startAfter: this.startAfter.get(node) ?? 0,
            });
            break;
          }
        }
        if (this.trace) this.traceEffect(node, machine, effect);
      },
    };
    // An acceptance counts once its reply leaves: that is after the accept was made durable.
    observer.onSent = (node, effect, cause) => {
      if (effect.msg.type !== 'AcceptedReply') return;
      const req = cause as AcceptRequestEvent | undefined;
      if (req?.type !== 'AcceptRequest') return;
      for (let i = 0; i < req.entries.length; i++) recordAcceptance(record, node, req.fromSlot + i, req.ballot, req.entries[i]!, now());
    };
    if (this.trace) {
      observer.onTransition = (node, machine, state) =>
        this.trace!.push({ t: this.scheduler.now(), kind: 'state', node, machine, state: JSON.stringify(state) });
    }
    return observer;
  }

  private scheduleLoad(): void {
    const s = this.scenario;
    const loadRandom = this.random.fork();
    for (let c = 0; c < s.clients; c++) {
      const id = FIRST_CLIENT_ID + c;
      const client: ClientState = { id, target: loadRandom.int(1, s.nodes), unacked: new Map() };
      this.clients.push(client);
      this.bus.inbox(id).subscribe((env) => this.onClientMessage(client, env));
      this.scheduler.schedule(CLIENT_RETRY_MS, () => this.clientRetry(client));
    }
    for (let i = 0; i < s.commands; i++) {
      const client = i % s.clients;
      const at = loadRandom.next() * s.loadMs;
      const command: Command = { id: `c${client}-${i}`, payload: `v${i}` };
      this.scheduler.schedule(at, () => this.submit(client, command));
    }
  }

  private onClientMessage(client: ClientState, env: Envelope<PeerMessage>): void {
    const msg = env.msg;
    if (msg.type !== 'ClientReply') return;
    this.traceEvent({ t: this.scheduler.now(), kind: 'reply', client: client.id, from: env.from, id: msg.commandId, ok: msg.ok });
    if (msg.ok) {
      if (!this.record.acked.has(msg.commandId)) {
        this.record.acked.set(msg.commandId, { atMs: this.scheduler.now(), slot: msg.slot ?? 0 });
        this.highestAckedSlot = Math.max(this.highestAckedSlot, msg.slot ?? 0);
      }
      client.unacked.delete(msg.commandId);
      client.target = env.from;
      return;
    }
    const command = client.unacked.get(msg.commandId);
    if (command === undefined) return;
    // Redirect to the hinted leader (or anyone), after a short pause so an election can finish.
    client.target = msg.leaderHint ?? this.random.int(1, this.scenario.nodes);
    this.scheduler.schedule(CLIENT_REDIRECT_MS, () => {
      if (client.unacked.has(command.id)) this.bus.send({ from: client.id, to: client.target, msg: { type: 'ClientRequest', command } });
    });
  }

  /** Every unacknowledged command is resent periodically, to a new node if the last one is silent. */
  private clientRetry(client: ClientState): void {
    if (client.unacked.size > 0) {
      client.target = this.random.int(1, this.scenario.nodes);
      for (const command of client.unacked.values()) {
        this.bus.send({ from: client.id, to: client.target, msg: { type: 'ClientRequest', command } });
      }
    }
    this.scheduler.schedule(CLIENT_RETRY_MS, () => this.clientRetry(client));
  }

  private applyFault(fault: FaultEvent): void {
    this.traceEvent({ t: this.scheduler.now(), kind: 'fault', fault: JSON.stringify(fault) });
    switch (fault.kind) {
      case 'crash':
        this.crash(fault.node);
        break;
      case 'restart':
        this.restart(fault.node);
        break;
      case 'wipe':
        this.wipe(fault.node);
        this.restart(fault.node);
        break;
      case 'partition':
        this.bus.partition(fault.groups);
        break;
      case 'heal':
        this.bus.heal();
        break;
    }
  }

  private heal(): void {
    this.traceEvent({ t: this.scheduler.now(), kind: 'fault', fault: '{"kind":"heal-all"}' });
    this.bus.heal();
    this.bus.faults = { ...this.bus.faults, dropRate: 0, duplicateRate: 0 };
    for (const id of this.nodeIds) this.restart(id);
    this.record.healAtMs = this.scheduler.now();
    this.record.pendingAtHeal = [...this.record.submitted.keys()].filter((id) => !this.record.acked.has(id));
    this.pollLeader();
  }

  private pollLeader(): void {
    if (this.record.leaderAfterHealMs !== undefined) return;
    let maxEpoch = 0;
    for (const n of this.nodes.values()) if (n && n.epoch > maxEpoch) maxEpoch = n.epoch;
    for (const n of this.nodes.values()) {
      if (n?.isActiveLeader && n.epoch === maxEpoch) {
        this.record.leaderAfterHealMs = this.scheduler.now();
        return;
      }
    }
    this.scheduler.schedule(LIVENESS_POLL_MS, () => this.pollLeader());
  }

  /** After the heal, a run may end early once a leader stands and every command is acknowledged. */
  private isSettled(): boolean {
    if (
      this.record.leaderAfterHealMs === undefined ||
      this.record.acked.size !== this.record.submitted.size ||
      this.scheduler.now() < this.scenario.loadMs
    ) {
      return false;
    }
    // And some live node has learned every acknowledged slot: a learner still catching up (say, by
    // snapshot transfer) would otherwise make the final logs look shorter than what was chosen.
    for (const node of this.nodes.values()) if (node !== undefined && node.appliedSlot >= this.highestAckedSlot) return true;
    return false;
  }

  private finish(): RunRecord {
    const record = this.record;
    record.endMs = this.scheduler.now();
    for (const id of this.nodeIds) {
      const node = this.nodes.get(id);
      // The replicated log itself is the application's state: whole, whatever was compacted.
      if (node !== undefined) record.finalLogs.set(id, this.applications.get(id)!.keys.slice());
    }
    return record;
  }

  private traceEvent(e: TraceEvent): void {
    this.trace?.push(e);
  }

  private traceNetwork(): void {
    this.bus.observer = {
      onDeliver: (env) => {
        if (env.msg.type === 'ClientRequest' || env.msg.type === 'ClientReply') return;
        this.trace!.push({ t: this.scheduler.now(), kind: 'deliver', from: env.from, to: env.to, msg: summarizeMessage(env.msg as PeerMessage) });
      },
    };
  }

  private traceEffect(node: NodeId, machine: string, effect: Effect): void {
    switch (effect.type) {
      case 'roleChanged':
        this.trace!.push({ t: this.scheduler.now(), kind: 'role', node, role: effect.role, epoch: effect.epoch });
        break;
      case 'apply':
        this.trace!.push({ t: this.scheduler.now(), kind: 'apply', node, slot: effect.slot, key: entryKey(effect.entry) });
        break;
      case 'proposerActive':
        this.trace!.push({ t: this.scheduler.now(), kind: 'active', node, ballot: formatBallot(effect.ballot), baseSlot: effect.baseSlot });
        break;
      default:
        void machine;
    }
  }
}

