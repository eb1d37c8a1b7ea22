/**
 * What one real node tells inspectors about itself: its state (read on demand, never recorded) and,
 * while someone watches, a bounded ring of what happened — messages sent and received, role machine
 * transitions, actors starting and stopping, role changes — numbered so a reader can ask for what
 * it has not seen yet (`/inspect/node?since=N` on the node's admin port).
 *
 * Costs nothing while nobody watches: every hook starts with one boolean test and returns. It
 * records only while a page of this node watches (`hold`) or another node's page polls it
 * (`lease`, renewed by each poll, lapsing LIVE_LEASE_MS after the last one); when both are gone
 * the ring is emptied. The ring keeps MAX_LIVE_NODE_EVENTS, oldest dropped first; a reader that
 * fell behind sees the gap in the sequence numbers.
 *
 * The node layer has no hook for received messages or timers, so the server wires them in: it
 * passes each inbound envelope through `deliver`, each send through `onSend`, wraps the node's
 * clock with `wrapClock`, and calls `onTransition` from the NodeObserver. State is then compared
 * with the last seen after each delivery, timer or local call (a client request from the client
 * port), which names the cause of every transition.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Envelope } from '../../bus/types.js';
import type { Clock, ConsensusNode } from '../../node/node.js';
import type { NodeId } from '../../protocol/ids.js';
import type { PeerMessage } from '../../protocol/messages.js';
import { LIVE_LEASE_MS, LIVE_REPORT_PROTOCOL, MAX_LIVE_EVENTS_PER_REPORT, MAX_LIVE_NODE_EVENTS, MAX_LOG_TAIL_ENTRIES } from './constants.js';
import { summarizeMessage } from './messages.js';
import { NODE_REPORT_PATH } from './routes.js';
import { DropOldestQueue } from './queue.js';
import { valueKey } from './state-values.js';
import type { AnySnapshot } from './state-values.js';
import { toJsonSafe } from './stately.js';
import type { LogEntryView, MachineName } from './types.js';

/** The role machines in the order views list them. */
export const LIVE_MACHINES: readonly MachineName[] = ['election', 'acceptor', 'learner', 'proposer'];

/** What the server knows about itself beyond the consensus node. */
export interface LiveServerStatus {
  readonly lastZxid: string;
  readonly sessions: number;
  readonly serving: boolean;
  /** Its peer links (from the TCP bus). */
  readonly peers: readonly { readonly id: NodeId; readonly connected: boolean }[];
}

export interface LiveNodeAccess {
  readonly id: NodeId;
  readonly node: () => Pick<ConsensusNode, 'snapshots' | 'role' | 'epoch' | 'leader' | 'isActiveLeader' | 'appliedSlot' | 'learnedLog'>;
  /** The server's role as `/status` reports it; called after every delivery while recording, so cheap. */
  readonly serverRole: () => string;
  /** The rest of what a report shows; called once per report. */
  readonly status: () => LiveServerStatus;
}

/** A role machine as of a report. */
export interface LiveMachineState {
  /** Counts the actors this machine has had in this process (a new proposer per leadership term). */
  readonly generation: number;
  readonly value: unknown;
  readonly status: string;
  /** A bounded JSON copy of the context, when the reader asked for contexts. */
  readonly context?: unknown;
}

export interface LiveNodeState {
  readonly id: NodeId;
  /** The consensus role (follower, candidate, leader), or observer / recovering. */
  readonly role: string;
  readonly epoch: number;
  readonly leader: NodeId | null;
  readonly activeLeader: boolean;
  readonly appliedSlot: number;
  readonly lastZxid: string;
  readonly sessions: number;
  readonly serving: boolean;
  readonly logTail: readonly LogEntryView[];
  readonly machines: Partial<Record<MachineName, LiveMachineState>>;
  readonly peers: readonly { readonly id: NodeId; readonly connected: boolean }[];
}

interface Numbered {
  /** Position in this recorder's sequence: consecutive, from 1. */
  readonly seq: number;
  /** Real time, ms since the epoch. */
  readonly atMs: number;
}

export type LiveNodeEvent = Numbered &
  (
    | { readonly kind: 'sent'; readonly to: NodeId; readonly type: string; readonly summary: string }
    | { readonly kind: 'received'; readonly from: NodeId; readonly type: string; readonly summary: string }
    | {
        readonly kind: 'transition';
        readonly machine: MachineName;
        readonly generation: number;
        readonly from: unknown;
        readonly to: unknown;
        /** The message type being delivered, `timer`, or `local` (a call from the client port). */
        readonly cause: string;
        readonly snapshot?: unknown;
      }
    | { readonly kind: 'actor'; readonly phase: 'started' | 'stopped'; readonly machine: MachineName; readonly generation: number; readonly snapshot?: unknown }
    | { readonly kind: 'role'; readonly role: string; readonly epoch: number; readonly activeLeader: boolean }
  );

