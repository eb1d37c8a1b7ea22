/**
 * A stored trace (written by `statekeeper check` / `writeTraceFile`) stepped forwards and
 * backwards on a re-run of its scenario.
 *
 * The file holds the scenario, so the inspector runs it again on the simulator — the nodes on
 * screen are real, with real machine snapshots — and compares every event with the file. Forward
 * steps run scheduler actions until the re-run has produced the next event; a backward step
 * starts the run again from the beginning and stops at the earlier event. Runs are deterministic,
 * so both directions reach the same state for the same event index.
 *
 * `SimCluster.run()` schedules the load, the faults and the heal and then runs to the end in one
 * call. To step it, the source lets `run()` schedule everything but intercepts that final
 * `runUntil(end, isSettled)` call, then drives the scheduler itself with the same end time and
 * the same settle condition (plus its own stop), so the actions run in exactly the same order.
 */
import { basename } from 'node:path';
import { SimCluster } from '../../sim/cluster.js';
import { findMutant } from '../../sim/mutants.js';
import { machinesFor } from '../../sim/runner.js';
import type { TraceFile } from '../../sim/runner.js';
import { VirtualScheduler } from '../../sim/scheduler.js';
import { formatTraceEvent } from '../../sim/trace.js';
import type { TraceEvent } from '../../sim/trace.js';
import { SimulatorSource, ok, refused } from './sim-source.js';
import type { ClusterView, ControlCommand, ControlResult, ControlType, TraceCursorView } from './types.js';

const TRACE_CONTROLS: readonly ControlType[] = ['pause', 'run', 'speed', 'step', 'back', 'seek'];

/** Checks the shape of a parsed trace file (readTraceFile checks only the format tag). */
export function checkTraceFile(file: unknown): TraceFile {
  const f = file as Partial<TraceFile> | null;
  if (f === null || typeof f !== 'object' || f.format !== 'statekeeper-trace/1') {
    throw new Error(`not a statekeeper trace (format ${String(f?.format)})`);
  }
  if (typeof f.scenario !== 'object' || f.scenario === null || !Array.isArray(f.events)) throw new Error('trace file has no scenario or events');
  if (f.mutant !== null && f.mutant !== undefined && findMutant(f.mutant) === undefined) throw new Error(`trace uses unknown mutant '${f.mutant}'`);
  return f as TraceFile;
}

export class TraceSource extends SimulatorSource {
  readonly kind = 'trace' as const;
  protected cluster!: SimCluster;
  private events!: TraceEvent[];
  private endMs = 0;
  private settled: () => boolean = () => false;
  private finished = false;
  /** Index of the event shown. */
  private cursor = 0;
  /** Trace length before the last action ran: events from here on came from that one action. */
  private segmentStart = 0;
  private lastLength = 0;
  private divergesAt = -1;
  /** Events compared with the file so far. */
  private verified = 0;
  /** Re-runs from the start (each backward step past the current action is one). */
  reruns = 0;

  constructor(
    readonly file: TraceFile,
    readonly name: string,
  ) {
    super();
    checkTraceFile(file);
    this.build();
  }

  /** Events in the file. */
  get total(): number {
    return this.file.events.length;
  }

  get index(): number {
    return this.cursor;
  }

  view(): ClusterView {
    const event = this.events[this.cursor];
    const trace: TraceCursorView = {
      name: this.name,
      index: this.cursor,
      total: this.total,
      atMs: event?.t ?? 0,
      event: event === undefined ? '' : formatTraceEvent(event).trim(),
      finished: this.finished,
      divergesAt: this.divergesAt,
      mutant: this.file.mutant,
      violation: this.file.violation === null ? null : this.file.violation.invariant,
    };
    const s = this.file.scenario;
    return {
      kind: this.kind,
      title: `trace ${this.name} · ${s.nodes} nodes · seed ${s.seed}${this.file.mutant === null ? '' : ` · mutant ${this.file.mutant}`}`,
      ...this.baseView(),
      writes: null,
      trace,
      controls: TRACE_CONTROLS,
    };
  }

  /** Moves to event `index` (clamped to the run); returns where it landed. */
  seek(index: number): number {
    const target = Math.max(0, Math.floor(index));
    if (target < this.segmentStart) this.rewind();
    if (target >= this.events.length) this.runUntilLength(target + 1);
    this.cursor = Math.min(target, this.events.length - 1);
    this.unmute();
    return this.cursor;
  }

