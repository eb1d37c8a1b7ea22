/**
 * The inspector's boundary: a cluster source yields views of nodes and a stream of events, and
 * accepts controls. The web server only talks to this interface, so the same page can show a
 * simulated ensemble, a stored trace being stepped, or (later) real nodes read over their admin
 * ports.
 */
import type { MachineName } from '../../node/node.js';
import type { NodeId } from '../../protocol/ids.js';

export type { MachineName };

/** What the source shows: a live simulation, a stored trace being stepped, or real nodes. */
export type SourceKind = 'simulation' | 'trace' | 'live';

/** One role machine of one node, as of the view. */
export interface MachineView {
  /** Unique for this machine's life (a restart or a new leadership term makes a new actor). */
  readonly actorId: string;
  /** The XState state value (`'accepting'`, `{ follower: 'waiting' }`, …). */
  readonly value: unknown;
  /** Dotted paths of every active state, outermost first: what the charts highlight. */
  readonly activePaths: readonly string[];
  /** XState snapshot status: active, done, error or stopped. */
  readonly status: string;
}

/** One learned log entry. */
export interface LogEntryView {
  readonly slot: number;
  /** Epoch of the ballot that proposed it. */
  readonly epoch: number;
  /** Node whose proposer created it. */
  readonly proposer: NodeId;
  /** Client command ids it carries (a no-op carries none). */
  readonly commands: readonly string[];
}

export interface NodeView {
  readonly id: NodeId;
  readonly up: boolean;
  /** Times this node has been restarted. */
  readonly incarnation: number;
  readonly role: string;
  readonly epoch: number;
  /** The leader this node believes in, if any. */
  readonly leader: NodeId | null;
  /** The node's proposer finished phase 1: it is the leader that commits writes. */
  readonly activeLeader: boolean;
  /** Slots learned and applied: the node's commit point. */
  readonly appliedSlot: number;
  /** The last few learned entries, oldest first. */
  readonly logTail: readonly LogEntryView[];
  readonly machines: Partial<Record<MachineName, MachineView>>;
  /** Live nodes only: the last zxid applied to its tree (0x hex, as ZooKeeper prints it). */
  readonly lastZxid?: string;
  /** Live nodes only: client sessions attached to it. */
  readonly sessions?: number;
  /** Live nodes only: whether it takes client requests (it knows a leader that can commit). */
  readonly serving?: boolean;
  /** Why the node is shown the way it is (a live node that does not answer, and why). */
  readonly note?: string;
}

/** A message the network has accepted and not yet delivered. */
export interface InFlightView {
  readonly id: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
  readonly sentAtMs: number;
}

export interface NetworkView {
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Pairs of nodes (lower id first) that cannot reach each other. */
  readonly cut: readonly (readonly [NodeId, NodeId])[];
}

/** Where a trace being stepped stands. */
export interface TraceCursorView {
  /** The file (or `upload`) the trace came from. */
  readonly name: string;
  /** Index of the current event, 0-based. */
  readonly index: number;
  /** Events in the file. */
  readonly total: number;
  /** Virtual time of the current event. */
  readonly atMs: number;
  /** The current event, formatted as `statekeeper replay` prints it. */
  readonly event: string;
  /** The run ended (settled after the heal, or reached its end time). */
  readonly finished: boolean;
  /** Index where the re-run first differed from the file, or -1 while it agrees. */
  readonly divergesAt: number;
  readonly mutant: string | null;
  /** The invariant the file says the run broke, if any. */
  readonly violation: string | null;
}

/** Recent traffic on one directed link (live ensembles: messages are too fast to see in flight). */
export interface LinkTrafficView {
  readonly from: NodeId;
  readonly to: NodeId;
  /** Messages delivered on the link over the last `windowMs`. */
  readonly count: number;
  readonly windowMs: number;
  /** Type of the latest one, and how long ago it arrived. */
  readonly lastType: string;
  readonly lastAgoMs: number;
}

/** Client writes submitted from the inspector. */
export interface WritesView {
  readonly submitted: number;
  readonly acknowledged: number;
}

export type ControlType = ControlCommand['type'];

export interface ClusterView {
  readonly kind: SourceKind;
  /** One line saying what is shown (`simulation · 5 nodes · seed 7`). */
  readonly title: string;
  /** Virtual time of the source's clock (live: real milliseconds since the page began watching). */
  readonly nowMs: number;
  /** Scheduler actions run so far (message deliveries, timers, faults). */
  readonly actions: number;
  readonly running: boolean;
  /** Run speed in virtual milliseconds per real second. */
  readonly speedMsPerS: number;
  /** The last tick hit its action budget: virtual time runs slower than asked. */
  readonly lagging: boolean;
  readonly nodes: readonly NodeView[];
  readonly network: NetworkView;
  readonly inFlight: readonly InFlightView[];
  /** Recent traffic per link (live sources); absent where messages in flight tell the story. */
  readonly links?: readonly LinkTrafficView[];
  readonly writes: WritesView | null;
  readonly trace: TraceCursorView | null;
  /** Controls this source accepts; the page disables the others. */
  readonly controls: readonly ControlType[];
}

