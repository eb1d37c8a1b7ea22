/**
 * A live ensemble as a cluster source: what a real node's admin port shows. The node it runs on is
 * read directly (its LiveRecorder); every other member is polled on its admin port
 * (`/inspect/node`, every LIVE_POLL_MS while a page watches, at most one request in flight per
 * node, each abandoned after LIVE_PEER_TIMEOUT_MS). A node that does not answer is shown as down
 * with the reason; a slow or dead node never holds up the page.
 *
 * Each node reports what it sent and what it received, with its own real-time stamps. The source
 * merges the reports in time order, but only up to the latest instant every reachable node has
 * answered for (the watermark): a message seen arriving at B is then matched with its send at A
 * (the TCP links are FIFO, so the first unmatched send of the same type and content on A→B is it),
 * which gives the sequence diagram its arrows and the cluster picture its messages in flight.
 * Timestamps from different hosts are compared as they are: on one host (or NTP-synchronized hosts
 * within a millisecond) the order is right; with skewed clocks a message may be drawn without its
 * send time.
 *
 * Nothing here can change the cluster: a live source accepts no controls (the page hides them).
 */
import { Agent, request } from 'node:http';
import type { NodeId } from '../../protocol/ids.js';
import { activePaths } from './charts.js';
import {
  LIVE_INFLIGHT_MAX_AGE_MS,
  LIVE_PEER_TIMEOUT_MS,
  LIVE_POLL_MS,
  LIVE_RECENT_WINDOW_MS,
  LIVE_REPORT_PROTOCOL,
  MAX_HISTORY_EVENTS,
  MAX_INFLIGHT_SHOWN,
  MAX_LIVE_RECENT_MESSAGES,
  MAX_LIVE_REPORT_BYTES,
  MAX_LIVE_UNMATCHED_PER_LINK,
} from './constants.js';
import type { LiveNodeEvent, LiveNodeReport, LiveNodeState, LiveRecorder } from './live-recorder.js';
import { receiverMachine, senderMachine } from './messages.js';
import type { Endpoint } from './messages.js';
import { DropOldestQueue } from './queue.js';
import type {
  ClusterSource,
  ClusterView,
  ControlCommand,
  ControlResult,
  InFlightView,
  LinkTrafficView,
  MachineName,
  MachineView,
  NodeView,
  SourceEvent,
  SourceListener,
} from './types.js';

/** Where another member's admin port is. */
export interface LivePeerAddress {
  readonly host: string;
  readonly port: number;
}

/** What a poll asks for: events after `since` (-1: none, just where the node stands). */
export interface ReportQuery {
  readonly since: number;
  readonly instance: string | undefined;
  readonly contexts: boolean;
  /** Whether the node should record for the next LIVE_LEASE_MS (a page watches), or just answer. */
  readonly lease: boolean;
}

/** Fetches one node's report; rejects when the node does not answer in `timeoutMs`. */
export type ReportFetcher = (address: LivePeerAddress, query: ReportQuery, timeoutMs: number) => Promise<LiveNodeReport>;

export interface LiveSourceOptions {
  /** The node this source runs on. */
  readonly recorder: LiveRecorder;
  /** Every member of the ensemble, this node included. */
  readonly members: readonly NodeId[];
  /** Admin addresses of the other members; a member missing here is shown as unknown, with why. */
  readonly peers: ReadonlyMap<NodeId, LivePeerAddress>;
  readonly title?: string;
  readonly pollMs?: number;
  readonly peerTimeoutMs?: number;
  readonly fetchReport?: ReportFetcher;
  /** Real time, ms since the epoch. */
  readonly now?: () => number;
}

interface Track {
  readonly id: NodeId;
  readonly self: boolean;
  readonly address: LivePeerAddress | undefined;
  instance: string | undefined;
  /** Last sequence number taken from this node's ring. */
  cursor: number;
  /** Process restarts seen. */
  incarnation: number;
  state: LiveNodeState | undefined;
  up: boolean;
  everUp: boolean;
  /** Its last poll failed (as opposed to not answered yet). */
  down: boolean;
  /** The node's clock when it last answered: its events up to then are all in. */
  answeredAtMs: number;
  polling: boolean;
  note: string | undefined;
  /** The actor of each machine as of the events processed so far. */
  readonly actors: Map<MachineName, string>;
  /** `machine#generation` of the process `namesInstance` → actor id. */
  readonly names: Map<string, string>;
  namesInstance: string | undefined;
  readonly generations: Map<MachineName, number>;
  lastView: NodeView | undefined;
}

