/**
 * Watches a SimCluster for the inspector: diffs node and machine state after every scheduler
 * action, tracks messages in flight from the bus observer, and keeps a bounded history.
 *
 * ConsensusNode keeps its actors private and SimCluster only installs node observers when it
 * records a full trace, so the probe reads what is public instead: `node.snapshots()` and the
 * node's fields, polled once per scheduler action (the driver's `runUntil` stop predicate is
 * the per-action hook). The bus observer is a single slot; the probe chains to whatever was
 * there (the trace recorder) and restores it on detach. Nothing is installed while detached.
 */
import type { Envelope } from '../../bus/types.js';
import type { NetworkObserver } from '../../bus/memory.js';
import type { ConsensusNode } from '../../node/node.js';
import type { NodeId } from '../../protocol/ids.js';
import type { SimCluster } from '../../sim/cluster.js';
import { activePaths } from './charts.js';
import { valueKey } from './state-values.js';
import type { AnySnapshot } from './state-values.js';
import { INFLIGHT_GRACE_MS, MAX_HISTORY_EVENTS, MAX_INFLIGHT_SHOWN, MAX_LOG_TAIL_ENTRIES } from './constants.js';
import { isClient, nodeActorId } from './actors.js';
import { receiverMachine, senderMachine, summarizeMessage } from './messages.js';
import type { Endpoint } from './messages.js';
import { DropOldestQueue } from './queue.js';
import type { InFlightView, MachineName, MachineView, NodeView, SourceEvent } from './types.js';

export const MACHINES: readonly MachineName[] = ['election', 'acceptor', 'learner', 'proposer'];

/** Tracked sends above this count trigger a sweep of the ones that can no longer arrive. */
const SWEEP_THRESHOLD = 5000;

interface MachineMemo {
  actorId: string;
  key: string;
  value: unknown;
  status: string;
  /** The node epoch when this actor appeared: a proposer belongs to one leadership term. */
  epoch: number;
}

interface NodeMemo {
  ref: ConsensusNode | undefined;
  everUp: boolean;
  incarnation: number;
  role: string;
  epoch: number;
  activeLeader: boolean;
  up: boolean;
  machines: Map<MachineName, MachineMemo>;
  generations: Map<MachineName, number>;
  /** The node as last seen up: a crashed node is drawn with what it had. */
  lastView: NodeView | undefined;
}

interface Sent {
  readonly id: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly sentAtMs: number;
  /** No copy can arrive after this (the largest delay at send time). */
  readonly latestAtMs: number;
  delivered: number;
}

export class SimProbe {
  private cluster: SimCluster | undefined;
  private previousObserver: NetworkObserver | undefined;
  private installedObserver: NetworkObserver | undefined;
  private readonly memo = new Map<NodeId, NodeMemo>();
  private readonly sent = new Map<object, Sent>();
  private nextMessageId = 1;
  private readonly recent = new DropOldestQueue<SourceEvent>(MAX_HISTORY_EVENTS);
  /** The message the current scheduler action delivered: the cause of what changes on its node. */
  private lastDelivery: { to: NodeId; type: string } | undefined;
  /** While muted (a trace being re-run to a point) events go to the history only. */
  muted = false;

  constructor(private readonly emit: (e: SourceEvent) => void) {}

  get attached(): boolean {
    return this.cluster !== undefined;
  }

  /** Start watching: take a baseline, then install the bus observer (chained to any existing one). */
  attach(cluster: SimCluster): void {
    if (this.cluster !== undefined) this.detach();
    this.cluster = cluster;
    this.sync(cluster, false, 'attach');
    const previous = cluster.bus.observer;
    const observer: NetworkObserver = {
      onSend: (env, fate) => {
        previous?.onSend?.(env, fate);
        this.onSend(env, fate);
      },
      onDeliver: (env) => {
        previous?.onDeliver?.(env);
        this.onDeliver(env);
      },
    };
    this.previousObserver = previous;
    this.installedObserver = observer;
    cluster.bus.observer = observer;
  }

  /** Stop watching: restore the bus observer and forget messages in flight and history. */
  detach(): void {
    const cluster = this.cluster;
    if (cluster === undefined) return;
    if (cluster.bus.observer === this.installedObserver) cluster.bus.observer = this.previousObserver;
    this.cluster = undefined;
    this.installedObserver = undefined;
    this.previousObserver = undefined;
    this.sent.clear();
    this.recent.clear();
    this.lastDelivery = undefined;
  }

  /** Call after every scheduler action while attached. */
  afterAction(): void {
    const cluster = this.cluster;
    if (cluster === undefined) return;
    const delivery = this.lastDelivery;
    this.lastDelivery = undefined;
    this.sync(cluster, true, delivery);
  }