/**
 * What happened, in order. Message events carry the actors (for Stately tools) and the send time,
 * so one event draws one arrow of the sequence diagram.
 */
export type SourceEvent =
  | {
      readonly kind: 'message';
      /** delivered; lost to the drop rate; refused by a partition; arrived at a node that is down. */
      readonly phase: 'delivered' | 'dropped' | 'partitioned' | 'receiver-down';
      readonly id: number;
      readonly from: NodeId;
      readonly to: NodeId;
      readonly type: string;
      readonly summary: string;
      /** When it was sent; null when it was sent before anyone watched. */
      readonly sentAtMs: number | null;
      readonly atMs: number;
      readonly fromActor: string;
      readonly toActor: string;
    }
  | {
      readonly kind: 'transition';
      readonly node: NodeId;
      readonly machine: MachineName;
      readonly actorId: string;
      readonly from: unknown;
      readonly to: unknown;
      /** What drove it: the message type just delivered to the node, or `timer`. */
      readonly cause: string;
      readonly atMs: number;
      /** The XState snapshot after the transition (not sent to pages; Stately tools get a copy). */
      readonly snapshot?: unknown;
    }
  | {
      readonly kind: 'actor';
      readonly phase: 'started' | 'stopped';
      readonly node: NodeId;
      readonly machine: MachineName;
      readonly actorId: string;
      readonly atMs: number;
      readonly snapshot?: unknown;
    }
  | {
      readonly kind: 'role';
      readonly node: NodeId;
      readonly role: string;
      readonly epoch: number;
      readonly activeLeader: boolean;
      readonly up: boolean;
      readonly atMs: number;
    }
  | { readonly kind: 'note'; readonly text: string; readonly atMs: number }
  /** History was rewound (trace stepped backwards, or a new source): forget what came before. */
  | { readonly kind: 'reset'; readonly atMs: number };

export type ControlCommand =
  | { readonly type: 'pause' }
  | { readonly type: 'run'; readonly speedMsPerS?: number }
  | { readonly type: 'speed'; readonly speedMsPerS: number }
  /** One scheduler action (simulation) or one trace event (trace). */
  | { readonly type: 'step' }
  /** One trace event backwards: the run is repeated from the start (it is deterministic). */
  | { readonly type: 'back' }
  | { readonly type: 'seek'; readonly index: number }
  | { readonly type: 'crash'; readonly node: NodeId }
  | { readonly type: 'restart'; readonly node: NodeId }
  /** Partition the node away from every other node. */
  | { readonly type: 'isolate'; readonly node: NodeId }
  | { readonly type: 'heal' }
  | {
      readonly type: 'faults';
      readonly dropRate?: number;
      readonly duplicateRate?: number;
      readonly minDelayMs?: number;
      readonly maxDelayMs?: number;
    }
  | { readonly type: 'submit'; readonly count: number };

export interface ControlResult {
  readonly ok: boolean;
  readonly message: string;
}

/** Receives a source's events; installed by `watch`. */
export interface SourceListener {
  /** One event, synchronously as it happens. Must not throw or block. */
  event(e: SourceEvent): void;
  /** The view changed (time moved, a control ran): fetch `view()` when convenient. */
  changed(): void;
}

/**
 * A cluster to inspect. Implementations install their observers only while at least one
 * listener watches: with none, inspection costs the cluster nothing.
 */
export interface ClusterSource {
  readonly kind: SourceKind;
  /** The current view; cheap enough to call every frame. */
  view(): ClusterView;
  /** Recent events (bounded), oldest first: what a viewer that connects now is shown first. */
  history(): readonly SourceEvent[];
  /** Start receiving events; returns the function that stops them. */
  watch(listener: SourceListener): () => void;
  control(command: ControlCommand): ControlResult;
  /**
   * How much to gather: machine contexts only while a Stately tool watches (they cost a copy per
   * transition). Sources that have everything at hand ignore it.
   */
  detail?(options: { readonly contexts: boolean }): void;
  /** Brings `view()` up to date when the source reads remote state (a live ensemble nobody watches). */
  refresh?(): Promise<void>;
  /** The machine's current snapshot (XState's, or its JSON form), for Stately registrations. */
  machineSnapshot?(node: NodeId, machine: MachineName): unknown;
  /** Stop timers and release the cluster. */
  close(): void;
}
