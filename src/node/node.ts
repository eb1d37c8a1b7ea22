/**
 * One statekeeper server: wires the role machines to a bus and a store, and performs their effects.
 *
 * The node is the only place where machines meet the world. It routes each inbound message to the
 * machine that owns it, applies the shared prelude (a higher epoch seen anywhere moves the election
 * to it), and performs effects in order — holding every send that follows a write until the store
 * says the write is durable (fsync before ack).
 */
import { createActor } from 'xstate';
import type { Actor } from 'xstate';
import type { Subscription } from 'rxjs';
import type { Bus, Envelope } from '../bus/types.js';
import type { Effect, Role, SendEffect } from '../protocol/effects.js';
import type { Ballot, NodeId, Slot } from '../protocol/ids.js';
import type { AcceptedEntry, Command, Entry, LogPosition, PeerMessage } from '../protocol/messages.js';
import { messageEpoch } from '../protocol/messages.js';
import { SeededRandom } from '../protocol/random.js';
import type { ConsensusStorage, NodeSnapshot } from './storage.js';
import { decodeNodeSnapshot, MAX_SNAPSHOT_TRANSFER_BYTES, nodeSnapshotHeader } from './snapshot.js';
import type { NodeSnapshotContent, SnapshotPolicy } from './snapshot.js';
import type { ProposerTimings } from '../../machines/proposer/machine.js';
import type { ElectionTimings } from '../../machines/election/types.js';
import { defaultMachines } from './machines.js';
import type { MachineSet } from './machines.js';

/** XState's clock contract: the simulator gives virtual time, a real node the system timers. */
export interface Clock {
  setTimeout(fn: (...args: any[]) => void, timeoutMs: number): any;
  clearTimeout(id: any): void;
}

export type MachineName = 'election' | 'acceptor' | 'learner' | 'proposer';

export interface NodeTimings extends ElectionTimings, ProposerTimings {
  readonly learnRetryMs: number;
  /** Most entries one LearnReply carries. */
  readonly maxLearnBatchEntries: number;
}

/** The replicated application: fed every chosen command once per node, in log order. */
export interface Application {
  apply(command: Command, at: { slot: Slot; zxidEpoch: number; zxidCounter: number; timeMs: number }): unknown;
  /** Called once per chosen entry after its commands (no-ops included). */
  appliedEntry?(slot: Slot, entry: Entry): void;
  /**
   * Start encoding the application's whole replicated state as it is now; without it the node
   * never snapshots. The node calls `step` until it gives the bytes, possibly across many
   * event-loop turns while it applies further commands, or `cancel`.
   */
  snapshot?(): SnapshotEncoding;
  /** Replace the whole replicated state with what `snapshot` returned (here or on a peer). */
  restore?(state: Uint8Array, slot: Slot): void;
}

/** An application snapshot being encoded; the state it describes was fixed when it started. */
export interface SnapshotEncoding {
  /** Encode one more slice: the bytes once the whole state is encoded (chunks, in order), else null. */
  step(): readonly Uint8Array[] | null;
  /** Give up (the node stopped, or installed a newer state from a peer). */
  cancel(): void;
}

/** Hooks for tracing and checks; absent hooks cost nothing. */
export interface NodeObserver {
  onEffect?(node: NodeId, machine: MachineName, effect: Effect, cause: unknown): void;
  /** A send effect actually left (after any write it depended on became durable). */
  onSent?(node: NodeId, effect: SendEffect, cause: unknown): void;
  onTransition?(node: NodeId, machine: MachineName, state: unknown): void;
  onReply?(node: NodeId, commandId: string, ok: boolean): void;
  /** A non-voter (observer) learned who leads, from that leader's commit notices. */
  onLeaderObserved?(node: NodeId, leader: NodeId, epoch: number): void;
}

export interface NodeOptions {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  /** Voters and observers (non-voting members that learn the commit stream). */
  readonly members: readonly NodeId[];
  readonly bus: Bus<PeerMessage>;
  readonly clock: Clock;
  readonly now: () => number;
  readonly storage: ConsensusStorage;
  readonly timings: NodeTimings;
  /** Seed of this node's election jitter. */
  readonly seed: number;
  readonly machines?: MachineSet;
  readonly application?: Application;
  readonly observer?: NodeObserver;
  /**
   * This voter lost its disk and is rejoining: it recovers its acceptor state from a majority of
   * the others, and takes part in elections only after that (never voting in an epoch it may
   * already have voted in).
   */
  readonly rejoin?: boolean;
  /** Messages the consensus layer does not own (client replies, service messages) go here. */
  readonly onMessage?: (env: Envelope<PeerMessage>) => void;
  /** When to snapshot the application and compact the logs; absent: never. */
  readonly snapshots?: SnapshotPolicy;
  /** A snapshot from a peer could not be used (malformed); the transfer is dropped and retried. */
  readonly onBadSnapshot?: (from: NodeId, reason: string) => void;
  /**
   * Hand client commands to the proposer in batches: commands submitted until `deliver` is called
   * back (a real node defers it to the end of the event-loop turn) reach it as one Submit event
   * instead of one event each. Absent (the simulator), every submit is delivered at once.
   */
  readonly batchSubmits?: (deliver: () => void) => void;
  /**
   * Run the next step of a snapshot encoding later, so the node keeps serving between steps (a
   * real node: setImmediate, after pending I/O). Absent, the whole encoding runs at once.
   */
  readonly snapshotSteps?: (next: () => void) => void;
}