/** Distributes Omit over the event union (TypeScript's Omit would merge it). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'seq' | 'atMs'> : never;

/** The answer of `/inspect/node`. */
export interface LiveNodeReport {
  readonly protocol: string;
  readonly id: NodeId;
  /** Changes when the process restarts: sequence numbers start over. */
  readonly instance: string;
  /** Real time of the answer (ms since the epoch): nothing at or before it is still to come. */
  readonly nowMs: number;
  readonly node: LiveNodeState;
  /** Events after the asked position, oldest first (at most MAX_LIVE_EVENTS_PER_REPORT). */
  readonly events: readonly LiveNodeEvent[];
  /** Oldest sequence number still held (lastSeq + 1 when the ring is empty). */
  readonly firstSeq: number;
  /** Newest sequence number given out so far (0 before the first). */
  readonly lastSeq: number;
  readonly recording: boolean;
}

export interface LiveRecorderOptions {
  readonly capacity?: number;
  readonly leaseMs?: number;
  /** Real time (ms since the epoch); tests may pass their own. */
  readonly now?: () => number;
}

interface MachineMemo {
  generation: number;
  key: string;
  value: unknown;
  status: string;
  /** The node's epoch when this actor appeared: a proposer belongs to one leadership term. */
  epoch: number;
}

/** Numbered events in a drop-oldest ring: O(1) append, direct access by sequence number. */
class SequenceRing {
  private readonly events: DropOldestQueue<LiveNodeEvent>;
  /** Sequence number of the newest event (numbering continues across clear()). */
  last = 0;

  constructor(capacity: number) {
    this.events = new DropOldestQueue(capacity);
  }

  get length(): number {
    return this.events.length;
  }

  get firstSeq(): number {
    return this.last - this.events.length + 1;
  }

  push(make: (seq: number) => LiveNodeEvent): void {
    this.events.push(make(++this.last));
  }

  /** Events with a sequence number above `since`, oldest first, at most `max`. */
  after(since: number, max: number): LiveNodeEvent[] {
    const first = this.firstSeq;
    const out: LiveNodeEvent[] = [];
    for (let seq = Math.max(first, since + 1); seq <= this.last && out.length < max; seq++) out.push(this.events.at(seq - first)!);
    return out;
  }

  /** Drops every event; numbering continues, so readers see the gap. */
  clear(): void {
    this.events.clear();
  }
}

export class LiveRecorder {
  /** Identifies this process's life: a restarted node has a new instance and numbers from 1 again. */
  readonly instance: string;
  private readonly ring: SequenceRing;
  private readonly leaseMs: number;
  private readonly now: () => number;
  private armedFlag = false;
  private holds = 0;
  private holdsWithContexts = 0;
  private leaseTimer: ReturnType<typeof setTimeout> | undefined;
  private leaseContexts = false;
  private readonly memo = new Map<MachineName, MachineMemo>();
  private readonly generations = new Map<MachineName, number>();
  private role = { role: '', epoch: -1, activeLeader: false };
  /** What drives the node right now: the message being delivered, `timer`, or undefined. */
  private cause: string | undefined;
  private localSyncScheduled = false;
  private closed = false;