  /** Record a note (a control, a fault) in the history and the stream. */
  note(text: string, atMs: number): void {
    if (this.cluster !== undefined) this.record({ kind: 'note', text, atMs });
  }

  /** Bounded recent history, oldest first. */
  history(): SourceEvent[] {
    return this.recent.toArray();
  }

  /** The nodes as they are now (also brings the actor bookkeeping up to date). */
  nodeViews(cluster: SimCluster): NodeView[] {
    this.sync(cluster, this.cluster === cluster, 'control');
    return cluster.nodeIds.map((id) => this.nodeView(cluster, id));
  }

  /** The XState snapshot of one machine, for Stately registrations. */
  machineSnapshot(cluster: SimCluster, node: NodeId, machine: MachineName): unknown {
    return cluster.node(node)?.snapshots()[machine];
  }

  /** Messages accepted by the network and not delivered yet (those lost in a partition expire). */
  inFlight(cluster: SimCluster): InFlightView[] {
    if (this.cluster !== cluster) return [];
    const now = cluster.scheduler.now();
    this.sweep(now);
    const out: InFlightView[] = [];
    for (const s of this.sent.values()) {
      if (s.delivered > 0) continue;
      out.push({ id: s.id, from: s.from, to: s.to, type: s.type, sentAtMs: s.sentAtMs });
      if (out.length >= MAX_INFLIGHT_SHOWN) break;
    }
    return out;
  }

  /** Actor id of a node's machine as of now (the node's own id when the machine is not running). */
  actorOf(node: NodeId, endpoint: Endpoint): string {
    if (endpoint !== 'node') {
      const m = this.memo.get(node)?.machines.get(endpoint);
      if (m !== undefined) return m.actorId;
    }
    return nodeActorId(node);
  }

  private record(e: SourceEvent): void {
    this.recent.push(e);
    if (!this.muted) this.emit(e);
  }

  private onSend(env: Envelope, fate: 'queued' | 'dropped' | 'partitioned'): void {
    const cluster = this.cluster;
    if (cluster === undefined) return;
    const now = cluster.scheduler.now();
    const id = this.nextMessageId++;
    if (fate === 'queued') {
      // The envelope object itself is the key: the bus hands the same object to delivery (twice for a duplicate).
      this.sent.set(env, {
        id,
        from: env.from,
        to: env.to,
        type: env.msg.type,
        sentAtMs: now,
        latestAtMs: now + cluster.bus.faults.maxDelayMs,
        delivered: 0,
      });
      if (this.sent.size > SWEEP_THRESHOLD) this.sweep(now);
      return;
    }
    this.record({
      kind: 'message',
      phase: fate,
      id,
      from: env.from,
      to: env.to,
      type: env.msg.type,
      summary: summarizeMessage(env.msg),
      sentAtMs: now,
      atMs: now,
      fromActor: this.actorOf(env.from, senderMachine(env.msg.type)),
      toActor: this.actorOf(env.to, receiverMachine(env.msg.type)),
    });
  }

  private onDeliver(env: Envelope): void {
    const cluster = this.cluster;
    if (cluster === undefined || env.from === env.to) return;
    const now = cluster.scheduler.now();
    const s = this.sent.get(env);
    if (s !== undefined) s.delivered++;
    // The bus hands a crashed node's messages to an inbox nobody reads: arrived, never received.
    const received = isClient(env.to) || cluster.isUp(env.to);
    if (received) this.lastDelivery = { to: env.to, type: env.msg.type };
    this.record({
      kind: 'message',
      phase: received ? 'delivered' : 'receiver-down',
      id: s?.id ?? this.nextMessageId++,
      from: env.from,
      to: env.to,
      type: env.msg.type,
      summary: summarizeMessage(env.msg),
      sentAtMs: s?.sentAtMs ?? null,
      atMs: now,
      fromActor: this.actorOf(env.from, senderMachine(env.msg.type)),
      toActor: this.actorOf(env.to, receiverMachine(env.msg.type)),
    });
  }

  private sweep(now: number): void {
    for (const [key, s] of this.sent) if (s.latestAtMs + INFLIGHT_GRACE_MS < now) this.sent.delete(key);
  }