/** A snapshot arriving from a peer, chunk by chunk. */
interface IncomingSnapshot {
  readonly from: NodeId;
  readonly slot: Slot;
  readonly bytes: Uint8Array;
  received: number;
  /** Learner retries that asked for the next chunk since the last chunk arrived. */
  unansweredAsks: number;
}

/**
 * A transfer whose sender has not answered this many learner retries in a row is dropped, and the
 * learner asks as usual again (another member, in turn): the sender may be down for good.
 */
const SNAPSHOT_TRANSFER_STALL_RETRIES = 3;

type AnyActor = Actor<any>;

/** A snapshot being sent is dropped after this many learn retries without a request for it. */
const SNAPSHOT_TRANSFER_IDLE_RETRIES = 20;
/** Bytes of snapshot copied into place per step once its encoding is done. */
const SNAPSHOT_ASSEMBLY_STEP_BYTES = 4 * 1024 * 1024;
/** Most snapshots held for transfers at once (the oldest goes first). */
const MAX_OUTGOING_SNAPSHOTS = 4;

export class ConsensusNode {
  readonly id: NodeId;
  private readonly opts: NodeOptions;
  private readonly machines: MachineSet;
  private readonly isVoter: boolean;
  private readonly memberIds: ReadonlySet<NodeId>;
  private election: AnyActor | undefined;
  private acceptor: AnyActor | undefined;
  private learner: AnyActor;
  private proposer: AnyActor | undefined;
  private proposerActive = false;
  private subscription: Subscription | undefined;
  /** Chosen entries held: learned[i] is at slot learnedBase + i + 1 (earlier ones are in a snapshot). */
  private readonly learned: Entry[];
  private learnedBase: Slot = 0;
  /** Origin epoch of the entry at learnedBase (from the snapshot), for vote log comparisons. */
  private learnedBaseEpoch = 0;
  private zxidEpoch = 0;
  private zxidCounter = 0;
  /** The newest snapshot this node has, served to learners behind its log (durable or not yet). */
  private latestSnapshot: NodeSnapshot | null = null;
  /** The application state of the snapshot recovered from the store, until start() restores it. */
  private recoveredAppState: Uint8Array | undefined;
  /** Newest snapshot known durable here: logs at or below it may be compacted. */
  private durableSnapshotSlot: Slot = 0;
  /** From the start of a snapshot's encoding until it is durable: one snapshot at a time. */
  private snapshotting = false;
  private encoding: SnapshotEncoding | undefined;
  private commandsSinceSnapshot = 0;
  /** Commands after which the next snapshot is taken (see drawSnapshotThreshold). */
  private snapshotThreshold = 0;
  private readonly snapshotRandom: SeededRandom;
  private incoming: IncomingSnapshot | null = null;
  /**
   * Snapshots being sent to learners, by slot, kept until no learner asked for them for a while:
   * a newer snapshot taken meanwhile must not restart a transfer that is under way.
   */
  private readonly outgoing = new Map<Slot, { snapshot: NodeSnapshot; lastAskedMs: number }>();
  /** The learner's last ask for missing entries, and how many times in a row it was the same. */
  private lastLearnAsk = { fromSlot: 0, repeats: 0 };
  /** The latest commit notice: its proposer never sends accepts at or below its commit point. */
  private latestCommit: { ballot: Ballot; commitSlot: Slot } | null = null;
  /** Client commands this node submitted, by id: who to answer once applied, and to which proposer. */
  private readonly waiting = new Map<string, { client: NodeId; proposer: AnyActor }>();
  /** Commands submitted since the last batch went to the proposer (with `batchSubmits`). */
  private submitBatch: Command[] = [];
  /** Sends waiting for the writes they depend on (up to generation `needs`) to become durable. */
  private outbox: { effect: SendEffect; cause: unknown; needs: number }[] = [];
  /** Counts persist effects; a flush started at generation g makes every write up to g durable. */
  private writeGeneration = 0;
  /** Generation of the last election write (epoch, vote): the ballot a proposer uses rests on it. */
  private electionWriteGeneration = 0;
  private durableGeneration = 0;
  private flushing = false;
  private cause: unknown = undefined;
  private stopped = false;
  /** The machines' clock: the given one, plus a flush after every timer-driven step. */
  private readonly clock: Clock;
  role: Role = 'follower';
  epoch = 0;
  leader: NodeId | null = null;

