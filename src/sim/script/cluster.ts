/**
 * The cluster an interaction script drives: ConsensusNodes on a MemoryBus and a VirtualScheduler,
 * with no random faults at all. Every fault is a script command: partitions, crashes, disk loss and
 * message drop rules, so a script shows exactly the run it describes.
 *
 * It keeps the same RunRecord the simulator keeps (so the named invariants apply to a script run)
 * and reports notable events (role changes, leadership, applies, drops, client replies) as they
 * happen, for the transcript.
 */
import { filter } from 'rxjs';
import type { Observable } from 'rxjs';
import { MemoryBus } from '../../bus/memory.js';
import type { Bus, Envelope } from '../../bus/types.js';
import { ConsensusNode } from '../../node/node.js';
import type { NodeObserver, NodeTimings } from '../../node/node.js';
import { defaultMachines } from '../../node/machines.js';
import type { MachineSet } from '../../node/machines.js';
import { MemoryStorage } from '../../node/storage.js';
import type { Effect } from '../../protocol/effects.js';
import type { Ballot, NodeId } from '../../protocol/ids.js';
import { formatBallot, quorumSize } from '../../protocol/ids.js';
import type { AcceptedEntry, Entry, PeerMessage } from '../../protocol/messages.js';
import { entryKey } from '../../protocol/messages.js';
import { SeededRandom } from '../../protocol/random.js';
import { FIRST_CLIENT_ID, SIM_TIMINGS } from '../cluster.js';
import { emptyRecord, recordAcceptance } from '../record.js';
import type { RunRecord } from '../record.js';
import { range } from '../scenario.js';
import { VirtualScheduler } from '../scheduler.js';
import type { MessagePattern } from './parse.js';

/** The one simulated client of a script: it sends `submit` commands and hears the replies. */
export const SCRIPT_CLIENT_ID = FIRST_CLIENT_ID;

export interface ScriptClusterOptions {
  readonly nodes: number;
  readonly seed: number;
  /** Every message takes a delay drawn from [min, max] ms (min = max: a fixed delay, no jitter). */
  readonly delayMs: readonly [number, number];
  readonly fsyncMs: number;
  /** Election timeout range per node (index 0 is node 1), or one range for every node. */
  readonly timeoutsMs: readonly (readonly [number, number])[];
  readonly machines?: MachineSet;
  /** Base timings (default: the simulator's); election timeouts come from `timeoutsMs`. */
  readonly timings?: NodeTimings;
  /** Receives one line per notable event, already prefixed with the virtual time. */
  readonly onEvent?: (line: string) => void;
}

/** A drop rule; `once` rules go after their first victim. */
interface DropRule {
  readonly pattern: MessagePattern;
  readonly once: boolean;
}

/** What the script's client heard about a command. */
export interface ClientOutcome {
  readonly ok: boolean;
  readonly slot: number | undefined;
  readonly from: NodeId;
}

/** A log entry as scripts name it: its command ids joined by `+`, or `noop`. */
export function entryName(entry: Entry): string {
  return entry.commands.length === 0 ? 'noop' : entry.commands.map((c) => c.id).join('+');
}

/** One line for a message, as the transcript shows it. */
export function describeMessage(msg: PeerMessage): string {
  switch (msg.type) {
    case 'AcceptRequest':
      return `AcceptRequest ${formatBallot(msg.ballot)} slots ${msg.fromSlot}..${msg.fromSlot + msg.entries.length - 1} [${msg.entries.map(entryName).join(' ')}]`;
    case 'AcceptedReply':
      return `AcceptedReply ${formatBallot(msg.ballot)} slots ${msg.fromSlot}..${msg.toSlot}`;
    case 'PrepareRequest':
      return `PrepareRequest ${formatBallot(msg.ballot)} from slot ${msg.fromSlot}`;
    case 'PromiseReply':
      return `PromiseReply ${formatBallot(msg.ballot)} [${msg.accepted.map((a) => `${a.slot}=${entryName(a.entry)}@${formatBallot(a.ballot)}`).join(' ')}]`;
    case 'RejectReply':
      return `RejectReply ${formatBallot(msg.ballot)} promised ${formatBallot(msg.promised)}`;
    case 'CommitNotice':
      return `CommitNotice ${formatBallot(msg.ballot)} up to ${msg.commitSlot}`;
    case 'LearnRequest':
      return `LearnRequest from slot ${msg.fromSlot}`;
    case 'LearnReply':
      return `LearnReply slots ${msg.fromSlot}..${msg.fromSlot + msg.entries.length - 1}`;
    case 'PreVoteRequest':
    case 'VoteRequest':
      return `${msg.type} epoch ${msg.epoch} log ${msg.lastLog.epoch}/${msg.lastLog.slot}`;
    case 'PreVoteReply':
    case 'VoteReply':
      return `${msg.type} epoch ${msg.epoch} ${msg.granted ? 'granted' : 'denied'}`;
    case 'Heartbeat':
    case 'HeartbeatReply':
      return `${msg.type} epoch ${msg.epoch}`;
    case 'ClientRequest':
      return `ClientRequest ${msg.command.id}`;
    case 'ClientReply':
      return `ClientReply ${msg.commandId} ${msg.ok ? 'ok' : 'refused'}`;
    default:
      return msg.type;
  }
}