interface PendingEvent {
  readonly node: Track;
  readonly e: LiveNodeEvent;
}

interface UnmatchedSend {
  readonly id: number;
  readonly type: string;
  readonly summary: string;
  /** Real time, ms since the epoch. */
  readonly sentAtMs: number;
}

interface RecentMessage {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly atMs: number;
}

/** Sends sort before arrivals at the same instant, so a message is never seen arriving before it left. */
function eventOrder(e: LiveNodeEvent): number {
  return e.kind === 'sent' ? 0 : e.kind === 'received' ? 1 : 2;
}

export class LiveSource implements ClusterSource {
  readonly kind = 'live' as const;
  private readonly tracks = new Map<NodeId, Track>();
  private readonly listeners = new Set<SourceListener>();
  private readonly recent = new DropOldestQueue<SourceEvent>(MAX_HISTORY_EVENTS);
  private readonly traffic = new DropOldestQueue<RecentMessage>(MAX_LIVE_RECENT_MESSAGES);
  private readonly links = new Map<string, UnmatchedSend[]>();
  private pending: PendingEvent[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private release: (() => void) | undefined;
  private contexts = false;
  private nextMessageId = 1;
  private messages = 0;
  private readonly originMs: number;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly peerTimeoutMs: number;
  private readonly fetchReport: ReportFetcher;
  private readonly agent: Agent | undefined;
  private closed = false;

  constructor(private readonly options: LiveSourceOptions) {
    this.now = options.now ?? Date.now;
    this.originMs = this.now();
    this.pollMs = options.pollMs ?? LIVE_POLL_MS;
    this.peerTimeoutMs = options.peerTimeoutMs ?? LIVE_PEER_TIMEOUT_MS;
    if (options.fetchReport === undefined) {
      // One kept-alive connection per peer: a poll every LIVE_POLL_MS needs no new TCP handshake.
      this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.fetchReport = httpReportFetcher(this.agent);
    } else {
      this.fetchReport = options.fetchReport;
    }
    const self = options.recorder.id;
    for (const id of [...new Set([...options.members, self])].sort((a, b) => a - b)) {
      const address = id === self ? undefined : options.peers.get(id);
      this.tracks.set(id, {
        id,
        self: id === self,
        address,
        instance: undefined,
        cursor: -1,
        incarnation: 0,
        state: undefined,
        up: false,
        everUp: false,
        down: false,
        answeredAtMs: 0,
        polling: false,
        note: id === self || address !== undefined ? 'waiting for its first answer' : `admin address unknown: add statekeeper.admin.${id}=host:port to n${self}'s config`,
        actors: new Map(),
        names: new Map(),
        namesInstance: undefined,
        generations: new Map(),
        lastView: undefined,
      });
    }
  }

  /** Whether anyone watches (then the nodes record and are polled). */
  get watched(): boolean {
    return this.listeners.size > 0;
  }

  view(): ClusterView {
    const nowMs = this.now();
    return {
      kind: 'live',
      title: this.options.title ?? `live ensemble · ${this.tracks.size} nodes · seen from n${this.options.recorder.id}`,
      nowMs: nowMs - this.originMs,
      actions: this.messages,
      // Real time runs at its own speed; nothing here can pause it.
      running: true,
      speedMsPerS: 1000,
      lagging: false,
      nodes: [...this.tracks.values()].map((t) => this.nodeView(t)),
      // No fault model on a real network: the rates are not shown for a live view; maxDelayMs is
      // the span over which the page draws a message in flight; cut comes from the peer links.
      network: { dropRate: 0, duplicateRate: 0, minDelayMs: 0, maxDelayMs: LIVE_INFLIGHT_MAX_AGE_MS, cut: this.cut() },
      inFlight: this.inFlight(nowMs),
      links: this.linkTraffic(nowMs),
      writes: null,
      trace: null,
      controls: [],
    };
  }

  history(): readonly SourceEvent[] {
    return this.recent.toArray();
  }

  watch(listener: SourceListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1 && !this.closed) this.start();
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0) this.stop();
    };
  }

  control(command: ControlCommand): ControlResult {
    return { ok: false, message: `a live ensemble is only watched here: '${command.type}' is for simulations` };
  }

  /** Stately tools want machine contexts; pages do not (they cost a copy per transition). */
  detail(options: { contexts: boolean }): void {
    if (options.contexts === this.contexts) return;
    this.contexts = options.contexts;
    if (this.release !== undefined) {
      const old = this.release;
      this.release = this.options.recorder.hold({ contexts: this.contexts });
      old();
    }
  }

  machineSnapshot(node: NodeId, machine: MachineName): unknown {
    const m = this.tracks.get(node)?.state?.machines[machine];
    return m === undefined ? undefined : { status: m.status, value: m.value, context: m.context };
  }

  close(): void {
    this.closed = true;
    this.stop();
    this.listeners.clear();
    this.agent?.destroy();
  }

  /**
   * Brings the view up to date now: one poll round (tests drive a watched source with it). Without
   * watchers (`/api/view`), the others are only asked where they stand, not to record.
   */
  async refresh(): Promise<void> {
    await Promise.all(this.poll());
    this.process();
    this.changed();
  }

  // ---- the poll loop ----

  private start(): void {
    this.release = this.options.recorder.hold({ contexts: this.contexts });
    this.pending = [];
    for (const t of this.tracks.values()) {
      // Watching starts now: skip whatever the nodes recorded for earlier watchers.
      t.cursor = -1;
      t.instance = undefined;
    }
    this.timer = setInterval(() => {
      void this.poll();
      this.process();
      this.changed();
    }, this.pollMs);
    this.timer.unref?.();
    void this.poll();
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.release?.();
    this.release = undefined;
    this.pending = [];
    this.links.clear();
    this.recent.clear();
    this.traffic.clear();
  }

  /** Reads this node, and starts a request to every other node that has none in flight. */
  private poll(): Promise<void>[] {
    const out: Promise<void>[] = [];
    for (const t of this.tracks.values()) {
      if (t.self) {
        const report = this.options.recorder.report(this.watched ? t.cursor : -1, t.instance);
        if (this.watched) this.ingest(t, report);
        else this.takeState(t, report);
        continue;
      }
      if (t.address === undefined || t.polling) continue;
      t.polling = true;
      const watched = this.watched;
      const query: ReportQuery = watched ? { since: t.cursor, instance: t.instance, contexts: this.contexts, lease: true } : { since: -1, instance: undefined, contexts: false, lease: false };
      out.push(
        this.fetchReport(t.address, query, this.peerTimeoutMs).then(
          (report) => {
            t.polling = false;
            if (this.closed) return;
            if (!this.watched) {
              // Not watched (or no longer): take the state, leave the event positions alone.
              if (report.id === t.id) this.takeState(t, report);
              return;
            }
            if (report.id !== t.id) return this.unreachable(t, `${t.address!.host}:${t.address!.port} answers as n${report.id}, not n${t.id}`);
            this.ingest(t, report);
          },
          (error: unknown) => {
            t.polling = false;
            if (this.closed) return;
            this.unreachable(t, `no answer from ${t.address!.host}:${t.address!.port}: ${error instanceof Error ? error.message : String(error)}`);
          },
        ),
      );
    }
    return out;
  }

  private ingest(t: Track, report: LiveNodeReport): void {
    const firstContact = t.instance === undefined;
    const restarted = !firstContact && report.instance !== t.instance;
    if (firstContact && t.namesInstance !== undefined && t.namesInstance !== report.instance) t.incarnation++;
    if (restarted) {
      t.incarnation++;
      this.forgetActors(t, report.nowMs);
      this.note(`n${t.id} restarted`, report.nowMs);
    }
    if (firstContact || restarted) {
      t.instance = report.instance;
      this.useNamesOf(t, report.instance);
      // The actors as they are now; events from here on keep them current.
      for (const [machine, m] of Object.entries(report.node.machines) as [MachineName, { generation: number }][]) t.actors.set(machine, this.actorName(t, machine, m.generation));
    }
    let events: readonly LiveNodeEvent[] = [];
    if (firstContact) {
      // What the node recorded before now was for someone else: start from here.
      t.cursor = report.lastSeq;
    } else {
      if (restarted) t.cursor = 0;
      else if (report.firstSeq > t.cursor + 1) this.note(`n${t.id}: ${report.firstSeq - t.cursor - 1} events were dropped before they were read (its ring was full)`, report.nowMs);
      events = report.events;
      if (events.length > 0) t.cursor = events[events.length - 1]!.seq;
    }
    const wasUp = t.up;
    this.answered(t, report);
    if (!wasUp) this.record({ kind: 'role', node: t.id, role: report.node.role, epoch: report.node.epoch, activeLeader: report.node.activeLeader, up: true, atMs: this.rel(report.nowMs) });
    for (const e of events) this.pending.push({ node: t, e });
  }

  /** A report read while nobody watches: the node's state only. */
  private takeState(t: Track, report: LiveNodeReport): void {
    if (t.namesInstance !== undefined && t.namesInstance !== report.instance) t.incarnation++;
    t.instance = report.instance;
    this.useNamesOf(t, report.instance);
    this.answered(t, report);
  }

  /** The node answered: its state is the report's, and it is up. */
  private answered(t: Track, report: LiveNodeReport): void {
    t.state = report.node;
    t.up = true;
    t.everUp = true;
    t.down = false;
    t.note = undefined;
    t.answeredAtMs = report.nowMs;
  }

  private unreachable(t: Track, why: string): void {
    t.note = why;
    t.down = true;
    if (!t.up) return;
    t.up = false;
    const atMs = this.now();
    this.forgetActors(t, atMs);
    this.record({ kind: 'role', node: t.id, role: 'down', epoch: t.state?.epoch ?? 0, activeLeader: false, up: false, atMs: this.rel(atMs) });
  }

  private forgetActors(t: Track, atMs: number): void {
    for (const [machine, actorId] of t.actors) this.record({ kind: 'actor', phase: 'stopped', node: t.id, machine, actorId, atMs: this.rel(atMs) });
    t.actors.clear();
  }

  /** Turns every gathered event up to the watermark into source events, in time order. */
  private process(): void {
    let watermark = Number.POSITIVE_INFINITY;
    for (const t of this.tracks.values()) if (t.up) watermark = Math.min(watermark, t.answeredAtMs);
    if (!Number.isFinite(watermark)) watermark = this.now();
    const ready: PendingEvent[] = [];
    const later: PendingEvent[] = [];
    for (const p of this.pending) (p.e.atMs <= watermark ? ready : later).push(p);
    this.pending = later;
    ready.sort((a, b) => a.e.atMs - b.e.atMs || eventOrder(a.e) - eventOrder(b.e));
    for (const p of ready) this.apply(p.node, p.e);
    this.expireInFlight(watermark);
  }

  private apply(t: Track, e: LiveNodeEvent): void {
    const atMs = this.rel(e.atMs);
    switch (e.kind) {
      case 'sent': {
        const receiver = this.tracks.get(e.to);
        if (receiver === undefined) {
          // A client (a peer-protocol tool): its side is not observed; the send is what we know.
          this.message(t.id, e.to, e.type, e.summary, this.nextMessageId++, atMs, atMs, 'delivered');
          return;
        }
        if (receiver.down) {
          this.message(t.id, e.to, e.type, e.summary, this.nextMessageId++, atMs, atMs, 'receiver-down');
          return;
        }
        const key = linkKey(t.id, e.to);
        let queue = this.links.get(key);
        if (queue === undefined) this.links.set(key, (queue = []));
        queue.push({ id: this.nextMessageId++, type: e.type, summary: e.summary, sentAtMs: e.atMs });
        if (queue.length > MAX_LIVE_UNMATCHED_PER_LINK) queue.shift();
        return;
      }
      case 'received': {
        if (!this.tracks.has(e.from)) {
          this.message(e.from, t.id, e.type, e.summary, this.nextMessageId++, null, atMs, 'delivered');
          return;
        }
        const queue = this.links.get(linkKey(e.from, t.id));
        const i = queue?.findIndex((s) => s.type === e.type && s.summary === e.summary) ?? -1;
        // FIFO link: sends before the match that never arrived were lost with a broken connection.
        const sent = i >= 0 ? queue!.splice(0, i + 1)[i] : undefined;
        this.message(e.from, t.id, e.type, e.summary, sent?.id ?? this.nextMessageId++, sent === undefined ? null : this.rel(sent.sentAtMs), atMs, 'delivered');
        return;
      }
      case 'transition': {
        const actorId = this.actorName(t, e.machine, e.generation);
        t.actors.set(e.machine, actorId);
        this.record({ kind: 'transition', node: t.id, machine: e.machine, actorId, from: e.from, to: e.to, cause: e.cause, atMs, ...(e.snapshot === undefined ? {} : { snapshot: e.snapshot }) });
        return;
      }
      case 'actor': {
        const actorId = this.actorName(t, e.machine, e.generation);
        if (e.phase === 'started') {
          if (t.actors.get(e.machine) === actorId) return; // already known from the first report
          t.actors.set(e.machine, actorId);
        } else {
          if (t.actors.get(e.machine) !== actorId) return;
          t.actors.delete(e.machine);
        }
        this.record({ kind: 'actor', phase: e.phase, node: t.id, machine: e.machine, actorId, atMs, ...(e.snapshot === undefined ? {} : { snapshot: e.snapshot }) });
        return;
      }
      case 'role':
        this.record({ kind: 'role', node: t.id, role: e.role, epoch: e.epoch, activeLeader: e.activeLeader, up: true, atMs });
        return;
    }
  }

  private message(from: NodeId, to: NodeId, type: string, summary: string, id: number, sentAtMs: number | null, atMs: number, phase: 'delivered' | 'receiver-down'): void {
    this.messages++;
    if (phase === 'delivered') this.traffic.push({ from, to, type, atMs });
    this.record({
      kind: 'message',
      phase,
      id,
      from,
      to,
      type,
      summary,
      sentAtMs,
      atMs,
      fromActor: this.actorOf(from, senderMachine(type)),
      toActor: this.actorOf(to, receiverMachine(type)),
    });
  }

  /** Forgets sends that have not arrived long after they left (their link broke, or their receiver died). */
  private expireInFlight(watermark: number): void {
    for (const [key, queue] of this.links) {
      let n = 0;
      while (n < queue.length && queue[n]!.sentAtMs + LIVE_INFLIGHT_MAX_AGE_MS < watermark) n++;
      if (n > 0) queue.splice(0, n);
      if (queue.length === 0) this.links.delete(key);
    }
  }

  // ---- names ----

  /** Actor names belong to one process of a node: a restarted one gets new ones. */
  private useNamesOf(t: Track, instance: string): void {
    if (t.namesInstance === instance) return;
    t.namesInstance = instance;
    t.names.clear();
  }

  /** The actor id of a machine generation of a node's current process (stable for the source's life). */
  private actorName(t: Track, machine: MachineName, generation: number): string {
    const key = `${machine}#${generation}`;
    let name = t.names.get(key);
    if (name === undefined) {
      const g = (t.generations.get(machine) ?? 0) + 1;
      t.generations.set(machine, g);
      name = `n${t.id}.${machine}#${g}`;
      t.names.set(key, name);
    }
    return name;
  }

  private actorOf(id: NodeId, endpoint: Endpoint): string {
    const t = this.tracks.get(id);
    if (t === undefined) return `client${id}`;
    return (endpoint === 'node' ? undefined : t.actors.get(endpoint)) ?? `n${id}`;
  }

  // ---- views ----

  private nodeView(t: Track): NodeView {
    const s = t.state;
    if (!t.up || s === undefined) {
      const base = { id: t.id, up: false, incarnation: t.incarnation, role: t.everUp ? 'down' : 'unknown', leader: null, activeLeader: false, machines: {}, ...(t.note === undefined ? {} : { note: t.note }) };
      return t.lastView === undefined ? { ...base, epoch: 0, appliedSlot: 0, logTail: [] } : { ...t.lastView, ...base, serving: false };
    }
    const machines: Partial<Record<MachineName, MachineView>> = {};
    for (const [machine, m] of Object.entries(s.machines) as [MachineName, NonNullable<LiveNodeState['machines'][MachineName]>][]) {
      machines[machine] = { actorId: this.actorName(t, machine, m.generation), value: m.value, activePaths: activePaths(m.value), status: m.status };
    }
    const view: NodeView = {
      id: t.id,
      up: true,
      incarnation: t.incarnation,
      role: s.role,
      epoch: s.epoch,
      leader: s.leader,
      activeLeader: s.activeLeader,
      appliedSlot: s.appliedSlot,
      logTail: s.logTail,
      machines,
      lastZxid: s.lastZxid,
      sessions: s.sessions,
      serving: s.serving,
    };
    t.lastView = view;
    return view;
  }

  /** Pairs of reachable members whose peer link is down, as either end reports it. */
  private cut(): [NodeId, NodeId][] {
    const out: [NodeId, NodeId][] = [];
    const up = [...this.tracks.values()].filter((t) => t.up && t.state !== undefined);
    for (let i = 0; i < up.length; i++) {
      for (let j = i + 1; j < up.length; j++) {
        const a = up[i]!;
        const b = up[j]!;
        const down = (x: Track, y: Track): boolean => x.state!.peers.some((p) => p.id === y.id && !p.connected);
        if (down(a, b) || down(b, a)) out.push([a.id, b.id]);
      }
    }
    return out;
  }

  private inFlight(nowMs: number): InFlightView[] {
    // Arrivals already reported but past the watermark: those messages are not in flight.
    const arrived = new Map<string, number>();
    for (const p of this.pending) {
      if (p.e.kind !== 'received') continue;
      const key = `${linkKey(p.e.from, p.node.id)}|${p.e.type}|${p.e.summary}`;
      arrived.set(key, (arrived.get(key) ?? 0) + 1);
    }
    const out: InFlightView[] = [];
    for (const [key, queue] of this.links) {
      const [from, to] = key.split('>').map(Number) as [NodeId, NodeId];
      for (const s of queue) {
        if (s.sentAtMs + LIVE_INFLIGHT_MAX_AGE_MS < nowMs) continue;
        const k = `${key}|${s.type}|${s.summary}`;
        const n = arrived.get(k) ?? 0;
        if (n > 0) {
          arrived.set(k, n - 1);
          continue;
        }
        out.push({ id: s.id, from, to, type: s.type, sentAtMs: this.rel(s.sentAtMs) });
        if (out.length >= MAX_INFLIGHT_SHOWN) return out;
      }
    }
    return out;
  }

  private linkTraffic(nowMs: number): LinkTrafficView[] {
    const since = this.rel(nowMs) - LIVE_RECENT_WINDOW_MS;
    const byLink = new Map<string, { from: NodeId; to: NodeId; count: number; lastType: string; lastAtMs: number }>();
    for (const m of this.traffic.toArray()) {
      if (m.atMs < since) continue;
      const key = linkKey(m.from, m.to);
      const link = byLink.get(key);
      if (link === undefined) byLink.set(key, { from: m.from, to: m.to, count: 1, lastType: m.type, lastAtMs: m.atMs });
      else {
        link.count++;
        link.lastType = m.type;
        link.lastAtMs = m.atMs;
      }
    }
    const now = this.rel(nowMs);
    return [...byLink.values()].map((l) => ({ from: l.from, to: l.to, count: l.count, windowMs: LIVE_RECENT_WINDOW_MS, lastType: l.lastType, lastAgoMs: Math.max(0, now - l.lastAtMs) }));
  }

  // ---- events ----

  private rel(atMs: number): number {
    return atMs - this.originMs;
  }

  private note(text: string, atMs: number): void {
    this.record({ kind: 'note', text, atMs: this.rel(atMs) });
  }

  private record(e: SourceEvent): void {
    this.recent.push(e);
    for (const l of this.listeners) l.event(e);
  }

  private changed(): void {
    for (const l of this.listeners) l.changed();
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

/** Polls `/inspect/node` over HTTP with an overall deadline and a size limit. */
export function httpReportFetcher(agent?: Agent): ReportFetcher {
  return (address, query, timeoutMs) =>
    new Promise<LiveNodeReport>((resolve, reject) => {
      const params = new URLSearchParams({ since: String(query.since), contexts: query.contexts ? '1' : '0', lease: query.lease ? '1' : '0' });
      if (query.instance !== undefined) params.set('instance', query.instance);
      const req = request({ host: address.host, port: address.port, path: `/inspect/node?${params}`, method: 'GET', ...(agent === undefined ? {} : { agent }) }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_LIVE_REPORT_BYTES) req.destroy(new Error(`answer larger than ${MAX_LIVE_REPORT_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(deadline);
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode} (is it a statekeeper admin port of this version?)`));
          try {
            const report = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LiveNodeReport;
            if (report.protocol !== LIVE_REPORT_PROTOCOL) return reject(new Error(`speaks ${String(report.protocol)}, not ${LIVE_REPORT_PROTOCOL}`));
            resolve(report);
          } catch (error) {
            reject(new Error(`not a node report: ${(error as Error).message}`));
          }
        });
        res.on('error', reject);
      });
      const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
      req.end();
    });
}