  constructor(opts: NodeOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.machines = opts.machines ?? defaultMachines;
    // Its own stream: snapshot timing must not shift the election jitter drawn from the seed.
    this.snapshotRandom = new SeededRandom((opts.seed ^ 0x2c1b3c6d) | 0);
    this.clock = {
      setTimeout: (fn, timeoutMs) =>
        opts.clock.setTimeout((...args: unknown[]) => {
          fn(...args);
          this.requestFlush();
        }, timeoutMs),
      clearTimeout: (id) => opts.clock.clearTimeout(id),
    };
    this.isVoter = opts.voters.includes(opts.id);
    this.memberIds = new Set(opts.members);
    const durable = opts.storage.load();
    this.learned = durable.learned.slice();
    if (durable.snapshot !== null) {
      const content = decodeNodeSnapshot(durable.snapshot.bytes);
      this.recoveredAppState = content.app;
      this.learnedBase = content.slot;
      this.learnedBaseEpoch = content.lastEpoch;
      this.zxidEpoch = content.zxidEpoch;
      this.zxidCounter = content.zxidCounter;
      this.latestSnapshot = durable.snapshot;
      this.durableSnapshotSlot = content.slot;
    }
    this.epoch = durable.epoch;
    if (this.isVoter) {
      this.acceptor = this.spawn('acceptor', this.machines.acceptor, {
        id: opts.id,
        promised: durable.promised,
        accepted: durable.accepted,
        floor: durable.acceptorFloor,
        voters: opts.voters,
        recovering: opts.rejoin === true && opts.voters.length > 1,
        recoveryRetryMs: opts.timings.retransmitMs,
      });
      if (opts.rejoin !== true || opts.voters.length === 1) this.election = this.spawnElection(durable.epoch, durable.votedFor);
    }
    this.learner = this.spawn('learner', this.machines.learner, {
      id: opts.id,
      appliedSlot: this.learnedBase + this.learned.length,
      learnRetryMs: opts.timings.learnRetryMs,
    });
  }

  /** Rebuild the application from the learned log, start the machines and listen on the bus. */
  start(): void {
    if (this.recoveredAppState !== undefined) {
      const app = this.opts.application;
      if (app?.restore === undefined) throw new Error(`node ${this.id} has a snapshot but its application cannot restore one`);
      app.restore(this.recoveredAppState, this.learnedBase);
      this.recoveredAppState = undefined;
    }
    for (let i = 0; i < this.learned.length; i++) this.applyToApplication(this.learnedBase + i + 1, this.learned[i]!, false);
    this.acceptor?.start();
    this.learner.start();
    this.election?.start();
    this.subscription = this.opts.bus.inbox(this.id).subscribe((env) => this.receive(env));
    this.requestFlush();
  }

  /** Stop everything (a crash, in the simulator: nothing volatile survives). */
  stop(): void {
    this.stopped = true;
    this.cancelEncoding();
    this.subscription?.unsubscribe();
    this.proposer?.stop();
    this.election?.stop();
    this.learner.stop();
    this.acceptor?.stop();
  }

  get appliedSlot(): Slot {
    return this.learnedBase + this.learned.length;
  }
  /** The chosen entries this node still holds, from slot {@link learnedFrom} on. */
  get learnedLog(): readonly Entry[] {
    return this.learned;
  }
  /** Slot of learnedLog[0]: every earlier slot is covered by a snapshot. */
  get learnedFrom(): Slot {
    return this.learnedBase + 1;
  }
  /** Slot of the newest snapshot this node holds (0: none). */
  get snapshotSlot(): Slot {
    return this.latestSnapshot?.slot ?? 0;
  }
  get isActiveLeader(): boolean {
    return this.proposerActive;
  }
  /** Send a message to another node (or this one) over the node's bus. */
  sendTo(to: NodeId, msg: PeerMessage): void {
    this.sendNow({ type: 'send', to, msg });
  }
  /** Snapshots of the role machines, for inspection. */
  snapshots(): Partial<Record<MachineName, unknown>> {
    return {
      election: this.election?.getSnapshot(),
      acceptor: this.acceptor?.getSnapshot(),
      learner: this.learner.getSnapshot(),
      proposer: this.proposer?.getSnapshot(),
    };
  }

  /** Submit commands as if a client had sent them here; answers go to `replyTo` over the bus. */
  submit(commands: readonly Command[], replyTo: NodeId): boolean {
    const proposer = this.proposer;
    if (proposer === undefined) return false;
    // A client that retries while its command is still queued here must not get it proposed twice.
    const fresh = commands.filter((c) => this.waiting.get(c.id)?.proposer !== proposer);
    for (const c of commands) this.waiting.set(c.id, { client: replyTo, proposer });
    if (fresh.length === 0) return true;
    const batchSubmits = this.opts.batchSubmits;
    if (batchSubmits === undefined) {
      this.deliver('proposer', proposer, { type: 'Submit', commands: fresh, nowMs: this.opts.now() });
      return true;
    }
    for (const c of fresh) this.submitBatch.push(c);
    if (this.submitBatch.length === fresh.length) batchSubmits(() => this.deliverSubmitBatch());
    return true;
  }