/** Whether `msg` is about `slot` (for slot-scoped drop rules). */
function concernsSlot(msg: PeerMessage, slot: number): boolean {
  switch (msg.type) {
    case 'AcceptRequest':
      return slot >= msg.fromSlot && slot < msg.fromSlot + msg.entries.length;
    case 'AcceptedReply':
      return slot >= msg.fromSlot && slot <= msg.toSlot;
    case 'PromiseReply':
      return msg.accepted.some((a) => a.slot === slot);
    case 'CommitNotice':
      return msg.commitSlot >= slot;
    case 'LearnReply':
      return slot >= msg.fromSlot && slot < msg.fromSlot + msg.entries.length;
    default:
      return false;
  }
}

/** Whether a drop rule's pattern matches a message on its way. */
export function matchesPattern(pattern: MessagePattern, env: Envelope<PeerMessage>): boolean {
  if (pattern.type !== '*' && pattern.type !== env.msg.type) return false;
  if (pattern.from !== undefined && pattern.from !== env.from) return false;
  if (pattern.to !== undefined && pattern.to !== env.to) return false;
  return pattern.slot === undefined || concernsSlot(env.msg, pattern.slot);
}

/**
 * The network a script sees: a MemoryBus for delivery times, plus the script's partitions and drop
 * rules, applied when a message is sent and again when it arrives (a partition that began while it
 * was in flight). It counts messages in flight so `deliver all` knows when the network is quiet.
 */
class ScriptNetwork implements Bus<PeerMessage> {
  private readonly inner: MemoryBus<PeerMessage>;
  private group = new Map<NodeId, number>();
  private rules: DropRule[] = [];
  inFlight = 0;
  trace = false;

  constructor(
    scheduler: VirtualScheduler,
    seed: number,
    delayMs: readonly [number, number],
    private readonly report: (line: string) => void,
  ) {
    this.inner = new MemoryBus(scheduler, new SeededRandom(seed), { dropRate: 0, duplicateRate: 0, minDelayMs: delayMs[0], maxDelayMs: delayMs[1] });
    // Counted at the bus, not at a subscriber: a message to a crashed node arrives all the same.
    this.inner.observer = { onDeliver: () => this.inFlight-- };
  }

  send(env: Envelope<PeerMessage>): void {
    if (this.isCut(env.from, env.to)) {
      this.noteDrop(env, 'partition');
      return;
    }
    const rule = this.rules.find((r) => matchesPattern(r.pattern, env));
    if (rule !== undefined) {
      if (rule.once) this.rules = this.rules.filter((r) => r !== rule);
      this.noteDrop(env, rule.once ? 'dropped once' : 'dropped');
      return;
    }
    this.inFlight++;
    this.inner.send(env);
  }

  inbox(node: NodeId): Observable<Envelope<PeerMessage>> {
    return this.inner.inbox(node).pipe(
      filter((env) => {
        if (this.isCut(env.from, env.to)) {
          this.noteDrop(env, 'partition, in flight');
          return false;
        }
        if (this.trace && !isClientTraffic(env.msg)) this.report(`n${env.from} -> n${env.to} ${describeMessage(env.msg)}`);
        return true;
      }),
    );
  }