  constructor(
    private readonly access: LiveNodeAccess,
    options: LiveRecorderOptions = {},
  ) {
    this.ring = new SequenceRing(options.capacity ?? MAX_LIVE_NODE_EVENTS);
    this.leaseMs = options.leaseMs ?? LIVE_LEASE_MS;
    this.now = options.now ?? Date.now;
    this.instance = `${access.id}-${this.now().toString(36)}-${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  }

  get id(): NodeId {
    return this.access.id;
  }

  /** Whether events are being recorded (someone watches). */
  get armed(): boolean {
    return this.armedFlag;
  }

  /** Events held now. */
  get recorded(): number {
    return this.ring.length;
  }

  private get wantsContexts(): boolean {
    return this.holdsWithContexts > 0 || (this.leaseTimer !== undefined && this.leaseContexts);
  }

  // ---- who watches ----

  /** A page of this node watches: record until the returned release is called. */
  hold(options: { contexts?: boolean } = {}): () => void {
    this.holds++;
    const contexts = options.contexts === true;
    if (contexts) this.holdsWithContexts++;
    this.arm();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (contexts) this.holdsWithContexts--;
      this.disarmIfIdle();
    };
  }

  /** Another node's page polled: record for LIVE_LEASE_MS more. */
  lease(options: { contexts?: boolean } = {}): void {
    if (this.closed) return;
    this.leaseContexts = options.contexts === true;
    if (this.leaseTimer !== undefined) clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(() => {
      this.leaseTimer = undefined;
      this.disarmIfIdle();
    }, this.leaseMs);
    this.leaseTimer.unref?.();
    this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.leaseTimer !== undefined) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    this.holds = 0;
    this.holdsWithContexts = 0;
    this.disarmIfIdle();
  }

  private arm(): void {
    if (this.armedFlag || this.closed) return;
    this.armedFlag = true;
    this.sync(undefined, false);
  }

  private disarmIfIdle(): void {
    if (this.holds > 0 || this.leaseTimer !== undefined) return;
    this.armedFlag = false;
    this.ring.clear();
    // The memo stays: the next arm compares with it silently, so an actor that lived on while
    // nobody watched keeps its generation (and its name), and one that was replaced gets a new one.
  }

  // ---- hooks the server calls ----

  /** A message leaves this node (called with every bus send). */
  onSend(env: Envelope<PeerMessage>): void {
    if (!this.armedFlag || env.from === env.to) return;
    this.push({ kind: 'sent', to: env.to, type: env.msg.type, summary: summarizeMessage(env.msg) });
  }

  /** A message arrives: `handle` hands it to the node; what changes meanwhile has it as cause. */
  deliver(env: Envelope<PeerMessage>, handle: () => void): void {
    if (!this.armedFlag) return handle();
    if (env.from !== env.to) this.push({ kind: 'received', from: env.from, type: env.msg.type, summary: summarizeMessage(env.msg) });
    const previous = this.cause;
    this.cause = env.msg.type;
    try {
      handle();
    } finally {
      this.cause = previous;
      if (this.armedFlag) this.sync(env.msg.type, true);
    }
  }

  /** The node's clock, with each timer callback marked as the cause of what it changes. */
  wrapClock(clock: Clock): Clock {
    return {
      setTimeout: (fn, timeoutMs) =>
        clock.setTimeout((...args: unknown[]) => {
          if (!this.armedFlag) return fn(...args);
          const previous = this.cause;
          this.cause = 'timer';
          try {
            fn(...args);
          } finally {
            this.cause = previous;
            if (this.armedFlag) this.sync('timer', true);
          }
        }, timeoutMs),
      clearTimeout: (id) => clock.clearTimeout(id),
    };
  }

  /** A role machine emitted a snapshot (NodeObserver.onTransition). */
  onTransition(): void {
    if (!this.armedFlag || this.cause !== undefined || this.localSyncScheduled) return;
    // Neither a delivery nor a timer: a call from the client port. Compare once it is done.
    this.localSyncScheduled = true;
    queueMicrotask(() => {
      this.localSyncScheduled = false;
      if (this.armedFlag) this.sync('local', true);
    });
  }

  // ---- what readers get ----

  /**
   * The node as it is now, and the events after `since` (all of them when `instance` names an
   * earlier process; none when `since` is negative: a first contact only learns where we stand).
   */
  report(since: number, instance?: string): LiveNodeReport {
    const from = since < 0 ? Number.POSITIVE_INFINITY : instance === undefined || instance === this.instance ? since : 0;
    return {
      protocol: LIVE_REPORT_PROTOCOL,
      id: this.access.id,
      instance: this.instance,
      nowMs: this.now(),
      node: this.state(),
      events: this.ring.after(from, MAX_LIVE_EVENTS_PER_REPORT),
      firstSeq: this.ring.firstSeq,
      lastSeq: this.ring.last,
      recording: this.armedFlag,
    };
  }

  /** The node's state now. */
  state(): LiveNodeState {
    const node = this.access.node();
    const status = this.access.status();
    const snapshots = node.snapshots();
    const contexts = this.wantsContexts;
    const machines: Partial<Record<MachineName, LiveMachineState>> = {};
    for (const machine of LIVE_MACHINES) {
      const s = snapshots[machine] as AnySnapshot | undefined;
      if (s === undefined) continue;
      const generation = this.memo.get(machine)?.generation ?? this.generations.get(machine) ?? 1;
      machines[machine] = { generation, value: toJsonSafe(s.value), status: s.status, ...(contexts ? { context: toJsonSafe(s.context) } : {}) };
    }
    const log = node.learnedLog;
    const first = Math.max(0, log.length - MAX_LOG_TAIL_ENTRIES);
    const logTail = log.slice(first).map((e, i) => ({ slot: first + i + 1, epoch: e.origin.epoch, proposer: e.origin.nodeId, commands: e.commands.map((c) => c.id) }));
    return {
      id: this.access.id,
      role: this.roleOf(node.role, this.access.serverRole()),
      epoch: node.epoch,
      leader: node.leader,
      activeLeader: node.isActiveLeader,
      appliedSlot: node.appliedSlot,
      lastZxid: status.lastZxid,
      sessions: status.sessions,
      serving: status.serving,
      logTail,
      machines,
      peers: status.peers,
    };
  }

  // ---- internals ----

  private roleOf(nodeRole: string, serverRole: string): string {
    // The chart follows the election machine's role; observers and rejoining voters run none.
    return serverRole === 'observer' || serverRole === 'recovering' ? serverRole : nodeRole;
  }

  private push(e: Unnumbered<LiveNodeEvent>): void {
    const atMs = this.now();
    this.ring.push((seq) => ({ ...e, seq, atMs }) as LiveNodeEvent);
  }

  private snapshotCopy(s: AnySnapshot): unknown {
    return this.wantsContexts ? { status: s.status, value: toJsonSafe(s.value), context: toJsonSafe(s.context) } : { status: s.status, value: toJsonSafe(s.value) };
  }

  /** Compares the node with the last seen state; with `record`, each difference becomes an event. */
  private sync(cause: string | undefined, record: boolean): void {
    const node = this.access.node();
    const snapshots = node.snapshots();
    const emit = (e: Unnumbered<LiveNodeEvent>): void => {
      if (record) this.push(e);
    };
    for (const machine of LIVE_MACHINES) {
      const s = snapshots[machine] as AnySnapshot | undefined;
      const mm = this.memo.get(machine);
      if (s === undefined) {
        if (mm !== undefined) {
          this.memo.delete(machine);
          emit({ kind: 'actor', phase: 'stopped', machine, generation: mm.generation });
        }
        continue;
      }
      const key = valueKey(s.value);
      const newTerm = machine === 'proposer' && mm !== undefined && mm.epoch !== node.epoch;
      if (mm === undefined || newTerm) {
        if (mm !== undefined) emit({ kind: 'actor', phase: 'stopped', machine, generation: mm.generation });
        const generation = (this.generations.get(machine) ?? 0) + 1;
        this.generations.set(machine, generation);
        this.memo.set(machine, { generation, key, value: s.value, status: s.status, epoch: node.epoch });
        emit({ kind: 'actor', phase: 'started', machine, generation, snapshot: this.snapshotCopy(s) });
        continue;
      }
      if (key !== mm.key || s.status !== mm.status) {
        const from = mm.value;
        mm.key = key;
        mm.value = s.value;
        mm.status = s.status;
        emit({ kind: 'transition', machine, generation: mm.generation, from: toJsonSafe(from), to: toJsonSafe(s.value), cause: cause ?? 'local', snapshot: this.snapshotCopy(s) });
      }
    }
    const role = this.roleOf(node.role, this.access.serverRole());
    const r = this.role;
    if (role !== r.role || node.epoch !== r.epoch || node.isActiveLeader !== r.activeLeader) {
      this.role = { role, epoch: node.epoch, activeLeader: node.isActiveLeader };
      emit({ kind: 'role', role, epoch: node.epoch, activeLeader: node.isActiveLeader });
    }
  }
}

/**
 * Answers `GET /inspect/node?since=N&instance=I&contexts=0|1&lease=0|1` with the recorder's
 * report and (unless lease=0) renews its lease: the node records while someone polls. Returns
 * false for other paths.
 */
export function serveNodeReport(recorder: LiveRecorder, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== NODE_REPORT_PATH) return false;
  const sinceText = url.searchParams.get('since') ?? '-1';
  const since = /^-?\d+$/.test(sinceText) ? Number(sinceText) : Number.NaN;
  if (!Number.isSafeInteger(since)) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('since must be an integer\n');
    return true;
  }
  const contexts = url.searchParams.get('contexts') === '1';
  // A page polls with lease=1 and wants events; lease=0 only asks where the node stands.
  if (url.searchParams.get('lease') !== '0') recorder.lease({ contexts });
  const body = JSON.stringify(recorder.report(since, url.searchParams.get('instance') ?? undefined));
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
  return true;
}