  /**
   * Commands reach the proposer they were submitted to; those submitted to one that is gone since
   * are dropped, as when a proposer is replaced with commands in its queue: their submitters retry.
   */
  private deliverSubmitBatch(): void {
    const batch = this.submitBatch;
    this.submitBatch = [];
    const proposer = this.proposer;
    if (this.stopped || proposer === undefined) return;
    const commands = batch.filter((c) => this.waiting.get(c.id)?.proposer === proposer);
    if (commands.length > 0) this.deliver('proposer', proposer, { type: 'Submit', commands, nowMs: this.opts.now() });
  }

  receive(env: Envelope<PeerMessage>): void {
    if (this.stopped) return;
    const msg = env.msg;
    const from = env.from;
    const epoch = messageEpoch(msg);
    if (epoch !== undefined && this.election !== undefined && epoch > this.epoch) {
      // The shared prelude for replication messages (election messages run it inside the machine).
      if (!isElectionMessage(msg.type)) this.deliver('election', this.election, { type: 'ObservedEpoch', epoch });
    }
    switch (msg.type) {
      case 'PreVoteRequest':
      case 'VoteRequest':
        if (this.election) this.deliver('election', this.election, { ...msg, from, localLog: this.localLog() });
        break;
      case 'PreVoteReply':
      case 'VoteReply':
      case 'Heartbeat':
      case 'HeartbeatReply':
        if (this.election) this.deliver('election', this.election, { ...msg, from });
        break;
      case 'PrepareRequest':
      case 'AcceptRequest':
        if (this.acceptor) this.deliver('acceptor', this.acceptor, { ...msg, from });
        break;
      case 'PromiseReply':
      case 'AcceptedReply':
      case 'RejectReply':
        if (this.proposer) this.deliver('proposer', this.proposer, { ...msg, from });
        break;
      case 'CommitNotice':
        // An observer has no election: the proposer of the newest commit notice is its leader.
        if (!this.isVoter && msg.ballot.epoch >= this.epoch && (this.leader !== from || this.epoch !== msg.ballot.epoch)) {
          this.leader = from;
          this.epoch = msg.ballot.epoch;
          this.opts.observer?.onLeaderObserved?.(this.id, from, msg.ballot.epoch);
        }
        this.latestCommit = { ballot: msg.ballot, commitSlot: msg.commitSlot };
        this.deliver('learner', this.learner, { ...msg, from, local: this.localEntries(msg.commitSlot) });
        this.compactAcceptor();
        break;
      case 'SnapshotChunk':
        this.receiveChunk(from, msg.slot, msg.totalBytes, msg.offset, msg.bytes);
        break;
      case 'SnapshotChunkRequest':
        this.answerChunkRequest(from, msg.slot, msg.offset);
        break;
      case 'LearnReply':
        this.deliver('learner', this.learner, { ...msg, from });
        break;
      case 'LearnRequest':
        this.answerLearnRequest(from, msg.fromSlot);
        break;
      case 'RecoveryRequest':
        if (this.acceptor) this.deliver('acceptor', this.acceptor, { type: 'RecoveryRequest', from, epoch: this.epoch });
        break;
      case 'RecoveryReply':
        if (this.acceptor) this.deliver('acceptor', this.acceptor, { ...msg, from });
        break;
      case 'ClientRequest':
        if (!this.submit([msg.command], from)) {
          this.sendNow({ type: 'send', to: from, msg: { type: 'ClientReply', commandId: msg.command.id, ok: false, leaderHint: this.leader } });
        }
        break;
      case 'ClientReply':
      case 'SessionTouch':
        this.opts.onMessage?.(env);
        break;
    }
  }

  private spawnElection(epoch: number, votedFor: NodeId | null): AnyActor {
    return this.spawn('election', this.machines.election, {
      id: this.id,
      voters: this.opts.voters,
      timings: this.opts.timings,
      seed: this.opts.seed,
      epoch,
      votedFor,
    });
  }

  private spawn(name: MachineName, machine: any, input: unknown): AnyActor {
    const actor = createActor(machine, { input, clock: this.clock });
    actor.on('*', (effect) => this.perform(name, effect as Effect));
    const observer = this.opts.observer;
    if (observer?.onTransition) actor.subscribe((s: any) => observer.onTransition!(this.id, name, s.value));
    return actor;
  }

  private deliver(name: MachineName, actor: AnyActor, event: unknown): void {
    const previous = this.cause;
    this.cause = event;
    actor.send(event as never);
    this.cause = previous;
    this.requestFlush();
  }

  private localLog(): LogPosition {
    const fromAcceptor = this.acceptor?.getSnapshot().context.lastLog as LogPosition | undefined;
    const learnedSlot = this.appliedSlot;
    const learnedEpoch = this.learned.length > 0 ? this.learned[this.learned.length - 1]!.origin.epoch : this.learnedBaseEpoch;
    if (fromAcceptor === undefined) return { epoch: learnedEpoch, slot: learnedSlot };
    return fromAcceptor.epoch > learnedEpoch || (fromAcceptor.epoch === learnedEpoch && fromAcceptor.slot > learnedSlot)
      ? fromAcceptor
      : { epoch: learnedEpoch, slot: Math.max(learnedSlot, fromAcceptor.slot) };
  }