  close(): void {
    this.inner.close();
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.group = new Map();
    groups.forEach((g, i) => g.forEach((n) => this.group.set(n, i)));
  }

  heal(): void {
    this.group = new Map();
  }

  addRule(rule: DropRule): void {
    this.rules.push(rule);
  }

  clearRules(): void {
    this.rules = [];
  }

  /** Nodes in different groups cannot reach each other; a node talking to itself always can. */
  private isCut(a: NodeId, b: NodeId): boolean {
    if (a === b) return false;
    const ga = this.group.get(a);
    const gb = this.group.get(b);
    return ga !== undefined && gb !== undefined && ga !== gb;
  }

  /** Only drops a rule chose are worth a line; partition losses would drown the transcript. */
  private noteDrop(env: Envelope<PeerMessage>, why: string): void {
    if (why.startsWith('partition') && !this.trace) return;
    this.report(`${why}: n${env.from} -> n${env.to} ${describeMessage(env.msg)}`);
  }
}

function isClientTraffic(msg: PeerMessage): boolean {
  return msg.type === 'ClientRequest' || msg.type === 'ClientReply';
}

/**
 * A cluster of `nodes` voters (ids 1..n) on virtual time, started at once. Faults happen only when
 * the script asks; the RunRecord it fills is the simulator's, so the named invariants apply.
 */
export class ScriptCluster {
  readonly scheduler = new VirtualScheduler();
  readonly record: RunRecord;
  readonly nodeIds: readonly NodeId[];
  /** Grants each voter sent, per epoch: voter -> epoch -> candidates it granted. */
  readonly votes = new Map<NodeId, Map<number, Set<NodeId>>>();
  /** What the client heard, by command id (the first ok reply wins). */
  readonly outcomes = new Map<string, ClientOutcome>();
  private readonly network: ScriptNetwork;
  private readonly nodes = new Map<NodeId, ConsensusNode | undefined>();
  private readonly storages = new Map<NodeId, MemoryStorage>();
  private readonly incarnation = new Map<NodeId, number>();
  private readonly startAfter = new Map<NodeId, number>();
  private readonly timeouts = new Map<NodeId, readonly [number, number]>();
  private readonly lastRole = new Map<NodeId, string>();
  private readonly machines: MachineSet;
  private readonly timings: NodeTimings;
  private readonly observer: NodeObserver;

  constructor(private readonly options: ScriptClusterOptions) {
    this.nodeIds = range(options.nodes);
    this.machines = options.machines ?? defaultMachines;
    this.timings = options.timings ?? SIM_TIMINGS;
    this.record = emptyRecord(options.nodes, quorumSize(options.nodes), false);
    this.network = new ScriptNetwork(this.scheduler, options.seed, options.delayMs, (line) => this.report(line));
    this.observer = this.makeObserver();
    this.network.inbox(SCRIPT_CLIENT_ID).subscribe((env) => this.onClientMessage(env));
    for (const id of this.nodeIds) {
      const range = options.timeoutsMs.length === 1 ? options.timeoutsMs[0] : options.timeoutsMs[id - 1];
      this.timeouts.set(id, range ?? [this.timings.electionTimeoutMinMs, this.timings.electionTimeoutMaxMs]);
      this.storages.set(id, new MemoryStorage(this.scheduler.clock, options.fsyncMs));
      this.incarnation.set(id, 0);
      this.record.applies.set(id, []);
    }
    for (const id of this.nodeIds) this.startNode(id);
  }

  now(): number {
    return this.scheduler.now();
  }

  node(id: NodeId): ConsensusNode | undefined {
    return this.nodes.get(id);
  }

  isUp(id: NodeId): boolean {
    return this.nodes.get(id) !== undefined;
  }

  set trace(on: boolean) {
    this.network.trace = on;
  }

  /** Advance virtual time by `ms`, delivering and firing everything due. */
  tick(ms: number): void {
    this.scheduler.runUntil(this.scheduler.now() + ms);
  }

  /**
   * Run until the network is quiet (true), or give up after `maxMs` of virtual time (false). Quiet:
   * no message in flight and no store with unsynced writes, since a node holds back the sends that
   * depend on a write until it is durable.
   */
  deliverAll(maxMs: number): boolean {
    const quiet = () => this.network.inFlight === 0 && [...this.storages.values()].every((s) => !s.dirty);
    if (quiet()) return true;
    this.scheduler.runUntil(this.scheduler.now() + maxMs, quiet);
    return quiet();
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.network.partition(groups);
  }