  protected controlOther(command: ControlCommand): ControlResult {
    switch (command.type) {
      case 'step': {
        this.pause();
        if (this.cursor + 1 >= this.events.length && this.finished) return refused('end of the trace');
        return this.moved(this.seek(this.cursor + 1));
      }
      case 'back':
        this.pause();
        if (this.cursor === 0) return refused('already at the first event');
        return this.moved(this.seek(this.cursor - 1));
      case 'seek':
        this.pause();
        if (!Number.isFinite(command.index)) return refused('index must be a number');
        return this.moved(this.seek(command.index));
      default:
        return refused(`a trace does not accept '${command.type}': it replays what the file recorded`);
    }
  }

  protected advance(untilMs: number, maxActions: number): boolean {
    let n = 0;
    const done = this.runBounded(untilMs, () => ++n >= maxActions);
    this.cursor = Math.max(this.cursor, this.events.length - 1);
    return done;
  }

  protected override afterTick(): boolean {
    return !this.finished;
  }

  private moved(index: number): ControlResult {
    const e = this.events[index];
    return ok(`event ${index} of ${this.total}${e === undefined ? '' : `: ${formatTraceEvent(e).trim()}`}`);
  }

  /** Runs until the re-run has at least `length` events, or the run ends. */
  private runUntilLength(length: number): void {
    while (this.events.length < length && !this.finished) {
      this.runBounded(this.endMs, () => this.events.length >= length);
    }
  }

  /** Runs actions up to min(untilMs, end) with `stop`, exactly as `run()` would have, and checks the new events. */
  private runBounded(untilMs: number, stop: () => boolean): boolean {
    if (this.finished) return true;
    const until = Math.min(untilMs, this.endMs);
    let capped = false;
    const completed = this.runScheduler(until, () => {
      this.segmentStart = this.lastLength;
      this.lastLength = this.events.length;
      if (this.settled()) {
        this.finished = true;
        return true;
      }
      capped = stop();
      return capped;
    });
    if (completed && until >= this.endMs) this.finished = true;
    this.verify();
    return completed || !capped;
  }

  private verify(): void {
    if (this.divergesAt >= 0) return;
    const recorded = this.file.events;
    for (; this.verified < this.events.length; this.verified++) {
      if (JSON.stringify(this.events[this.verified]) !== JSON.stringify(recorded[this.verified])) {
        this.divergesAt = this.verified;
        this.note(`the re-run differs from the file at event ${this.verified}`);
        return;
      }
    }
  }

  /** Starts the run again from the beginning (quietly), keeping whoever watches. */
  private rewind(): void {
    const watched = this.watched;
    this.probe.detach();
    this.build();
    this.reruns++;
    if (watched) {
      // Re-running to the target would replay thousands of events: keep them in the bounded
      // history only, then hand viewers a reset followed by that history.
      this.probe.muted = true;
      this.probe.attach(this.cluster);
    }
  }

  /** After a rewind has run to its target, viewers get a reset and then the recent history. */
  private unmute(): void {
    if (!this.probe.muted) return;
    this.probe.muted = false;
    this.emit({ kind: 'reset', atMs: this.cluster.scheduler.now() });
    for (const e of this.probe.history()) this.emit(e);
  }

  private build(): void {
    const file = this.file;
    const mutant = file.mutant === null ? undefined : findMutant(file.mutant);
    const machines = machinesFor(file.scenario, mutant?.machines);
    const application = mutant?.application;
    const cluster = new SimCluster(file.scenario, { ...(machines ? { machines } : {}), ...(application ? { application } : {}), trace: true });
    const scheduler = cluster.scheduler;
    let deferred: { untilMs: number; stop: (() => boolean) | undefined } | undefined;
    scheduler.runUntil = (untilMs: number, stop?: () => boolean): boolean => {
      deferred = { untilMs, stop };
      return false;
    };
    try {
      cluster.run();
    } finally {
      scheduler.runUntil = VirtualScheduler.prototype.runUntil;
    }
    if (deferred === undefined) throw new Error('SimCluster.run() did not call runUntil: the trace cannot be stepped');
    const settle = deferred.stop;
    this.cluster = cluster;
    this.events = cluster.trace!;
    this.endMs = deferred.untilMs;
    this.settled = settle ?? (() => false);
    this.finished = false;
    this.cursor = 0;
    this.segmentStart = 0;
    this.lastLength = this.events.length;
    this.verified = 0;
    this.divergesAt = -1;
    this.verify();
  }
}

/** A display name for a trace loaded from `path`. */
export function traceName(path: string): string {
  return basename(path);
}