  /** The local acceptor's entries from the next unapplied slot up to `commitSlot` (bounded). */
  private localEntries(commitSlot: Slot): (AcceptedEntry | undefined)[] {
    const accepted = this.acceptor?.getSnapshot().context.accepted as Map<Slot, AcceptedEntry> | undefined;
    if (accepted === undefined) return [];
    const applied: Slot = this.learner.getSnapshot().context.appliedSlot;
    const last = Math.min(commitSlot, applied + this.opts.timings.maxLearnBatchEntries);
    const out: (AcceptedEntry | undefined)[] = [];
    for (let slot = applied + 1; slot <= last; slot++) out.push(accepted.get(slot));
    return out;
  }

  private answerLearnRequest(to: NodeId, fromSlot: Slot): void {
    if (fromSlot < 1 || fromSlot > this.appliedSlot) return;
    if (fromSlot <= this.learnedBase) {
      // Compacted away here: the learner gets the snapshot instead, one chunk per request.
      if (this.latestSnapshot !== null) this.sendChunk(to, this.latestSnapshot, 0);
      return;
    }
    const start = fromSlot - this.learnedBase - 1;
    const entries = this.learned.slice(start, start + this.opts.timings.maxLearnBatchEntries);
    this.sendNow({ type: 'send', to, msg: { type: 'LearnReply', fromSlot, entries } });
  }

  /**
   * The learner asks the node it believes has the missing slots; when the same ask goes unanswered,
   * the node asks the other members in turn. The believed holder may not have them: a voter that
   * rebuilt its acceptor from peers reports their compaction floor without holding the slots.
   */
  private learnAskTarget(effect: SendEffect, fromSlot: Slot): SendEffect {
    const ask = this.lastLearnAsk;
    ask.repeats = ask.fromSlot === fromSlot ? ask.repeats + 1 : 0;
    ask.fromSlot = fromSlot;
    if (ask.repeats === 0) return effect;
    const others = this.opts.members.filter((m) => m !== this.id);
    if (others.length === 0) return effect;
    return { ...effect, to: others[ask.repeats % others.length]! };
  }

  // ---------------------------------------------------------------- snapshots and compaction

  private sendChunk(to: NodeId, snapshot: NodeSnapshot, offset: number): void {
    const now = this.opts.now();
    const idleMs = this.opts.timings.learnRetryMs * SNAPSHOT_TRANSFER_IDLE_RETRIES;
    for (const [slot, held] of this.outgoing) if (now - held.lastAskedMs > idleMs) this.outgoing.delete(slot);
    if (!this.outgoing.has(snapshot.slot) && this.outgoing.size >= MAX_OUTGOING_SNAPSHOTS) {
      const oldest = Math.min(...this.outgoing.keys());
      this.outgoing.delete(oldest);
    }
    this.outgoing.set(snapshot.slot, { snapshot, lastAskedMs: now });
    const chunkBytes = this.opts.snapshots?.chunkBytes ?? 256 * 1024;
    const bytes = snapshot.bytes.subarray(offset, offset + chunkBytes);
    this.sendNow({ type: 'send', to, msg: { type: 'SnapshotChunk', slot: snapshot.slot, totalBytes: snapshot.bytes.length, offset, bytes } });
  }

  private answerChunkRequest(to: NodeId, slot: Slot, offset: number): void {
    const snapshot = this.outgoing.get(slot)?.snapshot ?? (this.latestSnapshot?.slot === slot ? this.latestSnapshot : null);
    if (snapshot !== null) {
      if (Number.isSafeInteger(offset) && offset >= 0 && offset < snapshot.bytes.length) this.sendChunk(to, snapshot, offset);
    } else if (this.latestSnapshot !== null && this.latestSnapshot.slot > slot) {
      // The snapshot being fetched is no longer held here: start the newest one over.
      this.sendChunk(to, this.latestSnapshot, 0);
    }
  }

  private receiveChunk(from: NodeId, slot: Slot, totalBytes: number, offset: number, bytes: Uint8Array): void {
    if (slot <= this.appliedSlot) {
      if (this.incoming !== null && this.incoming.slot <= this.appliedSlot) this.incoming = null;
      return;
    }
    if (!Number.isSafeInteger(totalBytes) || totalBytes <= 0 || totalBytes > MAX_SNAPSHOT_TRANSFER_BYTES) return;
    let incoming = this.incoming;
    if (incoming === null || incoming.from !== from || incoming.slot !== slot || incoming.bytes.length !== totalBytes) {
      if (offset !== 0) return;
      incoming = { from, slot, bytes: new Uint8Array(totalBytes), received: 0, unansweredAsks: 0 };
      this.incoming = incoming;
    }
    // Pulled one chunk at a time: anything but the next piece is a duplicate or a straggler.
    if (offset !== incoming.received || bytes.length === 0 || offset + bytes.length > totalBytes) return;
    incoming.bytes.set(bytes, offset);
    incoming.received += bytes.length;
    incoming.unansweredAsks = 0;
    if (incoming.received < totalBytes) {
      this.sendNow({ type: 'send', to: from, msg: { type: 'SnapshotChunkRequest', slot, offset: incoming.received } });
      return;
    }
    this.incoming = null;
    this.installSnapshot(from, { slot, bytes: incoming.bytes });
  }