  heal(): void {
    this.network.heal();
  }

  drop(pattern: MessagePattern, once: boolean): void {
    this.network.addRule({ pattern, once });
  }

  undropAll(): void {
    this.network.clearRules();
  }

  /** Stop a node; only what its store had made durable survives. */
  crash(id: NodeId): void {
    this.requireNode(id);
    const node = this.nodes.get(id);
    if (node === undefined) return;
    node.stop();
    this.storages.get(id)!.crash();
    this.nodes.set(id, undefined);
    this.lastRole.delete(id);
  }

  /** A node that lost its disk as well; it rejoins by recovering from the others when restarted. */
  wipe(id: NodeId): void {
    this.crash(id);
    this.storages.get(id)!.wipe();
  }

  restart(id: NodeId): void {
    this.requireNode(id);
    if (this.isUp(id)) throw new Error(`n${id} is already running`);
    this.incarnation.set(id, this.incarnation.get(id)! + 1);
    this.startNode(id);
  }

  /** Election timeouts for `id` from its next start on. */
  setTimeouts(id: NodeId, rangeMs: readonly [number, number]): void {
    this.requireNode(id);
    this.timeouts.set(id, rangeMs);
  }

  /** The highest-epoch node that believes it leads, if any (ties: the lowest id). */
  leader(): { node: NodeId; epoch: number } | undefined {
    let best: { node: NodeId; epoch: number } | undefined;
    for (const [id, node] of this.nodes) {
      if (node?.role !== 'leader') continue;
      if (best === undefined || node.epoch > best.epoch) best = { node: id, epoch: node.epoch };
    }
    return best;
  }

  /** Every node that believes it leads, with its epoch. */
  leaders(): { node: NodeId; epoch: number }[] {
    const out: { node: NodeId; epoch: number }[] = [];
    for (const [id, node] of this.nodes) if (node?.role === 'leader') out.push({ node: id, epoch: node.epoch });
    return out;
  }

  /** Send `id` as a client command to `to` (default: the current leader). Returns the target. */
  submit(id: string, payload: string, to?: NodeId): NodeId {
    const target = to ?? this.leader()?.node;
    if (target === undefined) throw new Error('no leader to submit to');
    this.requireNode(target);
    const command = { id, payload };
    this.record.submitted.set(id, command);
    this.network.send({ from: SCRIPT_CLIENT_ID, to: target, msg: { type: 'ClientRequest', command } });
    return target;
  }

  /** The acceptor's entry at `slot` on node `id` (undefined: none, or the node is down). */
  acceptedAt(id: NodeId, slot: number): AcceptedEntry | undefined {
    const context = (this.nodes.get(id)?.snapshots().acceptor as { context?: { accepted?: Map<number, AcceptedEntry> } } | undefined)?.context;
    return context?.accepted?.get(slot);
  }

  promisedBy(id: NodeId): Ballot | undefined {
    const context = (this.nodes.get(id)?.snapshots().acceptor as { context?: { promised?: Ballot } } | undefined)?.context;
    return context?.promised;
  }

  /** Up nodes' learned logs, for the invariants that compare final logs. */
  collectFinalLogs(): void {
    this.record.finalLogs.clear();
    for (const [id, node] of this.nodes) if (node !== undefined) this.record.finalLogs.set(id, node.learnedLog.map(entryKey));
    this.record.endMs = this.scheduler.now();
  }

  private requireNode(id: NodeId): void {
    if (!this.nodeIds.includes(id)) throw new Error(`there is no node n${id}`);
  }

  private startNode(id: NodeId): void {
    const [min, max] = this.timeouts.get(id)!;
    const node = new ConsensusNode({
      id,
      voters: this.nodeIds,
      members: this.nodeIds,
      bus: this.network,
      clock: this.scheduler.clock,
      now: () => this.scheduler.now(),
      storage: this.storages.get(id)!,
      timings: { ...this.timings, electionTimeoutMinMs: min, electionTimeoutMaxMs: max },
      seed: (this.options.seed * 31 + id * 7919 + this.incarnation.get(id)! * 104729) | 0,
      machines: this.machines,
      observer: this.observer,
      rejoin: this.storages.get(id)!.lostDisk,
    });
    this.nodes.set(id, node);
    this.startAfter.set(id, node.appliedSlot);
    node.start();
  }

