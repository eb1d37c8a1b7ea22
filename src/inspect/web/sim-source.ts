/**
 * Cluster sources backed by the deterministic simulator: an interactive simulation (controls
 * change the run as it goes) and, in trace-source.ts, a stored trace being stepped.
 *
 * Both run the cluster's VirtualScheduler from a real-time loop at a chosen speed (virtual
 * milliseconds per real second), bounded per tick so the server stays responsive, or one action
 * at a time. Observation (SimProbe) is attached only while someone watches.
 */
import { RELIABLE_NETWORK } from '../../bus/memory.js';
import type { NetworkFaults } from '../../bus/memory.js';
import type { MachineSet } from '../../node/machines.js';
import type { NodeTimings } from '../../node/node.js';
import type { NodeId } from '../../protocol/ids.js';
import { SimCluster } from '../../sim/cluster.js';
import type { Scenario } from '../../sim/scenario.js';
import {
  DEFAULT_SPEED_MS_PER_S,
  MAX_ACTIONS_PER_TICK,
  MAX_SIM_NODES,
  MAX_SPEED_MS_PER_S,
  MAX_TICK_ELAPSED_MS,
  MAX_WRITES_PER_SUBMIT,
  MIN_SPEED_MS_PER_S,
  STEP_HORIZON_MS,
  TICK_MS,
} from './constants.js';
import { SimProbe } from './sim-probe.js';
import type {
  ClusterSource,
  ClusterView,
  ControlCommand,
  ControlResult,
  ControlType,
  MachineName,
  NetworkView,
  SourceEvent,
  SourceKind,
  SourceListener,
  WritesView,
} from './types.js';
import { WriteClient } from './writes.js';

export function ok(message: string): ControlResult {
  return { ok: true, message };
}

export function refused(message: string): ControlResult {
  return { ok: false, message };
}

/** What the run loop and the single-step controls share between the two simulator sources. */
export abstract class SimulatorSource implements ClusterSource {
  abstract readonly kind: SourceKind;
  protected abstract cluster: SimCluster;
  protected readonly probe = new SimProbe((e) => this.emit(e));
  private readonly listeners = new Set<SourceListener>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastTickAtMs = 0;
  protected speedMsPerS = DEFAULT_SPEED_MS_PER_S;
  protected lagging = false;
  private closed = false;

  abstract view(): ClusterView;
  protected abstract controlOther(command: ControlCommand): ControlResult;
  /** Runs scheduler actions due up to `untilMs`, at most `maxActions`; false when it stopped early. */
  protected abstract advance(untilMs: number, maxActions: number): boolean;
  /** Called after each tick of a running source; return false to stop running. */
  protected afterTick(): boolean {
    return true;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Advances virtual time by `ms` at once, running every action due (tests and scripts). */
  runFor(ms: number): void {
    this.advance(this.cluster.scheduler.now() + ms, Number.POSITIVE_INFINITY);
    this.changed();
  }

  /** Whether anyone watches (the probe is attached only then). */
  get watched(): boolean {
    return this.listeners.size > 0;
  }

  history(): readonly SourceEvent[] {
    return this.probe.history();
  }

  machineSnapshot(node: NodeId, machine: MachineName): unknown {
    return this.probe.machineSnapshot(this.cluster, node, machine);
  }

  watch(listener: SourceListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.probe.attach(this.cluster);
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0) this.probe.detach();
    };
  }

  control(command: ControlCommand): ControlResult {
    if (this.closed) return refused('source closed');
    const result = this.dispatch(command);
    this.changed();
    return result;
  }

  close(): void {
    this.closed = true;
    this.pause();
    this.probe.detach();
    this.listeners.clear();
  }

  protected emit(e: SourceEvent): void {
    for (const l of this.listeners) l.event(e);
  }

  protected changed(): void {
    for (const l of this.listeners) l.changed();
  }

  protected note(text: string): void {
    this.probe.note(text, this.cluster.scheduler.now());
  }

  /**
   * Runs the cluster's scheduler up to `untilMs` with `stop` checked after each action; while
   * watched, the probe looks at the cluster after every action too.
   */
  protected runScheduler(untilMs: number, stop: () => boolean): boolean {
    const probe = this.probe;
    const check = probe.attached
      ? () => {
          probe.afterAction();
          return stop();
        }
      : stop;
    return this.cluster.scheduler.runUntil(untilMs, check);
  }

  protected baseView(): Omit<ClusterView, 'kind' | 'title' | 'writes' | 'trace' | 'controls'> {
    const cluster = this.cluster;
    return {
      nowMs: cluster.scheduler.now(),
      actions: cluster.scheduler.executed,
      running: this.running,
      speedMsPerS: this.speedMsPerS,
      lagging: this.lagging,
      nodes: this.probe.nodeViews(cluster),
      network: networkView(cluster),
      inFlight: this.probe.inFlight(cluster),
    };
  }

  protected pause(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.lagging = false;
  }

  protected setSpeed(speed: number | undefined): ControlResult | undefined {
    if (speed === undefined) return undefined;
    if (!Number.isFinite(speed) || speed < MIN_SPEED_MS_PER_S || speed > MAX_SPEED_MS_PER_S) {
      return refused(`speed must be between ${MIN_SPEED_MS_PER_S} and ${MAX_SPEED_MS_PER_S} virtual ms per second`);
    }
    this.speedMsPerS = speed;
    return undefined;
  }

  private dispatch(command: ControlCommand): ControlResult {
    switch (command.type) {
      case 'pause':
        this.pause();
        return ok('paused');
      case 'speed':
        return this.setSpeed(command.speedMsPerS) ?? ok(`speed ${this.speedMsPerS} virtual ms/s`);
      case 'run': {
        const bad = this.setSpeed(command.speedMsPerS);
        if (bad !== undefined) return bad;
        if (this.timer === undefined) {
          this.lastTickAtMs = performance.now();
          this.timer = setInterval(() => this.tick(), TICK_MS);
        }
        return ok(`running at ${this.speedMsPerS} virtual ms/s`);
      }
      default:
        return this.controlOther(command);
    }
  }

  private tick(): void {
    const nowReal = performance.now();
    const elapsed = Math.min(nowReal - this.lastTickAtMs, MAX_TICK_ELAPSED_MS);
    this.lastTickAtMs = nowReal;
    const target = this.cluster.scheduler.now() + (this.speedMsPerS * elapsed) / 1000;
    this.lagging = !this.advance(target, MAX_ACTIONS_PER_TICK);
    if (!this.afterTick()) this.pause();
    this.changed();
  }
}