  /** Replace the application and the learned log with a peer's snapshot, ahead of this node. */
  private installSnapshot(from: NodeId, snapshot: NodeSnapshot): void {
    const app = this.opts.application;
    let content;
    try {
      content = decodeNodeSnapshot(snapshot.bytes);
      if (content.slot !== snapshot.slot) throw new RangeError(`snapshot says slot ${content.slot}, its chunks said ${snapshot.slot}`);
      if (app?.restore === undefined) throw new RangeError('this node has no application that can restore a snapshot');
      app.restore(content.app, content.slot);
    } catch (error) {
      this.opts.onBadSnapshot?.(from, error instanceof Error ? error.message : String(error));
      return;
    }
    this.cancelEncoding();
    this.learned.length = 0;
    this.learnedBase = content.slot;
    this.learnedBaseEpoch = content.lastEpoch;
    this.zxidEpoch = content.zxidEpoch;
    this.zxidCounter = content.zxidCounter;
    this.latestSnapshot = snapshot;
    this.commandsSinceSnapshot = 0;
    // Commands the snapshot covers were applied without a reply here: forget them, so a client's
    // retry is proposed afresh rather than waiting for a reply that will never come.
    this.waiting.clear();
    this.opts.storage.installSnapshot(snapshot, () => this.snapshotDurable(snapshot.slot, false));
    this.deliver('learner', this.learner, { type: 'SnapshotInstalled', slot: content.slot });
  }

  /** Snapshot the application once enough commands were applied since the last snapshot. */
  private maybeSnapshot(): void {
    const policy = this.opts.snapshots;
    const app = this.opts.application;
    if (policy === undefined || app?.snapshot === undefined || this.snapshotting) return;
    if (this.snapshotThreshold === 0) this.snapshotThreshold = this.drawSnapshotThreshold(policy.everyCommands);
    if (this.commandsSinceSnapshot < this.snapshotThreshold) return;
    this.snapshotThreshold = this.drawSnapshotThreshold(policy.everyCommands);
    const slot = this.appliedSlot;
    const lastEpoch = this.learned.length > 0 ? this.learned[this.learned.length - 1]!.origin.epoch : this.learnedBaseEpoch;
    const position = { slot, lastEpoch, zxidEpoch: this.zxidEpoch, zxidCounter: this.zxidCounter };
    this.snapshotting = true;
    this.commandsSinceSnapshot = 0;
    this.encoding = app.snapshot();
    this.encodeSnapshot(position, this.encoding);
  }

  /**
   * Somewhere in [everyCommands / 2, everyCommands], drawn anew for every snapshot, as ZooKeeper
   * rolls its snapCount: servers apply the same log, and would otherwise all snapshot at the same
   * moment, together slowing the ensemble.
   */
  private drawSnapshotThreshold(everyCommands: number): number {
    const half = Math.ceil(everyCommands / 2);
    return this.snapshotRandom.int(half, Math.max(half, everyCommands));
  }

  /**
   * Step `encoding` until done, then copy its chunks into one array a few megabytes per step, then
   * save it. The steps are spaced by `snapshotSteps` when given (between event-loop turns), so a
   * large snapshot never holds the node for long; without it they all run at once.
   */
  private encodeSnapshot(position: Omit<NodeSnapshotContent, 'app'>, encoding: SnapshotEncoding): void {
    const later = this.opts.snapshotSteps;
    const assemble = (chunks: readonly Uint8Array[], bytes: Uint8Array, chunk: number, at: number): void => {
      if (this.stopped || this.encoding !== encoding) return;
      let copied = 0;
      while (chunk < chunks.length && (later === undefined || copied < SNAPSHOT_ASSEMBLY_STEP_BYTES)) {
        bytes.set(chunks[chunk]!, at);
        at += chunks[chunk]!.length;
        copied += chunks[chunk]!.length;
        chunk++;
      }
      if (chunk < chunks.length) {
        later!(() => assemble(chunks, bytes, chunk, at));
        return;
      }
      this.encoding = undefined;
      const snapshot: NodeSnapshot = { slot: position.slot, bytes };
      this.latestSnapshot = snapshot;
      this.opts.storage.saveSnapshot(snapshot, () => this.snapshotDurable(snapshot.slot, true));
    };
    const encode = (): void => {
      if (this.stopped || this.encoding !== encoding) return;
      let app = encoding.step();
      if (app === null && later !== undefined) {
        later(encode);
        return;
      }
      while (app === null) app = encoding.step();
      const chunks = [nodeSnapshotHeader(position), ...app];
      let total = 0;
      for (const c of chunks) total += c.length;
      assemble(chunks, new Uint8Array(total), 0, 0);
    };
    encode();
  }