  /**
   * Brings the memo up to date with the cluster; with `emit`, reports each difference as an
   * event. `cause` names what drove the changes: a delivered message (on its receiver), else a
   * timer, or a control.
   */
  private sync(cluster: SimCluster, emit: boolean, cause: { to: NodeId; type: string } | 'attach' | 'control' | undefined): void {
    const now = cluster.scheduler.now();
    const out = (e: SourceEvent): void => {
      if (emit) this.record(e);
    };
    for (const id of cluster.nodeIds) {
      let m = this.memo.get(id);
      if (m === undefined) {
        m = { ref: undefined, everUp: false, incarnation: 0, role: 'down', epoch: 0, activeLeader: false, up: false, machines: new Map(), generations: new Map(), lastView: undefined };
        this.memo.set(id, m);
      }
      const node = cluster.node(id);
      if (node !== m.ref) {
        for (const [machine, mm] of m.machines) out({ kind: 'actor', phase: 'stopped', node: id, machine, actorId: mm.actorId, atMs: now });
        m.machines.clear();
        if (node !== undefined && m.everUp) m.incarnation++;
        if (node !== undefined) m.everUp = true;
        m.ref = node;
      }
      const why = typeof cause === 'object' ? (cause.to === id ? cause.type : 'timer') : cause ?? 'timer';
      if (node !== undefined) {
        const snapshots = node.snapshots();
        for (const machine of MACHINES) this.syncMachine(id, m, machine, snapshots[machine] as AnySnapshot | undefined, node.epoch, now, why, out);
      }
      const up = node !== undefined;
      const role = node?.role ?? 'down';
      const epoch = node?.epoch ?? m.epoch;
      const activeLeader = node?.isActiveLeader ?? false;
      if (up !== m.up || role !== m.role || epoch !== m.epoch || activeLeader !== m.activeLeader) {
        m.up = up;
        m.role = role;
        m.epoch = epoch;
        m.activeLeader = activeLeader;
        out({ kind: 'role', node: id, role, epoch, activeLeader, up, atMs: now });
      }
    }
  }

  private syncMachine(
    id: NodeId,
    m: NodeMemo,
    machine: MachineName,
    snapshot: AnySnapshot | undefined,
    epoch: number,
    now: number,
    cause: string,
    out: (e: SourceEvent) => void,
  ): void {
    const mm = m.machines.get(machine);
    if (snapshot === undefined) {
      if (mm !== undefined) {
        m.machines.delete(machine);
        out({ kind: 'actor', phase: 'stopped', node: id, machine, actorId: mm.actorId, atMs: now });
      }
      return;
    }
    const key = valueKey(snapshot.value);
    const newTerm = machine === 'proposer' && mm !== undefined && mm.epoch !== epoch;
    if (mm === undefined || newTerm) {
      if (mm !== undefined) out({ kind: 'actor', phase: 'stopped', node: id, machine, actorId: mm.actorId, atMs: now });
      const generation = (m.generations.get(machine) ?? 0) + 1;
      m.generations.set(machine, generation);
      const actorId = `n${id}.${machine}#${generation}`;
      m.machines.set(machine, { actorId, key, value: snapshot.value, status: snapshot.status, epoch });
      out({ kind: 'actor', phase: 'started', node: id, machine, actorId, atMs: now, snapshot });
      return;
    }
    if (key !== mm.key || snapshot.status !== mm.status) {
      const from = mm.value;
      mm.key = key;
      mm.value = snapshot.value;
      mm.status = snapshot.status;
      out({ kind: 'transition', node: id, machine, actorId: mm.actorId, from, to: snapshot.value, cause, atMs: now, snapshot });
    }
  }

  private nodeView(cluster: SimCluster, id: NodeId): NodeView {
    const node = cluster.node(id);
    const m = this.memo.get(id);
    if (node === undefined) {
      const last = m?.lastView;
      const base = { id, up: false, incarnation: m?.incarnation ?? 0, role: 'down', leader: null, activeLeader: false, machines: {} };
      return last === undefined ? { ...base, epoch: m?.epoch ?? 0, appliedSlot: 0, logTail: [] } : { ...last, ...base };
    }
    const machines: Partial<Record<MachineName, MachineView>> = {};
    if (m !== undefined) {
      for (const [name, mm] of m.machines) machines[name] = { actorId: mm.actorId, value: mm.value, activePaths: activePaths(mm.value), status: mm.status };
    }
    const log = node.learnedLog;
    const first = Math.max(0, log.length - MAX_LOG_TAIL_ENTRIES);
    const logTail = log.slice(first).map((e, i) => ({
      // learnedLog starts at learnedFrom: earlier slots may be compacted into a snapshot.
      slot: node.learnedFrom + first + i,
      epoch: e.origin.epoch,
      proposer: e.origin.nodeId,
      commands: e.commands.map((c) => c.id),
    }));
    const view: NodeView = {
      id,
      up: true,
      incarnation: m?.incarnation ?? 0,
      role: node.role,
      epoch: node.epoch,
      leader: node.leader,
      activeLeader: node.isActiveLeader,
      appliedSlot: node.appliedSlot,
      logTail,
      machines,
    };
    if (m !== undefined) m.lastView = view;
    return view;
  }
}