function networkView(cluster: SimCluster): NetworkView {
  const f = cluster.bus.faults;
  const cut: [NodeId, NodeId][] = [];
  const ids = cluster.nodeIds;
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) if (cluster.bus.isCut(ids[i]!, ids[j]!)) cut.push([ids[i]!, ids[j]!]);
  }
  return { dropRate: f.dropRate, duplicateRate: f.duplicateRate, minDelayMs: f.minDelayMs, maxDelayMs: f.maxDelayMs, cut };
}

export interface SimulationOptions {
  readonly nodes: number;
  readonly seed: number;
  /** Network faults to start with (default: reliable, 1–5 ms delay). */
  readonly faults?: Partial<NetworkFaults>;
  readonly machines?: MachineSet;
  readonly timings?: NodeTimings;
}

/** Network of a new interactive simulation: reliable, with a little jitter so messages reorder. */
export const DEFAULT_SIM_NETWORK: NetworkFaults = Object.freeze({ ...RELIABLE_NETWORK, minDelayMs: 1, maxDelayMs: 5 });

/**
 * The scenario of an interactive simulation: the nodes and the seed. It has no scheduled load or
 * faults (the person at the controls is the fault schedule) and is never `run()`, so the heal and
 * liveness fields are unused.
 */
export function interactiveScenario(options: SimulationOptions): Scenario {
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > MAX_SIM_NODES) {
    throw new Error(`nodes must be an integer from 1 to ${MAX_SIM_NODES}, got ${options.nodes}`);
  }
  if (!Number.isInteger(options.seed)) throw new Error(`seed must be an integer, got ${options.seed}`);
  const network = { ...DEFAULT_SIM_NETWORK, ...options.faults };
  const bad = checkFaults(network);
  if (bad !== null) throw new Error(bad);
  return {
    nodes: options.nodes,
    seed: options.seed,
    network,
    faults: [],
    clients: 0,
    commands: 0,
    loadMs: 0,
    healAtMs: 0,
    leaderBoundMs: 0,
    commitBoundMs: 0,
    fsyncMs: 1,
    sabotage: false,
  };
}

/** Why a network fault setting is invalid, or null. */
export function checkFaults(f: NetworkFaults): string | null {
  for (const [name, rate] of [
    ['dropRate', f.dropRate],
    ['duplicateRate', f.duplicateRate],
  ] as const) {
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) return `${name} must be between 0 and 1, got ${rate}`;
  }
  if (!Number.isFinite(f.minDelayMs) || f.minDelayMs < 0) return `minDelayMs must be ≥ 0, got ${f.minDelayMs}`;
  if (!Number.isFinite(f.maxDelayMs) || f.maxDelayMs < f.minDelayMs) return `maxDelayMs must be ≥ minDelayMs, got ${f.maxDelayMs}`;
  return null;
}