  /** Drop a snapshot still being encoded (it describes a state this node no longer builds on). */
  private cancelEncoding(): void {
    if (this.encoding === undefined) return;
    this.encoding.cancel();
    this.encoding = undefined;
    this.snapshotting = false;
  }

  private snapshotDurable(slot: Slot, own: boolean): void {
    if (this.stopped) return;
    if (own) this.snapshotting = false;
    if (slot <= this.durableSnapshotSlot) return;
    this.durableSnapshotSlot = slot;
    // Keep some entries behind the snapshot so a learner slightly behind gets entries, not a snapshot.
    const keepFrom = slot - (this.opts.snapshots?.retainSlots ?? 0);
    const drop = Math.min(this.learned.length, keepFrom - this.learnedBase);
    if (drop > 0) {
      this.learnedBaseEpoch = this.learned[drop - 1]!.origin.epoch;
      this.learned.splice(0, drop);
      this.learnedBase += drop;
      this.opts.storage.compactLearned(this.learnedBase);
    }
    this.compactAcceptor();
    this.requestFlush();
  }

  /** Let the acceptor forget what a durable snapshot covers, below the current commit point. */
  private compactAcceptor(): void {
    const acceptor = this.acceptor;
    const commit = this.latestCommit;
    if (acceptor === undefined || commit === null || this.durableSnapshotSlot === 0) return;
    const floor: Slot = acceptor.getSnapshot().context.floor;
    if (Math.min(this.durableSnapshotSlot, commit.commitSlot) <= floor) return;
    this.deliver('acceptor', acceptor, { type: 'Compact', throughSlot: this.durableSnapshotSlot, ballot: commit.ballot, commitSlot: commit.commitSlot });
  }

  private perform(machine: MachineName, effect: Effect): void {
    if (this.stopped) return;
    this.opts.observer?.onEffect?.(this.id, machine, effect, this.cause);
    const storage = this.opts.storage;
    switch (effect.type) {
      case 'send': {
        if (effect.msg.type === 'LearnRequest' && this.incoming !== null) {
          const incoming = this.incoming;
          if (incoming.slot > this.appliedSlot && incoming.unansweredAsks < SNAPSHOT_TRANSFER_STALL_RETRIES) {
            // A snapshot is arriving: the learner's retry resumes it where it stopped.
            incoming.unansweredAsks++;
            this.sendNow({ type: 'send', to: incoming.from, msg: { type: 'SnapshotChunkRequest', slot: incoming.slot, offset: incoming.received } }, this.cause);
            break;
          }
          // This node got past the snapshot meanwhile (entries, or another snapshot), or its sender
          // stopped answering: drop the transfer, or the learner would keep asking for it alone.
          this.incoming = null;
        }
        if (effect.msg.type === 'LearnRequest') {
          // Asks for chosen entries: depends on no local write.
          this.sendNow(this.learnAskTarget(effect, effect.msg.fromSlot), this.cause);
          break;
        }
        const needs = this.writesNeededBy(machine);
        if (needs > this.durableGeneration) this.outbox.push({ effect, cause: this.cause, needs });
        else this.sendNow(effect, this.cause);
        break;
      }
      case 'requestVotes': {
        const lastLog = this.localLog();
        const msg: PeerMessage = effect.preVote
          ? { type: 'PreVoteRequest', epoch: effect.epoch, lastLog }
          : { type: 'VoteRequest', epoch: effect.epoch, lastLog };
        this.perform(machine, { type: 'send', to: 'peers', msg });
        break;
      }
      case 'persistElection':
        storage.saveElection(effect.epoch, effect.votedFor);
        this.electionWriteGeneration = ++this.writeGeneration;
        break;
      case 'persistPromise':
        storage.savePromise(effect.promised);
        this.writeGeneration++;
        break;
      case 'persistAccepted':
        storage.saveAccepted(effect.promised, effect.accepted);
        this.writeGeneration++;
        break;
      case 'persistCompacted':
        storage.saveCompacted(effect.floor, effect.promised, effect.accepted);
        this.writeGeneration++;
        break;
      case 'apply':
        this.learn(effect.slot, effect.entry);
        break;
      case 'roleChanged':
        this.onRoleChanged(effect.role, effect.epoch, effect.leader);
        break;
      case 'proposerActive':
        this.proposerActive = true;
        if (effect.catchUpFrom !== undefined && effect.baseSlot > this.appliedSlot) {
          this.deliver('learner', this.learner, { type: 'ChosenElsewhere', from: effect.catchUpFrom, commitSlot: effect.baseSlot });
        }
        break;
      case 'preempted':
        this.onPreempted(effect.promised);
        break;
      case 'chosen':
        break;
      case 'recovered':
        // Never vote again in an epoch this voter may have voted in before it lost its disk.
        this.epoch = Math.max(this.epoch, effect.epoch);
        storage.saveElection(this.epoch, this.id);
        this.electionWriteGeneration = ++this.writeGeneration;
        this.election = this.spawnElection(this.epoch, this.id);
        this.election.start();
        break;
    }
  }