  private report(line: string): void {
    this.options.onEvent?.(`${formatTime(this.scheduler.now())}  ${line}`);
  }

  private makeObserver(): NodeObserver {
    const record = this.record;
    const now = () => this.scheduler.now();
    return {
      onEffect: (node: NodeId, _machine, effect: Effect) => {
        switch (effect.type) {
          case 'roleChanged': {
            if (effect.role === 'leader') record.leaders.push({ epoch: effect.epoch, node, atMs: now() });
            // A follower re-announces itself on every heartbeat: report changes only.
            const leader = effect.leader === null ? 'no leader' : `leader n${effect.leader}`;
            const state = `${effect.role} at epoch ${effect.epoch}, ${leader}`;
            if (this.lastRole.get(node) !== state) {
              this.lastRole.set(node, state);
              this.report(`n${node} is ${state}`);
            }
            break;
          }
          case 'proposerActive':
            record.activations.push({ node, ballot: effect.ballot, baseSlot: effect.baseSlot, adoptedKeys: effect.adopted.map(entryKey), atMs: now() });
            this.report(`n${node} proposes as ${formatBallot(effect.ballot)} above slot ${effect.baseSlot}, adopting [${effect.adopted.map(entryName).join(' ')}]`);
            break;
          case 'preempted':
            this.report(`n${node} preempted: ${formatBallot(effect.ballot)} refused, ${formatBallot(effect.promised)} promised`);
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
            this.report(`n${node} applies slot ${effect.slot}: ${entryName(effect.entry)}`);
            break;
          }
          case 'recovered':
            this.report(`n${node} recovered its acceptor state (peers at epoch ${effect.epoch})`);
            break;
          default:
            break;
        }
      },
      // A reply counts once it leaves, which is after what it acknowledges was made durable.
      onSent: (node, effect, cause) => {
        const msg = effect.msg;
        if (msg.type === 'VoteReply' && msg.granted && typeof effect.to === 'number') {
          let byEpoch = this.votes.get(node);
          if (byEpoch === undefined) this.votes.set(node, (byEpoch = new Map()));
          let granted = byEpoch.get(msg.epoch);
          if (granted === undefined) byEpoch.set(msg.epoch, (granted = new Set()));
          granted.add(effect.to);
        }
        if (msg.type === 'AcceptedReply') {
          const req = cause as { type?: string; ballot: Ballot; fromSlot: number; entries: readonly Entry[] } | undefined;
          if (req?.type !== 'AcceptRequest') return;
          for (let i = 0; i < req.entries.length; i++) recordAcceptance(record, node, req.fromSlot + i, req.ballot, req.entries[i]!, now());
        }
      },
    };
  }

  private onClientMessage(env: Envelope<PeerMessage>): void {
    const msg = env.msg;
    if (msg.type !== 'ClientReply') return;
    if (msg.ok) {
      this.report(`client <- n${env.from}: ${msg.commandId} ok at slot ${msg.slot ?? '?'}`);
      if (!this.outcomes.get(msg.commandId)?.ok) this.outcomes.set(msg.commandId, { ok: true, slot: msg.slot, from: env.from });
      if (!this.record.acked.has(msg.commandId)) this.record.acked.set(msg.commandId, { atMs: this.scheduler.now(), slot: msg.slot ?? 0 });
    } else {
      const hint = msg.leaderHint === undefined || msg.leaderHint === null ? 'no leader known' : `try n${msg.leaderHint}`;
      this.report(`client <- n${env.from}: ${msg.commandId} refused (${hint})`);
      if (!this.outcomes.has(msg.commandId)) this.outcomes.set(msg.commandId, { ok: false, slot: undefined, from: env.from });
    }
  }
}

/** Virtual time as the transcript prints it: ms, one decimal only when needed. */
export function formatTime(ms: number): string {
  const rounded = Math.round(ms * 10) / 10;
  return `t=${(Number.isInteger(rounded) ? String(rounded) : rounded.toFixed(1)).padStart(6)}`;
}