const SIMULATION_CONTROLS: readonly ControlType[] = ['pause', 'run', 'speed', 'step', 'crash', 'restart', 'isolate', 'heal', 'faults', 'submit'];

/** A live simulated ensemble that the page controls: the person at the controls is the fault schedule. */
export class SimulationSource extends SimulatorSource {
  readonly kind = 'simulation' as const;
  protected readonly cluster: SimCluster;
  readonly scenario: Scenario;
  private readonly writes: WriteClient;
  /** Nodes cut off from all others, each alone in its group. */
  private readonly isolated = new Set<NodeId>();

  constructor(options: SimulationOptions) {
    super();
    this.scenario = interactiveScenario(options);
    this.cluster = new SimCluster(this.scenario, {
      ...(options.machines ? { machines: options.machines } : {}),
      ...(options.timings ? { timings: options.timings } : {}),
    });
    this.writes = new WriteClient(this.cluster);
  }

  /** The simulated cluster itself (tests and researchers may drive it directly). */
  get simCluster(): SimCluster {
    return this.cluster;
  }

  view(): ClusterView {
    const writes: WritesView = { submitted: this.writes.submitted, acknowledged: this.writes.acknowledged };
    return {
      kind: this.kind,
      title: `simulation · ${this.scenario.nodes} nodes · seed ${this.scenario.seed}`,
      ...this.baseView(),
      writes,
      trace: null,
      controls: SIMULATION_CONTROLS,
    };
  }

  override close(): void {
    super.close();
    this.writes.close();
    this.cluster.bus.close();
  }

  /** Runs actions due up to `untilMs`, at most `maxActions`. */
  protected advance(untilMs: number, maxActions: number): boolean {
    let n = 0;
    return this.runScheduler(untilMs, () => ++n >= maxActions);
  }

  protected controlOther(command: ControlCommand): ControlResult {
    const cluster = this.cluster;
    switch (command.type) {
      case 'step': {
        this.pause();
        const before = cluster.scheduler.executed;
        this.runScheduler(cluster.scheduler.now() + STEP_HORIZON_MS, () => true);
        if (cluster.scheduler.executed === before) return ok(`no action within ${STEP_HORIZON_MS} ms: clock moved on`);
        return ok(`action ${cluster.scheduler.executed} at ${cluster.scheduler.now().toFixed(3)} ms`);
      }
      case 'crash':
      case 'restart':
      case 'isolate': {
        const node = command.node;
        if (!cluster.nodeIds.includes(node)) return refused(`no node ${node}`);
        if (command.type === 'crash') {
          if (!cluster.isUp(node)) return refused(`n${node} is already down`);
          cluster.crash(node);
        } else if (command.type === 'restart') {
          if (cluster.isUp(node)) return refused(`n${node} is up`);
          cluster.restart(node);
        } else {
          this.isolated.add(node);
          this.applyPartition();
        }
        const text = `${command.type} n${node}`;
        this.note(text);
        return ok(text);
      }
      case 'heal':
        this.isolated.clear();
        cluster.bus.heal();
        this.note('heal');
        return ok('healed: every node reaches every other');
      case 'faults': {
        const next: NetworkFaults = { ...cluster.bus.faults };
        if (command.dropRate !== undefined) next.dropRate = command.dropRate;
        if (command.duplicateRate !== undefined) next.duplicateRate = command.duplicateRate;
        if (command.minDelayMs !== undefined) next.minDelayMs = command.minDelayMs;
        if (command.maxDelayMs !== undefined) next.maxDelayMs = command.maxDelayMs;
        const bad = checkFaults(next);
        if (bad !== null) return refused(bad);
        cluster.bus.faults = next;
        const text = `network: drop ${(next.dropRate * 100).toFixed(1)}%, duplicate ${(next.duplicateRate * 100).toFixed(1)}%, delay ${next.minDelayMs}–${next.maxDelayMs} ms`;
        this.note(text);
        return ok(text);
      }
      case 'submit': {
        const count = command.count;
        if (!Number.isInteger(count) || count < 1 || count > MAX_WRITES_PER_SUBMIT) return refused(`count must be 1..${MAX_WRITES_PER_SUBMIT}`);
        const ids = this.writes.submit(count);
        const text = `submitted ${count} write${count === 1 ? '' : 's'} (${ids[0]}${count > 1 ? `..${ids.at(-1)}` : ''})`;
        this.note(text);
        return ok(text);
      }
      default:
        return refused(`a simulation does not accept '${command.type}'`);
    }
  }

  private applyPartition(): void {
    const rest = this.cluster.nodeIds.filter((id) => !this.isolated.has(id));
    this.cluster.bus.partition([...[...this.isolated].map((id) => [id]), rest]);
  }
}