  private learn(slot: Slot, entry: Entry): void {
    if (slot !== this.appliedSlot + 1) {
      // Only a broken learner gets here; keep the node's log consistent and let the checks see it.
      if (slot > this.learnedBase) this.learned[slot - this.learnedBase - 1] = entry;
    } else {
      this.learned.push(entry);
    }
    this.opts.storage.appendLearned(slot, entry);
    this.applyToApplication(slot, entry, true);
    this.maybeSnapshot();
  }

  private applyToApplication(slot: Slot, entry: Entry, reply: boolean): void {
    if (entry.origin.epoch > this.zxidEpoch) this.zxidEpoch = entry.origin.epoch;
    this.commandsSinceSnapshot += entry.commands.length;
    for (const command of entry.commands) {
      this.zxidCounter++;
      const result = this.opts.application?.apply(command, {
        slot,
        zxidEpoch: this.zxidEpoch,
        zxidCounter: this.zxidCounter,
        timeMs: entry.createdMs,
      });
      if (!reply) continue;
      const client = this.waiting.get(command.id)?.client;
      if (client === undefined) continue;
      this.waiting.delete(command.id);
      this.opts.observer?.onReply?.(this.id, command.id, true);
      // A server (this one or another member) submitted it for its own sessions and learns the
      // outcome by applying the entry itself: only clients outside the ensemble need the reply.
      if (this.memberIds.has(client)) continue;
      this.sendNow({ type: 'send', to: client, msg: { type: 'ClientReply', commandId: command.id, ok: true, slot, result } });
    }
    this.opts.application?.appliedEntry?.(slot, entry);
  }

  private onRoleChanged(role: Role, epoch: number, leader: NodeId | null): void {
    this.role = role;
    this.epoch = epoch;
    this.leader = leader;
    if (role === 'leader') {
      this.startProposer({ epoch, nodeId: this.id });
    } else if (this.proposer !== undefined) {
      this.proposer.stop();
      this.proposer = undefined;
      this.proposerActive = false;
    }
  }

  private startProposer(ballot: Ballot): void {
    this.proposer?.stop();
    this.proposerActive = false;
    const applied: Slot = this.learner.getSnapshot().context.appliedSlot;
    this.proposer = this.spawn('proposer', this.machines.proposer, {
      id: this.id,
      ballot,
      voters: this.opts.voters,
      baseSlot: applied,
      nowMs: this.opts.now(),
      timings: this.opts.timings,
      ...(this.machines.proposerQuorum === undefined ? {} : { quorum: this.machines.proposerQuorum }),
    });
    this.proposer.start();
  }

  private onPreempted(promised: Ballot): void {
    // The preempted proposer has reached its final state; commands go elsewhere until a new term.
    this.proposerActive = false;
    this.proposer = undefined;
    if (this.election !== undefined && promised.epoch > this.epoch) {
      this.deliver('election', this.election, { type: 'ObservedEpoch', epoch: promised.epoch });
    }
  }

  /**
   * The write generation a machine's sends must wait for. Acceptor (and learner) messages vouch for
   * the acceptor's persistent state, so they wait for every earlier write, as before. Election
   * messages rest only on the epoch and vote; proposer messages only on the epoch that makes the
   * proposer's ballot unique (a proposer keeps no state of its own: what it sends is vouched for by
   * the acceptors' durable replies). So neither waits behind acceptor writes: a heartbeat or an
   * accept request does not sit out an fsync that has nothing to do with it. A send waiting for
   * writes it does not depend on delays it, and no safety comes of it.
   */
  private writesNeededBy(machine: MachineName): number {
    return machine === 'election' || machine === 'proposer' ? this.electionWriteGeneration : this.writeGeneration;
  }

  private requestFlush(): void {
    if (this.flushing || !this.opts.storage.dirty) return;
    this.flushing = true;
    const covers = this.writeGeneration;
    this.opts.storage.flush(() => {
      this.flushing = false;
      if (this.stopped) return;
      this.durableGeneration = Math.max(this.durableGeneration, covers);
      // Only sends whose writes this flush covered may leave, in order; the rest wait for the next.
      if (this.outbox.length > 0) {
        const waiting = this.outbox;
        this.outbox = [];
        for (const s of waiting) {
          if (s.needs <= this.durableGeneration) this.sendNow(s.effect, s.cause);
          else this.outbox.push(s);
        }
      }
      this.requestFlush();
    });
  }

  private sendNow(effect: SendEffect, cause?: unknown): void {
    this.opts.observer?.onSent?.(this.id, effect, cause);
    const bus = this.opts.bus;
    const to = effect.to;
    if (typeof to === 'number') {
      bus.send({ from: this.id, to, msg: effect.msg });
      return;
    }
    const targets = to === 'members' ? this.opts.members : this.opts.voters;
    for (const t of targets) if (to !== 'peers' || t !== this.id) bus.send({ from: this.id, to: t, msg: effect.msg });
  }
}

function isElectionMessage(type: string): boolean {
  return type === 'PreVoteRequest' || type === 'PreVoteReply' || type === 'VoteRequest' || type === 'VoteReply' || type === 'Heartbeat' || type === 'HeartbeatReply';
}
